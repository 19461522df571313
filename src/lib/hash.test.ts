import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32, hashText } from './hash.ts';

test('FNV-1a 64 matches published vectors', () => {
  assert.equal(hashText(''), 'cbf29ce484222325');
  assert.equal(hashText('a'), 'af63dc4c8601ec8c');
  assert.equal(hashText('foobar'), '85944171f73967e8');
});

test('CRC-32 matches the check value', () => {
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
});
