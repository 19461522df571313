// The signed payload (totalParams without the signature) is cut out of the raw strings
// rather than rebuilt: it must equal the other segments joined by '&', wherever the
// signature stands, and every refusal must stay the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseParams } from './params.ts';

/** The payload as the definition says: every segment but the signature's, joined by '&'. */
function referencePayload(raw: string): string {
  if (raw.length === 0) return '';
  return raw.split('&').filter((segment) => !segment.startsWith('signature=') && segment !== 'signature').join('&');
}

test('signedPayload is the query and body without the signature segment, wherever it is', () => {
  const seed = Number(process.env.TEST_SEED ?? Date.now() % 1_000_000);
  let state = seed;
  const random = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 4294967296;
  const segments = ['symbol=BTCUSDT', 'side=BUY', 'quantity=0.001', 'a=%41', 'b=x+y', 'c', 'd=1=2', 'timestamp=1795326563438'];
  for (let index = 0; index < 20_000; index++) {
    const names = new Set<string>();
    const pick = (count: number) => {
      const chosen: string[] = [];
      for (let n = 0; n < count; n++) {
        const segment = segments[Math.floor(random() * segments.length)]!;
        const name = segment.split('=')[0]!;
        if (!names.has(name)) {
          names.add(name);
          chosen.push(segment);
        }
      }
      return chosen;
    };
    const query = pick(Math.floor(random() * 5));
    const body = pick(Math.floor(random() * 3));
    const target = random() < 0.5 ? query : body;
    if (random() < 0.8) target.splice(Math.floor(random() * (target.length + 1)), 0, 'signature=ab12');
    const rawQuery = query.join('&');
    const rawBody = body.join('&');
    const parsed = parseParams(rawQuery, rawBody);
    assert.equal(parsed.signedPayload, referencePayload(rawQuery) + referencePayload(rawBody), `seed ${seed}: ${rawQuery} | ${rawBody}`);
    assert.equal(parsed.signature, rawQuery.includes('signature=') || rawBody.includes('signature=') ? 'ab12' : null);
  }
});

test('empty segments, repeated names and a repeated signature are still refused', () => {
  for (const [query, body] of [['a=1&', ''], ['&a=1', ''], ['a=1&&b=2', ''], ['a=1&a=2', ''], ['signature=1&signature=2', ''], ['signature=1', 'signature=2'], ['a=1', 'a=1']]) {
    assert.throws(() => parseParams(query!, body!), `${query} | ${body}`);
  }
  assert.equal(parseParams('signature=abc', '').signedPayload, '');
  assert.equal(parseParams('a=1&signature=abc', 'b=2').signedPayload, 'a=1b=2');
});
