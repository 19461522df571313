// The Prometheus metrics catalogue of every role, and the small HTTP server that serves it
// on its own port (METRICS_PORT). Every metric a role exports is declared here, once, with
// its labels; docs/metrics.md is the table of the same catalogue and a test keeps the two equal.
// Hot paths get plain-field cells (FastCounter, FastGauge, FastHistogram) whose update is one
// or two additions; prom-client owns the registry, the exposition format and the process metrics.
import { createServer, type Server } from 'node:http';
import { statfs } from 'node:fs/promises';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { writeFile, mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Cache, PubSub } from '../ports/cache.ts';
import type { RecordLog } from '../ports/log.ts';
import type { SqlDatabase, SqlExecutor } from '../ports/sql.ts';
import type { SqlStatementRunner } from './sql/statements.ts';
import { createLogger } from './logger.ts';

const log = createLogger('metrics');

/** Every metric name this catalogue declares starts with this prefix (process metrics excepted). */
export const metricPrefix = 'bourse_';

/** Distinct label combinations one metric family may hold; past it, new ones fold into "other". */
export const labelCombinationsMax = 500;

export const roleNames = ['gateway', 'engine', 'ledger', 'market-data', 'notifier', 'embedded'] as const;
export type RoleName = (typeof roleNames)[number];

/** Bucket upper bounds, in seconds or counts as the name says. */
export const bucketsRequestSeconds = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
export const bucketsCommandSeconds = [0.000001, 0.0000025, 0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.01];
export const bucketsBatchCommands = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096];
export const bucketsDeliverySeconds = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
export const bucketsDurableWriteSeconds = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

// ---------------------------------------------------------------------------------------
// Cells: the objects services hold and update. No label hashing, no allocation per update.

/** A monotonically increasing count. `inc(n)` once per batch is the cheapest use. */
export class FastCounter {
  value = 0;
  inc(amount = 1): void {
    this.value += amount;
  }
}

/** A value that goes up and down (connections, lag, progress). */
export class FastGauge {
  value = 0;
  set(value: number): void {
    this.value = value;
  }
  inc(amount = 1): void {
    this.value += amount;
  }
  dec(amount = 1): void {
    this.value -= amount;
  }
}

/** A histogram over fixed upper bounds; `observe` walks at most bounds.length entries. */
export class FastHistogram {
  readonly upperBounds: readonly number[];
  /** Non-cumulative counts per bucket; the last slot is the +Inf bucket. */
  readonly bucketCounts: Float64Array;
  sum = 0;
  count = 0;

  constructor(upperBounds: readonly number[]) {
    this.upperBounds = upperBounds;
    this.bucketCounts = new Float64Array(upperBounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.upperBounds;
    let index = 0;
    while (index < bounds.length && value > bounds[index]) index++;
    this.bucketCounts[index] += 1;
    this.sum += value;
    this.count += 1;
  }

  /** Records `count` observations of the same value (a batch's per-command mean, for example). */
  observeMany(value: number, count: number): void {
    if (count <= 0) return;
    const bounds = this.upperBounds;
    let index = 0;
    while (index < bounds.length && value > bounds[index]) index++;
    this.bucketCounts[index] += count;
    this.sum += value * count;
    this.count += count;
  }

  /** Starts a timer; call the returned function to observe the elapsed seconds. */
  startTimer(): () => number {
    const startedAt = process.hrtime.bigint();
    return () => {
      const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
      this.observe(seconds);
      return seconds;
    };
  }
}

type MetricType = 'counter' | 'gauge' | 'histogram';
type Cell = FastCounter | FastGauge | FastHistogram;

interface ExposedValue {
  value: number;
  labels: Record<string, string>;
  metricName?: string;
}

/**
 * One metric family: a name, a type, label names and one cell per label combination.
 * It implements the part of prom-client's metric interface its Registry calls (`get`,
 * `reset`), so prom-client renders it next to the default process metrics.
 */
export class MetricFamily<C extends Cell> {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly labelNames: readonly string[];
  private readonly makeCell: () => C;
  private readonly cells = new Map<string, { labels: Record<string, string>; cell: C }>();

  constructor(name: string, help: string, type: MetricType, labelNames: readonly string[], makeCell: () => C) {
    this.name = name;
    this.help = help;
    this.type = type;
    this.labelNames = labelNames;
    this.makeCell = makeCell;
  }

  /** The cell of one label combination (values in labelNames order). Keep it: lookups hash. */
  labels(...values: string[]): C {
    if (values.length !== this.labelNames.length) {
      throw new Error(`${this.name} takes labels ${this.labelNames.join(', ')}; got ${values.length} value(s)`);
    }
    let key = values.join('\u0001');
    let entry = this.cells.get(key);
    if (entry === undefined) {
      if (this.cells.size >= labelCombinationsMax) {
        values = values.map(() => 'other');
        key = values.join('\u0001');
        entry = this.cells.get(key);
      }
      if (entry === undefined) {
        const labels: Record<string, string> = {};
        this.labelNames.forEach((labelName, index) => (labels[labelName] = values[index]));
        entry = { labels, cell: this.makeCell() };
        this.cells.set(key, entry);
      }
    }
    return entry.cell;
  }

