// Ready-made text frames decode, through the `ws` library's own frame reader, to exactly the
// text they were built from, at every payload-length boundary of RFC 6455 and with
// multi-byte UTF-8.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Writable } from 'node:stream';
import * as ws from 'ws';
import { textFrame } from './frames.ts';

/** The `ws` frame reader: exported at run time, not declared by @types/ws. */
const Receiver = (ws as unknown as { Receiver: new (options: { isServer: boolean }) => Writable }).Receiver;

/** Decodes a stream of server frames the way a `ws` client does. */
function decode(frames: Buffer[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const messages: string[] = [];
    const receiver = new Receiver({ isServer: false });
    receiver.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) reject(new Error('binary frame'));
      messages.push(data.toString());
    });
    receiver.on('error', reject);
    for (const frame of frames) receiver.write(frame);
    receiver.end(() => resolve(messages));
  });
}

test('text frames decode to their text at every length boundary', async () => {
  const texts = [0, 1, 125, 126, 127, 65_535, 65_536, 200_000].map((length) => 'a'.repeat(length));
  texts.push('{"p":"65000.00","s":"BTC€USDT ✓ 𝄞"}', 'é'.repeat(63), 'é'.repeat(64));
  const frames = texts.map(textFrame);
  assert.deepEqual(await decode(frames), texts);
  // The header is as short as the length allows, so the frame is header plus UTF-8 payload.
  assert.equal(textFrame('a'.repeat(125)).length, 127);
  assert.equal(textFrame('a'.repeat(126)).length, 130);
  assert.equal(textFrame('a'.repeat(65_536)).length, 65_546);
  assert.equal(textFrame('é'.repeat(63)).length, 2 + 126 + 2);
});

test('one frame can be written to many receivers unchanged', async () => {
  const frame = textFrame('{"e":"trade","E":1700000000000}');
  const copy = Buffer.from(frame);
  for (let receiver = 0; receiver < 3; receiver++) assert.deepEqual(await decode([frame]), ['{"e":"trade","E":1700000000000}']);
  assert.deepEqual(frame, copy);
});
