// Candles computed by SQL from the trades table (klines older than the market-data cache)
// must equal the candles the market-data service builds in memory from the same trades,
// for fixed intervals, weeks (Monday-aligned) and calendar months.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { PgliteDatabase } from '../../adapters/pglite.ts';
import { migrate } from '../../adapters/sql/migrate.ts';
import { SeededRandom } from '../../lib/prng.ts';
import { CandleSeries } from '../market-data/candles.ts';
import { candleBucket, type KlineInterval } from '../market-data/intervals.ts';
import { SqlHistoryReads } from './history.ts';

let db: PgliteDatabase;
const seed = Number(process.env.CANDLE_SEED ?? 20261122);
const random = new SeededRandom(seed);
const trades: { tradeId: number; timeMs: number; priceTicks: number; quantityLots: number; takerSide: number }[] = [];

before(async () => {
  db = await PgliteDatabase.open();
  await migrate(db);
  // 600 trades over about 100 days from 2026-01-01, in trade-id order with rising times.
  let timeMs = Date.UTC(2026, 0, 1);
  for (let tradeId = 1; tradeId <= 600; tradeId++) {
    timeMs += random.integer(1, 4 * 3600_000 * 4);
    trades.push({ tradeId, timeMs, priceTicks: random.integer(9_000, 11_000), quantityLots: random.integer(1, 500), takerSide: random.integer(1, 2) });
  }
  for (const trade of trades) {
    await db.query(
      `INSERT INTO trades (trade_id, market_id, price_ticks, quantity_lots, quote_atoms, maker_order_id, taker_order_id, maker_account_id,
         taker_account_id, taker_side, maker_fee_atoms, taker_fee_atoms, time_ms, event_sequence)
       VALUES ($1, 1, $2, $3, $4, 1, 2, 1, 2, $5, 0, 0, $6, $1)`,
      [trade.tradeId, trade.priceTicks, trade.quantityLots, trade.priceTicks * trade.quantityLots, trade.takerSide, trade.timeMs],
    );
  }
  // A trade of another market must never leak into market 1's candles.
  await db.query(
    `INSERT INTO trades (trade_id, market_id, price_ticks, quantity_lots, quote_atoms, maker_order_id, taker_order_id, maker_account_id,
       taker_account_id, taker_side, maker_fee_atoms, taker_fee_atoms, time_ms, event_sequence)
     VALUES (100000, 2, 1, 1, 1, 1, 2, 1, 2, 1, 0, 0, $1, 100000)`,
    [trades[10]!.timeMs],
  );
});

after(async () => {
  await db?.close();
});

for (const interval of ['1h', '1d', '1w', '1M'] as KlineInterval[]) {
  test(`SQL candles equal in-memory candles for ${interval} (seed ${seed})`, async () => {
    const series = new CandleSeries(interval, 100_000);
    for (const trade of trades) {
      series.addTrade(trade.timeMs, trade.priceTicks, trade.quantityLots, trade.priceTicks * trade.quantityLots, trade.tradeId, trade.takerSide === 1);
    }
    const history = new SqlHistoryReads(db);
    const fromSql = await history.candles(1, candleBucket(interval), 0, Number.MAX_SAFE_INTEGER, 5000);
    assert.deepEqual(fromSql, series.candles.map((candle) => ({ ...candle })), `seed ${seed}: CANDLE_SEED=${seed} reproduces`);
  });
}

test('the time range and the limit bound the SQL candles', async () => {
  const history = new SqlHistoryReads(db);
  const startTimeMs = trades[100]!.timeMs;
  const endTimeMs = trades[200]!.timeMs;
  const candles = await history.candles(1, candleBucket('1h'), startTimeMs, endTimeMs, 1000);
  const counted = candles.reduce((sum, candle) => sum + candle.tradeCount, 0);
  assert.equal(counted, 101);
  assert.equal(candles[0]!.firstTradeId, 101);
  const limited = await history.candles(1, candleBucket('1h'), 0, Number.MAX_SAFE_INTEGER, 7);
  assert.equal(limited.length, 7);
  assert.equal(limited[0]!.firstTradeId, 1);
});