  reset(): void {
    this.cells.clear();
  }

  async get(): Promise<{ name: string; help: string; type: MetricType; values: ExposedValue[]; aggregator: 'sum' }> {
    const values: ExposedValue[] = [];
    for (const { labels, cell } of this.cells.values()) {
      if (cell instanceof FastHistogram) {
        let cumulative = 0;
        cell.upperBounds.forEach((bound, index) => {
          cumulative += cell.bucketCounts[index];
          values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: String(bound) }, value: cumulative });
        });
        cumulative += cell.bucketCounts[cell.upperBounds.length];
        values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: '+Inf' }, value: cumulative });
        values.push({ metricName: `${this.name}_sum`, labels, value: cell.sum });
        values.push({ metricName: `${this.name}_count`, labels, value: cell.count });
      } else {
        values.push({ labels, value: cell.value });
      }
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: 'sum' };
  }
}

/** Declares families on one registry; unlabelled families hand back their single cell. */
class Declarer {
  readonly registry: Registry;
  constructor(registry: Registry) {
    this.registry = registry;
  }

  private family<C extends Cell>(name: string, help: string, type: MetricType, labelNames: readonly string[], makeCell: () => C): MetricFamily<C> {
    if (!name.startsWith(metricPrefix)) throw new Error(`metric ${name} must start with ${metricPrefix}`);
    const existing = this.registry.getSingleMetric(name) as unknown as MetricFamily<C> | undefined;
    if (existing !== undefined) return existing;
    const family = new MetricFamily(name, help, type, labelNames, makeCell);
    // prom-client's Registry renders any object with name, get() and reset().
    this.registry.registerMetric(family as unknown as Parameters<Registry['registerMetric']>[0]);
    return family;
  }

  counter(name: string, help: string): FastCounter {
    return this.family(name, help, 'counter', [], () => new FastCounter()).labels();
  }
  gauge(name: string, help: string): FastGauge {
    return this.family(name, help, 'gauge', [], () => new FastGauge()).labels();
  }
  histogram(name: string, help: string, upperBounds: readonly number[]): FastHistogram {
    return this.family(name, help, 'histogram', [], () => new FastHistogram(upperBounds)).labels();
  }
  counterFamily(name: string, help: string, labelNames: readonly string[]): MetricFamily<FastCounter> {
    return this.family(name, help, 'counter', labelNames, () => new FastCounter());
  }
  gaugeFamily(name: string, help: string, labelNames: readonly string[]): MetricFamily<FastGauge> {
    return this.family(name, help, 'gauge', labelNames, () => new FastGauge());
  }
  histogramFamily(name: string, help: string, labelNames: readonly string[], upperBounds: readonly number[]): MetricFamily<FastHistogram> {
    return this.family(name, help, 'histogram', labelNames, () => new FastHistogram(upperBounds));
  }
}

// ---------------------------------------------------------------------------------------
// Metric sets: one per concern. Roles combine the sets they need.

function httpSet(declare: Declarer) {
  const httpRequests = declare.counterFamily('bourse_http_requests_total', 'HTTP requests answered, by route pattern, method and status code.', ['route', 'method', 'status']);
  const httpRequestDuration = declare.histogramFamily(
    'bourse_http_request_duration_seconds',
    'Time from request received to response sent, by route pattern and method.',
    ['route', 'method'],
    bucketsRequestSeconds,
  );
  const pairs = new Map<string, { requests: FastCounter; duration: FastHistogram }>();
  return {
    httpRequests,
    httpRequestDuration,
    apiErrors: declare.counterFamily('bourse_api_errors_total', 'Error answers by route pattern and API error code (Binance codes, e.g. -2010).', ['route', 'code']),
    rateLimitRejections: declare.counter('bourse_rate_limit_rejections_total', 'Requests refused with 429 by a rate limit.'),
    gatewayCommandDuration: declare.histogram(
      'bourse_gateway_command_duration_seconds',
      'Gateway view of a command: submitted to the log until its result arrived.',
      bucketsRequestSeconds,
    ),
    gatewayCommandTimeouts: declare.counter('bourse_gateway_command_timeouts_total', 'Commands answered "status unknown" because the result did not arrive in time.'),
    /** Records one answered request; `route` must be the route pattern, never the raw URL. */
    observeHttpRequest(route: string, method: string, statusCode: number, durationSeconds: number): void {
      const key = `${method} ${statusCode} ${route}`;
      let pair = pairs.get(key);
      if (pair === undefined) {
        pair = { requests: httpRequests.labels(route, method, String(statusCode)), duration: httpRequestDuration.labels(route, method) };
        if (pairs.size < labelCombinationsMax) pairs.set(key, pair);
      }
      pair.requests.inc();
      pair.duration.observe(durationSeconds);
    },
  };
}

