import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventType, OrderType, Side, TimeInForce } from '../../domain/codes.ts';
import { eventLayout, type EngineEvent } from '../../domain/events.ts';
import { PgliteDatabase } from '../../adapters/pglite.ts';
import { migrate } from '../../adapters/sql/migrate.ts';
import { sqlInteger } from '../../adapters/sql/convert.ts';
import { createLogger } from '../../adapters/logger.ts';
import type { EventBatch, EventFeed, EventHandler } from '../contracts.ts';
import { SqlHistoryReads, solvencyFromSql, startLedgerProjection } from './index.ts';

const logger = createLogger('ledger-test');
const baseTimeMs = 1_700_000_000_000;

/** Builds the scenario's events command by command, numbering events as the engine does. */
class Script {
  readonly batches: EventBatch[] = [];
  private eventSequence = 0;

  command(commandSequence: number, events: [keyof typeof EventType, Record<string, number | string>][]): void {
    this.batches.push({
      lastCommandSequence: commandSequence,
      events: events.map(([type, fields]) => {
        const layout = eventLayout[EventType[type]];
        const event: EngineEvent = { type, commandSequence, eventSequence: ++this.eventSequence, timestampMs: baseTimeMs + commandSequence * 1000 };
        for (const name of layout.fields) event[name] = 0;
        if (layout.s0) event[layout.s0] = '';
        if (layout.s1) event[layout.s1] = '';
        return Object.assign(event, fields);
      }),
    });
  }
}

const spec = {
  symbol: 'BTCUSDT',
  baseAsset: 'BTC',
  quoteAsset: 'USDT',
  lotAtoms: 1000,
  quoteAtomsPerTickLot: 1,
  maxPriceTicks: 1_000_000,
  minQuantityLots: 1,
  maxQuantityLots: 1_000_000,
  marketMaxQuantityLots: 1_000_000,
  minNotionalAtoms: 1,
  makerFeeBps: 0,
  takerFeeBps: 0,
};

