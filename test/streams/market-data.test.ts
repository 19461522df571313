// The market data projection against the real engine host: depth diff continuity (U/u)
// rebuilding the engine's book, Binance's aggregate-trade rule, empty-candle filling in
// klines (REST and stream), and the REST routes' shapes and errors.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { SeededRandom } from '../../src/lib/prng.ts';
import { startMarketData } from '../../src/services/market-data/index.ts';
import { registerMarketDataRoutes } from '../../src/services/market-data/routes.ts';
import { marketFormat, formatPrice, formatQuantity } from '../../src/domain/market-format.ts';
import { cancelOrder } from '../../src/domain/command.ts';
import { PgliteDatabase } from '../../src/adapters/pglite.ts';
import { MemoryCache } from '../../src/adapters/memory-cache.ts';
import { migrate } from '../../src/adapters/sql/migrate.ts';
import { SqlHistoryReads, startLedgerProjection } from '../../src/services/ledger/index.ts';
import { Side, limitOrder, marketOrder, record, settle, startPipeline, testLogger, testSpec } from './support.ts';

const format = marketFormat(testSpec, 8, 8);

function engineDepthText(levels: [number, number][]): [string, string][] {
  return levels.map(([price, quantity]) => [formatPrice(format, price), formatQuantity(format, quantity)]);
}

function applyLevels(book: Map<string, string>, levels: [string, string][]): void {
  for (const [price, quantity] of levels) {
    if (Number(quantity) === 0) book.delete(price);
    else book.set(price, quantity);
  }
}

function sortedLevels(book: Map<string, string>, descending: boolean): [string, string][] {
  return [...book.entries()].sort((left, right) => (Number(left[0]) - Number(right[0])) * (descending ? -1 : 1));
}