function webSocketSet(declare: Declarer) {
  return {
    wsConnections: declare.gauge('bourse_ws_connections', 'Open WebSocket connections.'),
    wsConnectionsOpened: declare.counter('bourse_ws_connections_opened_total', 'WebSocket connections accepted.'),
    wsMessagesSent: declare.counter('bourse_ws_messages_sent_total', 'WebSocket messages written to clients (count per fan-out batch).'),
    wsMessagesDropped: declare.counter('bourse_ws_messages_dropped_total', 'WebSocket messages not sent because the client was over its send buffer (it is then closed).'),
    wsSlowClientCloses: declare.counter('bourse_ws_slow_client_closes_total', 'WebSocket clients closed because their send buffer overflowed.'),
    marketDataDelivery: declare.histogram(
      'bourse_market_data_delivery_seconds',
      'Engine event timestamp to the moment a gateway writes the market-data message to its sockets (once per message, not per client).',
      bucketsDeliverySeconds,
    ),
  };
}

function cacheSet(declare: Declarer) {
  return {
    cacheHits: declare.counterFamily('bourse_cache_hits_total', 'Cache reads that found a value, by cache (depth, ticker, kline, inbox, listenKey, ...).', ['cache']),
    cacheMisses: declare.counterFamily('bourse_cache_misses_total', 'Cache reads that found nothing, by cache.', ['cache']),
  };
}

function databaseSet(declare: Declarer) {
  return {
    databaseQueryDuration: declare.histogramFamily(
      'bourse_database_query_duration_seconds',
      'SQL round trips, by operation (ledger_write, history_read, ...).',
      ['operation'],
      bucketsDurableWriteSeconds,
    ),
    databaseReplicaLag: declare.gauge('bourse_database_replica_lag_seconds', 'Replay lag of the PostgreSQL read replica (0 when reads go to the primary).'),
  };
}

function engineSet(declare: Declarer) {
  return {
    engineCommands: declare.counter('bourse_engine_commands_total', 'Commands executed by the engine (count per batch: engineCommands.inc(batch.length)).'),
    engineEvents: declare.counter('bourse_engine_events_total', 'Events emitted by the engine.'),
    engineBatchSize: declare.histogram('bourse_engine_batch_size_commands', 'Commands per batch the engine read from the command log.', bucketsBatchCommands),
    engineBatchDuration: declare.histogram('bourse_engine_batch_duration_seconds', 'Time to execute one batch of commands (no I/O inside).', bucketsDurableWriteSeconds),
    engineCommandDuration: declare.histogram(
      'bourse_engine_command_duration_seconds',
      'Per-command engine execution time (observeMany(batchSeconds / n, n) per batch keeps it cheap).',
      bucketsCommandSeconds,
    ),
    engineLogLag: declare.gauge('bourse_engine_log_lag_commands', 'Commands durable in the command log but not yet executed by this engine.'),
    engineReplayProgress: declare.gauge('bourse_engine_replay_progress_ratio', 'Start-up replay progress, 0 to 1 (1 once caught up with the log).'),
    engineLastCommandSequence: declare.gauge('bourse_engine_last_command_sequence', 'Sequence of the last command this engine executed.'),
    engineLeader: declare.gauge('bourse_engine_leader', '1 while this engine holds the leader lease, 0 while it is a standby.'),
    logAppendDuration: declare.histogramFamily('bourse_log_append_duration_seconds', 'Durable append of one batch (fsync or replicated ack), by log (command, event).', ['log'], bucketsDurableWriteSeconds),
    logAppendRecords: declare.counterFamily('bourse_log_append_records_total', 'Records appended durably, by log (command, event).', ['log']),
    solvencyDifference: declare.gaugeFamily(
      'bourse_solvency_difference_units',
      'Per asset: (available + held over all accounts) - (deposits - withdrawals), in the asset\'s smallest unit. Must be 0.',
      ['asset'],
    ),
    dataDirectoryFree: declare.gauge('bourse_data_directory_free_bytes', 'Free bytes on the file system of the data directory (journal, snapshots).'),
    dataDirectorySize: declare.gauge('bourse_data_directory_size_bytes', 'Size in bytes of the file system of the data directory.'),
  };
}

function consumerSet(declare: Declarer) {
  return {
    consumerLag: declare.gaugeFamily('bourse_consumer_lag_events', 'Events produced but not yet applied, by consumer (ledger, market-data, notifier, user-stream).', ['consumer']),
    consumerEvents: declare.counterFamily('bourse_consumer_events_total', 'Events applied, by consumer.', ['consumer']),
    consumerLastEventSequence: declare.gaugeFamily('bourse_consumer_last_event_sequence', 'Last event sequence applied, by consumer.', ['consumer']),
  };
}

function ledgerSet(declare: Declarer) {
  return {
    ledgerLag: declare.gauge('bourse_ledger_lag_seconds', 'Age of the oldest event not yet committed to the database (0 when caught up).'),
    ledgerBatchDuration: declare.histogram('bourse_ledger_batch_duration_seconds', 'Time to write one batch of events to the database in one transaction.', bucketsDurableWriteSeconds),
  };
}

function marketDataSet(declare: Declarer) {
  return {
    marketDataPublished: declare.counterFamily('bourse_market_data_messages_published_total', 'Market-data messages published to pub/sub, by stream kind (depth, trade, kline, ticker, ...).', ['stream']),
  };
}

