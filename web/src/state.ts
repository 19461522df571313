// Application-wide state: the signed-in user, the markets from exchangeInfo, 24h tickers
// (live from each market's miniTicker stream) and the user's account data kept fresh by
// the user data stream. Screens read these stores; only this file writes them.

import { get, post, put, web, ApiError } from './lib/api.ts';
import { Store } from './lib/store.ts';
import { combinedStream, rawStream, type StreamConnection } from './lib/streams.ts';
import { stepDecimals, trimZeros } from './lib/decimal.ts';

export interface SessionUser {
  userId: number;
  accountId: number;
  email: string;
  isAdmin: boolean;
}

export interface MarketInfo {
  symbol: string;
  status: string;
  baseAsset: string;
  quoteAsset: string;
  tickSize: string;
  minPrice: string;
  maxPrice: string;
  stepSize: string;
  minQty: string;
  maxQty: string;
  marketMaxQty: string;
  minNotional: string;
  priceDecimals: number;
  quantityDecimals: number;
  orderTypes: string[];
}

export interface Ticker {
  symbol: string;
  lastPrice: string;
  openPrice: string;
  highPrice: string;
  lowPrice: string;
  volume: string;
  quoteVolume: string;
  priceChangePercent: string;
}

export interface Balance {
  asset: string;
  free: string;
  locked: string;
}

export interface OrderRow {
  symbol: string;
  orderId: number;
  clientOrderId: string;
  price: string;
  origQty: string;
  executedQty: string;
  cummulativeQuoteQty: string;
  status: string;
  timeInForce: string;
  type: string;
  side: string;
  time: number;
  updateTime: number;
}

export interface TradeRow {
  symbol: string;
  id: number;
  orderId: number;
  price: string;
  qty: string;
  quoteQty: string;
  commission: string;
  commissionAsset: string;
  time: number;
  isBuyer: boolean;
  isMaker: boolean;
}

export interface Notice {
  id: number;
  text: string;
  kind: 'info' | 'error' | 'success';
}

export const session = new Store<{ loaded: boolean; user: SessionUser | null }>({ loaded: false, user: null });
export const markets = new Store<MarketInfo[]>([]);
export const tickers = new Store<Record<string, Ticker>>({});
export const balances = new Store<Balance[]>([]);
/** Bumped on every order or balance change of the user: panels refetch their lists. */
export const accountVersion = new Store(0);
export const unreadCount = new Store(0);
export const notices = new Store<Notice[]>([]);
export const userStreamConnected = new Store(false);

let noticeId = 0;
/** Shows a toast for a few seconds. */
export function notify(text: string, kind: Notice['kind'] = 'info'): void {
  const id = ++noticeId;
  notices.update((list) => [...list.slice(-4), { id, text, kind }]);
  setTimeout(() => notices.update((list) => list.filter((notice) => notice.id !== id)), kind === 'error' ? 8000 : 5000);
}

interface ExchangeInfo {
  symbols: {
    symbol: string;
    status: string;
    baseAsset: string;
    quoteAsset: string;
    orderTypes?: string[];
    filters: Record<string, string>[];
  }[];
}

function filter(filters: Record<string, string>[], type: string): Record<string, string> {
  return filters.find((entry) => entry.filterType === type) ?? {};
}

export async function loadMarkets(): Promise<void> {
  const info = await get<ExchangeInfo>('/api/v3/exchangeInfo');
  markets.set(
    info.symbols.map((symbol) => {
      const price = filter(symbol.filters, 'PRICE_FILTER');
      const lot = filter(symbol.filters, 'LOT_SIZE');
      const marketLot = filter(symbol.filters, 'MARKET_LOT_SIZE');
      const notional = { ...filter(symbol.filters, 'MIN_NOTIONAL'), ...filter(symbol.filters, 'NOTIONAL') };
      const tickSize = price.tickSize ?? '0.01';
      const stepSize = lot.stepSize ?? '0.0001';
      return {
        symbol: symbol.symbol,
        status: symbol.status,
        baseAsset: symbol.baseAsset,
        quoteAsset: symbol.quoteAsset,
        tickSize,
        minPrice: price.minPrice ?? '0',
        maxPrice: price.maxPrice ?? '0',
        stepSize,
        minQty: lot.minQty ?? '0',
        maxQty: lot.maxQty ?? '0',
        marketMaxQty: marketLot.maxQty ?? lot.maxQty ?? '0',
        minNotional: notional.minNotional ?? '0',
        priceDecimals: stepDecimals(tickSize),
        quantityDecimals: stepDecimals(stepSize),
        orderTypes: symbol.orderTypes ?? ['LIMIT', 'LIMIT_MAKER', 'MARKET'],
      };
    }),
  );
}

/** Subscribes to every market's miniTicker once the markets are known. */
let tickerConnection: StreamConnection | null = null;
export const tickerStreamsMax = 50;

export async function loadTickers(): Promise<void> {
  const list = await get<Ticker[]>('/api/v3/ticker/24hr');
  const byName: Record<string, Ticker> = {};
  for (const ticker of list) byName[ticker.symbol] = ticker;
  tickers.set(byName);
}

