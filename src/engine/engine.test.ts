// Smoke tests of the fast engine: a limit cross with fees (exact events and balances), a
// cancel, snapshot/restore equality, and the benchmark checksum on a generated order flow.
// The exhaustive unit and simulation tests live in test/.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addAsset, addMarket, cancelOrder, type Command, placeOrder, transfer } from '../domain/command.ts';
import { CommandType, OrderType, Side, TimeInForce } from '../domain/codes.ts';
import { decodeEvents, EventBuffer, type EngineEvent } from '../domain/events.ts';
import type { MarketSpec } from '../domain/market.ts';
import { SeededRandom } from '../lib/prng.ts';
import { none, OrderIndex, OrderNumber, OrderPool, orderNumberStride } from './book.ts';
import { Engine } from './engine.ts';
import { checksumMismatches, OrderFlowChecksum, orderFlowSetup, parseOrderFlow, type OrderFlowExpectation } from './orderflow.ts';

const spec: MarketSpec = {
  symbol: 'BTCUSDT',
  baseAsset: 'BTC',
  quoteAsset: 'USDT',
  lotAtoms: 1000,
  quoteAtomsPerTickLot: 1,
  maxPriceTicks: 1_000_000_000,
  minQuantityLots: 1,
  maxQuantityLots: 1_000_000,
  marketMaxQuantityLots: 1_000_000,
  minNotionalAtoms: 1,
  makerFeeBps: 10,
  takerFeeBps: 20,
};

/** An engine with BTC (1), USDT (2), BTCUSDT (1), account 1 funded in USDT and account 2 in BTC. */
function fundedEngine(): { engine: Engine; run: (command: Command) => EngineEvent[] } {
  const engine = new Engine();
  let sequence = 0;
  const run = (command: Command): EngineEvent[] => {
    const out = new EventBuffer(16);
    command.sequence = ++sequence;
    command.timestampMs = 1_000_000 + sequence;
    engine.execute(command, out);
    return decodeEvents(out);
  };
  run(addAsset('BTC', 8));
  run(addAsset('USDT', 6));
  run(addMarket(spec));
  run(transfer(CommandType.Deposit, 'd1', 1, 'USDT', 1_000_000_000_000));
  run(transfer(CommandType.Deposit, 'd2', 2, 'BTC', 10_000_000_000));
  return { engine, run };
}

function limit(accountId: number, side: Side, priceTicks: number, quantityLots: number): Command {
  return placeOrder({ accountId, marketId: 1, side, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC, priceTicks, quantityLots });
}

test('a crossing limit order trades at the maker price, pays fees and emits the exact events', () => {
  const { engine, run } = fundedEngine();
  const sell = run(limit(2, Side.Sell, 100, 50));
  assert.deepEqual(sell.map((event) => event.type), ['OrderAccepted', 'BookLevelChanged', 'BalanceChanged']);
  const buy = run(limit(1, Side.Buy, 101, 30));
  assert.deepEqual(
    buy.map((event) => event.type),
    ['OrderAccepted', 'TradeExecuted', 'BookLevelChanged', 'OrderFilled', 'BalanceChanged', 'BalanceChanged', 'BalanceChanged', 'BalanceChanged', 'BalanceChanged'],
  );
  const trade = buy[1]!;
  assert.equal(trade.priceTicks, 100);
  assert.equal(trade.quantityLots, 30);
  assert.equal(trade.makerOrderId, 1);
  assert.equal(trade.takerOrderId, 2);
  assert.equal(trade.makerFeeAtoms, 3); // floor(3000 x 10 / 10000)
  assert.equal(trade.takerFeeAtoms, 6); // floor(3000 x 20 / 10000)
  assert.equal(trade.takerSide, Side.Buy);
  const level = buy[2]!;
  assert.deepEqual([level.side, level.priceTicks, level.quantityLots, level.orderCount, level.updateId], [Side.Sell, 100, 20, 1, 2]);
  // Touch order: taker's hold asset, then maker base, maker quote, taker base, fee account quote.
  assert.deepEqual(
    buy.slice(4).map((event) => [event.accountId, event.assetId, event.availableAtoms, event.heldAtoms]),
    [
      [1, 2, 1_000_000_000_000 - 3006, 0],
      [2, 1, 10_000_000_000 - 50_000, 20_000],
      [2, 2, 2997, 0],
      [1, 1, 30_000, 0],
      [0, 2, 9, 0],
    ],
  );
  assert.equal(engine.depth(1, 5).asks[0]![1], 20);
});

test('a cancel releases the hold and empties the level', () => {
  const { engine, run } = fundedEngine();
  run(limit(1, Side.Buy, 99, 10));
  // Another account's order is unknown to the caller, and the rejection changes nothing.
  const before = [engine.bookOrders(1, Side.Buy), engine.balances()];
  const wrongAccount = run(cancelOrder(2, 1, 1));
  assert.deepEqual(wrongAccount.map((event) => [event.type, event.reason]), [['OrderRejected', 401]]);
  assert.deepEqual([engine.bookOrders(1, Side.Buy), engine.balances()], before);
  const events = run(cancelOrder(1, 1, 1));
  assert.deepEqual(events.map((event) => event.type), ['OrderCanceled', 'BookLevelChanged', 'BalanceChanged']);
  assert.equal(events[0]!.remainingLots, 10);
  assert.deepEqual([events[1]!.quantityLots, events[1]!.orderCount], [0, 0]);
  assert.deepEqual([events[2]!.availableAtoms, events[2]!.heldAtoms], [1_000_000_000_000, 0]);
  assert.equal(engine.order(1), null);
  assert.deepEqual(engine.depth(1, 5).bids, []);
});