function notifierSet(declare: Declarer) {
  return {
    notifications: declare.counter('bourse_notifier_notifications_total', 'Notifications created (inbox rows).'),
    webhookDeliveries: declare.counterFamily('bourse_notifier_webhook_deliveries_total', 'Webhook delivery attempts, by result (delivered, failed, gave_up).', ['result']),
    outboxPending: declare.gauge('bourse_notifier_outbox_pending', 'Webhook deliveries waiting in the outbox.'),
  };
}

// ---------------------------------------------------------------------------------------
// Roles.

export interface MetricsOptions {
  /** prom-client's process metrics (CPU, memory, event-loop lag, GC). Default true. */
  processMetrics?: boolean;
  /** Value of the build-info version label. */
  version?: string;
}

export type Collector = () => void | Promise<void>;

/** Sampling interval of the event-loop lag histogram (nodejs_eventloop_lag_*). */
const eventLoopMonitoringPrecisionMs = 100;

function commonSet(role: RoleName, options: MetricsOptions) {
  const registry = new Registry();
  const declare = new Declarer(registry);
  // The event-loop lag histogram samples every 100 ms instead of prom-client's 10 ms: a
  // 10 ms timer wakes every role 100 times a second even when idle, and stalls worth
  // alerting on (tens of milliseconds and more) still show in every sample they overlap.
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: eventLoopMonitoringPrecisionMs });
  const buildInfo = declare.gaugeFamily('bourse_build_info', 'Always 1; labels name the role and version of this process.', ['role', 'version']);
  buildInfo.labels(role, options.version ?? process.env.npm_package_version ?? 'dev').set(1);
  const collectors: Collector[] = [];
  return {
    declare,
    common: {
      role,
      registry,
      /** Runs `collector` before every scrape: set pull-style gauges (lag, progress) there, off the hot path. */
      addCollector(collector: Collector): () => void {
        collectors.push(collector);
        return () => {
          const index = collectors.indexOf(collector);
          if (index >= 0) collectors.splice(index, 1);
        };
      },
      /** The exposition text: runs the collectors, then renders the registry. */
      async render(): Promise<string> {
        for (const collector of collectors) {
          try {
            await collector();
          } catch (error) {
            log.warn({ err: error }, 'metrics collector failed');
          }
        }
        return registry.metrics();
      },
      contentType: registry.contentType,
    },
  };
}


export type CommonMetrics = ReturnType<typeof commonSet>['common'];
export type HttpMetrics = ReturnType<typeof httpSet>;
export type WebSocketMetrics = ReturnType<typeof webSocketSet>;
export type CacheMetrics = ReturnType<typeof cacheSet>;
export type DatabaseMetrics = ReturnType<typeof databaseSet>;
export type EngineMetricSet = ReturnType<typeof engineSet>;
export type ConsumerMetrics = ReturnType<typeof consumerSet>;
export type LedgerMetricSet = ReturnType<typeof ledgerSet>;
export type MarketDataMetricSet = ReturnType<typeof marketDataSet>;
export type NotifierMetricSet = ReturnType<typeof notifierSet>;

export type GatewayMetrics = CommonMetrics & HttpMetrics & WebSocketMetrics & CacheMetrics & DatabaseMetrics;
export type EngineMetrics = CommonMetrics & EngineMetricSet;
export type LedgerMetrics = CommonMetrics & ConsumerMetrics & LedgerMetricSet & DatabaseMetrics;
export type MarketDataMetrics = CommonMetrics & ConsumerMetrics & MarketDataMetricSet & CacheMetrics;
export type NotifierMetrics = CommonMetrics & ConsumerMetrics & NotifierMetricSet;
/** Every role in one process: satisfies each role's type, so services take their own narrow type. */
export type EmbeddedMetrics = GatewayMetrics & EngineMetrics & LedgerMetrics & MarketDataMetrics & NotifierMetrics;

export function createGatewayMetrics(options: MetricsOptions = {}): GatewayMetrics {
  const { declare, common } = commonSet('gateway', options);
  return { ...common, ...httpSet(declare), ...webSocketSet(declare), ...cacheSet(declare), ...databaseSet(declare) };
}

export function createEngineMetrics(options: MetricsOptions = {}): EngineMetrics {
  const { declare, common } = commonSet('engine', options);
  return { ...common, ...engineSet(declare) };
}

export function createLedgerMetrics(options: MetricsOptions = {}): LedgerMetrics {
  const { declare, common } = commonSet('ledger', options);
  return { ...common, ...consumerSet(declare), ...ledgerSet(declare), ...databaseSet(declare) };
}

export function createMarketDataMetrics(options: MetricsOptions = {}): MarketDataMetrics {
  const { declare, common } = commonSet('market-data', options);
  return { ...common, ...consumerSet(declare), ...marketDataSet(declare), ...cacheSet(declare) };
}

export function createNotifierMetrics(options: MetricsOptions = {}): NotifierMetrics {
  const { declare, common } = commonSet('notifier', options);
  return { ...common, ...consumerSet(declare), ...notifierSet(declare) };
}

export function createEmbeddedMetrics(options: MetricsOptions = {}): EmbeddedMetrics {
  const { declare, common } = commonSet('embedded', options);
  return {
    ...common,
    ...httpSet(declare),
    ...webSocketSet(declare),
    ...cacheSet(declare),
    ...databaseSet(declare),
    ...engineSet(declare),
    ...consumerSet(declare),
    ...ledgerSet(declare),
    ...marketDataSet(declare),
    ...notifierSet(declare),
  };
}

