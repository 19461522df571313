// The market data projection: engine events in, Binance market data out. It keeps each
// market's L2 book (from BookLevelChanged: absolute quantities and the per-market
// updateId), recent trades, aggregate trades, candles for every interval and rolling
// statistics; publishes stream payloads on PubSub (`md.<SYMBOL>.<stream>`) and keeps REST
// snapshots in the Cache (`md:<SYMBOL>:...`). Invariant (book sync): every depth diff
// carries U = previous u + 1 of its stream, and each cached depth snapshot is the book
// exactly at its lastUpdateId, so snapshot + diffs reproduce the engine's book.

import type { Logger } from 'pino';
import type { Cache, PubSub } from '../../ports/cache.ts';
import type { HistoryReads, TradeRecord } from '../../ports/history.ts';
import type { EventBatch, EventFeed, EngineReads } from '../contracts.ts';
import type { EngineEvent } from '../../domain/events.ts';
import type { MarketSpec } from '../../domain/market.ts';
import { Side } from '../../domain/codes.ts';
import { formatPrice, formatQuantity, marketFormat, type MarketFormat } from '../../domain/market-format.ts';
import { LevelBook } from './level-book.ts';
import { CandleSeries, Candle, type KlineRow } from './candles.ts';
import { RollingWindow } from './rolling-window.ts';
import { candleOpenTime, klineIntervals, type KlineInterval } from './intervals.ts';
import { defaultMarketDataLimits, depthSnapshotTiers, partialDepthLevels, type MarketDataLimits } from './limits.ts';
import { allMarketsChannelSymbol, cacheKeys, marketChannel } from './keys.ts';
import {
  aggregateTradeStreamPayload, averagePriceStreamPayload, bookTickerPayload, bookTop, depthUpdatePayload, klineRow,
  klineStreamPayload, levelsText, miniTickerStreamPayload, partialDepthPayload, restAggregateTradeText, restTicker, restTradeText,
  RecentJsonTexts, tickerStreamPayload, tradeStreamPayload, type BookTop, type RestAggregateTrade, type TradeFacts,
} from './payloads.ts';

export interface MarketDataDeps {
  feed: EventFeed;
  reads: EngineReads;
  cache: Cache;
  pubsub: PubSub;
  history?: HistoryReads;
  logger: Logger;
  /** Wall clock for candles, tickers and timers (tests pass a fake). */
  clock?: () => number;
  limits?: Partial<MarketDataLimits>;
  /** Run the periodic publishers (default true; tests drive them by hand). */
  timers?: boolean;
}

export interface MarketDataService {
  /** Highest event sequence applied and published. */
  appliedEventSequence(): number;
  /** Resolves once every event up to `eventSequence` has been applied and published. */
  waitFor(eventSequence: number, timeoutMs?: number): Promise<void>;
  /** The 100 ms publishers: `@depth@100ms`, `@depthN@100ms`. */
  publishFast(nowMs?: number): Promise<void>;
  /** The 1 s publishers: tickers, avgPrice, `@depthN`, 1s klines. */
  publishSlow(nowMs?: number): Promise<void>;
  /** Klines of every interval but 1s, and their cache rows. */
  publishKlines(nowMs?: number): Promise<void>;
  /** Writes dirty REST snapshots (depth, trades, aggTrades, prices, book tickers). */
  writeSnapshots(): Promise<void>;
  /** The service's book of a market (best first), for checks. */
  depth(symbol: string, levelsMax: number): { lastUpdateId: number; bids: [number, number][]; asks: [number, number][] } | null;
  stop(): Promise<void>;
}

interface OpenAggregate {
  takerOrderId: number;
  priceTicks: number;
  quantityLots: number;
  firstTradeId: number;
  lastTradeId: number;
  timeMs: number;
  buyerIsMaker: boolean;
}