function scenario(): Script {
  const script = new Script();
  script.command(1, [['AssetAdded', { assetId: 1, scale: 8, asset: 'BTC' }]]);
  script.command(2, [['AssetAdded', { assetId: 2, scale: 6, asset: 'USDT' }]]);
  script.command(3, [['MarketAdded', { marketId: 1, baseAssetId: 1, quoteAssetId: 2, symbol: 'BTCUSDT', spec: JSON.stringify(spec) }]]);
  script.command(4, [
    ['Deposited', { accountId: 1, assetId: 1, amountAtoms: 1_000_000, transferId: 'd1' }],
    ['BalanceChanged', { accountId: 1, assetId: 1, availableAtoms: 1_000_000, heldAtoms: 0 }],
  ]);
  script.command(5, [
    ['Deposited', { accountId: 2, assetId: 2, amountAtoms: 10_000_000, transferId: 'd2' }],
    ['BalanceChanged', { accountId: 2, assetId: 2, availableAtoms: 10_000_000, heldAtoms: 0 }],
  ]);
  const order = { marketId: 1, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC, priceTicks: 100, stpMode: 1 };
  script.command(6, [
    ['OrderAccepted', { ...order, orderId: 1, accountId: 1, side: Side.Sell, quantityLots: 10, clientOrderId: 'sell-1' }],
    ['BookLevelChanged', { marketId: 1, side: Side.Sell, priceTicks: 100, quantityLots: 10, updateId: 1, orderCount: 1 }],
    ['BalanceChanged', { accountId: 1, assetId: 1, availableAtoms: 990_000, heldAtoms: 10_000 }],
  ]);
  script.command(7, [
    ['OrderAccepted', { ...order, orderId: 2, accountId: 2, side: Side.Buy, quantityLots: 4, clientOrderId: 'buy-1' }],
    ['TradeExecuted', { tradeId: 1, marketId: 1, makerOrderId: 1, takerOrderId: 2, makerAccountId: 1, takerAccountId: 2, priceTicks: 100, quantityLots: 4, takerSide: Side.Buy }],
    ['OrderFilled', { orderId: 2, accountId: 2, marketId: 1 }],
    ['BookLevelChanged', { marketId: 1, side: Side.Sell, priceTicks: 100, quantityLots: 6, updateId: 2, orderCount: 1 }],
    ['BalanceChanged', { accountId: 2, assetId: 2, availableAtoms: 9_999_600, heldAtoms: 0 }],
    ['BalanceChanged', { accountId: 1, assetId: 1, availableAtoms: 990_000, heldAtoms: 6000 }],
    ['BalanceChanged', { accountId: 1, assetId: 2, availableAtoms: 400, heldAtoms: 0 }],
    ['BalanceChanged', { accountId: 2, assetId: 1, availableAtoms: 4000, heldAtoms: 0 }],
  ]);
  script.command(8, [
    ['OrderAmended', { orderId: 1, accountId: 1, marketId: 1, quantityLots: 8, remainingLots: 4 }],
    ['BookLevelChanged', { marketId: 1, side: Side.Sell, priceTicks: 100, quantityLots: 4, updateId: 3, orderCount: 1 }],
    ['BalanceChanged', { accountId: 1, assetId: 1, availableAtoms: 992_000, heldAtoms: 4000 }],
  ]);
  script.command(9, [
    ['OrderCanceled', { orderId: 1, accountId: 1, marketId: 1, remainingLots: 4, reason: 1 }],
    ['BookLevelChanged', { marketId: 1, side: Side.Sell, priceTicks: 100, quantityLots: 0, updateId: 4, orderCount: 0 }],
    ['BalanceChanged', { accountId: 1, assetId: 1, availableAtoms: 996_000, heldAtoms: 0 }],
  ]);
  script.command(10, [
    ['WithdrawRequested', { accountId: 2, assetId: 2, amountAtoms: 600, transferId: 'w1' }],
    ['BalanceChanged', { accountId: 2, assetId: 2, availableAtoms: 9_999_000, heldAtoms: 600 }],
  ]);
  script.command(11, [
    ['WithdrawCompleted', { accountId: 2, assetId: 2, amountAtoms: 600, transferId: 'w1' }],
    ['BalanceChanged', { accountId: 2, assetId: 2, availableAtoms: 9_999_000, heldAtoms: 0 }],
  ]);
  script.command(12, [
    ['WithdrawRequested', { accountId: 1, assetId: 2, amountAtoms: 100, transferId: 'w2' }],
    ['BalanceChanged', { accountId: 1, assetId: 2, availableAtoms: 300, heldAtoms: 100 }],
  ]);
  script.command(13, [
    ['WithdrawCanceled', { accountId: 1, assetId: 2, amountAtoms: 100, transferId: 'w2' }],
    ['BalanceChanged', { accountId: 1, assetId: 2, availableAtoms: 400, heldAtoms: 0 }],
    ['OrderRejected', { orderId: 0, accountId: 1, marketId: 1, reason: 301, commandType: 10, clientOrderId: 'nope' }],
  ]);
  return script;
}

/** An in-memory EventFeed: delivers stored batches after a sequence, then new ones, awaiting the handler. */
class TestFeed implements EventFeed {
  readonly batches: EventBatch[] = [];
  private readonly subscribers = new Set<{ after: number; handler: EventHandler; chain: Promise<void> }>();

  subscribe(afterEventSequence: number, handler: EventHandler): () => void {
    const subscriber = { after: afterEventSequence, handler, chain: Promise.resolve() };
    this.subscribers.add(subscriber);
    for (const batch of this.batches) this.deliver(subscriber, batch);
    return () => this.subscribers.delete(subscriber);
  }

  publish(batch: EventBatch): void {
    this.batches.push(batch);
    for (const subscriber of this.subscribers) this.deliver(subscriber, batch);
  }

  lastEventSequence(): number {
    const last = this.batches[this.batches.length - 1];
    return last ? last.events[last.events.length - 1]!.eventSequence : 0;
  }