/** The metrics type of each role, so `createRoleMetrics('ledger')` is a LedgerMetrics. */
export interface RoleMetricsByName {
  gateway: GatewayMetrics;
  engine: EngineMetrics;
  ledger: LedgerMetrics;
  'market-data': MarketDataMetrics;
  notifier: NotifierMetrics;
  embedded: EmbeddedMetrics;
}

const roleFactories: { [R in RoleName]: (options: MetricsOptions) => RoleMetricsByName[R] } = {
  gateway: createGatewayMetrics,
  engine: createEngineMetrics,
  ledger: createLedgerMetrics,
  'market-data': createMarketDataMetrics,
  notifier: createNotifierMetrics,
  embedded: createEmbeddedMetrics,
};

export function createRoleMetrics<R extends RoleName>(role: R, options: MetricsOptions = {}): RoleMetricsByName[R] {
  return roleFactories[role](options);
}

/** Every metric name (without _bucket/_sum/_count suffixes) a role's registry exports. */
export function exportedMetricNames(role: RoleName = 'embedded'): string[] {
  const metrics = createRoleMetrics(role, { processMetrics: true });
  return metrics.registry.getMetricsAsArray().map((metric) => metric.name).sort();
}

// ---------------------------------------------------------------------------------------
// Wiring helpers.

/**
 * Records every Fastify response in the HTTP metrics, labelled by route pattern, and counts
 * `{code, msg}` error answers by API code. Call before `listen`/`ready`.
 */
export function instrumentFastify(app: FastifyInstance, metrics: HttpMetrics): void {
  app.addHook('onSend', (request, reply, payload, done) => {
    // Only error answers are inspected, and only their first bytes: the success path pays nothing.
    if (reply.statusCode >= 400 && typeof payload === 'string') {
      const match = /^\{"code":(-?\d{1,6})\b/.exec(payload);
      if (match) metrics.apiErrors.labels(request.routeOptions.url ?? 'unmatched', match[1]).inc();
    }
    done(null, payload);
  });
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.observeHttpRequest(route, request.method, reply.statusCode, reply.elapsedTime / 1000);
    if (reply.statusCode === 429) metrics.rateLimitRejections.inc();
    done();
  });
}

/** The label of a cache key: its first `:`-separated word (md, listenKey, sig, ...), bounded. */
function cacheLabel(key: string): string {
  const end = key.indexOf(':');
  const word = end > 0 ? key.slice(0, end) : key;
  return word.length <= 24 ? word : 'other';
}

/** Wraps a Cache so every `get` counts a hit or a miss, labelled by the key's first word. */
export function instrumentCache(cache: Cache, metrics: CacheMetrics): Cache {
  const cells = new Map<string, { hits: FastCounter; misses: FastCounter }>();
  const cellsOf = (label: string) => {
    let entry = cells.get(label);
    if (entry === undefined) {
      entry = { hits: metrics.cacheHits.labels(label), misses: metrics.cacheMisses.labels(label) };
      cells.set(label, entry);
    }
    return entry;
  };
  return {
    get: async (key) => {
      const value = await cache.get(key);
      const entry = cellsOf(cacheLabel(key));
      if (value === null) entry.misses.inc();
      else entry.hits.inc();
      return value;
    },
    set: (key, value, ttlMs) => cache.set(key, value, ttlMs),
    delete: (key) => cache.delete(key),
    takeTokens: (key, capacity, refillPerSecond, cost, nowMs) => cache.takeTokens(key, capacity, refillPerSecond, cost, nowMs),
    countInWindow: (key, amount, windowMs) => cache.countInWindow(key, amount, windowMs),
    countInWindowSteps: (steps) => cache.countInWindowSteps(steps),
    close: () => cache.close(),
  };
}

/** The event time `E` of a market-data payload, read without parsing the JSON. */
function eventTimeMs(message: string): number | null {
  const match = /"E":(\d{10,16})/.exec(message);
  return match ? Number(match[1]) : null;
}

/** Channels whose publish counter instrumentPubSub remembers (market data has a few dozen per market). */
const publishedChannelsCachedMax = 100_000;

/**
 * Wraps a PubSub: publishes on `md.<SYMBOL>.<stream>` count by stream kind; messages a
 * subscriber receives on an `md.` channel observe delivery latency (now - E), once per
 * message and gateway, before it is written to that gateway's sockets.
 */