test('depth diffs carry continuous U/u and rebuild the engine book from a snapshot', async () => {
  const seed = Number(process.env.TEST_SEED ?? 20261122);
  console.log(`seed ${seed}`);
  const random = new SeededRandom(seed);
  const pipeline = await startPipeline();
  const service = await startMarketData({ feed: pipeline.host, reads: pipeline.host, cache: pipeline.cache, pubsub: pipeline.pubsub, logger: testLogger, timers: false });
  try {
    const recorder = await record(pipeline.pubsub, ['md.BTCUSDT.depth', 'md.BTCUSDT.depth@100ms', 'md.BTCUSDT.depth5@100ms', 'md.BTCUSDT.bookTicker']);
    // Some book before the snapshot, so the snapshot is not trivially empty.
    for (let index = 0; index < 50; index++) {
      await pipeline.submit(limitOrder(1 + (index % 2), index % 2 === 0 ? Side.Buy : Side.Sell, index % 2 === 0 ? 9_900 - index : 10_100 + index, 1 + index));
    }
    await service.waitFor(pipeline.host.lastEventSequence());
    await service.writeSnapshots();
    const snapshot = JSON.parse((await pipeline.cache.get('md:BTCUSDT:depth:5000'))!) as { lastUpdateId: number; bids: [string, string][]; asks: [string, string][] };
    const open: number[] = [];
    const submits: Promise<unknown>[] = [];
    for (let index = 0; index < 600; index++) {
      const accountId = random.integer(1, 4);
      const roll = random.next();
      if (roll < 0.6) {
        const side = random.chance(0.5) ? Side.Buy : Side.Sell;
        const price = side === Side.Buy ? random.integer(9_950, 10_050) : random.integer(9_950, 10_050);
        submits.push(pipeline.submit(limitOrder(accountId, side, price, random.integer(1, 50))).then((result) => {
          const accepted = result.events.find((event) => event.type === 'OrderAccepted');
          if (accepted) open.push(accepted.orderId as number);
        }));
      } else if (roll < 0.8 && open.length > 0) {
        const orderId = open.splice(random.integer(0, open.length - 1), 1)[0]!;
        const order = pipeline.host.order(orderId);
        if (order) submits.push(pipeline.submit(cancelOrder(order.accountId, 1, orderId)));
      } else {
        submits.push(pipeline.submit(marketOrder(accountId, random.chance(0.5) ? Side.Buy : Side.Sell, random.integer(1, 30))));
      }
      if (index % 25 === 0) {
        await Promise.all(submits.splice(0));
        await service.publishFast();
      }
    }
    await Promise.all(submits);
    await service.waitFor(pipeline.host.lastEventSequence());
    await service.publishFast();
    await settle();

    const engineDepth = pipeline.host.depth(1, 5000);
    for (const channel of ['md.BTCUSDT.depth', 'md.BTCUSDT.depth@100ms']) {
      const diffs = recorder.messages.get(channel) as { e: string; U: number; u: number; b: [string, string][]; a: [string, string][] }[];
      assert.ok(diffs.length > 10, `${channel}: ${diffs.length} diffs`);
      for (let index = 1; index < diffs.length; index++) {
        assert.equal(diffs[index]!.U, diffs[index - 1]!.u + 1, `${channel}: diff ${index} continues the previous one`);
        assert.ok(diffs[index]!.u >= diffs[index]!.U);
      }
      // Binance's procedure: drop u <= lastUpdateId; the first must straddle lastUpdateId + 1.
      const bids = new Map(snapshot.bids);
      const asks = new Map(snapshot.asks);
      const usable = diffs.filter((diff) => diff.u > snapshot.lastUpdateId);
      assert.ok(usable[0]!.U <= snapshot.lastUpdateId + 1 && snapshot.lastUpdateId + 1 <= usable[0]!.u);
      for (const diff of usable) {
        applyLevels(bids, diff.b);
        applyLevels(asks, diff.a);
      }
      assert.equal(usable[usable.length - 1]!.u, engineDepth.updateId);
      assert.deepEqual(sortedLevels(bids, true), engineDepthText(engineDepth.bids), `${channel}: bids`);
      assert.deepEqual(sortedLevels(asks, false), engineDepthText(engineDepth.asks), `${channel}: asks`);
    }
    const partial = recorder.messages.get('md.BTCUSDT.depth5@100ms') as { lastUpdateId: number; bids: [string, string][]; asks: [string, string][] }[];
    assert.deepEqual(partial[partial.length - 1], {
      lastUpdateId: engineDepth.updateId, bids: engineDepthText(engineDepth.bids.slice(0, 5)), asks: engineDepthText(engineDepth.asks.slice(0, 5)),
    });
    const tops = recorder.messages.get('md.BTCUSDT.bookTicker') as { u: number; s: string; b: string; B: string; a: string; A: string }[];
    const [bestBid, bestAsk] = [engineDepthText(engineDepth.bids.slice(0, 1))[0]!, engineDepthText(engineDepth.asks.slice(0, 1))[0]!];
    const lastTop = tops[tops.length - 1]!;
    assert.deepEqual([lastTop.s, lastTop.b, lastTop.B, lastTop.a, lastTop.A], ['BTCUSDT', bestBid[0], bestBid[1], bestAsk[0], bestAsk[1]]);
    const own = service.depth('BTCUSDT', 5000)!;
    assert.equal(own.lastUpdateId, engineDepth.updateId);
    assert.deepEqual(own.bids, engineDepth.bids);
    assert.deepEqual(own.asks, engineDepth.asks);
    await recorder.stop();
  } finally {
    await service.stop();
    await pipeline.close();
  }
});