  private deliver(subscriber: { after: number; handler: EventHandler; chain: Promise<void> }, batch: EventBatch): void {
    const events = batch.events.filter((event) => event.eventSequence > subscriber.after);
    if (events.length === 0) return;
    subscriber.after = events[events.length - 1]!.eventSequence;
    subscriber.chain = subscriber.chain.then(() => subscriber.handler({ events, lastCommandSequence: batch.lastCommandSequence }));
  }
}

let db: PgliteDatabase;
let schemaCounter = 0;

before(async () => {
  db = await PgliteDatabase.open();
});

after(async () => {
  await db.close();
});

/** A fresh, migrated schema in the shared PGlite (starting PGlite takes seconds). */
async function freshSchema(): Promise<void> {
  const schema = `ledger_${++schemaCounter}`;
  await db.exec(`SET search_path TO public; CREATE SCHEMA ${schema}; SET search_path TO ${schema}`);
  await migrate(db, { logger });
}

async function count(table: string): Promise<number> {
  return sqlInteger((await db.query<{ count: unknown }>(`SELECT count(*) AS count FROM ${table}`)).rows[0]!.count);
}

async function tableSnapshot(): Promise<Record<string, unknown[]>> {
  const tables = ['assets', 'markets', 'orders', 'trades', 'balances', 'balance_changes', 'transfers'];
  const snapshot: Record<string, unknown[]> = {};
  for (const table of tables) snapshot[table] = (await db.query(`SELECT * FROM ${table} ORDER BY 1, 2`)).rows;
  return snapshot;
}

test('projects orders, trades, balances, journal and transfers; history reads and solvency agree', async () => {
  await freshSchema();
  const feed = new TestFeed();
  const projection = await startLedgerProjection({ db, feed, logger });
  const script = scenario();
  for (const batch of script.batches) feed.publish(batch);
  await projection.waitFor(feed.lastEventSequence());
  const history = new SqlHistoryReads(db);
  assert.equal(await history.projectedEventSequence(), feed.lastEventSequence());

  const sell = await history.orderById(1, 1);
  assert.deepEqual(sell, {
    orderId: 1,
    accountId: 1,
    marketId: 1,
    clientOrderId: 'sell-1',
    side: Side.Sell,
    orderType: OrderType.Limit,
    timeInForce: TimeInForce.GTC,
    priceTicks: 100,
    quantityLots: 8,
    quoteAmountAtoms: 0,
    filledLots: 4,
    filledQuoteAtoms: 400,
    status: 'CANCELED',
    stpMode: 1,
    createdAtMs: baseTimeMs + 6000,
    updatedAtMs: baseTimeMs + 9000,
  });
  assert.equal(await history.orderById(2, 1), null, "another account's order is invisible");
  const buy = await history.orderByClientOrderId(2, 1, 'buy-1');
  assert.equal(buy?.status, 'FILLED');
  assert.equal(buy?.filledQuoteAtoms, 400);
  assert.deepEqual(
    (await history.orders(1, 1, { limit: 10 })).map((order) => order.orderId),
    [1],
  );

  const trades = await history.trades(1, { limit: 10 });
  assert.equal(trades.length, 1);
  assert.deepEqual(
    { ...trades[0] },
    { tradeId: 1, marketId: 1, priceTicks: 100, quantityLots: 4, quoteAtoms: 400, makerOrderId: 1, takerOrderId: 2, makerAccountId: 1, takerAccountId: 2, takerSide: Side.Buy, makerFeeAtoms: 0, takerFeeAtoms: 0, timeMs: baseTimeMs + 7000 },
  );
  assert.equal((await history.accountTrades(1, 1, { limit: 10 })).length, 1);
  assert.equal((await history.accountTrades(2, 1, { limit: 10 })).length, 1);
  assert.equal((await history.accountTrades(3, 1, { limit: 10 })).length, 0);

  const balances = (await db.query<Record<string, unknown>>('SELECT account_id, asset_id, available_atoms, held_atoms FROM balances ORDER BY 1, 2')).rows.map((row) =>
    [row.account_id, row.asset_id, row.available_atoms, row.held_atoms].map((value) => sqlInteger(value)),
  );
  assert.deepEqual(balances, [
    [1, 1, 996_000, 0],
    [1, 2, 400, 0],
    [2, 1, 4000, 0],
    [2, 2, 9_999_000, 0],
  ]);
  const journal = (await db.query<Record<string, unknown>>('SELECT available_delta_atoms, held_delta_atoms FROM balance_changes WHERE account_id = 1 AND asset_id = 1 ORDER BY event_sequence')).rows.map(
    (row) => [sqlInteger(row.available_delta_atoms), sqlInteger(row.held_delta_atoms)],
  );
  assert.deepEqual(journal, [
    [1_000_000, 0],
    [-10_000, 10_000],
    [0, -4000],
    [2000, -2000],
    [4000, -4000],
  ]);
  const transfers = (await db.query<Record<string, unknown>>('SELECT transfer_id, kind, status FROM transfers ORDER BY transfer_id')).rows;
  assert.deepEqual(transfers, [
    { transfer_id: 'd1', kind: 'DEPOSIT', status: 'COMPLETED' },
    { transfer_id: 'd2', kind: 'DEPOSIT', status: 'COMPLETED' },
    { transfer_id: 'w1', kind: 'WITHDRAWAL', status: 'COMPLETED' },
    { transfer_id: 'w2', kind: 'WITHDRAWAL', status: 'CANCELED' },
  ]);
  const solvency = await solvencyFromSql(db);
  assert.deepEqual(
    solvency.map((row) => [row.asset, row.balancesAtoms, row.supplyAtoms, row.balanced]),
    [
      ['BTC', 1_000_000n, 1_000_000n, true],
      ['USDT', 9_999_400n, 9_999_400n, true],
    ],
  );
  await projection.stop();
});