export function instrumentPubSub(pubsub: PubSub, metrics: Partial<MarketDataMetricSet & WebSocketMetrics>): PubSub {
  const published = new Map<string, FastCounter>();
  // The counter of each channel seen, so a publish costs one lookup and no string work.
  const publishedByChannel = new Map<string, FastCounter>();
  return {
    publish: (channel, message) => {
      if (metrics.marketDataPublished && channel.startsWith('md.')) {
        let cell = publishedByChannel.get(channel);
        if (cell === undefined) {
          const kind = channel.slice(channel.lastIndexOf('.') + 1).replace(/_.*$/, '');
          cell = published.get(kind);
          if (cell === undefined) {
            cell = metrics.marketDataPublished.labels(kind);
            published.set(kind, cell);
          }
          if (publishedByChannel.size < publishedChannelsCachedMax) publishedByChannel.set(channel, cell);
        }
        cell.inc();
      }
      return pubsub.publish(channel, message);
    },
    subscribe: (channel, onMessage) => {
      const delivery = metrics.marketDataDelivery;
      if (delivery === undefined || !channel.startsWith('md.')) return pubsub.subscribe(channel, onMessage);
      return pubsub.subscribe(channel, (message) => {
        const eventMs = eventTimeMs(message);
        if (eventMs !== null) delivery.observe(Math.max(0, Date.now() - eventMs) / 1000);
        onMessage(message);
      });
    },
    close: () => pubsub.close(),
  };
}

/**
 * The engine host's batch observer (`EngineHost.start({ ..., onBatchExecuted: engineBatchObserver(metrics) })`):
 * batch size, batch time, and that time spread over the batch's commands as the
 * per-command latency. Two clock reads per batch and no work per command.
 */
export function engineBatchObserver(metrics: EngineMetricSet): (commands: number, seconds: number) => void {
  return (commands, seconds) => {
    if (commands <= 0) return;
    metrics.engineBatchSize.observe(commands);
    metrics.engineBatchDuration.observe(seconds);
    metrics.engineCommandDuration.observeMany(seconds / commands, commands);
  };
}

/**
 * For engines outside an EngineHost (followers, benchmarks): wraps the engine's `execute` to observe batches without a clock read per command: the
 * first command of a synchronous run starts a timer and queues a microtask; the microtask
 * (which runs once the host's batch loop has returned) observes the batch size, the batch
 * time, and that time divided over its commands as the per-command latency. Use it in
 * `createEngine: () => instrumentEngine(new Engine(), metrics)`.
 */
export function instrumentEngine<E extends { execute(command: never, out: never): void }>(engine: E, metrics: EngineMetricSet): E {
  // Fixed arity and Function.prototype.call keep the wrapper cheap (no rest arguments).
  const execute = engine.execute as unknown as (this: E, command: unknown, out: unknown) => void;
  let batchCommands = 0;
  let batchStartMs = 0;
  const observeBatch = () => {
    const seconds = (performance.now() - batchStartMs) / 1000;
    metrics.engineBatchSize.observe(batchCommands);
    metrics.engineBatchDuration.observe(seconds);
    metrics.engineCommandDuration.observeMany(seconds / batchCommands, batchCommands);
    batchCommands = 0;
  };
  const instrumented = function (this: E, command: unknown, out: unknown): void {
    if (batchCommands === 0) {
      batchStartMs = performance.now();
      queueMicrotask(observeBatch);
    }
    batchCommands += 1;
    execute.call(this, command, out);
  };
  engine.execute = instrumented as unknown as E['execute'];
  return engine;
}

/** Wraps a RecordLog so every durable append observes its time and counts its records. */
export function instrumentRecordLog<L extends RecordLog>(log: L, metrics: EngineMetricSet, name: 'command' | 'event'): L {
  const append = log.append.bind(log);
  const duration = metrics.logAppendDuration.labels(name);
  const records = metrics.logAppendRecords.labels(name);
  log.append = async (payloads, expectedLastSequence) => {
    const startedMs = performance.now();
    const result = await append(payloads, expectedLastSequence);
    duration.observe((performance.now() - startedMs) / 1000);
    records.inc(payloads.length);
    return result;
  };
  return log;
}

/**
 * Wraps a command bus (the gateway's view of the engine, `{ submit }` of
 * src/services/contracts.ts): round-trip time and "status unknown" timeouts.
 */
export function instrumentCommandBus<Submit extends (...args: never[]) => Promise<unknown>>(bus: { submit: Submit }, metrics: HttpMetrics): { submit: Submit } {
  const countFailure = (error: unknown): never => {
    if ((error as Error).name === 'CommandTimeoutError') metrics.gatewayCommandTimeouts.inc();
    throw error;
  };
  return {
    // Not an async function with rest arguments: one `then` per command is all it adds.
    submit: ((command: unknown, timeoutMs?: unknown) => {
      const startedMs = performance.now();
      // Looked up on every call, so a bus whose submit is replaced later (tests do) still counts.
      const submit = bus.submit as unknown as (command: unknown, timeoutMs?: unknown) => Promise<unknown>;
      let answer: Promise<unknown>;
      try {
        // An absent timeout stays undefined, so the bus's own default applies.
        answer = submit.call(bus, command, timeoutMs);
      } catch (error) {
        return Promise.reject(error).catch(countFailure);
      }
      return answer.then((result) => {
        metrics.gatewayCommandDuration.observe((performance.now() - startedMs) / 1000);
        return result;
      }, countFailure);
    }) as unknown as Submit,
  };
}

