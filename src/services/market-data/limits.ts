// Every named limit and period of the market data service, in one place. Each bounded
// collection (recent trades, candles, pending diffs) is checked against one of these.

export interface MarketDataLimits {
  /** Recent trades and aggregate trades kept per market (the REST maximum limit). */
  recentTradesMax: number;
  /** Closed candles with trades kept per market and interval. */
  candlesKeptMax: number;
  /** Price levels per side written to the depth snapshot in the cache (the REST maximum). */
  depthSnapshotLevelsMax: number;
  /** How often dirty REST snapshots (depth, trades, book ticker) are written to the cache. */
  snapshotIntervalMs: number;
  /** How often `@depth@100ms` diffs and `@depthN@100ms` partial books are published. */
  fastDepthIntervalMs: number;
  /** How often tickers, mini tickers, avgPrice, `@depthN` and 1s klines are published. */
  slowStreamIntervalMs: number;
  /** How often klines of intervals other than 1s are published and written to the cache. */
  klineIntervalMs: number;
  /** The rolling ticker window. */
  tickerWindowMs: number;
  /** The average price window. */
  averagePriceWindowMs: number;
  /** Trades read from history per market to warm up candles and tickers at start. */
  warmupTradesMax: number;
}

export const defaultMarketDataLimits: MarketDataLimits = {
  recentTradesMax: 1000,
  candlesKeptMax: 1000,
  depthSnapshotLevelsMax: 5000,
  snapshotIntervalMs: 100,
  fastDepthIntervalMs: 100,
  slowStreamIntervalMs: 1000,
  klineIntervalMs: 2000,
  tickerWindowMs: 24 * 60 * 60 * 1000,
  averagePriceWindowMs: 5 * 60 * 1000,
  warmupTradesMax: 5000,
};

/** Partial book depths Binance offers on `@depth<levels>`. */
export const partialDepthLevels = [5, 10, 20] as const;

/** Depth snapshot tiers in the cache: a request reads the smallest tier that covers its limit. */
export const depthSnapshotTiers = [100, 500, 1000, 5000] as const;
