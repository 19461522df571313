// Public market data REST routes in the Binance Spot dialect: depth, trades,
// historicalTrades, aggTrades, klines, uiKlines, avgPrice and the tickers. They read the
// snapshots the market data service keeps in the Cache (`X-Data-Source: cache`), and the
// trade history (`X-Data-Source: database`) only for trades older than the cache holds.

import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Cache } from '../../ports/cache.ts';
import type { HistoryReads, TradeRecord } from '../../ports/history.ts';
import type { EngineReads } from '../contracts.ts';
import type { MarketView } from '../../engine/types.ts';
import { Side } from '../../domain/codes.ts';
import {
  formatPrice, formatQuantity, formatQuoteAtoms, marketFormatFromAssets, zeroPriceText, type MarketFormat,
} from '../../domain/market-format.ts';
import { ApiError, QueryReader } from './query.ts';
import { cacheKeys } from './keys.ts';
import { fillKlines, type KlineRow } from './candles.ts';
import { candleBucket, isKlineInterval } from './intervals.ts';
import { depthSnapshotTiers } from './limits.ts';
import { klineRow, type BookTop, type RestAggregateTrade, type RestAveragePrice, type RestTicker, type RestTrade } from './payloads.ts';

export interface MarketDataRouteDeps {
  cache: Cache;
  reads: EngineReads;
  history?: HistoryReads;
  clock?: () => number;
}

/** Endpoint limits as Binance documents them. */
export const marketDataRouteLimits = {
  depthDefault: 100,
  depthMax: 5000,
  tradesDefault: 500,
  tradesMax: 1000,
  klinesDefault: 500,
  klinesMax: 1000,
  averagePriceMinutes: 5,
  tickerWindowMs: 24 * 60 * 60 * 1000,
} as const;

interface KnownMarket {
  market: MarketView;
  format: MarketFormat;
}