test('aggregate trades join fills of one taker order at one price, and only those', async () => {
  const pipeline = await startPipeline();
  const service = await startMarketData({ feed: pipeline.host, reads: pipeline.host, cache: pipeline.cache, pubsub: pipeline.pubsub, logger: testLogger, timers: false });
  const app = Fastify();
  registerMarketDataRoutes(app, { cache: pipeline.cache, reads: pipeline.host });
  try {
    const recorder = await record(pipeline.pubsub, ['md.BTCUSDT.aggTrade', 'md.BTCUSDT.trade']);
    await pipeline.submit(limitOrder(1, Side.Sell, 10_000, 1));
    await pipeline.submit(limitOrder(3, Side.Sell, 10_000, 2));
    await pipeline.submit(limitOrder(1, Side.Sell, 10_000, 3));
    await pipeline.submit(limitOrder(1, Side.Sell, 10_100, 5));
    // One taker: three fills at 100.00 (one aggregate), one at 101.00 (another).
    await pipeline.submit(marketOrder(2, Side.Buy, 8));
    // A second taker at the same price 101.00: a new aggregate, not the previous one.
    await pipeline.submit(marketOrder(4, Side.Buy, 1));
    // A sell taker into a bid: buyer is the maker.
    await pipeline.submit(limitOrder(3, Side.Buy, 9_000, 4));
    await pipeline.submit(marketOrder(2, Side.Sell, 4));
    await service.waitFor(pipeline.host.lastEventSequence());
    await service.writeSnapshots();
    await settle();
    const trades = recorder.messages.get('md.BTCUSDT.trade') as { t: number; p: string; q: string; m: boolean }[];
    assert.equal(trades.length, 6);
    const aggregates = recorder.messages.get('md.BTCUSDT.aggTrade') as { e: string; s: string; a: number; p: string; q: string; f: number; l: number; m: boolean }[];
    assert.deepEqual(aggregates.map(({ p, q, f, l, m }) => ({ p, q, f, l, m })), [
      { p: '100.00000000', q: '0.00006000', f: trades[0]!.t, l: trades[2]!.t, m: false },
      { p: '101.00000000', q: '0.00002000', f: trades[3]!.t, l: trades[3]!.t, m: false },
      { p: '101.00000000', q: '0.00001000', f: trades[4]!.t, l: trades[4]!.t, m: false },
      { p: '90.00000000', q: '0.00004000', f: trades[5]!.t, l: trades[5]!.t, m: true },
    ]);
    for (const aggregate of aggregates) {
      assert.equal(aggregate.e, 'aggTrade');
      assert.equal(aggregate.s, 'BTCUSDT');
      assert.equal(aggregate.a, aggregate.f);
    }
    const rest = await app.inject({ method: 'GET', url: '/api/v3/aggTrades?symbol=BTCUSDT&limit=2' });
    assert.equal(rest.statusCode, 200);
    assert.equal(rest.headers['x-data-source'], 'cache');
    const restAggregates = rest.json() as { a: number; p: string; q: string; f: number; l: number; T: number; m: boolean; M: boolean }[];
    assert.deepEqual(restAggregates.map((aggregate) => aggregate.a), [aggregates[2]!.a, aggregates[3]!.a]);
    assert.deepEqual(Object.keys(restAggregates[0]!), ['a', 'p', 'q', 'f', 'l', 'T', 'm', 'M']);
    const fromId = await app.inject({ method: 'GET', url: `/api/v3/aggTrades?symbol=BTCUSDT&fromId=${aggregates[1]!.a}&limit=1` });
    assert.deepEqual((fromId.json() as { a: number }[]).map((aggregate) => aggregate.a), [aggregates[1]!.a]);
    const restTrades = await app.inject({ method: 'GET', url: '/api/v3/trades?symbol=BTCUSDT&limit=3' });
    assert.deepEqual(Object.keys((restTrades.json() as object[])[0]!), ['id', 'price', 'qty', 'quoteQty', 'time', 'isBuyerMaker', 'isBestMatch']);
    assert.deepEqual((restTrades.json() as { id: number }[]).map((trade) => trade.id), trades.slice(3).map((trade) => trade.t));
    await recorder.stop();
  } finally {
    await app.close();
    await service.stop();
    await pipeline.close();
  }
});