/** What the embedded process can be asked at scrape time (structural: no service imports). */
export interface EmbeddedStateSources {
  engine: {
    lastCommandSequence(): number;
    lastEventSequence(): number;
    solvency?(): { asset: string; supplyAtoms: number | bigint; balancesAtoms: number | bigint }[];
  };
  commandLog?: { lastSequence(): Promise<number> };
  /** Consumer name -> last event sequence it applied. */
  consumers?: Record<string, () => number | Promise<number>>;
  streams?: { stats(): { connections: number; slowConsumerCloses: number; messagesSent: number } };
  dataDirectory?: string;
  /** 1 for the leader (always in embedded mode), 0 for a standby. */
  leader?: () => boolean;
  /** Least time between two solvency computations (they walk every balance); default 60 s. */
  solvencyIntervalMs?: number;
}

/** Solvency walks every balance on the engine's thread: at most once a minute by default. */
export const solvencyIntervalMsDefault = 60_000;

/**
 * Sets the pull-style metrics from the live state before each scrape: counters mirror
 * sequence numbers (commands and events since this call), lags are differences of
 * sequences, WebSocket totals come from the stream server's own counts. Nothing here runs
 * on the hot path. Call it after recovery (replay progress is then 1).
 */
export function collectEmbeddedState(metrics: EngineMetrics & Partial<ConsumerMetrics & WebSocketMetrics>, sources: EmbeddedStateSources): () => void {
  const consumerMetrics = metrics.consumerLag && metrics.consumerLastEventSequence && metrics.consumerEvents ? { lag: metrics.consumerLag, last: metrics.consumerLastEventSequence, events: metrics.consumerEvents } : null;
  const commandsAtStart = sources.engine.lastCommandSequence();
  const eventsAtStart = sources.engine.lastEventSequence();
  const consumersAtStart = new Map<string, number>();
  // Positions when wiring happened, so consumer counters count this process's work.
  for (const [consumer, position] of Object.entries(sources.consumers ?? {})) {
    void Promise.resolve(position()).then((applied) => {
      if (!consumersAtStart.has(consumer)) consumersAtStart.set(consumer, applied);
    }, () => {});
  }
  let solvencyComputedAtMs = -Infinity;
  const solvencyIntervalMs = sources.solvencyIntervalMs ?? solvencyIntervalMsDefault;
  metrics.engineReplayProgress.set(1);
  const removers = [
    metrics.addCollector(async () => {
      const lastCommand = sources.engine.lastCommandSequence();
      const lastEvent = sources.engine.lastEventSequence();
      metrics.engineLastCommandSequence.set(lastCommand);
      metrics.engineCommands.value = lastCommand - commandsAtStart;
      metrics.engineEvents.value = lastEvent - eventsAtStart;
      metrics.engineLeader.set(sources.leader === undefined || sources.leader() ? 1 : 0);
      if (sources.commandLog) metrics.engineLogLag.set(Math.max(0, (await sources.commandLog.lastSequence()) - lastCommand));
      if (sources.engine.solvency && Date.now() - solvencyComputedAtMs >= solvencyIntervalMs) {
        solvencyComputedAtMs = Date.now();
        for (const row of sources.engine.solvency()) metrics.solvencyDifference.labels(row.asset).set(Number(BigInt(row.balancesAtoms) - BigInt(row.supplyAtoms)));
      }
      for (const [consumer, position] of Object.entries(consumerMetrics ? (sources.consumers ?? {}) : {})) {
        const applied = await position();
        if (!consumersAtStart.has(consumer)) consumersAtStart.set(consumer, applied);
        const lag = Math.max(0, lastEvent - applied);
        consumerMetrics!.lag.labels(consumer).set(lag);
        consumerMetrics!.last.labels(consumer).set(applied);
        consumerMetrics!.events.labels(consumer).value = applied - consumersAtStart.get(consumer)!;
      }
      if (sources.streams && metrics.wsConnections && metrics.wsSlowClientCloses && metrics.wsMessagesSent) {
        const stats = sources.streams.stats();
        metrics.wsConnections.set(stats.connections);
        metrics.wsSlowClientCloses.value = stats.slowConsumerCloses;
        metrics.wsMessagesSent.value = stats.messagesSent;
      }
    }),
  ];
  if (sources.dataDirectory !== undefined) removers.push(watchDataDirectory(metrics, sources.dataDirectory));
  return () => removers.forEach((remove) => remove());
}

/**
 * Consumer lag from a role's readiness status (`{ eventLogSequence, appliedEventSequence }`
 * or `projectedEventSequence`), read at scrape time: the cluster role shell wires it for
 * the ledger, market-data and notifier roles without touching their code.
 */
export function collectConsumerStatus(metrics: ConsumerMetrics & CommonMetrics, consumer: string, status: () => Record<string, unknown> | Promise<Record<string, unknown>>): () => void {
  let appliedAtStart: number | null = null;
  return metrics.addCollector(async () => {
    const fields = await status();
    const applied = Number(fields.appliedEventSequence ?? fields.projectedEventSequence);
    const last = Number(fields.eventLogSequence);
    if (!Number.isFinite(applied) || !Number.isFinite(last)) return;
    appliedAtStart ??= applied;
    metrics.consumerLag.labels(consumer).set(Math.max(0, last - applied));
    metrics.consumerLastEventSequence.labels(consumer).set(applied);
    metrics.consumerEvents.labels(consumer).value = applied - appliedAtStart;
  });
}