export function registerMarketDataRoutes(app: FastifyInstance, deps: MarketDataRouteDeps): void {
  const clock = deps.clock ?? Date.now;
  const formats = new Map<string, KnownMarket>();

  function known(symbol: string): KnownMarket {
    const cached = formats.get(symbol);
    if (cached) return cached;
    const market = deps.reads.marketBySymbol(symbol);
    if (!market) throw new ApiError(400, -1121, 'Invalid symbol.');
    const entry = { market, format: marketFormatFromAssets(market.spec, deps.reads.assets()) };
    formats.set(symbol, entry);
    return entry;
  }

  async function cached<T>(key: string): Promise<T | null> {
    const text = await deps.cache.get(key);
    return text === null ? null : (JSON.parse(text) as T);
  }

  function send(reply: FastifyReply, body: unknown, source = 'cache'): FastifyReply {
    return reply.header('X-Data-Source', source).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(body));
  }

  function fail(reply: FastifyReply, error: unknown): FastifyReply {
    if (error instanceof ApiError) return reply.code(error.status).send({ code: error.code, msg: error.message });
    throw error;
  }

  /** symbol XOR symbols (or neither: every market). */
  function selectedSymbols(query: QueryReader): { single: boolean; symbols: string[] } {
    if (query.has('symbol') && query.has('symbols')) {
      throw new ApiError(400, -1101, "Too many parameters; expected 'symbol' or 'symbols' and received both.");
    }
    if (query.has('symbol')) return { single: true, symbols: [query.symbol()] };
    const symbols = query.symbols();
    if (symbols) {
      for (const symbol of symbols) known(symbol);
      return { single: false, symbols };
    }
    return { single: false, symbols: deps.reads.markets().map((market) => market.spec.symbol) };
  }

  app.get('/api/v3/depth', async (request, reply) => {
    try {
      const query = new QueryReader(request.query, ['symbol', 'limit']);
      const symbol = query.symbol();
      // Binance truncates depth requests above the maximum instead of refusing them.
      const limit = query.limit(marketDataRouteLimits.depthDefault, marketDataRouteLimits.depthMax, true);
      known(symbol);
      const tier = depthSnapshotTiers.find((size) => size >= limit) ?? marketDataRouteLimits.depthMax;
      const snapshot = await cached<{ lastUpdateId: number; bids: [string, string][]; asks: [string, string][] }>(cacheKeys.depth(symbol, tier));
      if (!snapshot) return send(reply, { lastUpdateId: 0, bids: [], asks: [] });
      return send(reply, { lastUpdateId: snapshot.lastUpdateId, bids: snapshot.bids.slice(0, limit), asks: snapshot.asks.slice(0, limit) });
    } catch (error) {
      return fail(reply, error);
    }
  });

  app.get('/api/v3/trades', async (request, reply) => {
    try {
      const query = new QueryReader(request.query, ['symbol', 'limit']);
      const symbol = query.symbol();
      const limit = query.limit(marketDataRouteLimits.tradesDefault, marketDataRouteLimits.tradesMax);
      known(symbol);
      const trades = (await cached<RestTrade[]>(cacheKeys.trades(symbol))) ?? [];
      return send(reply, trades.slice(Math.max(0, trades.length - limit)));
    } catch (error) {
      return fail(reply, error);
    }
  });

  app.get('/api/v3/historicalTrades', async (request, reply) => {
    try {
      const query = new QueryReader(request.query, ['symbol', 'limit', 'fromId']);
      const symbol = query.symbol();
      const limit = query.limit(marketDataRouteLimits.tradesDefault, marketDataRouteLimits.tradesMax);
      const fromId = query.unsigned('fromId');
      const { market, format } = known(symbol);
      const trades = (await cached<RestTrade[]>(cacheKeys.trades(symbol))) ?? [];
      if (fromId === undefined) return send(reply, trades.slice(Math.max(0, trades.length - limit)));
      const oldestCachedId = trades.length > 0 ? trades[0]!.id : Number.POSITIVE_INFINITY;
      if (fromId >= oldestCachedId || !deps.history) {
        return send(reply, trades.filter((trade) => trade.id >= fromId).slice(0, limit));
      }
      const records = await deps.history.trades(market.marketId, { fromId, limit });
      return send(reply, records.map((record) => tradeFromRecord(format, record)), 'database');
    } catch (error) {
      return fail(reply, error);
    }
  });

  app.get('/api/v3/aggTrades', async (request, reply) => {
    try {
      const query = new QueryReader(request.query, ['symbol', 'fromId', 'startTime', 'endTime', 'limit']);
      const symbol = query.symbol();
      const limit = query.limit(marketDataRouteLimits.tradesDefault, marketDataRouteLimits.tradesMax);
      const fromId = query.unsigned('fromId');
      const startTimeMs = query.unsigned('startTime');
      const endTimeMs = query.unsigned('endTime');
      if (startTimeMs !== undefined && endTimeMs !== undefined && startTimeMs > endTimeMs) {
        throw new ApiError(400, -1127, 'startTime must be before endTime.');
      }
      const { market, format } = known(symbol);
      const aggregates = (await cached<RestAggregateTrade[]>(cacheKeys.aggregateTrades(symbol))) ?? [];
      const inRange = (aggregate: RestAggregateTrade) =>
        (fromId === undefined || aggregate.a >= fromId) &&
        (startTimeMs === undefined || aggregate.T >= startTimeMs) &&
        (endTimeMs === undefined || aggregate.T <= endTimeMs);
      if (fromId === undefined && startTimeMs === undefined && endTimeMs === undefined) {
        return send(reply, aggregates.slice(Math.max(0, aggregates.length - limit)));
      }
      const oldest = aggregates[0];
      const coveredByCache = oldest !== undefined &&
        (fromId !== undefined ? fromId >= oldest.a : (startTimeMs ?? oldest.T) >= oldest.T);
      if (coveredByCache || !deps.history) {
        const selected = aggregates.filter(inRange);
        // With only an end time, Binance answers the most recent aggregates before it.
        const answer = fromId === undefined && startTimeMs === undefined
          ? selected.slice(Math.max(0, selected.length - limit))
          : selected.slice(0, limit);
        return send(reply, answer);
      }
      const records = await deps.history.trades(market.marketId, {
        fromId, startTimeMs, endTimeMs, limit: marketDataRouteLimits.tradesMax,
      });
      const complete = records.length < marketDataRouteLimits.tradesMax;
      const fromHistory = aggregateRecords(format, records, complete).filter(inRange);
      return send(reply, fromHistory.slice(0, limit), 'database');
    } catch (error) {
      return fail(reply, error);
    }
  });

  for (const path of ['/api/v3/klines', '/api/v3/uiKlines']) {
    app.get(path, async (request, reply) => {
      try {
        const query = new QueryReader(request.query, ['symbol', 'interval', 'startTime', 'endTime', 'timeZone', 'limit']);
        const symbol = query.symbol();
        const intervalText = query.requiredText('interval');
        if (!isKlineInterval(intervalText)) throw new ApiError(400, -1120, 'Invalid interval.');
        const startTimeMs = query.unsigned('startTime');
        const endTimeMs = query.unsigned('endTime');
        const timeZone = query.optionalText('timeZone');
        if (timeZone !== undefined && !/^[+-]?0{1,2}(:00)?$/.test(timeZone)) {
          // Only UTC candles are kept; other time zones would need differently aligned candles.
          throw new ApiError(400, -1130, "Data sent for parameter 'timeZone' is not valid.");
        }
        const limit = query.limit(marketDataRouteLimits.klinesDefault, marketDataRouteLimits.klinesMax);
        if (startTimeMs !== undefined && endTimeMs !== undefined && startTimeMs > endTimeMs) {
          throw new ApiError(400, -1127, 'startTime must be before endTime.');
        }
        const { format, market } = known(symbol);
        let rows = (await cached<KlineRow[]>(cacheKeys.klines(symbol, intervalText))) ?? [];
        // The cache keeps the most recent candles; a range that starts before the oldest of
        // them is answered from the trades in the database (the source of every candle).
        const oldestCachedOpenMs = rows.length > 0 ? rows[0]![0] : Number.POSITIVE_INFINITY;
        const beforeCache = (startTimeMs !== undefined && startTimeMs < oldestCachedOpenMs) || (endTimeMs !== undefined && endTimeMs < oldestCachedOpenMs);
        if (beforeCache && deps.history) {
          const candles = await deps.history.candles(market.marketId, candleBucket(intervalText), startTimeMs ?? 0, endTimeMs ?? clock(), limit);
          rows = candles.map((candle) => klineRow(format, intervalText, candle));
        }
        const zeroQuantity = formatQuantity(format, 0);
        const zeroQuote = formatQuoteAtoms(format, 0);
        const answer = fillKlines(rows, intervalText, { startTimeMs, endTimeMs, limit, nowMs: clock() }, zeroQuantity, zeroQuote);
        return send(reply, answer, beforeCache && deps.history ? 'database' : 'cache');
      } catch (error) {
        return fail(reply, error);
      }
    });
  }

  app.get('/api/v3/avgPrice', async (request, reply) => {
    try {
      const query = new QueryReader(request.query, ['symbol']);
      const symbol = query.symbol();
      const { format } = known(symbol);
      const average = await cached<RestAveragePrice>(cacheKeys.averagePrice(symbol));
      return send(reply, average ?? { mins: marketDataRouteLimits.averagePriceMinutes, price: zeroPriceText(format), closeTime: 0 });
    } catch (error) {
      return fail(reply, error);
    }
  });

  async function tickerOf(symbol: string): Promise<RestTicker> {
    const { format } = known(symbol);
    const [ticker, top] = await Promise.all([cached<RestTicker>(cacheKeys.ticker(symbol)), bookTopOf(symbol)]);
    const base = ticker ?? emptyTicker(format, clock());
    return { ...base, bidPrice: top.bidPrice, bidQty: top.bidQty, askPrice: top.askPrice, askQty: top.askQty };
  }

  async function bookTopOf(symbol: string): Promise<BookTop> {
    const { format } = known(symbol);
    const top = await cached<BookTop>(cacheKeys.bookTicker(symbol));
    if (top) return { bidPrice: top.bidPrice, bidQty: top.bidQty, askPrice: top.askPrice, askQty: top.askQty };
    const zeroPrice = zeroPriceText(format);
    const zeroQuantity = formatQuantity(format, 0);
    return { bidPrice: zeroPrice, bidQty: zeroQuantity, askPrice: zeroPrice, askQty: zeroQuantity };
  }

  app.get('/api/v3/ticker/24hr', async (request, reply) => {
    try {
      const query = new QueryReader(request.query, ['symbol', 'symbols', 'type']);
      const type = query.optionalText('type') ?? 'FULL';
      if (type !== 'FULL' && type !== 'MINI') throw new ApiError(400, -1139, 'Invalid ticker type.');
      const { single, symbols } = selectedSymbols(query);
      const tickers = await Promise.all(symbols.map(tickerOf));
      const shaped = tickers.map((ticker) => (type === 'FULL' ? ticker : miniTicker(ticker)));
      return send(reply, single ? shaped[0] : shaped);
    } catch (error) {
      return fail(reply, error);
    }
  });

  app.get('/api/v3/ticker/price', async (request, reply) => {
    try {
      const query = new QueryReader(request.query, ['symbol', 'symbols']);
      const { single, symbols } = selectedSymbols(query);
      const prices = await Promise.all(symbols.map(async (symbol) => {
        const { format } = known(symbol);
        const price = await cached<{ symbol: string; price: string }>(cacheKeys.lastPrice(symbol));
        return price ?? { symbol, price: zeroPriceText(format) };
      }));
      return send(reply, single ? prices[0] : prices);
    } catch (error) {
      return fail(reply, error);
    }
  });

  app.get('/api/v3/ticker/bookTicker', async (request, reply) => {
    try {
      const query = new QueryReader(request.query, ['symbol', 'symbols']);
      const { single, symbols } = selectedSymbols(query);
      const tops = await Promise.all(symbols.map(async (symbol) => ({ symbol, ...(await bookTopOf(symbol)) })));
      return send(reply, single ? tops[0] : tops);
    } catch (error) {
      return fail(reply, error);
    }
  });
}