test('klines carry the previous close with zero volume through intervals without trades', async () => {
  const minuteMs = 60_000;
  const startMs = Date.UTC(2026, 0, 5, 10, 0, 0);
  let nowMs = startMs + 10_000;
  const clock = () => nowMs;
  const pipeline = await startPipeline({ clock });
  const service = await startMarketData({ feed: pipeline.host, reads: pipeline.host, cache: pipeline.cache, pubsub: pipeline.pubsub, logger: testLogger, timers: false, clock });
  const app = Fastify();
  registerMarketDataRoutes(app, { cache: pipeline.cache, reads: pipeline.host, clock });
  try {
    const recorder = await record(pipeline.pubsub, ['md.BTCUSDT.kline_1m']);
    // Minute 0: trades at 100.00 then 102.00 (high 102, low 100, close 102).
    await pipeline.submit(limitOrder(1, Side.Sell, 10_000, 2));
    await pipeline.submit(limitOrder(1, Side.Sell, 10_200, 2));
    await pipeline.submit(marketOrder(2, Side.Buy, 3));
    await service.waitFor(pipeline.host.lastEventSequence());
    await service.publishKlines();
    // Minute 1 passes without trades: the stream closes minute 0 and shows an empty minute 1.
    nowMs = startMs + minuteMs + 5_000;
    await service.publishKlines();
    // Minute 3: a trade at 99.00.
    nowMs = startMs + 3 * minuteMs + 1_000;
    await pipeline.submit(limitOrder(3, Side.Buy, 9_900, 1));
    await pipeline.submit(marketOrder(4, Side.Sell, 1));
    await service.waitFor(pipeline.host.lastEventSequence());
    nowMs = startMs + 4 * minuteMs + 30_000;
    await service.publishKlines();
    await settle();

    const response = await app.inject({ method: 'GET', url: '/api/v3/klines?symbol=BTCUSDT&interval=1m' });
    assert.equal(response.statusCode, 200);
    const rows = response.json() as (string | number)[][];
    const empty = (minute: number, close: string) => [
      startMs + minute * minuteMs, close, close, close, close, '0.00000000', startMs + (minute + 1) * minuteMs - 1, '0.00000000', 0, '0.00000000', '0.00000000', '0',
    ];
    assert.equal(rows.length, 5);
    assert.deepEqual(rows[0], [startMs, '100.00000000', '102.00000000', '100.00000000', '102.00000000', '0.00003000', startMs + minuteMs - 1, '0.00302000', 2, '0.00003000', '0.00302000', '0']);
    assert.deepEqual(rows[1], empty(1, '102.00000000'));
    assert.deepEqual(rows[2], empty(2, '102.00000000'));
    assert.deepEqual(rows[3]!.slice(0, 6), [startMs + 3 * minuteMs, '99.00000000', '99.00000000', '99.00000000', '99.00000000', '0.00001000']);
    assert.deepEqual(rows[4], empty(4, '99.00000000'));
    // Paging forward from a start time and backward from an end time give the same candles.
    const middle = await app.inject({ method: 'GET', url: `/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=${startMs + 1}&limit=2` });
    assert.deepEqual(middle.json(), [rows[1], rows[2]]);
    const before = await app.inject({ method: 'GET', url: `/api/v3/klines?symbol=BTCUSDT&interval=1m&endTime=${startMs + 2 * minuteMs}&limit=2` });
    assert.deepEqual(before.json(), [rows[1], rows[2]]);

    const stream = recorder.messages.get('md.BTCUSDT.kline_1m') as { k: { t: number; o: string; c: string; v: string; n: number; x: boolean; f: number } }[];
    const shown = stream.map(({ k }) => ({ t: k.t, o: k.o, c: k.c, v: k.v, n: k.n, x: k.x }));
    assert.deepEqual(shown[0], { t: startMs, o: '100.00000000', c: '102.00000000', v: '0.00003000', n: 2, x: false });
    assert.deepEqual(shown[1], { t: startMs, o: '100.00000000', c: '102.00000000', v: '0.00003000', n: 2, x: true });
    assert.deepEqual(shown[2], { t: startMs + minuteMs, o: '102.00000000', c: '102.00000000', v: '0.00000000', n: 0, x: false });
    assert.equal(stream[2]!.k.f, -1);
    // The empty minute 1 closes, then minute 4 (empty, at the close of minute 3) is current.
    assert.deepEqual(shown[3], { t: startMs + minuteMs, o: '102.00000000', c: '102.00000000', v: '0.00000000', n: 0, x: true });
    assert.deepEqual(shown[4], { t: startMs + 4 * minuteMs, o: '99.00000000', c: '99.00000000', v: '0.00000000', n: 0, x: false });
    await recorder.stop();
  } finally {
    await app.close();
    await service.stop();
    await pipeline.close();
  }
});