/**
 * Writes Prometheus file_sd target files (one per job) so a local Prometheus finds roles on
 * ports chosen at start-up: deploy/prometheus/prometheus.yml reads `<directory>/<job>.json`.
 */
export async function writePrometheusTargets(directory: string, targets: { job: string; instance: string; address: string }[]): Promise<void> {
  await mkdir(directory, { recursive: true });
  const byJob = new Map<string, { targets: string[]; labels: Record<string, string> }[]>();
  for (const target of targets) {
    const groups = byJob.get(target.job) ?? [];
    groups.push({ targets: [target.address], labels: { bourse_instance: target.instance } });
    byJob.set(target.job, groups);
  }
  for (const [job, groups] of byJob) {
    const path = join(directory, `${job}.json`);
    // Written to a temporary name and renamed, so Prometheus never reads half a file.
    await writeFile(`${path}.tmp`, `${JSON.stringify(groups, null, 2)}\n`);
    await rename(`${path}.tmp`, path);
  }
}

/** Exports free and total bytes of the file system holding `directory`, read at each scrape. */
export function watchDataDirectory(metrics: EngineMetricSet & CommonMetrics, directory: string): () => void {
  return metrics.addCollector(async () => {
    const stats = await statfs(directory);
    metrics.dataDirectoryFree.set(stats.bavail * stats.bsize);
    metrics.dataDirectorySize.set(stats.blocks * stats.bsize);
  });
}

// ---------------------------------------------------------------------------------------
// The /metrics HTTP server, on its own port so it never shares limits with the API.

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

export async function startMetricsServer(metrics: CommonMetrics, port: number, host = '127.0.0.1'): Promise<MetricsServer> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' || path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n');
      return;
    }
    metrics.render().then(
      (text) => response.writeHead(200, { 'content-type': metrics.contentType }).end(text),
      (error: unknown) => {
        log.error({ err: error }, 'metrics render failed');
        response.writeHead(500, { 'content-type': 'text/plain' }).end('metrics render failed\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  const boundPort = typeof address === 'object' && address !== null ? address.port : port;
  log.info({ host, port: boundPort, role: metrics.role }, 'metrics listening');
  return {
    port: boundPort,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Starts the metrics server as the environment says: METRICS_PORT (unset or 0 = disabled)
 * and METRICS_HOST (default 127.0.0.1; containers set 0.0.0.0). Returns null when disabled.
 */
export async function startMetricsServerFromEnvironment(metrics: CommonMetrics, environment: NodeJS.ProcessEnv = process.env): Promise<MetricsServer | null> {
  const text = environment.METRICS_PORT ?? '0';
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) throw new Error(`METRICS_PORT must be a port number (0 disables metrics); got "${text}"`);
  const port = Number(text);
  if (port === 0) return null;
  return startMetricsServer(metrics, port, environment.METRICS_HOST ?? '127.0.0.1');
}

/** Like instrumentSqlDatabase, for a plain executor (a role's read-replica history reads). */
export function instrumentSqlExecutor(executor: SqlExecutor, metrics: DatabaseMetrics, operation: string): SqlExecutor {
  const duration = metrics.databaseQueryDuration.labels(operation);
  return {
    query: async (text, params) => {
      const startedAt = performance.now();
      try {
        return await executor.query(text, params);
      } finally {
        duration.observe((performance.now() - startedAt) / 1000);
      }
    },
  };
}

/**
 * Records `bourse_database_replica_lag_seconds` before each scrape from the database adapter
 * (PostgresDatabase.replicaLagSeconds(): 0 without a replica); a failed read leaves the
 * last value and is logged by the scrape.
 */
export function collectReplicaLag(metrics: DatabaseMetrics & CommonMetrics, database: { replicaLagSeconds(): Promise<number> }): () => void {
  return metrics.addCollector(async () => {
    metrics.databaseReplicaLag.set(await database.replicaLagSeconds());
  });
}

/**
 * Wraps a SqlDatabase so every round trip (query, transaction, script) observes
 * `bourse_database_query_duration_seconds{operation}`. Wrap once per user of the database
 * with its own operation label (ledger_write, history_read, notifier, accounts, ...).
 */
export function instrumentSqlDatabase(db: SqlDatabase, metrics: DatabaseMetrics, operation: string): SqlDatabase {
  const duration = metrics.databaseQueryDuration.labels(operation);
  const timed = async <T>(work: () => Promise<T>): Promise<T> => {
    const startedAt = performance.now();
    try {
      return await work();
    } finally {
      duration.observe((performance.now() - startedAt) / 1000);
    }
  };
  const instrumented: SqlDatabase & Partial<SqlStatementRunner> = {
    query: (text, params) => timed(() => db.query(text, params)),
    transaction: (work) => timed(() => db.transaction(work)),
    exec: (script) => timed(() => db.exec(script)),
    close: () => db.close(),
  };
  // A database that runs a whole statement list itself (src/adapters/sql/statements.ts)
  // keeps doing so behind the instrumentation, rather than one round trip per statement.
  const runner = db as SqlDatabase & Partial<SqlStatementRunner>;
  if (typeof runner.runStatements === 'function') {
    instrumented.runStatements = (statements) => timed(() => runner.runStatements!(statements));
  }
  return instrumented;
}