function miniTicker(ticker: RestTicker) {
  return {
    symbol: ticker.symbol, openPrice: ticker.openPrice, highPrice: ticker.highPrice, lowPrice: ticker.lowPrice,
    lastPrice: ticker.lastPrice, volume: ticker.volume, quoteVolume: ticker.quoteVolume, openTime: ticker.openTime,
    closeTime: ticker.closeTime, firstId: ticker.firstId, lastId: ticker.lastId, count: ticker.count,
  };
}

function emptyTicker(format: MarketFormat, nowMs: number): RestTicker {
  const zeroPrice = zeroPriceText(format);
  const zeroQuantity = formatQuantity(format, 0);
  return {
    symbol: format.symbol, priceChange: zeroPrice, priceChangePercent: '0.000', weightedAvgPrice: zeroPrice,
    prevClosePrice: zeroPrice, lastPrice: zeroPrice, lastQty: zeroQuantity, bidPrice: zeroPrice, bidQty: zeroQuantity,
    askPrice: zeroPrice, askQty: zeroQuantity, openPrice: zeroPrice, highPrice: zeroPrice, lowPrice: zeroPrice,
    volume: zeroQuantity, quoteVolume: formatQuoteAtoms(format, 0), openTime: nowMs - marketDataRouteLimits.tickerWindowMs,
    closeTime: nowMs, firstId: -1, lastId: -1, count: 0,
  };
}

