// Reads of history from the ledger projection (PGlite embedded, PostgreSQL or its read
// replica in the cluster). Data source "Database" in Binance's terms: it may lag the
// engine; `projectedEventSequence` says how far it has caught up.

export type OrderStatus = 'NEW' | 'PARTIALLY_FILLED' | 'FILLED' | 'CANCELED' | 'EXPIRED';

export interface OrderRecord {
  orderId: number;
  accountId: number;
  marketId: number;
  clientOrderId: string;
  side: number;
  orderType: number;
  timeInForce: number;
  priceTicks: number;
  quantityLots: number;
  quoteAmountAtoms: number;
  filledLots: number;
  filledQuoteAtoms: number;
  status: OrderStatus;
  stpMode: number;
  createdAtMs: number;
  updatedAtMs: number;
}

export interface TradeRecord {
  tradeId: number;
  marketId: number;
  priceTicks: number;
  quantityLots: number;
  quoteAtoms: number;
  makerOrderId: number;
  takerOrderId: number;
  makerAccountId: number;
  takerAccountId: number;
  takerSide: number;
  makerFeeAtoms: number;
  takerFeeAtoms: number;
  timeMs: number;
}

export interface HistoryQuery {
  fromId?: number;
  startTimeMs?: number;
  endTimeMs?: number;
  /** Already checked against the endpoint's maximum by the caller. */
  limit: number;
}

/** How trades are grouped into candles: fixed-length buckets aligned at `offsetMs`, or calendar months (UTC). */
export type CandleBucket = { lengthMs: number; offsetMs: number } | 'month';

/** One candle computed from the trades table (only buckets that have trades). */
export interface TradeCandle {
  openTimeMs: number;
  openTicks: number;
  highTicks: number;
  lowTicks: number;
  closeTicks: number;
  volumeLots: number;
  quoteAtoms: number;
  tradeCount: number;
  firstTradeId: number;
  lastTradeId: number;
  takerBuyLots: number;
  takerBuyQuoteAtoms: number;
}

export interface HistoryReads {
  /** allOrders: the account's orders in a market, oldest first (Binance order). */
  orders(accountId: number, marketId: number, query: HistoryQuery): Promise<OrderRecord[]>;
  orderById(accountId: number, orderId: number): Promise<OrderRecord | null>;
  orderByClientOrderId(accountId: number, marketId: number, clientOrderId: string): Promise<OrderRecord | null>;
  /** Public trades of a market: the most recent `limit` (fromId: from that id on), oldest first. */
  trades(marketId: number, query: HistoryQuery): Promise<TradeRecord[]>;
  /** myTrades: trades where the account was maker or taker, oldest first. */
  accountTrades(accountId: number, marketId: number, query: HistoryQuery): Promise<TradeRecord[]>;
  /**
   * klines older than the market-data cache holds: candles aggregated from the trades table
   * for trades with startTimeMs <= time <= endTimeMs, oldest first, at most `limit`.
   */
  candles(marketId: number, bucket: CandleBucket, startTimeMs: number, endTimeMs: number, limit: number): Promise<TradeCandle[]>;
  /** Highest event sequence applied to the projection. */
  projectedEventSequence(): Promise<number>;
}
