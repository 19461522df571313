// formatDecimal and formatAssetAtoms remember recent texts in a fixed table: whatever the
// order of values (repeats, slot collisions, negatives, zero, every scale), the text must
// be exactly what the plain formatting gives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDecimal, parseDecimal } from './units.ts';
import { formatAssetAtoms } from './market-format.ts';

/** The plain formatting, written independently of units.ts. */
function reference(value: number, scale: number): string {
  const negative = value < 0;
  const digits = String(Math.abs(value)).padStart(scale + 1, '0');
  const text = scale === 0 ? digits : `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`;
  return negative ? `-${text}` : text;
}

function referenceAsset(atoms: number, scale: number): string {
  const text = reference(atoms, scale);
  if (scale >= 8) return text;
  return `${text}${scale === 0 ? '.' : ''}${'0'.repeat(8 - scale)}`;
}

test('cached decimal texts equal the plain formatting for any sequence of values and scales', () => {
  const seed = Number(process.env.TEST_SEED ?? Date.now() % 1_000_000);
  let state = seed;
  const random = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 4294967296;
  const recent: [number, number][] = [];
  for (let index = 0; index < 200_000; index++) {
    let value: number;
    let scale: number;
    const pick = random();
    if (pick < 0.3 && recent.length > 0) [value, scale] = recent[Math.floor(random() * recent.length)]!;
    else {
      scale = Math.floor(random() * 40);
      const magnitude = Math.floor(random() * 16);
      value = Math.floor(random() * 10 ** magnitude) * (random() < 0.2 ? -1 : 1);
      if (random() < 0.1) value = 0;
      // Multiples of large powers of two share their low bits: they must not share texts.
      if (random() < 0.1) value = Math.floor(random() * 1000) * 2 ** 32;
      recent.push([value, scale]);
      if (recent.length > 64) recent.shift();
    }
    assert.equal(formatDecimal(value, scale), reference(value, scale), `seed ${seed}: formatDecimal(${value}, ${scale})`);
    assert.equal(formatAssetAtoms(value, scale), referenceAsset(value, scale), `seed ${seed}: formatAssetAtoms(${value}, ${scale})`);
  }
});

test('formatting and parsing stay inverse with the cache warm', () => {
  for (let round = 0; round < 3; round++) {
    for (let value = 0; value < 5000; value += 7) {
      for (const scale of [0, 2, 6, 8, 12]) assert.equal(parseDecimal(formatDecimal(value, scale), scale), value);
    }
  }
});