test('applying the same batches twice (and overlapping ones) changes nothing the second time', async () => {
  await freshSchema();
  const feed = new TestFeed();
  const projection = await startLedgerProjection({ db, feed, logger });
  const script = scenario();
  for (const batch of script.batches) await projection.applyBatch(batch);
  const once = await tableSnapshot();
  for (const batch of script.batches) await projection.applyBatch(batch);
  const all = script.batches.flatMap((batch) => batch.events);
  await projection.applyBatch({ events: all.slice(5, 20), lastCommandSequence: 7 });
  assert.deepEqual(await tableSnapshot(), once);
  assert.equal(await count('trades'), 1);
  assert.equal(await count('balance_changes'), all.filter((event) => event.type === 'BalanceChanged').length);
  assert.equal(projection.lastEventSequence(), all[all.length - 1]!.eventSequence);
  await projection.stop();
});

test('a restarted projection catches up from its last committed event and ends in the same state', async () => {
  const script = scenario();
  // Reference: everything in one run.
  await freshSchema();
  const referenceFeed = new TestFeed();
  const reference = await startLedgerProjection({ db, feed: referenceFeed, logger });
  for (const batch of script.batches) referenceFeed.publish(batch);
  await reference.waitFor(referenceFeed.lastEventSequence());
  await reference.stop();
  const expected = await tableSnapshot();

  await freshSchema();
  const feed = new TestFeed();
  const first = await startLedgerProjection({ db, feed, logger });
  for (const batch of script.batches.slice(0, 7)) feed.publish(batch);
  await first.waitFor(feed.lastEventSequence());
  await first.stop();
  const stoppedAt = first.lastEventSequence();
  for (const batch of script.batches.slice(7)) feed.publish(batch);
  // The new projection subscribes after `stoppedAt`; the feed replays only what follows.
  const second = await startLedgerProjection({ db, feed, logger });
  await second.waitFor(feed.lastEventSequence());
  assert.ok(stoppedAt < second.lastEventSequence());
  assert.deepEqual(await tableSnapshot(), expected);
  await second.stop();
});