class MarketState {
  readonly book = new LevelBook();
  readonly candles = new Map<KlineInterval, CandleSeries>();
  readonly rolling: RollingWindow;
  /** Recent trades and aggregate trades as their REST JSON texts (the snapshot joins them). */
  readonly trades: RecentJsonTexts;
  readonly aggregates: RecentJsonTexts;
  /** The newest trade's price text ('' before any trade). */
  lastTradePrice = '';
  openAggregate: OpenAggregate | null = null;
  lastTradeId = 0;
  // The diff of the batch being applied (the real-time `@depth` stream).
  batchFirstUpdateId = 0;
  batchLastUpdateId = 0;
  readonly batchBids = new Map<number, number>();
  readonly batchAsks = new Map<number, number>();
  batchTimeMs = 0;
  // The diff accumulated for `@depth@100ms`.
  fastFirstUpdateId = 0;
  fastLastUpdateId = 0;
  readonly fastBids = new Map<number, number>();
  readonly fastAsks = new Map<number, number>();
  fastTimeMs = 0;
  fastPartialDirty = true;
  lastBookTicker = '';
  depthDirty = true;
  tradesDirty = true;
  klinesDirty = true;
  readonly klinePublishedOpenMs = new Map<KlineInterval, number>();
  /** PubSub channel names by stream, built once (a publish then hashes no new string). */
  private readonly channels = new Map<string, string>();

  constructor(
    readonly marketId: number,
    readonly symbol: string,
    readonly format: MarketFormat,
    readonly quoteAtomsPerTickLot: number,
    limits: MarketDataLimits,
  ) {
    this.rolling = new RollingWindow(limits.tickerWindowMs);
    this.trades = new RecentJsonTexts(limits.recentTradesMax);
    this.aggregates = new RecentJsonTexts(limits.recentTradesMax);
    for (const interval of klineIntervals) this.candles.set(interval, new CandleSeries(interval, limits.candlesKeptMax));
  }

  channel(stream: string): string {
    let channel = this.channels.get(stream);
    if (channel === undefined) {
      channel = marketChannel(this.symbol, stream);
      this.channels.set(stream, channel);
    }
    return channel;
  }

  top(): BookTop {
    return bookTop(this.format, this.book.best(Side.Buy), this.book.best(Side.Sell));
  }
}