function generateFlow(count: number): { file: string; cleanup: () => void } {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
  const generator = [resolve(root, '../shared/bench/gen-orderflow.mjs'), '/work/shared/bench/gen-orderflow.mjs'].find((path) => existsSync(path));
  assert.ok(generator, 'gen-orderflow.mjs not found next to the repository');
  const folder = mkdtempSync(join(tmpdir(), 'bourse-engine-test-'));
  const file = join(folder, 'flow.csv');
  const result = spawnSync(process.execPath, [generator, '--n', String(count), '--seed', '42', '--out', file], { stdio: 'ignore' });
  assert.equal(result.status, 0, 'gen-orderflow.mjs failed');
  return { file, cleanup: () => rmSync(folder, { recursive: true, force: true }) };
}

test('the order-flow checksum on a generated 20k-command flow equals the generator expectation', () => {
  const { file, cleanup } = generateFlow(20_000);
  try {
    const expect = JSON.parse(readFileSync(`${file}.expect.json`, 'utf8')) as OrderFlowExpectation;
    const engine = new Engine();
    const out = new EventBuffer();
    const setup = orderFlowSetup();
    for (const command of setup) engine.execute(command, out);
    out.clear();
    const { commands } = parseOrderFlow(readFileSync(file, 'utf8'), setup.length + 1);
    const checksum = new OrderFlowChecksum();
    for (const command of commands) {
      engine.execute(command, out);
      checksum.addEvents(out);
      out.clear();
    }
    assert.deepEqual(checksumMismatches(checksum, expect), []);
    assert.ok(checksum.trades > 0 && checksum.cancelsOk > 0);
  } finally {
    cleanup();
  }
});

test('snapshot/restore gives the same hash and the same events for the rest of a flow; corruption is refused', () => {
  const { file, cleanup } = generateFlow(5_000);
  try {
    const setup = orderFlowSetup();
    const { commands } = parseOrderFlow(readFileSync(file, 'utf8'), setup.length + 1);
    const original = new Engine();
    const out = new EventBuffer();
    for (const command of [...setup, ...commands.slice(0, 2_500)]) original.execute(command, out);
    const bytes = original.snapshot();
    const restored = new Engine();
    restored.restore(bytes);
    assert.equal(restored.stateHash(), original.stateHash());
    assert.deepEqual(restored.depth(1, 10), original.depth(1, 10));
    const outOriginal = new EventBuffer();
    const outRestored = new EventBuffer();
    for (const command of commands.slice(2_500)) {
      original.execute(command, outOriginal);
      restored.execute(command, outRestored);
    }
    assert.deepEqual(decodeEvents(outRestored), decodeEvents(outOriginal));
    assert.equal(restored.stateHash(), original.stateHash());
    assert.equal(restored.snapshot().length, original.snapshot().length);

    const corrupt = bytes.slice();
    corrupt[corrupt.length >> 1] ^= 0x40;
    assert.throws(() => new Engine().restore(corrupt), /snapshot corrupt: CRC-32 mismatch/);
    assert.throws(() => new Engine().restore(bytes.subarray(0, bytes.length - 1)), /snapshot corrupt/);
  } finally {
    cleanup();
  }
});

test('the orderId index agrees with a Map through random inserts and deletes (seed 7)', () => {
  const random = new SeededRandom(7);
  const pool = new OrderPool();
  const index = new OrderIndex(pool);
  const reference = new Map<number, number>();
  let nextId = 1;
  for (let step = 0; step < 200_000; step++) {
    if (reference.size === 0 || random.chance(0.55)) {
      // Mostly sequential ids, sometimes a huge one, as a long-running engine would see.
      const id = random.chance(0.01) ? 2 ** 40 + nextId++ : nextId++;
      // The index keys each slot by the orderId the pool holds for it.
      const slot = pool.allocate();
      pool.numbers[slot * orderNumberStride + OrderNumber.orderId] = id;
      index.set(id, slot);
      reference.set(id, slot);
    } else {
      // One of the oldest live ids (Map iterates in insertion order), like cancels and fills.
      let skip = random.integer(0, 50);
      let id = 0;
      for (const key of reference.keys()) {
        id = key;
        if (skip-- === 0) break;
      }
      index.delete(id);
      pool.release(reference.get(id)!);
      reference.delete(id);
    }
    if (step % 1000 === 0) {
      for (const [id, value] of reference) assert.equal(index.get(id), value, `id ${id} at step ${step}`);
      assert.equal(index.get(nextId + 5), none);
      assert.equal(index.size, reference.size);
    }
  }
});
