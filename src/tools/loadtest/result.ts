// The shape of result.json: a stable, documented record of one load-test run.
import type { LatencySummaryMs, TimelinePoint } from './recorder.ts';
import type { LoadtestOptions } from './options.ts';

export interface KindSummary extends LatencySummaryMs {
  distribution: { percentile: number; latencyMs: number }[];
}

export interface LoadtestResult {
  tool: 'bourse-loadtest';
  version: 1;
  startedAt: string;
  url: string;
  options: Omit<LoadtestOptions, 'adminToken'>;
  /** open: fixed-rate intended start times (coordinated omission corrected); closed: workers back to back. */
  mode: 'open' | 'closed';
  coordinatedOmissionCorrected: boolean;
  durationSeconds: number;
  markets: string[];
  requests: { sent: number; ok: number; errors: number; notSent: number };
  throughputPerSecond: number;
  /** From intended start to answer (open mode) or from send to answer (closed mode). */
  latencyMs: LatencySummaryMs;
  /** From actual send to answer, whatever the mode. */
  serviceTimeMs: LatencySummaryMs;
  latencyDistribution: { percentile: number; latencyMs: number }[];
  byKind: Record<string, KindSummary>;
  errorsByCode: Record<string, number>;
  marketData: { subscribers: number; subscribersConnected: number; messages: number; latencyMs: LatencySummaryMs; distribution: { percentile: number; latencyMs: number }[] };
  timeline: TimelinePoint[];
  solvency: { checked: boolean; engineBalanced: boolean | null; projectionBalanced: boolean | null; assets: unknown };
  conservation: 'PASS' | 'FAIL' | 'UNKNOWN';
}