test('a transaction the database refuses is rolled back whole and the projection does not advance', async () => {
  await freshSchema();
  const feed = new TestFeed();
  const projection = await startLedgerProjection({ db, feed, logger });
  const script = scenario();
  for (const batch of script.batches.slice(0, 4)) await projection.applyBatch(batch);
  const before = projection.lastEventSequence();
  const snapshot = await tableSnapshot();
  const bad: EventBatch = {
    lastCommandSequence: 99,
    events: [
      { ...script.batches[4]!.events[0]!, eventSequence: before + 1, transferId: 'd-bad' },
      { type: 'BalanceChanged', commandSequence: 99, eventSequence: before + 2, timestampMs: baseTimeMs, accountId: 5, assetId: 1, availableAtoms: -1, heldAtoms: 0 },
    ],
  };
  await assert.rejects(projection.applyBatch(bad), (error: unknown) => (error as { code?: string }).code === '23514');
  assert.equal(projection.lastEventSequence(), before);
  assert.deepEqual(await tableSnapshot(), snapshot);
  // The journal deltas still start from the committed values after the failure.
  for (const batch of script.batches.slice(4)) await projection.applyBatch(batch);
  const solvency = await solvencyFromSql(db);
  assert.ok(solvency.every((row) => row.balanced));
  await projection.stop();
});

test('a projection whose progress another writer moved skips what that writer applied and re-reads its balances', async () => {
  const script = scenario();
  await freshSchema();
  const referenceFeed = new TestFeed();
  const reference = await startLedgerProjection({ db, feed: referenceFeed, logger });
  for (const batch of script.batches) await reference.applyBatch(batch);
  await reference.stop();
  const expected = await tableSnapshot();

  await freshSchema();
  const second = await startLedgerProjection({ db, feed: new TestFeed(), logger });
  for (const batch of script.batches.slice(0, 4)) await second.applyBatch(batch);
  // `second` caches balances; then `first` (which loads the markets written so far) moves
  // the shared progress row past it.
  const first = await startLedgerProjection({ db, feed: new TestFeed(), logger });
  for (const batch of script.batches.slice(0, 7)) await first.applyBatch(batch);
  // `second` finds its guard failed, skips what `first` wrote and continues from there.
  for (const batch of script.batches) await second.applyBatch(batch);
  assert.deepEqual(await tableSnapshot(), expected);
  assert.ok((await solvencyFromSql(db)).every((row) => row.balanced));
  await first.stop();
  await second.stop();
});

test('batch throughput: thousands of order events per second into PGlite', async () => {
  await freshSchema();
  const feed = new TestFeed();
  const projection = await startLedgerProjection({ db, feed, logger });
  const script = scenario();
  for (const batch of script.batches.slice(0, 5)) await projection.applyBatch(batch);
  const events: EngineEvent[] = [];
  let eventSequence = projection.lastEventSequence();
  const orders = 4000;
  for (let index = 0; index < orders; index++) {
    const commandSequence = 100 + index;
    const common = { commandSequence, timestampMs: baseTimeMs + commandSequence };
    events.push({ type: 'OrderAccepted', ...common, eventSequence: ++eventSequence, orderId: 100 + index, accountId: 2, marketId: 1, side: Side.Buy, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC, priceTicks: 10, quantityLots: 1, quoteAmountAtoms: 0, stpMode: 1, clientOrderId: `c${index}` });
    events.push({ type: 'BalanceChanged', ...common, eventSequence: ++eventSequence, accountId: 2, assetId: 2, availableAtoms: 10_000_000 - 10 * (index + 1), heldAtoms: 10 * (index + 1) });
  }
  const started = performance.now();
  await projection.applyBatch({ events, lastCommandSequence: 100 + orders - 1 });
  const seconds = (performance.now() - started) / 1000;
  console.log(`ledger projection: ${Math.round(events.length / seconds)} events/s into PGlite (${events.length} events)`);
  assert.equal(await count('orders'), orders);
  await projection.stop();
});

