// Measurements of one run: HDR histograms in microseconds (whole run, per order type, per
// one-second interval), counts per second, and errors by code. Latency is measured from a
// request's intended start time, so a stalled server cannot hide its stall by slowing the
// sender down (coordinated omission).
import * as hdr from 'hdr-histogram-js';

/** Values above this (microseconds) are clamped: one minute. */
export const latencyMicrosecondsMax = 60_000_000;

export type Histogram = hdr.Histogram;

export function newHistogram(): Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: latencyMicrosecondsMax, numberOfSignificantValueDigits: 3, autoResize: false, bitBucketSize: 32, useWebAssembly: false });
}

export function recordMicroseconds(histogram: Histogram, microseconds: number): void {
  histogram.recordValue(Math.min(latencyMicrosecondsMax, Math.max(1, Math.round(microseconds))));
}

export interface LatencySummaryMs {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

const toMs = (microseconds: number) => Math.round(microseconds) / 1000;

export function summarize(histogram: Histogram): LatencySummaryMs {
  if (histogram.totalCount === 0) return { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
  return {
    count: histogram.totalCount,
    mean: toMs(histogram.mean),
    p50: toMs(histogram.getValueAtPercentile(50)),
    p90: toMs(histogram.getValueAtPercentile(90)),
    p99: toMs(histogram.getValueAtPercentile(99)),
    p999: toMs(histogram.getValueAtPercentile(99.9)),
    max: toMs(histogram.maxValue),
  };
}

/** Percentiles plotted in the distribution chart (a percentile spectrum). */
export const distributionPercentiles = [0, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 100];

export function distribution(histogram: Histogram): { percentile: number; latencyMs: number }[] {
  if (histogram.totalCount === 0) return [];
  return distributionPercentiles.map((percentile) => ({ percentile, latencyMs: toMs(histogram.getValueAtPercentile(percentile)) }));
}

export interface TimelinePoint {
  second: number;
  sent: number;
  ok: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  marketDataMessages: number;
  marketDataP50Ms: number;
  marketDataP99Ms: number;
}

export type OrderKind = 'limit' | 'market' | 'cancel';

export class RunRecorder {
  readonly overall = newHistogram();
  readonly serviceTime = newHistogram();
  readonly byKind: Record<OrderKind, Histogram> = { limit: newHistogram(), market: newHistogram(), cancel: newHistogram() };
  readonly marketData = newHistogram();
  readonly errorsByCode = new Map<string, number>();
  readonly timeline: TimelinePoint[] = [];
  sent = 0;
  ok = 0;
  errors = 0;
  marketDataMessages = 0;
  private interval = newHistogram();
  private intervalMarketData = newHistogram();
  private intervalSent = 0;
  private intervalOk = 0;
  private intervalErrors = 0;
  private intervalMarketDataMessages = 0;

  noteSent(): void {
    this.sent += 1;
    this.intervalSent += 1;
  }

  /** A finished request: latency from its intended start, service time from its actual send. */
  noteDone(kind: OrderKind, latencyMicroseconds: number, serviceMicroseconds: number, errorCode: string | null): void {
    recordMicroseconds(this.overall, latencyMicroseconds);
    recordMicroseconds(this.interval, latencyMicroseconds);
    recordMicroseconds(this.byKind[kind], latencyMicroseconds);
    recordMicroseconds(this.serviceTime, serviceMicroseconds);
    if (errorCode === null) {
      this.ok += 1;
      this.intervalOk += 1;
    } else {
      this.noteError(errorCode);
    }
  }

  noteError(errorCode: string): void {
    this.errors += 1;
    this.intervalErrors += 1;
    this.errorsByCode.set(errorCode, (this.errorsByCode.get(errorCode) ?? 0) + 1);
  }

  noteMarketData(latencyMicroseconds: number): void {
    this.marketDataMessages += 1;
    this.intervalMarketDataMessages += 1;
    recordMicroseconds(this.marketData, latencyMicroseconds);
    recordMicroseconds(this.intervalMarketData, latencyMicroseconds);
  }

  /** Closes the current one-second interval and starts the next. */
  closeInterval(second: number): TimelinePoint {
    const latency = summarize(this.interval);
    const marketData = summarize(this.intervalMarketData);
    const point: TimelinePoint = {
      second,
      sent: this.intervalSent,
      ok: this.intervalOk,
      errors: this.intervalErrors,
      p50Ms: latency.p50,
      p99Ms: latency.p99,
      maxMs: latency.max,
      marketDataMessages: this.intervalMarketDataMessages,
      marketDataP50Ms: marketData.p50,
      marketDataP99Ms: marketData.p99,
    };
    this.timeline.push(point);
    this.interval = newHistogram();
    this.intervalMarketData = newHistogram();
    this.intervalSent = 0;
    this.intervalOk = 0;
    this.intervalErrors = 0;
    this.intervalMarketDataMessages = 0;
    return point;
  }
}