function tradeFromRecord(format: MarketFormat, record: TradeRecord): RestTrade {
  return {
    id: record.tradeId,
    price: formatPrice(format, record.priceTicks),
    qty: formatQuantity(format, record.quantityLots),
    quoteQty: formatQuoteAtoms(format, record.quoteAtoms),
    time: record.timeMs,
    isBuyerMaker: record.takerSide === Side.Sell,
    isBestMatch: true,
  };
}

/**
 * Aggregates trade records (oldest first) the way the live service does: consecutive
 * fills of one taker order at one price, id = first trade id. When the records may be cut
 * short (`complete` false), the last aggregate may be missing fills and is dropped.
 */
export function aggregateRecords(format: MarketFormat, records: readonly TradeRecord[], complete: boolean): RestAggregateTrade[] {
  const result: { takerOrderId: number; priceTicks: number; lots: number; first: TradeRecord; last: TradeRecord }[] = [];
  for (const record of records) {
    const open = result[result.length - 1];
    if (open && open.takerOrderId === record.takerOrderId && open.priceTicks === record.priceTicks) {
      open.lots += record.quantityLots;
      open.last = record;
    } else {
      result.push({ takerOrderId: record.takerOrderId, priceTicks: record.priceTicks, lots: record.quantityLots, first: record, last: record });
    }
  }
  if (!complete && result.length > 1) result.pop();
  return result.map((open) => ({
    a: open.first.tradeId, p: formatPrice(format, open.priceTicks), q: formatQuantity(format, open.lots),
    f: open.first.tradeId, l: open.last.tradeId, T: open.first.timeMs, m: open.first.takerSide === Side.Sell, M: true,
  }));
}
