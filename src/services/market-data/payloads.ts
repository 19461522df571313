// Binance-format JSON payloads of the market data streams and REST snapshots, built from
// integer units with the market's format. Field names and order follow Binance's Spot
// documentation (web-socket-streams.md, rest-api.md) so existing clients parse them.

import {
  formatAveragePrice, formatPercentChange, formatPrice, formatQuantity, formatQuoteAtoms, type MarketFormat,
} from '../../domain/market-format.ts';
import type { Candle, KlineRow } from './candles.ts';
import { candleCloseTime, type KlineInterval } from './intervals.ts';
import type { WindowStats } from './rolling-window.ts';

export type LevelText = [string, string];

export function levelsText(format: MarketFormat, levels: readonly [number, number][]): LevelText[] {
  return levels.map(([price, quantity]) => [formatPrice(format, price), formatQuantity(format, quantity)]);
}

/** A trade as GET /api/v3/trades returns it. */
export interface RestTrade {
  id: number;
  price: string;
  qty: string;
  quoteQty: string;
  time: number;
  isBuyerMaker: boolean;
  isBestMatch: boolean;
}

/** An aggregate trade as GET /api/v3/aggTrades returns it. */
export interface RestAggregateTrade {
  a: number;
  p: string;
  q: string;
  f: number;
  l: number;
  T: number;
  m: boolean;
  M: boolean;
}

export interface TradeFacts {
  tradeId: number;
  priceTicks: number;
  quantityLots: number;
  quoteAtoms: number;
  timeMs: number;
  buyerIsMaker: boolean;
  buyerOrderId: number;
  sellerOrderId: number;
}

export function restTrade(format: MarketFormat, trade: TradeFacts): RestTrade {
  return {
    id: trade.tradeId,
    price: formatPrice(format, trade.priceTicks),
    qty: formatQuantity(format, trade.quantityLots),
    quoteQty: formatQuoteAtoms(format, trade.quoteAtoms),
    time: trade.timeMs,
    isBuyerMaker: trade.buyerIsMaker,
    isBestMatch: true,
  };
}

/**
 * restTrade's JSON text, written directly: the same bytes as JSON.stringify(restTrade(...))
 * (every string here is a plain decimal, which JSON never escapes), without the object.
 */
export function restTradeText(format: MarketFormat, trade: TradeFacts): string {
  return `{"id":${trade.tradeId},"price":"${formatPrice(format, trade.priceTicks)}","qty":"${formatQuantity(format, trade.quantityLots)}",`
    + `"quoteQty":"${formatQuoteAtoms(format, trade.quoteAtoms)}","time":${trade.timeMs},"isBuyerMaker":${trade.buyerIsMaker},"isBestMatch":true}`;
}

/** An aggregate trade's JSON text: the same bytes as JSON.stringify(aggregate) (its strings are plain decimals). */
export function restAggregateTradeText(aggregate: RestAggregateTrade): string {
  return `{"a":${aggregate.a},"p":"${aggregate.p}","q":"${aggregate.q}","f":${aggregate.f},"l":${aggregate.l},"T":${aggregate.T},"m":${aggregate.m},"M":${aggregate.M}}`;
}

/**
 * The newest `itemsMax` JSON texts of a list (recent trades, aggregate trades), kept so the
 * REST snapshot is one join of ready texts instead of a JSON.stringify of every item each
 * time it is written (about a third of the time). Pushing is amortized O(1): the dropped
 * prefix is cut off in one slice once it is as long as the list.
 */
export class RecentJsonTexts {
  private texts: string[] = [];
  private head = 0;

  constructor(private readonly itemsMax: number) {}

  get length(): number {
    return this.texts.length - this.head;
  }

  push(text: string): void {
    this.texts.push(text);
    if (this.texts.length - this.head > this.itemsMax) this.head = this.texts.length - this.itemsMax;
    if (this.head >= this.itemsMax) {
      this.texts = this.texts.slice(this.head);
      this.head = 0;
    }
  }

