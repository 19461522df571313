// The market data role's public surface: the projection service and its REST routes.
export { startMarketData, type MarketDataDeps, type MarketDataService } from './service.ts';
export { registerMarketDataRoutes, marketDataRouteLimits, type MarketDataRouteDeps } from './routes.ts';
export { marketChannel, cacheKeys as marketDataCacheKeys } from './keys.ts';
export { defaultMarketDataLimits, type MarketDataLimits } from './limits.ts';
export { klineIntervals, isKlineInterval, type KlineInterval } from './intervals.ts';
