// Binance stream names and how they map to PubSub channels: `btcusdt@depth@100ms` is the
// channel `md.BTCUSDT.depth@100ms`; a listenKey is the user data stream of the account it
// belongs to (`user.<accountId>`, looked up in the Cache as `listenKey:<key>`).

import type { Cache } from '../../../ports/cache.ts';
import type { EngineReads } from '../../contracts.ts';

const klineIntervalNames = ['1s', '1m', '3m', '5m', '15m', '30m', '1h', '2h', '4h', '6h', '8h', '12h', '1d', '3d', '1w', '1M'];

/** Every per-symbol stream suffix we publish (after `<symbol>@`). */
export const marketStreamSuffixes: ReadonlySet<string> = new Set([
  'trade', 'aggTrade', 'depth', 'depth@100ms', 'bookTicker', 'ticker', 'miniTicker', 'avgPrice',
  'depth5', 'depth10', 'depth20', 'depth5@100ms', 'depth10@100ms', 'depth20@100ms',
  ...klineIntervalNames.map((interval) => `kline_${interval}`),
]);

/** Binance also names the 1000 ms variants explicitly; they are the plain streams. */
const suffixAliases: Record<string, string> = {
  'depth@1000ms': 'depth', 'depth5@1000ms': 'depth5', 'depth10@1000ms': 'depth10', 'depth20@1000ms': 'depth20',
};

const listenKeyPattern = /^[A-Za-z0-9]{16,128}$/;

export type ResolvedStream =
  | { kind: 'market'; name: string; channel: string }
  | { kind: 'user'; name: string; channel: string; listenKey: string; accountId: number };

/** A name shaped like a listenKey (no '@', 16..128 letters and digits). */
export function looksLikeListenKey(name: string): boolean {
  return listenKeyPattern.test(name);
}

export function listenKeyCacheKey(listenKey: string): string {
  return `listenKey:${listenKey}`;
}

/** The account a cached listenKey belongs to ("42" or {"accountId":42}), or null. */
export function accountIdFromCache(value: string | null): number | null {
  if (value === null) return null;
  const direct = Number(value);
  if (Number.isSafeInteger(direct) && direct > 0) return direct;
  try {
    const parsed = JSON.parse(value) as { accountId?: unknown };
    return typeof parsed.accountId === 'number' && Number.isSafeInteger(parsed.accountId) ? parsed.accountId : null;
  } catch {
    return null;
  }
}

/** All-market streams: stream name -> PubSub channel. */
const allMarketStreams: Record<string, string> = {
  '!ticker@arr': 'md.ALL.ticker@arr',
  '!miniTicker@arr': 'md.ALL.miniTicker@arr',
};

/** A market stream name, or null when it is not one (unknown symbol, unknown suffix, case). */
export function resolveMarketStream(name: string, reads: EngineReads): ResolvedStream | null {
  const allMarkets = allMarketStreams[name];
  if (allMarkets) return { kind: 'market', name, channel: allMarkets };
  const at = name.indexOf('@');
  if (at <= 0) return null;
  const symbolText = name.slice(0, at);
  if (!/^[a-z0-9]{2,20}$/.test(symbolText)) return null;
  let suffix = name.slice(at + 1);
  suffix = suffixAliases[suffix] ?? suffix;
  if (!marketStreamSuffixes.has(suffix)) return null;
  const symbol = symbolText.toUpperCase();
  if (!reads.marketBySymbol(symbol)) return null;
  return { kind: 'market', name, channel: `md.${symbol}.${suffix}` };
}

/** A market stream or a live listenKey; null when neither. */
export async function resolveStream(name: string, reads: EngineReads, cache: Cache): Promise<ResolvedStream | null> {
  if (typeof name !== 'string') return null;
  const market = resolveMarketStream(name, reads);
  if (market) return market;
  if (!listenKeyPattern.test(name)) return null;
  const accountId = accountIdFromCache(await cache.get(listenKeyCacheKey(name)));
  if (accountId === null) return null;
  return { kind: 'user', name, channel: `user.${accountId}`, listenKey: name, accountId };
}
