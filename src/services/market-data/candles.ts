// Candles (klines) of one market and one interval, built from trades in trade-time
// order, and the gap filling shared by the REST route: an interval with no trades is a
// candle that opens, closes, peaks and bottoms at the previous close, with zero volume.
// Only candles with trades are stored (bounded by `keptMax`); empty ones are derived.

import { candleCloseTime, candleOpenTime, nextCandleOpenTime, type KlineInterval } from './intervals.ts';

export class Candle {
  openTimeMs: number;
  openTicks: number;
  highTicks: number;
  lowTicks: number;
  closeTicks: number;
  volumeLots = 0;
  quoteAtoms = 0;
  tradeCount = 0;
  firstTradeId: number;
  lastTradeId: number;
  takerBuyLots = 0;
  takerBuyQuoteAtoms = 0;

  constructor(openTimeMs: number, priceTicks: number, tradeId: number) {
    this.openTimeMs = openTimeMs;
    this.openTicks = priceTicks;
    this.highTicks = priceTicks;
    this.lowTicks = priceTicks;
    this.closeTicks = priceTicks;
    this.firstTradeId = tradeId;
    this.lastTradeId = tradeId;
  }
}

export class CandleSeries {
  /** Candles with at least one trade, oldest first; the last one may still be open. */
  readonly candles: Candle[] = [];

  constructor(
    readonly interval: KlineInterval,
    private readonly keptMax: number,
  ) {}

  addTrade(timeMs: number, priceTicks: number, quantityLots: number, quoteAtoms: number, tradeId: number, takerIsBuyer: boolean): void {
    const last = this.candles[this.candles.length - 1];
    let openTimeMs = candleOpenTime(this.interval, timeMs);
    // A trade stamped earlier than the newest candle (clock step back) joins that candle:
    // candles never reopen.
    if (last && openTimeMs < last.openTimeMs) openTimeMs = last.openTimeMs;
    let candle = last;
    if (!candle || candle.openTimeMs !== openTimeMs) {
      candle = new Candle(openTimeMs, priceTicks, tradeId);
      this.candles.push(candle);
      if (this.candles.length > this.keptMax) this.candles.splice(0, this.candles.length - this.keptMax);
    }
    if (priceTicks > candle.highTicks) candle.highTicks = priceTicks;
    if (priceTicks < candle.lowTicks) candle.lowTicks = priceTicks;
    candle.closeTicks = priceTicks;
    candle.volumeLots += quantityLots;
    candle.quoteAtoms += quoteAtoms;
    candle.tradeCount += 1;
    candle.lastTradeId = tradeId;
    if (takerIsBuyer) {
      candle.takerBuyLots += quantityLots;
      candle.takerBuyQuoteAtoms += quoteAtoms;
    }
  }

  /** The candle that contains `timeMs`: stored, or empty at the previous close (null before any trade). */
  candleAt(timeMs: number): { candle: Candle; empty: boolean } | null {
    const last = this.candles[this.candles.length - 1];
    if (!last) return null;
    const openTimeMs = candleOpenTime(this.interval, timeMs);
    if (openTimeMs <= last.openTimeMs) return { candle: last, empty: false };
    const empty = new Candle(openTimeMs, last.closeTicks, -1);
    return { candle: empty, empty: true };
  }
}

/** A kline row as Binance's REST API returns it (12 fields). */
export type KlineRow = [number, string, string, string, string, string, number, string, number, string, string, string];

export interface KlineQuery {
  startTimeMs?: number;
  endTimeMs?: number;
  limit: number;
  nowMs: number;
}

function previousCandleOpenTime(interval: KlineInterval, openTimeMs: number): number {
  return candleOpenTime(interval, openTimeMs - 1);
}

/**
 * Fills the gaps between stored rows (candles with trades, oldest first) with empty
 * candles at the previous close, and answers Binance's klines query: with startTime, the
 * first `limit` candles opening at or after it; otherwise the last `limit` candles
 * opening at or before endTime (default: now). Nothing is returned before the first
 * stored candle (there is no previous close) nor after the candle that contains now.
 */
export function fillKlines(rows: readonly KlineRow[], interval: KlineInterval, query: KlineQuery, zeroQuantity: string, zeroQuote: string): KlineRow[] {
  if (rows.length === 0 || query.limit <= 0) return [];
  const firstOpenMs = rows[0]![0];
  const lastOpenMs = Math.max(candleOpenTime(interval, query.nowMs), rows[rows.length - 1]![0]);
  let endOpenMs = lastOpenMs;
  if (query.endTimeMs !== undefined) endOpenMs = Math.min(endOpenMs, candleOpenTime(interval, query.endTimeMs));
  let beginOpenMs: number;
  if (query.startTimeMs !== undefined) {
    beginOpenMs = candleOpenTime(interval, query.startTimeMs);
    if (beginOpenMs < query.startTimeMs) beginOpenMs = nextCandleOpenTime(interval, beginOpenMs);
    if (beginOpenMs < firstOpenMs) beginOpenMs = firstOpenMs;
  } else {
    beginOpenMs = endOpenMs;
    for (let count = 1; count < query.limit && beginOpenMs > firstOpenMs; count++) {
      beginOpenMs = previousCandleOpenTime(interval, beginOpenMs);
    }
    if (beginOpenMs < firstOpenMs) beginOpenMs = firstOpenMs;
  }
  if (beginOpenMs > endOpenMs) return [];

  // The stored row at or before the beginning gives the first previous close.
  let low = 0;
  let high = rows.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (rows[middle]![0] < beginOpenMs) low = middle + 1;
    else high = middle;
  }
  let rowIndex = low;
  let previousClose = rowIndex > 0 ? rows[rowIndex - 1]![4] : rows[0]![1];
  const result: KlineRow[] = [];
  for (let openMs = beginOpenMs; openMs <= endOpenMs && result.length < query.limit; openMs = nextCandleOpenTime(interval, openMs)) {
    const row = rows[rowIndex];
    if (row && row[0] === openMs) {
      result.push(row);
      previousClose = row[4];
      rowIndex += 1;
    } else {
      result.push([openMs, previousClose, previousClose, previousClose, previousClose, zeroQuantity, candleCloseTime(interval, openMs), zeroQuote, 0, zeroQuantity, zeroQuote, '0']);
    }
  }
  return result;
}