export async function startMarketData(deps: MarketDataDeps): Promise<MarketDataService> {
  const limits: MarketDataLimits = { ...defaultMarketDataLimits, ...deps.limits };
  const clock = deps.clock ?? Date.now;
  const logger = deps.logger.child({ component: 'market-data' });
  const assetScales = new Map<string, number>();
  const markets = new Map<number, MarketState>();
  const marketsBySymbol = new Map<string, MarketState>();
  let applied = 0;
  let stopped = false;
  const waiters: { sequence: number; resolve: () => void }[] = [];

  for (const asset of deps.reads.assets()) assetScales.set(asset.code, asset.scale);

  function addMarket(marketId: number, spec: MarketSpec): MarketState | null {
    const existing = markets.get(marketId);
    if (existing) return existing;
    const baseScale = assetScales.get(spec.baseAsset);
    const quoteScale = assetScales.get(spec.quoteAsset);
    if (baseScale === undefined || quoteScale === undefined) {
      logger.error({ symbol: spec.symbol }, 'market with an unknown asset; not projected');
      return null;
    }
    const state = new MarketState(marketId, spec.symbol, marketFormat(spec, baseScale, quoteScale), spec.quoteAtomsPerTickLot, limits);
    markets.set(marketId, state);
    marketsBySymbol.set(spec.symbol, state);
    return state;
  }

  function loadBook(state: MarketState): void {
    const depth = deps.reads.depth(state.marketId, limits.depthSnapshotLevelsMax);
    state.book.load(depth.updateId, depth.bids, depth.asks);
    state.depthDirty = true;
    state.fastPartialDirty = true;
  }

  // Books come from the engine's reads; their updateId tells which BookLevelChanged events
  // are already included, so the feed may start earlier than the reads without harm.
  let afterEventSequence = deps.feed.lastEventSequence();
  for (const market of deps.reads.markets()) {
    const state = addMarket(market.marketId, market.spec);
    if (state) loadBook(state);
  }
  if (deps.history) {
    try {
      afterEventSequence = Math.min(afterEventSequence, await deps.history.projectedEventSequence());
      for (const state of markets.values()) {
        const records = await deps.history.trades(state.marketId, { limit: limits.warmupTradesMax });
        for (const record of records) applyTrade(state, tradeFromRecord(state, record), false);
        flushAggregate(state, false);
      }
    } catch (error) {
      logger.warn({ err: error }, 'history warm-up failed; starting from live events only');
    }
  }

  function tradeFromRecord(state: MarketState, record: TradeRecord): TradeFacts & { takerOrderId: number } {
    const takerIsBuyer = record.takerSide === Side.Buy;
    return {
      tradeId: record.tradeId,
      priceTicks: record.priceTicks,
      quantityLots: record.quantityLots,
      quoteAtoms: record.quoteAtoms || record.priceTicks * record.quantityLots * state.quoteAtomsPerTickLot,
      timeMs: record.timeMs,
      buyerIsMaker: !takerIsBuyer,
      buyerOrderId: takerIsBuyer ? record.takerOrderId : record.makerOrderId,
      sellerOrderId: takerIsBuyer ? record.makerOrderId : record.takerOrderId,
      takerOrderId: record.takerOrderId,
    };
  }

  let pending: Promise<void>[] = [];
  function publishOn(channel: string, payload: string): void {
    pending.push(deps.pubsub.publish(channel, payload).catch((error) => logger.error({ err: error, channel }, 'publish failed')));
  }
  function publish(symbol: string, stream: string, payload: string): void {
    publishOn(marketChannel(symbol, stream), payload);
  }
  async function drainPublishes(): Promise<void> {
    const inFlight = pending;
    pending = [];
    await Promise.all(inFlight);
  }

  function flushAggregate(state: MarketState, live: boolean): void {
    const open = state.openAggregate;
    if (!open) return;
    state.openAggregate = null;
    // The aggregate id is its first trade id: unique, increasing, and derivable again from
    // the trade history after a restart.
    const aggregate: RestAggregateTrade = {
      a: open.firstTradeId, p: formatPrice(state.format, open.priceTicks), q: formatQuantity(state.format, open.quantityLots),
      f: open.firstTradeId, l: open.lastTradeId, T: open.timeMs, m: open.buyerIsMaker, M: true,
    };
    state.aggregates.push(restAggregateTradeText(aggregate));
    state.tradesDirty = true;
    if (live) publishOn(state.channel('aggTrade'), aggregateTradeStreamPayload(state.format, aggregate, open.timeMs));
  }

  function applyTrade(state: MarketState, trade: TradeFacts & { takerOrderId: number }, live: boolean): void {
    if (trade.tradeId <= state.lastTradeId) return;
    state.lastTradeId = trade.tradeId;
    state.trades.push(restTradeText(state.format, trade));
    state.lastTradePrice = formatPrice(state.format, trade.priceTicks);
    state.tradesDirty = true;
    state.klinesDirty = true;
    for (const series of state.candles.values()) {
      series.addTrade(trade.timeMs, trade.priceTicks, trade.quantityLots, trade.quoteAtoms, trade.tradeId, !trade.buyerIsMaker);
    }
    state.rolling.addTrade(trade.timeMs, trade.priceTicks, trade.quantityLots, trade.quoteAtoms, trade.tradeId);
    // Binance aggregates consecutive fills of one taker order at one price.
    const open = state.openAggregate;
    if (open && open.takerOrderId === trade.takerOrderId && open.priceTicks === trade.priceTicks) {
      open.quantityLots += trade.quantityLots;
      open.lastTradeId = trade.tradeId;
    } else {
      flushAggregate(state, live);
      state.openAggregate = {
        takerOrderId: trade.takerOrderId, priceTicks: trade.priceTicks, quantityLots: trade.quantityLots,
        firstTradeId: trade.tradeId, lastTradeId: trade.tradeId, timeMs: trade.timeMs, buyerIsMaker: trade.buyerIsMaker,
      };
    }
    if (live) publishOn(state.channel('trade'), tradeStreamPayload(state.format, trade, trade.timeMs));
  }

  function onTradeExecuted(event: EngineEvent): void {
    const state = markets.get(event.marketId as number);
    if (!state) return;
    const takerIsBuyer = event.takerSide === Side.Buy;
    const priceTicks = event.priceTicks as number;
    const quantityLots = event.quantityLots as number;
    applyTrade(state, {
      tradeId: event.tradeId as number,
      priceTicks,
      quantityLots,
      quoteAtoms: priceTicks * quantityLots * state.quoteAtomsPerTickLot,
      timeMs: event.timestampMs,
      buyerIsMaker: !takerIsBuyer,
      buyerOrderId: (takerIsBuyer ? event.takerOrderId : event.makerOrderId) as number,
      sellerOrderId: (takerIsBuyer ? event.makerOrderId : event.takerOrderId) as number,
      takerOrderId: event.takerOrderId as number,
    }, true);
  }

  function onBookLevelChanged(event: EngineEvent, touched: Set<MarketState>): void {
    const state = markets.get(event.marketId as number);
    if (!state) return;
    const updateId = event.updateId as number;
    if (updateId <= state.book.updateId) return;
    if (updateId !== state.book.updateId + 1) {
      // A hole in our own input: rebuild from the engine. Clients see the jump in U and
      // resync, which is exactly what the protocol asks of them.
      logger.error({ symbol: state.symbol, expected: state.book.updateId + 1, got: updateId }, 'book update gap; reloading book');
      loadBook(state);
      state.batchFirstUpdateId = 0;
      state.batchBids.clear();
      state.batchAsks.clear();
      state.fastFirstUpdateId = 0;
      state.fastBids.clear();
      state.fastAsks.clear();
      if (updateId <= state.book.updateId) return;
    }
    const side = event.side as number;
    const priceTicks = event.priceTicks as number;
    const quantityLots = event.quantityLots as number;
    state.book.set(side, priceTicks, quantityLots);
    state.book.updateId = updateId;
    if (state.batchFirstUpdateId === 0) state.batchFirstUpdateId = updateId;
    state.batchLastUpdateId = updateId;
    state.batchTimeMs = event.timestampMs;
    if (state.fastFirstUpdateId === 0) state.fastFirstUpdateId = updateId;
    state.fastLastUpdateId = updateId;
    state.fastTimeMs = event.timestampMs;
    (side === Side.Buy ? state.batchBids : state.batchAsks).set(priceTicks, quantityLots);
    (side === Side.Buy ? state.fastBids : state.fastAsks).set(priceTicks, quantityLots);
    state.depthDirty = true;
    state.fastPartialDirty = true;
    touched.add(state);
  }

  function onMarketAdded(event: EngineEvent): void {
    try {
      const spec = JSON.parse(event.spec as string) as MarketSpec;
      addMarket(event.marketId as number, spec);
    } catch (error) {
      logger.error({ err: error, marketId: event.marketId }, 'unreadable MarketAdded spec');
    }
  }

  function publishBatchDiffs(touched: Set<MarketState>): void {
    for (const state of touched) {
      if (state.batchFirstUpdateId !== 0) {
        publishOn(state.channel('depth'), depthUpdatePayload(
          state.format, state.batchTimeMs, state.batchFirstUpdateId, state.batchLastUpdateId, state.batchBids, state.batchAsks,
        ));
        state.batchFirstUpdateId = 0;
        state.batchBids.clear();
        state.batchAsks.clear();
      }
      const top = state.top();
      const key = `${top.bidPrice}|${top.bidQty}|${top.askPrice}|${top.askQty}`;
      if (key !== state.lastBookTicker) {
        state.lastBookTicker = key;
        publishOn(state.channel('bookTicker'), bookTickerPayload(state.format, state.book.updateId, top));
      }
    }
  }

  async function onBatch(batch: EventBatch): Promise<void> {
    if (stopped) return;
    const touched = new Set<MarketState>();
    const tradedMarkets = new Set<MarketState>();
    let lastCommandSequence = -1;
    for (const event of batch.events) {
      if (event.commandSequence !== lastCommandSequence) {
        // Fills of one taker order all come from one command: close its aggregates.
        for (const state of tradedMarkets) flushAggregate(state, true);
        tradedMarkets.clear();
        lastCommandSequence = event.commandSequence;
      }
      switch (event.type) {
        case 'BookLevelChanged':
          onBookLevelChanged(event, touched);
          break;
        case 'TradeExecuted': {
          onTradeExecuted(event);
          const state = markets.get(event.marketId as number);
          if (state) tradedMarkets.add(state);
          break;
        }
        case 'AssetAdded':
          assetScales.set(event.asset as string, event.scale as number);
          break;
        case 'MarketAdded':
          onMarketAdded(event);
          break;
        default:
          break;
      }
      if (event.eventSequence > applied) applied = event.eventSequence;
    }
    for (const state of tradedMarkets) flushAggregate(state, true);
    publishBatchDiffs(touched);
    await drainPublishes();
    for (let index = waiters.length - 1; index >= 0; index--) {
      if (waiters[index]!.sequence <= applied) waiters.splice(index, 1)[0]!.resolve();
    }
  }

  // Everything up to the subscription point is in the books (reads) or was warmed up.
  applied = afterEventSequence;
  let queue: Promise<void> = Promise.resolve();
  const unsubscribe = deps.feed.subscribe(afterEventSequence, (batch) => {
    // Batches apply strictly in order even if the feed does not await us.
    queue = queue.then(() => onBatch(batch)).catch((error) => logger.error({ err: error }, 'market data batch failed'));
    return queue;
  });

  async function writeSnapshots(): Promise<void> {
    const writes: Promise<void>[] = [];
    for (const state of markets.values()) {
      if (state.depthDirty) {
        state.depthDirty = false;
        const bids = levelsText(state.format, state.book.top(Side.Buy, limits.depthSnapshotLevelsMax));
        const asks = levelsText(state.format, state.book.top(Side.Sell, limits.depthSnapshotLevelsMax));
        const lastUpdateId = state.book.updateId;
        let previousText = '';
        for (const tier of depthSnapshotTiers) {
          const text = bids.length <= tier && asks.length <= tier && previousText !== ''
            ? previousText
            : JSON.stringify({ lastUpdateId, bids: bids.slice(0, tier), asks: asks.slice(0, tier) });
          previousText = text;
          writes.push(deps.cache.set(cacheKeys.depth(state.symbol, tier), text));
        }
        writes.push(deps.cache.set(cacheKeys.bookTicker(state.symbol), JSON.stringify({ symbol: state.symbol, ...state.top() })));
      }
      if (state.tradesDirty) {
        state.tradesDirty = false;
        writes.push(deps.cache.set(cacheKeys.trades(state.symbol), state.trades.jsonArray()));
        writes.push(deps.cache.set(cacheKeys.aggregateTrades(state.symbol), state.aggregates.jsonArray()));
        if (state.trades.length > 0) writes.push(deps.cache.set(cacheKeys.lastPrice(state.symbol), JSON.stringify({ symbol: state.symbol, price: state.lastTradePrice })));
      }
    }
    await Promise.all(writes);
  }

  async function publishFast(nowMs = clock()): Promise<void> {
    await queue;
    for (const state of markets.values()) {
      if (state.fastFirstUpdateId !== 0) {
        publish(state.symbol, 'depth@100ms', depthUpdatePayload(
          state.format, state.fastTimeMs || nowMs, state.fastFirstUpdateId, state.fastLastUpdateId, state.fastBids, state.fastAsks,
        ));
        state.fastFirstUpdateId = 0;
        state.fastBids.clear();
        state.fastAsks.clear();
      }
      if (state.fastPartialDirty) {
        state.fastPartialDirty = false;
        for (const levels of partialDepthLevels) {
          publish(state.symbol, `depth${levels}@100ms`, partialDepthPayload(
            state.format, state.book.updateId, state.book.top(Side.Buy, levels), state.book.top(Side.Sell, levels),
          ));
        }
      }
    }
    await drainPublishes();
  }

  function publishKlineIntervals(state: MarketState, intervals: readonly KlineInterval[], nowMs: number): void {
    for (const interval of intervals) {
      const series = state.candles.get(interval)!;
      const current = series.candleAt(nowMs);
      if (!current) continue;
      const currentOpenMs = current.candle.openTimeMs;
      const publishedOpenMs = state.klinePublishedOpenMs.get(interval);
      if (publishedOpenMs !== undefined && publishedOpenMs < currentOpenMs) {
        // The candle we last showed has closed: show its final state once, with x = true.
        publish(state.symbol, `kline_${interval}`, klineStreamPayload(state.format, interval, candleOpenedAt(series, publishedOpenMs), true, nowMs));
      }
      state.klinePublishedOpenMs.set(interval, currentOpenMs);
      publish(state.symbol, `kline_${interval}`, klineStreamPayload(state.format, interval, current.candle, false, nowMs));
    }
  }

  async function publishSlow(nowMs = clock()): Promise<void> {
    await queue;
    const writes: Promise<void>[] = [];
    const allTickers: string[] = [];
    const allMiniTickers: string[] = [];
    for (const state of markets.values()) {
      const top = state.top();
      const ticker = restTicker(state.format, state.rolling.stats(nowMs), top, nowMs, limits.tickerWindowMs);
      const tickerText = tickerStreamPayload(ticker, nowMs);
      const miniText = miniTickerStreamPayload(ticker, nowMs);
      publish(state.symbol, 'ticker', tickerText);
      publish(state.symbol, 'miniTicker', miniText);
      allTickers.push(tickerText);
      allMiniTickers.push(miniText);
      writes.push(deps.cache.set(cacheKeys.ticker(state.symbol), JSON.stringify(ticker)));
      const averageStats = state.rolling.stats(nowMs, limits.averagePriceWindowMs);
      const average = {
        mins: Math.round(limits.averagePriceWindowMs / 60_000),
        price: averageStats.tradeCount === 0 ? ticker.lastPrice : restTicker(state.format, averageStats, top, nowMs, 0).weightedAvgPrice,
        closeTime: state.rolling.lastTimeMs,
      };
      publish(state.symbol, 'avgPrice', averagePriceStreamPayload(state.symbol, average, nowMs));
      writes.push(deps.cache.set(cacheKeys.averagePrice(state.symbol), JSON.stringify(average)));
      for (const levels of partialDepthLevels) {
        publish(state.symbol, `depth${levels}`, partialDepthPayload(
          state.format, state.book.updateId, state.book.top(Side.Buy, levels), state.book.top(Side.Sell, levels),
        ));
      }
      publishKlineIntervals(state, ['1s'], nowMs);
    }
    // The all-market arrays (`!ticker@arr`, `!miniTicker@arr`), one message per period.
    if (allTickers.length > 0) {
      publish(allMarketsChannelSymbol, 'ticker@arr', `[${allTickers.join(',')}]`);
      publish(allMarketsChannelSymbol, 'miniTicker@arr', `[${allMiniTickers.join(',')}]`);
    }
    await Promise.all(writes);
    await drainPublishes();
  }

  async function publishKlines(nowMs = clock()): Promise<void> {
    await queue;
    const writes: Promise<void>[] = [];
    for (const state of markets.values()) {
      publishKlineIntervals(state, klineIntervals.filter((interval) => interval !== '1s'), nowMs);
      if (state.klinesDirty) {
        state.klinesDirty = false;
        for (const [interval, series] of state.candles) {
          const rows: KlineRow[] = series.candles.map((candle) => klineRow(state.format, interval, candle));
          writes.push(deps.cache.set(cacheKeys.klines(state.symbol, interval), JSON.stringify(rows)));
        }
      }
    }
    await Promise.all(writes);
    await drainPublishes();
  }

  // First snapshots, so REST answers before the first event.
  await writeSnapshots();
  await publishSlow();
  await publishKlines();

  const timers: NodeJS.Timeout[] = [];
  if (deps.timers !== false) {
    const every = (periodMs: number, work: () => Promise<void>): void => {
      let running = false;
      const timer = setInterval(() => {
        if (running || stopped) return;
        running = true;
        work().catch((error) => logger.error({ err: error }, 'market data timer failed')).finally(() => { running = false; });
      }, periodMs);
      timer.unref();
      timers.push(timer);
    };
    every(limits.snapshotIntervalMs, writeSnapshots);
    every(limits.fastDepthIntervalMs, () => publishFast());
    every(limits.slowStreamIntervalMs, () => publishSlow());
    every(limits.klineIntervalMs, () => publishKlines());
  }

  return {
    appliedEventSequence: () => applied,
    waitFor(eventSequence: number, timeoutMs = 10_000): Promise<void> {
      if (applied >= eventSequence) return queue;
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`market data did not reach event ${eventSequence} (at ${applied})`)), timeoutMs);
        waiters.push({ sequence: eventSequence, resolve: () => { clearTimeout(timer); resolve(); } });
      });
    },
    publishFast,
    publishSlow,
    publishKlines,
    writeSnapshots: async () => { await queue; await writeSnapshots(); },
    depth(symbol: string, levelsMax: number) {
      const state = marketsBySymbol.get(symbol);
      if (!state) return null;
      return { lastUpdateId: state.book.updateId, bids: state.book.top(Side.Buy, levelsMax), asks: state.book.top(Side.Sell, levelsMax) };
    },
    async stop(): Promise<void> {
      stopped = true;
      unsubscribe();
      for (const timer of timers) clearInterval(timer);
      await queue;
      await drainPublishes();
    },
  };
}

/** The candle of `series` that opened at `openTimeMs`, stored or empty at the previous close. */
function candleOpenedAt(series: CandleSeries, openTimeMs: number): Candle {
  const candles = series.candles;
  for (let index = candles.length - 1; index >= 0; index--) {
    const candle = candles[index]!;
    if (candle.openTimeMs === openTimeMs) return candle;
    if (candle.openTimeMs < openTimeMs) return new Candle(candleOpenTime(series.interval, openTimeMs), candle.closeTicks, -1);
  }
  return new Candle(openTimeMs, 0, -1);
}
