// The UI's order book sync (web/src/lib/book-sync.ts) against Binance's documented
// procedure: buffered diffs, a snapshot that must line up with them, gaps that force a
// resync. A seeded random book shows that snapshot + diffs reproduce the source exactly,
// across forced gaps; the seed is printed and BOOK_SYNC_SEED reproduces a run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BookSync, type DepthDiff } from '../../web/src/lib/book-sync.ts';

const diff = (U: number, u: number, b: [string, string][] = [], a: [string, string][] = []): DepthDiff => ({ U, u, b, a });

test('a snapshot applies buffered diffs that straddle it and drops older ones', () => {
  const sync = new BookSync();
  assert.equal(sync.onDiff(diff(8, 9, [['100', '1']])), 'buffered');
  assert.equal(sync.onDiff(diff(10, 12, [['101', '2']], [['105', '3']])), 'buffered');
  assert.equal(sync.onDiff(diff(13, 13, [['100', '0']])), 'buffered');
  assert.equal(sync.onSnapshot({ lastUpdateId: 10, bids: [['100', '5'], ['99', '1']], asks: [['106', '1']] }), 'synced');
  assert.equal(sync.lastUpdateId, 13);
  const top = sync.top(10);
  assert.deepEqual(top.bids.map((level) => [level.price, level.quantity]), [['101', '2'], ['99', '1']]);
  assert.deepEqual(top.asks.map((level) => [level.price, level.quantity]), [['105', '3'], ['106', '1']]);
  assert.equal(sync.onDiff(diff(12, 13, [['1', '1']])), 'ignored', 'a diff the book already covers is ignored');
  assert.equal(sync.onDiff(diff(14, 15, [['99', '0']])), 'applied');
  assert.deepEqual(sync.top(10).bids.map((level) => level.price), ['101']);
});

test('a snapshot older than the buffered diffs is refused (fetch again)', () => {
  const sync = new BookSync();
  sync.onDiff(diff(20, 21));
  assert.equal(sync.onSnapshot({ lastUpdateId: 15, bids: [], asks: [] }), 'retry');
  assert.equal(sync.state, 'buffering');
  assert.equal(sync.onSnapshot({ lastUpdateId: 20, bids: [['1', '1']], asks: [] }), 'synced');
  assert.equal(sync.lastUpdateId, 21);
});

test('a gap in the diff stream drops the book and asks for a resync', () => {
  const sync = new BookSync();
  assert.equal(sync.onSnapshot({ lastUpdateId: 5, bids: [['10', '1']], asks: [] }), 'synced');
  assert.equal(sync.onDiff(diff(6, 7, [['11', '1']])), 'applied');
  assert.equal(sync.onDiff(diff(9, 9, [['12', '1']])), 'resync');
  assert.equal(sync.state, 'buffering');
  assert.deepEqual(sync.top(5), { bids: [], asks: [] });
});

function prng(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

test('snapshot + diffs reproduce a random book exactly, across forced gaps', () => {
  const seed = Number(process.env.BOOK_SYNC_SEED ?? Date.now() % 1_000_000);
  console.log(`book-sync seed ${seed} (BOOK_SYNC_SEED=${seed} reproduces)`);
  const random = prng(seed);
  const truth = { bids: new Map<string, string>(), asks: new Map<string, string>() };
  let updateId = 0;
  const sync = new BookSync();
  const snapshot = () => ({
    lastUpdateId: updateId,
    bids: [...truth.bids.entries()] as [string, string][],
    asks: [...truth.asks.entries()] as [string, string][],
  });
  const pendingSnapshots: ReturnType<typeof snapshot>[] = [];
  let resyncs = 0;
  for (let step = 0; step < 5000; step++) {
    // One engine batch: a few level changes, one diff event covering their update ids.
    const changes = 1 + Math.floor(random() * 4);
    const first = updateId + 1;
    const bids: [string, string][] = [];
    const asks: [string, string][] = [];
    for (let change = 0; change < changes; change++) {
      updateId++;
      const bid = random() < 0.5;
      const price = bid ? String(900 + Math.floor(random() * 100)) : String(1001 + Math.floor(random() * 100));
      const quantity = random() < 0.3 ? '0' : (1 + Math.floor(random() * 50)).toString();
      const side = bid ? truth.bids : truth.asks;
      if (quantity === '0') side.delete(price);
      else side.set(price, quantity);
      (bid ? bids : asks).push([price, quantity]);
    }
    const event = diff(first, updateId, bids, asks);
    // Now and then the client loses a message (a gap it must detect).
    if (sync.state === 'synced' && random() < 0.01) continue;
    const outcome = sync.onDiff(event);
    if (outcome === 'resync') resyncs++;
    // Snapshots arrive late: taken now, delivered a few diffs later.
    if (sync.state === 'buffering' && pendingSnapshots.length === 0) pendingSnapshots.push(snapshot());
    if (sync.state === 'buffering' && random() < 0.3) {
      const result = sync.onSnapshot(pendingSnapshots.shift()!);
      if (result === 'retry') pendingSnapshots.length = 0;
    }
    if (sync.state === 'synced') {
      const top = sync.top(1000);
      const expectedBids = [...truth.bids.entries()].sort((left, right) => Number(right[0]) - Number(left[0]));
      const expectedAsks = [...truth.asks.entries()].sort((left, right) => Number(left[0]) - Number(right[0]));
      assert.deepEqual(top.bids.map((level) => [level.price, level.quantity]), expectedBids, `bids at step ${step}, seed ${seed}`);
      assert.deepEqual(top.asks.map((level) => [level.price, level.quantity]), expectedAsks, `asks at step ${step}, seed ${seed}`);
      assert.equal(sync.lastUpdateId, updateId);
    }
  }
  assert.ok(resyncs > 0, `the run exercised at least one gap (seed ${seed})`);
});
