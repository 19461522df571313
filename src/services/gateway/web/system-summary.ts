// The admin UI's live system view: a few headline figures read from the process's
// Prometheus registry (src/adapters/metrics.ts) — command rate, engine lag, connected
// clients, consumer lag — so the browser needs neither Prometheus nor the metrics port.
// Rates are differences between two successive samples (the UI polls every few seconds).
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { CommonMetrics } from '../../../adapters/metrics.ts';
import type { EngineReads } from '../../contracts.ts';

export interface SystemSummary {
  sampleAtMs: number;
  commandsTotal: number;
  httpRequestsTotal: number;
  commandRatePerSecond: number;
  httpRatePerSecond: number;
  engineLagCommands: number;
  connectedClients: number;
  consumerLagEvents: Record<string, number>;
  eventLoopLagMs: number;
  residentMemoryBytes: number;
  lastCommandSequence: number;
  uptimeSeconds: number;
  /** False when the process runs without a metrics registry (figures then come from the process alone). */
  metricsAvailable: boolean;
  /** False on the first sample: rates need two. */
  ratesAvailable: boolean;
}

/** Event-loop delay measured here when no metrics registry is wired (prom-client measures it otherwise). */
let loopDelay: IntervalHistogram | null = null;
const loopDelayResolutionMs = 20;

interface MetricJson {
  name: string;
  values: { value: number; labels: Record<string, string | number>; metricName?: string }[];
}

function total(metrics: Map<string, MetricJson>, name: string): number {
  const metric = metrics.get(name);
  if (!metric) return 0;
  let sum = 0;
  for (const sample of metric.values) if (sample.metricName === undefined || sample.metricName === name) sum += sample.value;
  return sum;
}

export async function summarizeSystem(
  metrics: CommonMetrics | null,
  reads: EngineReads | null,
  previous: SystemSummary | null,
  nowMs: number,
): Promise<SystemSummary> {
  const byName = new Map<string, MetricJson>();
  if (metrics) {
    // render() runs the pull-style collectors (lag gauges) before the registry is read.
    await metrics.render();
    for (const metric of (await metrics.registry.getMetricsAsJSON()) as unknown as MetricJson[]) byName.set(metric.name, metric);
  }
  const consumerLagEvents: Record<string, number> = {};
  for (const sample of byName.get('bourse_consumer_lag_events')?.values ?? []) consumerLagEvents[String(sample.labels.consumer ?? 'consumer')] = sample.value;
  // Without a registry, the engine's own sequence counts commands just as well.
  const commandsTotal = metrics ? total(byName, 'bourse_engine_commands_total') : (reads?.lastCommandSequence() ?? 0);
  const httpRequestsTotal = total(byName, 'bourse_http_requests_total');
  const elapsedSeconds = previous ? (nowMs - previous.sampleAtMs) / 1000 : 0;
  const rate = (current: number, before: number | undefined): number =>
    elapsedSeconds > 0 && before !== undefined ? Math.max(0, (current - before) / elapsedSeconds) : 0;
  let eventLoopLagSeconds = total(byName, 'nodejs_eventloop_lag_seconds');
  if (!byName.has('nodejs_eventloop_lag_seconds')) {
    if (!loopDelay) {
      loopDelay = monitorEventLoopDelay({ resolution: loopDelayResolutionMs });
      loopDelay.enable();
    }
    eventLoopLagSeconds = loopDelay.count > 0 ? Math.max(0, loopDelay.mean / 1e9 - loopDelayResolutionMs / 1000) : 0;
    loopDelay.reset();
  }
  const lastCommandSequence = reads ? reads.lastCommandSequence() : total(byName, 'bourse_engine_last_command_sequence');
  return {
    sampleAtMs: nowMs,
    commandsTotal,
    httpRequestsTotal,
    commandRatePerSecond: rate(commandsTotal, previous?.commandsTotal),
    httpRatePerSecond: rate(httpRequestsTotal, previous?.httpRequestsTotal),
    engineLagCommands: total(byName, 'bourse_engine_log_lag_commands'),
    connectedClients: total(byName, 'bourse_ws_connections'),
    consumerLagEvents,
    eventLoopLagMs: eventLoopLagSeconds * 1000,
    residentMemoryBytes: byName.has('process_resident_memory_bytes') ? total(byName, 'process_resident_memory_bytes') : process.memoryUsage().rss,
    lastCommandSequence,
    uptimeSeconds: process.uptime(),
    metricsAvailable: metrics !== null,
    ratesAvailable: elapsedSeconds > 0,
  };
}