  /** The kept items as one JSON array text (what JSON.stringify of the items gives). */
  jsonArray(): string {
    const kept = this.head === 0 ? this.texts : this.texts.slice(this.head);
    return `[${kept.join(',')}]`;
  }
}

// The trade and aggTrade stream messages go out for every trade, so they are written as
// text directly: the same bytes as JSON.stringify of {e, E, s, ...} in this key order (the
// symbol is quoted by JSON.stringify; the other strings are plain decimals).

export function tradeStreamPayload(format: MarketFormat, trade: TradeFacts, eventTimeMs: number): string {
  return `{"e":"trade","E":${eventTimeMs},"s":${JSON.stringify(format.symbol)},"t":${trade.tradeId},`
    + `"p":"${formatPrice(format, trade.priceTicks)}","q":"${formatQuantity(format, trade.quantityLots)}",`
    + `"b":${trade.buyerOrderId},"a":${trade.sellerOrderId},"T":${trade.timeMs},"m":${trade.buyerIsMaker},"M":true}`;
}

export function aggregateTradeStreamPayload(format: MarketFormat, aggregate: RestAggregateTrade, eventTimeMs: number): string {
  return `{"e":"aggTrade","E":${eventTimeMs},"s":${JSON.stringify(format.symbol)},"a":${aggregate.a},"p":"${aggregate.p}","q":"${aggregate.q}",`
    + `"f":${aggregate.f},"l":${aggregate.l},"T":${aggregate.T},"m":${aggregate.m},"M":true}`;
}

export function depthUpdatePayload(
  format: MarketFormat, eventTimeMs: number, firstUpdateId: number, finalUpdateId: number,
  bids: Map<number, number>, asks: Map<number, number>,
): string {
  const sortedBids = [...bids.entries()].sort((left, right) => right[0] - left[0]);
  const sortedAsks = [...asks.entries()].sort((left, right) => left[0] - right[0]);
  return JSON.stringify({
    e: 'depthUpdate', E: eventTimeMs, s: format.symbol, U: firstUpdateId, u: finalUpdateId,
    b: levelsText(format, sortedBids), a: levelsText(format, sortedAsks),
  });
}

export function partialDepthPayload(format: MarketFormat, lastUpdateId: number, bids: [number, number][], asks: [number, number][]): string {
  return JSON.stringify({ lastUpdateId, bids: levelsText(format, bids), asks: levelsText(format, asks) });
}

export interface BookTop {
  bidPrice: string;
  bidQty: string;
  askPrice: string;
  askQty: string;
}

export function bookTop(format: MarketFormat, bid: [number, number] | null, ask: [number, number] | null): BookTop {
  return {
    bidPrice: formatPrice(format, bid ? bid[0] : 0),
    bidQty: formatQuantity(format, bid ? bid[1] : 0),
    askPrice: formatPrice(format, ask ? ask[0] : 0),
    askQty: formatQuantity(format, ask ? ask[1] : 0),
  };
}

export function bookTickerPayload(format: MarketFormat, updateId: number, top: BookTop): string {
  return JSON.stringify({ u: updateId, s: format.symbol, b: top.bidPrice, B: top.bidQty, a: top.askPrice, A: top.askQty });
}

export function klineRow(format: MarketFormat, interval: KlineInterval, candle: Candle): KlineRow {
  return [
    candle.openTimeMs,
    formatPrice(format, candle.openTicks),
    formatPrice(format, candle.highTicks),
    formatPrice(format, candle.lowTicks),
    formatPrice(format, candle.closeTicks),
    formatQuantity(format, candle.volumeLots),
    candleCloseTime(interval, candle.openTimeMs),
    formatQuoteAtoms(format, candle.quoteAtoms),
    candle.tradeCount,
    formatQuantity(format, candle.takerBuyLots),
    formatQuoteAtoms(format, candle.takerBuyQuoteAtoms),
    '0',
  ];
}