test('history paging: most recent page oldest first, fromId and time windows run forward', async () => {
  await freshSchema();
  const feed = new TestFeed();
  const projection = await startLedgerProjection({ db, feed, logger });
  const script = scenario();
  for (const batch of script.batches.slice(0, 5)) await projection.applyBatch(batch);
  let eventSequence = projection.lastEventSequence();
  const events: EngineEvent[] = [];
  for (let index = 1; index <= 10; index++) {
    const commandSequence = 1000 + index;
    const common = { commandSequence, timestampMs: baseTimeMs + index * 60_000 };
    const orderFields = { marketId: 1, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC, priceTicks: 100 + index, quantityLots: 1, quoteAmountAtoms: 0, stpMode: 1 };
    events.push({ type: 'OrderAccepted', ...common, eventSequence: ++eventSequence, ...orderFields, orderId: 100 + index, accountId: 1, side: Side.Sell, clientOrderId: `s${index}` });
    events.push({ type: 'OrderAccepted', ...common, eventSequence: ++eventSequence, ...orderFields, orderId: 200 + index, accountId: index % 2 ? 2 : 3, side: Side.Buy, clientOrderId: `b${index}` });
    events.push({ type: 'TradeExecuted', ...common, eventSequence: ++eventSequence, tradeId: 10 + index, marketId: 1, makerOrderId: 100 + index, takerOrderId: 200 + index, makerAccountId: 1, takerAccountId: index % 2 ? 2 : 3, priceTicks: 100 + index, quantityLots: 1, makerFeeAtoms: 0, takerFeeAtoms: 0, takerSide: Side.Buy });
    events.push({ type: 'OrderFilled', ...common, eventSequence: ++eventSequence, orderId: 100 + index, accountId: 1, marketId: 1 });
    events.push({ type: 'OrderFilled', ...common, eventSequence: ++eventSequence, orderId: 200 + index, accountId: index % 2 ? 2 : 3, marketId: 1 });
  }
  await projection.applyBatch({ events, lastCommandSequence: 1010 });
  const history = new SqlHistoryReads(db);
  const ids = (trades: { tradeId: number }[]): number[] => trades.map((trade) => trade.tradeId);
  assert.deepEqual(ids(await history.trades(1, { limit: 3 })), [18, 19, 20]);
  assert.deepEqual(ids(await history.trades(1, { limit: 3, fromId: 14 })), [14, 15, 16]);
  assert.deepEqual(ids(await history.trades(1, { limit: 100, startTimeMs: baseTimeMs + 3 * 60_000, endTimeMs: baseTimeMs + 5 * 60_000 })), [13, 14, 15]);
  assert.deepEqual(ids(await history.trades(1, { limit: 2, endTimeMs: baseTimeMs + 5 * 60_000 })), [14, 15]);
  assert.deepEqual(ids(await history.accountTrades(2, 1, { limit: 100 })), [11, 13, 15, 17, 19]);
  assert.deepEqual(ids(await history.accountTrades(3, 1, { limit: 2 })), [18, 20]);
  assert.deepEqual(ids(await history.accountTrades(1, 1, { limit: 3, fromId: 19 })), [19, 20]);
  const orders = await history.orders(1, 1, { limit: 4 });
  assert.deepEqual(orders.map((order) => order.orderId), [107, 108, 109, 110]);
  assert.ok(orders.every((order) => order.status === 'FILLED' && order.filledLots === 1 && order.filledQuoteAtoms === order.priceTicks));
  assert.deepEqual((await history.orders(1, 1, { limit: 2, fromId: 105 })).map((order) => order.orderId), [105, 106]);
  assert.equal((await history.orderByClientOrderId(3, 1, 'b4'))?.orderId, 204);
  assert.equal(await history.orderByClientOrderId(2, 1, 'b4'), null);
  await projection.stop();
});