export function startTickerStream(): void {
  tickerConnection?.close();
  const names = markets.value.slice(0, tickerStreamsMax).map((market) => `${market.symbol.toLowerCase()}@miniTicker`);
  if (names.length === 0) return;
  tickerConnection = combinedStream(names, {
    onMessage: (_stream, data) => {
      const mini = data as { s: string; c: string; o: string; h: string; l: string; v: string; q: string };
      if (!mini || typeof mini.s !== 'string') return;
      const open = Number(mini.o);
      const change = open > 0 ? ((Number(mini.c) - open) / open) * 100 : 0;
      tickers.update((all) => ({
        ...all,
        [mini.s]: {
          symbol: mini.s,
          lastPrice: mini.c,
          openPrice: mini.o,
          highPrice: mini.h,
          lowPrice: mini.l,
          volume: mini.v,
          quoteVolume: mini.q,
          priceChangePercent: change.toFixed(2),
        },
      }));
    },
    onOpen: () => void loadTickers().catch(() => undefined),
  });
}

export async function loadSession(): Promise<void> {
  try {
    const answer = await get<{ user: SessionUser | null }>(`${web}/session`);
    session.set({ loaded: true, user: answer.user });
  } catch {
    session.set({ loaded: true, user: null });
  }
}

export async function refreshBalances(): Promise<void> {
  if (!session.value.user) {
    balances.set([]);
    return;
  }
  const account = await get<{ balances: Balance[] }>(`${web}/account`);
  balances.set(account.balances);
}

export async function refreshUnread(): Promise<void> {
  if (!session.value.user) return;
  const answer = await get<{ unreadCount: number }>(`${web}/notifications/unread-count`);
  unreadCount.set(answer.unreadCount);
}

/** The user data stream: executionReport / outboundAccountPosition / balanceUpdate / notifications. */
let userConnection: StreamConnection | null = null;
let keepAliveTimer: ReturnType<typeof setInterval> | null = null;
export const listenKeyKeepAliveMs = 20 * 60_000;

interface UserEvent {
  e?: string;
  s?: string;
  x?: string;
  X?: string;
  S?: string;
  l?: string;
  L?: string;
  r?: string;
  i?: number;
  B?: { a: string; f: string; l: string }[];
}

function onUserEvent(event: UserEvent): void {
  if (event.e === 'outboundAccountPosition' && Array.isArray(event.B)) {
    const changed = new Map(event.B.map((entry) => [entry.a, entry]));
    balances.update((list) => {
      const next = list.map((balance) => {
        const update = changed.get(balance.asset);
        if (!update) return balance;
        changed.delete(balance.asset);
        return { asset: balance.asset, free: update.f, locked: update.l };
      });
      for (const update of changed.values()) next.push({ asset: update.a, free: update.f, locked: update.l });
      return next;
    });
  }
  if (event.e === 'executionReport') {
    if (event.x === 'TRADE') notify(`${event.S === 'BUY' ? 'Bought' : 'Sold'} ${trimZeros(event.l ?? '')} ${event.s} at ${trimZeros(event.L ?? '')}`, 'success');
    if (event.x === 'REJECTED') notify(`Order rejected: ${event.r ?? ''}`, 'error');
  }
  if (event.e === 'balanceUpdate') void refreshBalances().catch(() => undefined);
  accountVersion.update((version) => version + 1);
  void refreshUnread().catch(() => undefined);
}

export async function startUserStream(): Promise<void> {
  stopUserStream();
  if (!session.value.user) return;
  const { listenKey } = await post<{ listenKey: string }>(`${web}/listenKey`);
  userConnection = rawStream(listenKey, {
    onMessage: (_stream, data) => onUserEvent(data as UserEvent),
    onOpen: () => {
      userStreamConnected.set(true);
      // Anything that happened while disconnected is picked up by a refetch.
      void refreshBalances().catch(() => undefined);
      accountVersion.update((version) => version + 1);
    },
    onClose: () => userStreamConnected.set(false),
  });
  keepAliveTimer = setInterval(() => {
    put(`${web}/listenKey`, { listenKey }).catch((error: ApiError) => {
      if (error.status >= 400 && error.status < 500) void startUserStream();
    });
  }, listenKeyKeepAliveMs);
}

export function stopUserStream(): void {
  userConnection?.close();
  userConnection = null;
  userStreamConnected.set(false);
  if (keepAliveTimer) clearInterval(keepAliveTimer);
  keepAliveTimer = null;
}

/**
 * A public trade in the market on screen may be the user's own fill: refresh balances and
 * lists soon (debounced). This backs up the user data stream, never replaces it.
 */
let accountRefreshTimer: ReturnType<typeof setTimeout> | null = null;
export const accountRefreshDebounceMs = 400;
export function refreshAccountSoon(): void {
  if (!session.value.user || accountRefreshTimer) return;
  accountRefreshTimer = setTimeout(() => {
    accountRefreshTimer = null;
    void refreshBalances().catch(() => undefined);
    accountVersion.update((version) => version + 1);
  }, accountRefreshDebounceMs);
}

export function marketBySymbol(symbol: string): MarketInfo | undefined {
  return markets.value.find((market) => market.symbol === symbol);
}
