// Kline intervals as Binance names them, and where each interval's candles open. Candles
// are aligned in UTC: seconds to hours and 1d/3d on multiples since the epoch, weeks on
// Mondays, months on the first day of the calendar month.

export const klineIntervals = ['1s', '1m', '3m', '5m', '15m', '30m', '1h', '2h', '4h', '6h', '8h', '12h', '1d', '3d', '1w', '1M'] as const;
export type KlineInterval = (typeof klineIntervals)[number];

const secondMs = 1000;
const minuteMs = 60 * secondMs;
const hourMs = 60 * minuteMs;
const dayMs = 24 * hourMs;
const weekMs = 7 * dayMs;
/** 1970-01-01 was a Thursday; the first Monday is 4 days later. */
const firstMondayMs = 4 * dayMs;

const fixedLengthMs: Record<Exclude<KlineInterval, '1M'>, number> = {
  '1s': secondMs,
  '1m': minuteMs,
  '3m': 3 * minuteMs,
  '5m': 5 * minuteMs,
  '15m': 15 * minuteMs,
  '30m': 30 * minuteMs,
  '1h': hourMs,
  '2h': 2 * hourMs,
  '4h': 4 * hourMs,
  '6h': 6 * hourMs,
  '8h': 8 * hourMs,
  '12h': 12 * hourMs,
  '1d': dayMs,
  '3d': 3 * dayMs,
  '1w': weekMs,
};

export function isKlineInterval(text: unknown): text is KlineInterval {
  return typeof text === 'string' && (klineIntervals as readonly string[]).includes(text);
}

/** Open time of the candle of `interval` that contains `timeMs`. */
export function candleOpenTime(interval: KlineInterval, timeMs: number): number {
  if (interval === '1M') {
    const date = new Date(timeMs);
    return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
  }
  const length = fixedLengthMs[interval];
  if (interval === '1w') return Math.floor((timeMs - firstMondayMs) / length) * length + firstMondayMs;
  return Math.floor(timeMs / length) * length;
}

/** Open time of the candle after the one that opens at `openTimeMs`. */
export function nextCandleOpenTime(interval: KlineInterval, openTimeMs: number): number {
  if (interval === '1M') {
    const date = new Date(openTimeMs);
    return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1);
  }
  return openTimeMs + fixedLengthMs[interval];
}

/** Close time as Binance prints it: the last millisecond of the candle. */
export function candleCloseTime(interval: KlineInterval, openTimeMs: number): number {
  return nextCandleOpenTime(interval, openTimeMs) - 1;
}

/** The same alignment as candleOpenTime, in the form the history store groups trades by. */
export function candleBucket(interval: KlineInterval): { lengthMs: number; offsetMs: number } | 'month' {
  if (interval === '1M') return 'month';
  return { lengthMs: fixedLengthMs[interval], offsetMs: interval === '1w' ? firstMondayMs : 0 };
}