test('REST market data answers Binance shapes and Binance errors', async () => {
  const pipeline = await startPipeline();
  const service = await startMarketData({ feed: pipeline.host, reads: pipeline.host, cache: pipeline.cache, pubsub: pipeline.pubsub, logger: testLogger, timers: false });
  const app = Fastify();
  registerMarketDataRoutes(app, { cache: pipeline.cache, reads: pipeline.host });
  try {
    for (let index = 0; index < 10; index++) {
      await pipeline.submit(limitOrder(1, Side.Buy, 9_000 - index, 1 + index));
      await pipeline.submit(limitOrder(2, Side.Sell, 11_000 + index, 1 + index));
    }
    await pipeline.submit(marketOrder(3, Side.Buy, 2));
    await service.waitFor(pipeline.host.lastEventSequence());
    await service.writeSnapshots();
    const recorder = await record(pipeline.pubsub, ['md.ALL.ticker@arr', 'md.BTCUSDT.ticker']);
    await service.publishSlow();
    await settle();
    const get = async (url: string) => app.inject({ method: 'GET', url });
    const streamTicker = recorder.messages.get('md.BTCUSDT.ticker')![0] as Record<string, unknown>;
    assert.deepEqual([streamTicker.e, streamTicker.s, streamTicker.c, streamTicker.n, streamTicker.b, streamTicker.a], ['24hrTicker', 'BTCUSDT', '110.01000000', 2, '90.00000000', '110.01000000']);
    assert.deepEqual(recorder.messages.get('md.ALL.ticker@arr'), [[streamTicker]]);
    await recorder.stop();

    const depth = await get('/api/v3/depth?symbol=BTCUSDT&limit=5');
    assert.equal(depth.statusCode, 200);
    assert.equal(depth.headers['x-data-source'], 'cache');
    const book = depth.json() as { lastUpdateId: number; bids: [string, string][]; asks: [string, string][] };
    assert.equal(book.lastUpdateId, pipeline.host.depth(1, 1).updateId);
    assert.equal(book.bids.length, 5);
    assert.deepEqual(book.bids[0], ['90.00000000', '0.00001000']);
    assert.deepEqual(book.asks[0], ['110.01000000', '0.00001000']);
    const large = await get('/api/v3/depth?symbol=BTCUSDT&limit=6000');
    assert.equal(large.statusCode, 200, 'depth limits above 5000 are truncated, as Binance does');

    const ticker = (await get('/api/v3/ticker/24hr?symbol=BTCUSDT')).json() as Record<string, unknown>;
    assert.deepEqual(Object.keys(ticker), [
      'symbol', 'priceChange', 'priceChangePercent', 'weightedAvgPrice', 'prevClosePrice', 'lastPrice', 'lastQty', 'bidPrice', 'bidQty',
      'askPrice', 'askQty', 'openPrice', 'highPrice', 'lowPrice', 'volume', 'quoteVolume', 'openTime', 'closeTime', 'firstId', 'lastId', 'count',
    ]);
    assert.equal(ticker.lastPrice, '110.01000000');
    assert.equal(ticker.count, 2);
    assert.equal(ticker.bidPrice, '90.00000000');
    const many = (await get(`/api/v3/ticker/24hr?symbols=${encodeURIComponent('["BTCUSDT"]')}&type=MINI`)).json() as Record<string, unknown>[];
    assert.equal(many.length, 1);
    assert.ok(!('bidPrice' in many[0]!) && 'openPrice' in many[0]!);
    assert.deepEqual((await get('/api/v3/ticker/price?symbol=BTCUSDT')).json(), { symbol: 'BTCUSDT', price: '110.01000000' });
    assert.deepEqual((await get('/api/v3/ticker/bookTicker?symbol=BTCUSDT')).json(), {
      symbol: 'BTCUSDT', bidPrice: '90.00000000', bidQty: '0.00001000', askPrice: '110.01000000', askQty: '0.00001000',
    });
    const average = (await get('/api/v3/avgPrice?symbol=BTCUSDT')).json() as { mins: number; price: string; closeTime: number };
    assert.equal(average.mins, 5);
    assert.equal(average.price, '110.00500000');

    const errors: [string, number, number][] = [
      ['/api/v3/depth?symbol=NOPEUSDT', 400, -1121],
      ['/api/v3/depth?symbol=btcusdt', 400, -1100],
      ['/api/v3/depth', 400, -1102],
      ['/api/v3/depth?symbol=BTCUSDT&limit=0', 400, -1100],
      ['/api/v3/depth?symbol=BTCUSDT&limit=1e2', 400, -1100],
      ['/api/v3/depth?symbol=BTCUSDT&userId=1', 400, -1104],
      ['/api/v3/depth?symbol=BTCUSDT&symbol=BTCUSDT', 400, -1101],
      ['/api/v3/trades?symbol=BTCUSDT&limit=1001', 400, -1100],
      ['/api/v3/klines?symbol=BTCUSDT&interval=7m', 400, -1120],
      ['/api/v3/klines?symbol=BTCUSDT', 400, -1102],
      ['/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=-5', 400, -1100],
      ['/api/v3/ticker/24hr?symbol=BTCUSDT&type=HUGE', 400, -1139],
      [`/api/v3/ticker/price?symbols=${encodeURIComponent('["BTCUSDT","BTCUSDT"]')}`, 400, -1151],
      [`/api/v3/ticker/price?symbols=${encodeURIComponent('["BTCUSDT","XXXYYY"]')}`, 400, -1121],
      ['/api/v3/ticker/price?symbols=BTCUSDT', 400, -1100],
      ['/api/v3/historicalTrades?symbol=BTCUSDT&fromId=abc', 400, -1100],
    ];
    for (const [url, status, code] of errors) {
      const response = await get(url);
      assert.equal(response.statusCode, status, url);
      assert.equal((response.json() as { code: number }).code, code, url);
    }
  } finally {
    await app.close();
    await service.stop();
    await pipeline.close();
  }
});

