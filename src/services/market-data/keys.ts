// Names of the market data PubSub channels and Cache keys (see the module map in
// src/services/contracts.ts). The stream server and the REST routes use these, never
// hand-written strings, so the writer and the readers cannot drift apart.

import type { KlineInterval } from './intervals.ts';

/** PubSub channel of one Binance stream: `md.BTCUSDT.depth@100ms` for `btcusdt@depth@100ms`. */
export function marketChannel(symbol: string, stream: string): string {
  return `md.${symbol}.${stream}`;
}

/** The channel "symbol" of all-market streams: `md.ALL.ticker@arr` for `!ticker@arr`. */
export const allMarketsChannelSymbol = 'ALL';

export const cacheKeys = {
  depth: (symbol: string, tier: number) => `md:${symbol}:depth:${tier}`,
  trades: (symbol: string) => `md:${symbol}:trades`,
  aggregateTrades: (symbol: string) => `md:${symbol}:aggTrades`,
  klines: (symbol: string, interval: KlineInterval) => `md:${symbol}:klines:${interval}`,
  ticker: (symbol: string) => `md:${symbol}:ticker`,
  bookTicker: (symbol: string) => `md:${symbol}:bookTicker`,
  averagePrice: (symbol: string) => `md:${symbol}:avgPrice`,
  lastPrice: (symbol: string) => `md:${symbol}:price`,
};