export function klineStreamPayload(format: MarketFormat, interval: KlineInterval, candle: Candle, closed: boolean, eventTimeMs: number): string {
  const row = klineRow(format, interval, candle);
  const empty = candle.tradeCount === 0;
  return JSON.stringify({
    e: 'kline',
    E: eventTimeMs,
    s: format.symbol,
    k: {
      t: row[0], T: row[6], s: format.symbol, i: interval,
      f: empty ? -1 : candle.firstTradeId, L: empty ? -1 : candle.lastTradeId,
      o: row[1], c: row[4], h: row[2], l: row[3], v: row[5], n: row[8], x: closed, q: row[7], V: row[9], Q: row[10], B: '0',
    },
  });
}

/** GET /api/v3/ticker/24hr FULL, without the book fields (the route adds the current ones). */
export interface RestTicker {
  symbol: string;
  priceChange: string;
  priceChangePercent: string;
  weightedAvgPrice: string;
  prevClosePrice: string;
  lastPrice: string;
  lastQty: string;
  bidPrice: string;
  bidQty: string;
  askPrice: string;
  askQty: string;
  openPrice: string;
  highPrice: string;
  lowPrice: string;
  volume: string;
  quoteVolume: string;
  openTime: number;
  closeTime: number;
  firstId: number;
  lastId: number;
  count: number;
}

export function restTicker(format: MarketFormat, stats: WindowStats, top: BookTop, nowMs: number, windowMs: number): RestTicker {
  const averagePrice = stats.tradeCount === 0 ? formatPrice(format, stats.lastTicks) : formatAveragePrice(format, stats.quoteAtoms, stats.volumeLots);
  return {
    symbol: format.symbol,
    priceChange: formatPrice(format, stats.lastTicks - stats.openTicks),
    priceChangePercent: formatPercentChange(stats.openTicks, stats.lastTicks),
    weightedAvgPrice: averagePrice,
    prevClosePrice: formatPrice(format, stats.previousCloseTicks),
    lastPrice: formatPrice(format, stats.lastTicks),
    lastQty: formatQuantity(format, stats.lastQuantityLots),
    bidPrice: top.bidPrice,
    bidQty: top.bidQty,
    askPrice: top.askPrice,
    askQty: top.askQty,
    openPrice: formatPrice(format, stats.openTicks),
    highPrice: formatPrice(format, stats.highTicks),
    lowPrice: formatPrice(format, stats.lowTicks),
    volume: formatQuantity(format, stats.volumeLots),
    quoteVolume: formatQuoteAtoms(format, stats.quoteAtoms),
    openTime: nowMs - windowMs,
    closeTime: nowMs,
    firstId: stats.firstTradeId,
    lastId: stats.lastTradeId,
    count: stats.tradeCount,
  };
}

export function tickerStreamPayload(ticker: RestTicker, eventTimeMs: number): string {
  return JSON.stringify({
    e: '24hrTicker', E: eventTimeMs, s: ticker.symbol, p: ticker.priceChange, P: ticker.priceChangePercent,
    w: ticker.weightedAvgPrice, x: ticker.prevClosePrice, c: ticker.lastPrice, Q: ticker.lastQty,
    b: ticker.bidPrice, B: ticker.bidQty, a: ticker.askPrice, A: ticker.askQty, o: ticker.openPrice,
    h: ticker.highPrice, l: ticker.lowPrice, v: ticker.volume, q: ticker.quoteVolume, O: ticker.openTime,
    C: ticker.closeTime, F: ticker.firstId, L: ticker.lastId, n: ticker.count,
  });
}

export function miniTickerStreamPayload(ticker: RestTicker, eventTimeMs: number): string {
  return JSON.stringify({
    e: '24hrMiniTicker', E: eventTimeMs, s: ticker.symbol, c: ticker.lastPrice, o: ticker.openPrice,
    h: ticker.highPrice, l: ticker.lowPrice, v: ticker.volume, q: ticker.quoteVolume,
  });
}

/** GET /api/v3/avgPrice. */
export interface RestAveragePrice {
  mins: number;
  price: string;
  closeTime: number;
}

export function averagePriceStreamPayload(symbol: string, average: RestAveragePrice, eventTimeMs: number): string {
  return JSON.stringify({ e: 'avgPrice', E: eventTimeMs, s: symbol, i: `${average.mins}m`, w: average.price, T: average.closeTime });
}