test('trades beyond the cache come from the ledger history, and a restarted service warms up from it', { timeout: 60_000 }, async () => {
  const pipeline = await startPipeline();
  const db = await PgliteDatabase.open();
  await migrate(db, { logger: testLogger });
  const ledger = await startLedgerProjection({ db, feed: pipeline.host, logger: testLogger });
  const history = new SqlHistoryReads(db);
  const service = await startMarketData({
    feed: pipeline.host, reads: pipeline.host, cache: pipeline.cache, pubsub: pipeline.pubsub, history, logger: testLogger, timers: false,
    limits: { recentTradesMax: 3 },
  });
  const app = Fastify();
  registerMarketDataRoutes(app, { cache: pipeline.cache, reads: pipeline.host, history });
  try {
    // Ten trades, each its own taker order, at prices 100.00, 100.01, ...
    for (let index = 0; index < 10; index++) {
      await pipeline.submit(limitOrder(1, Side.Sell, 10_000 + index, 1));
      await pipeline.submit(marketOrder(2, Side.Buy, 1));
    }
    await service.waitFor(pipeline.host.lastEventSequence());
    await ledger.waitFor(pipeline.host.lastEventSequence());
    await service.writeSnapshots();
    const recent = (await app.inject({ method: 'GET', url: '/api/v3/trades?symbol=BTCUSDT' })).json() as { id: number }[];
    assert.deepEqual(recent.map((trade) => trade.id), [8, 9, 10]);
    const old = await app.inject({ method: 'GET', url: '/api/v3/historicalTrades?symbol=BTCUSDT&fromId=2&limit=3' });
    assert.equal(old.headers['x-data-source'], 'database');
    assert.deepEqual((old.json() as { id: number; price: string }[]).map((trade) => [trade.id, trade.price]), [[2, '100.01000000'], [3, '100.02000000'], [4, '100.03000000']]);
    const cachedRange = await app.inject({ method: 'GET', url: '/api/v3/historicalTrades?symbol=BTCUSDT&fromId=9&limit=5' });
    assert.equal(cachedRange.headers['x-data-source'], 'cache');
    assert.deepEqual((cachedRange.json() as { id: number }[]).map((trade) => trade.id), [9, 10]);
    const oldAggregates = await app.inject({ method: 'GET', url: '/api/v3/aggTrades?symbol=BTCUSDT&fromId=1&limit=2' });
    assert.equal(oldAggregates.headers['x-data-source'], 'database');
    assert.deepEqual((oldAggregates.json() as { a: number; f: number; l: number }[]).map(({ a, f, l }) => [a, f, l]), [[1, 1, 1], [2, 2, 2]]);

    // A second service (a restart) starts with the history's trades already in its candles.
    await service.stop();
    const restartedCache = new MemoryCache();
    const restarted = await startMarketData({
      feed: pipeline.host, reads: pipeline.host, cache: restartedCache, pubsub: pipeline.pubsub, history, logger: testLogger, timers: false,
    });
    await restarted.waitFor(pipeline.host.lastEventSequence());
    await restarted.writeSnapshots();
    await restarted.publishKlines();
    const warmTrades = JSON.parse((await restartedCache.get('md:BTCUSDT:trades'))!) as { id: number }[];
    assert.deepEqual(warmTrades.map((trade) => trade.id), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const rows = JSON.parse((await restartedCache.get('md:BTCUSDT:klines:1d'))!) as unknown[][];
    assert.equal(rows.length, 1);
    assert.equal(rows[0]![8], 10, 'one daily candle with all ten trades, none counted twice');
    await restarted.stop();
    await restartedCache.close();
  } finally {
    await app.close();
    await service.stop();
    await ledger.stop();
    await pipeline.close();
    await db.close();
  }
});
