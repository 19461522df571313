// MemoryCache's memory bound for short-lived entries: once a map holds more than
// sweepAboveEntries, every insert also sweeps a few entries, so expired signature uses and
// window counters leave the map about when they expire (the shared behaviour of the Cache
// port is test/contract/cache.contract.ts's).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryCache, memoryCacheLimits } from './memory-cache.ts';

test('expired window counters are swept as new ones arrive, so the map stays near its live entries', async () => {
  let nowMs = 1_000_000;
  const cache = new MemoryCache({ now: () => nowMs });
  const windowMs = 1000;
  const perMs = 10;
  // Ten windows of traffic at a steady rate: every counter is used once (like a signature).
  let counter = 0;
  for (let elapsedMs = 0; elapsedMs < 10 * windowMs; elapsedMs++) {
    nowMs += 1;
    for (let index = 0; index < perMs; index++) {
      const [[value]] = await cache.countInWindowSteps([[{ key: `sig:${counter++}`, amount: 1, windowMs, limit: 1 }]]);
      assert.equal(value, 1, 'a new signature counts once');
    }
  }
  const live = windowMs * perMs;
  const { counters } = cache.entryCounts();
  assert.ok(counters > memoryCacheLimits.sweepAboveEntries, `the test is above the sweep threshold (${counters})`);
  assert.ok(counters <= 2.5 * live, `${counters} counters held for ${live} live ones (${counter} made)`);
  // A live counter is never swept: it still counts on.
  const [[again]] = await cache.countInWindowSteps([[{ key: `sig:${counter - 1}`, amount: 1, windowMs, limit: 1 }]]);
  assert.equal(again, 2, 'a use within the window is seen as a replay');
});

test('below the sweep threshold nothing is swept eagerly, and expired entries still read as absent', async () => {
  let nowMs = 5_000;
  const cache = new MemoryCache({ now: () => nowMs });
  for (let index = 0; index < 100; index++) await cache.countInWindow(`k${index}`, 1, 10);
  nowMs += 20;
  assert.equal(cache.entryCounts().counters, 100);
  assert.equal(await cache.countInWindow('k0', 1, 10), 1, 'an expired counter starts over');
});
