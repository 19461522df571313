// Builds the Grafana dashboards in deploy/grafana/dashboards/ from one description, so that
// every panel has the same data source, units and layout rules. Run
// `node --import tsx deploy/grafana/generate-dashboards.ts` after editing; a test checks the
// JSON files equal this output and that every query names only exported metrics.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const roleJobs = 'embedded|gateway|engine|ledger|market-data|notifier';
const panelWidth = 12;
const panelHeight = 8;

interface Query {
  expr: string;
  legend: string;
}

interface PanelSpec {
  title: string;
  unit: string;
  queries: Query[];
  kind?: 'timeseries' | 'stat';
  description?: string;
}

interface DashboardSpec {
  file: string;
  uid: string;
  title: string;
  description: string;
  panels: PanelSpec[];
}

const quantiles = (metric: string, by: string, legendPrefix: string): Query[] =>
  [0.5, 0.99].map((quantile) => ({
    expr: `histogram_quantile(${quantile}, sum by (${['le', by].filter(Boolean).join(', ')}) (rate(${metric}_bucket[1m])))`,
    legend: `${legendPrefix}p${quantile * 100}`,
  }));

export const dashboardSpecs: DashboardSpec[] = [
  {
    file: 'overview.json',
    uid: 'bourse-overview',
    title: 'Bourse / Overview',
    description: 'Health of the whole exchange: targets, traffic, latency, errors, lag, resources, solvency.',
    panels: [
      { title: 'Targets up by role', unit: 'short', queries: [{ expr: `sum by (job) (up{job=~"${roleJobs}"})`, legend: '{{job}}' }] },
      { title: 'API requests per second', unit: 'reqps', queries: [{ expr: 'sum by (job) (rate(bourse_http_requests_total[1m]))', legend: '{{job}}' }] },
      { title: 'API latency', unit: 's', queries: quantiles('bourse_http_request_duration_seconds', '', '') },
      {
        title: 'Share of 5xx answers',
        unit: 'percentunit',
        queries: [{ expr: '(sum(rate(bourse_http_requests_total{status=~"5.."}[1m])) or vector(0)) / sum(rate(bourse_http_requests_total[1m]))', legend: '5xx' }],
      },
      { title: 'Engine commands per second', unit: 'ops', queries: [{ expr: 'sum(rate(bourse_engine_commands_total[1m]))', legend: 'commands' }] },
      { title: 'Consumer lag', unit: 'short', queries: [{ expr: 'max by (consumer) (bourse_consumer_lag_events)', legend: '{{consumer}}' }] },
      { title: 'WebSocket connections', unit: 'short', queries: [{ expr: 'sum by (job) (bourse_ws_connections)', legend: '{{job}}' }] },
      { title: 'CPU (cores)', unit: 'short', queries: [{ expr: `rate(process_cpu_seconds_total{job=~"${roleJobs}"}[1m])`, legend: '{{job}} {{instance}}' }] },
      { title: 'Resident memory', unit: 'bytes', queries: [{ expr: `process_resident_memory_bytes{job=~"${roleJobs}"}`, legend: '{{job}} {{instance}}' }] },
      { title: 'Event-loop lag p99', unit: 's', queries: [{ expr: `nodejs_eventloop_lag_p99_seconds{job=~"${roleJobs}"}`, legend: '{{job}} {{instance}}' }] },
      {
        title: 'Solvency difference (must be 0)',
        unit: 'short',
        kind: 'stat',
        queries: [{ expr: 'max by (asset) (abs(bourse_solvency_difference_units))', legend: '{{asset}}' }],
      },
      { title: 'Build', unit: 'short', kind: 'stat', queries: [{ expr: 'count by (role, version) (bourse_build_info)', legend: '{{role}} {{version}}' }] },
    ],
  },
  {
    file: 'engine.json',
    uid: 'bourse-engine',
    title: 'Bourse / Engine',
    description: 'The single-writer engine: throughput, batches, per-command latency, log lag, replay, leadership, journal.',
    panels: [
      {
        title: 'Commands and events per second',
        unit: 'ops',
        queries: [
          { expr: 'sum by (instance) (rate(bourse_engine_commands_total[1m]))', legend: 'commands {{instance}}' },
          { expr: 'sum by (instance) (rate(bourse_engine_events_total[1m]))', legend: 'events {{instance}}' },
        ],
      },
      { title: 'Batch size (commands)', unit: 'short', queries: quantiles('bourse_engine_batch_size_commands', '', '') },
      {
        title: 'Per-command engine latency',
        unit: 's',
        queries: [
          ...quantiles('bourse_engine_command_duration_seconds', '', ''),
          { expr: 'sum(rate(bourse_engine_command_duration_seconds_sum[1m])) / sum(rate(bourse_engine_command_duration_seconds_count[1m]))', legend: 'mean' },
        ],
      },
      { title: 'Batch execution time', unit: 's', queries: quantiles('bourse_engine_batch_duration_seconds', '', '') },
      { title: 'Command log lag', unit: 'short', queries: [{ expr: 'bourse_engine_log_lag_commands', legend: '{{instance}}' }] },
      { title: 'Replay progress', unit: 'percentunit', queries: [{ expr: 'bourse_engine_replay_progress_ratio', legend: '{{instance}}' }] },
      { title: 'Leader (1) or standby (0)', unit: 'short', queries: [{ expr: 'bourse_engine_leader', legend: '{{instance}}' }] },
      { title: 'Last executed command sequence', unit: 'short', queries: [{ expr: 'bourse_engine_last_command_sequence', legend: '{{instance}}' }] },
      { title: 'Durable append time', unit: 's', queries: quantiles('bourse_log_append_duration_seconds', 'log', '{{log}} ') },
      { title: 'Records appended per second', unit: 'ops', queries: [{ expr: 'sum by (log) (rate(bourse_log_append_records_total[1m]))', legend: '{{log}}' }] },
      { title: 'Gateway command round trip', unit: 's', queries: quantiles('bourse_gateway_command_duration_seconds', '', '') },
      {
        title: 'Data directory free',
        unit: 'percentunit',
        queries: [{ expr: 'bourse_data_directory_free_bytes / bourse_data_directory_size_bytes', legend: '{{instance}}' }],
      },
    ],
  },
  {
    file: 'gateways.json',
    uid: 'bourse-gateways',
    title: 'Bourse / Gateways',
    description: 'REST and WebSocket gateways: traffic and latency per route, errors, rate limits, connections, resources.',
    panels: [
      { title: 'Requests per second by route', unit: 'reqps', queries: [{ expr: 'sum by (route) (rate(bourse_http_requests_total[1m]))', legend: '{{route}}' }] },
      { title: 'Requests per second by status', unit: 'reqps', queries: [{ expr: 'sum by (status) (rate(bourse_http_requests_total[1m]))', legend: '{{status}}' }] },
      { title: 'p99 latency by route', unit: 's', queries: [{ expr: 'histogram_quantile(0.99, sum by (le, route) (rate(bourse_http_request_duration_seconds_bucket[1m])))', legend: '{{route}}' }] },
      { title: 'p50 latency by route', unit: 's', queries: [{ expr: 'histogram_quantile(0.5, sum by (le, route) (rate(bourse_http_request_duration_seconds_bucket[1m])))', legend: '{{route}}' }] },
      { title: 'API errors by code', unit: 'reqps', queries: [{ expr: 'sum by (code) (rate(bourse_api_errors_total[1m]))', legend: '{{code}}' }] },
      {
        title: 'Rate-limited and timed-out requests',
        unit: 'reqps',
        queries: [
          { expr: 'sum(rate(bourse_rate_limit_rejections_total[1m]))', legend: '429' },
          { expr: 'sum(rate(bourse_gateway_command_timeouts_total[1m]))', legend: 'status unknown' },
        ],
      },
      {
        title: 'WebSocket connections',
        unit: 'short',
        queries: [
          { expr: 'bourse_ws_connections', legend: 'open {{instance}}' },
          { expr: 'sum by (instance) (rate(bourse_ws_connections_opened_total[1m]))', legend: 'opened/s {{instance}}' },
        ],
      },
      { title: 'CPU (cores) per gateway', unit: 'short', queries: [{ expr: 'rate(process_cpu_seconds_total{job=~"gateway|embedded"}[1m])', legend: '{{instance}}' }] },
      { title: 'Event-loop lag p99 per gateway', unit: 's', queries: [{ expr: 'nodejs_eventloop_lag_p99_seconds{job=~"gateway|embedded"}', legend: '{{instance}}' }] },
      { title: 'Heap used per gateway', unit: 'bytes', queries: [{ expr: 'nodejs_heap_size_used_bytes{job=~"gateway|embedded"}', legend: '{{instance}}' }] },
    ],
  },
  {
    file: 'market-data.json',
    uid: 'bourse-market-data',
    title: 'Bourse / Market data',
    description: 'Market-data projection and fan-out: publish rate, delivery latency, WebSocket sends and drops, cache.',
    panels: [
      { title: 'Messages published per second by stream', unit: 'ops', queries: [{ expr: 'sum by (stream) (rate(bourse_market_data_messages_published_total[1m]))', legend: '{{stream}}' }] },
      { title: 'Delivery latency (event to socket write)', unit: 's', queries: quantiles('bourse_market_data_delivery_seconds', '', '') },
      {
        title: 'WebSocket messages per second',
        unit: 'ops',
        queries: [
          { expr: 'sum(rate(bourse_ws_messages_sent_total[1m]))', legend: 'sent' },
          { expr: 'sum(rate(bourse_ws_messages_dropped_total[1m]))', legend: 'dropped' },
        ],
      },
      { title: 'Slow clients closed per second', unit: 'ops', queries: [{ expr: 'sum(rate(bourse_ws_slow_client_closes_total[1m]))', legend: 'closed' }] },
      {
        title: 'Cache hit ratio by cache',
        unit: 'percentunit',
        queries: [
          {
            expr: 'sum by (cache) (rate(bourse_cache_hits_total[5m])) / (sum by (cache) (rate(bourse_cache_hits_total[5m])) + (sum by (cache) (rate(bourse_cache_misses_total[5m])) or 0 * sum by (cache) (rate(bourse_cache_hits_total[5m]))))',
            legend: '{{cache}}',
          },
        ],
      },
      { title: 'Cache misses per second', unit: 'ops', queries: [{ expr: 'sum by (cache) (rate(bourse_cache_misses_total[1m]))', legend: '{{cache}}' }] },
      { title: 'Market-data consumer lag', unit: 'short', queries: [{ expr: 'max(bourse_consumer_lag_events{consumer="market-data"})', legend: 'events behind' }] },
      { title: 'Events applied per second by consumer', unit: 'ops', queries: [{ expr: 'sum by (consumer) (rate(bourse_consumer_events_total[1m]))', legend: '{{consumer}}' }] },
    ],
  },
  {
    file: 'database.json',
    uid: 'bourse-database',
    title: 'Bourse / Database',
    description: 'Ledger projection into PostgreSQL (or PGlite embedded), query latency, read replica lag.',
    panels: [
      { title: 'Ledger events applied per second', unit: 'ops', queries: [{ expr: 'sum(rate(bourse_consumer_events_total{consumer="ledger"}[1m]))', legend: 'events' }] },
      { title: 'Ledger lag (events)', unit: 'short', queries: [{ expr: 'max(bourse_consumer_lag_events{consumer="ledger"})', legend: 'events behind' }] },
      { title: 'Ledger lag (seconds)', unit: 's', queries: [{ expr: 'max(bourse_ledger_lag_seconds)', legend: 'seconds behind' }] },
      { title: 'Ledger batch write time', unit: 's', queries: quantiles('bourse_ledger_batch_duration_seconds', '', '') },
      { title: 'Query latency p99 by operation', unit: 's', queries: [{ expr: 'histogram_quantile(0.99, sum by (le, operation) (rate(bourse_database_query_duration_seconds_bucket[1m])))', legend: '{{operation}}' }] },
      { title: 'Queries per second by operation', unit: 'ops', queries: [{ expr: 'sum by (operation) (rate(bourse_database_query_duration_seconds_count[1m]))', legend: '{{operation}}' }] },
      { title: 'Read replica lag', unit: 's', queries: [{ expr: 'max by (instance) (bourse_database_replica_lag_seconds)', legend: '{{instance}}' }] },
      { title: 'Last event sequence applied by consumer', unit: 'short', queries: [{ expr: 'max by (consumer) (bourse_consumer_last_event_sequence)', legend: '{{consumer}}' }] },
    ],
  },
];

export function buildDashboard(spec: DashboardSpec): object {
  const datasource = { type: 'prometheus', uid: '${datasource}' };
  return {
    uid: spec.uid,
    title: spec.title,
    description: spec.description,
    tags: ['bourse'],
    timezone: 'utc',
    editable: true,
    refresh: '10s',
    schemaVersion: 39,
    time: { from: 'now-1h', to: 'now' },
    templating: {
      list: [{ name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus', current: {}, hide: 0 }],
    },
    panels: spec.panels.map((panel, index) => ({
      id: index + 1,
      type: panel.kind ?? 'timeseries',
      title: panel.title,
      description: panel.description ?? '',
      datasource,
      gridPos: { x: (index % 2) * panelWidth, y: Math.floor(index / 2) * panelHeight, w: panelWidth, h: panelHeight },
      fieldConfig: { defaults: { unit: panel.unit }, overrides: [] },
      options: panel.kind === 'stat' ? { reduceOptions: { calcs: ['lastNotNull'] }, colorMode: 'value' } : { legend: { displayMode: 'list', placement: 'bottom' } },
      targets: panel.queries.map((query, queryIndex) => ({
        refId: String.fromCharCode(65 + queryIndex),
        datasource,
        expr: query.expr,
        legendFormat: query.legend,
      })),
    })),
  };
}

export function renderDashboards(): Map<string, string> {
  const files = new Map<string, string>();
  for (const spec of dashboardSpecs) files.set(spec.file, `${JSON.stringify(buildDashboard(spec), null, 2)}\n`);
  return files;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const directory = join(import.meta.dirname, 'dashboards');
  for (const [file, text] of renderDashboards()) writeFileSync(join(directory, file), text);
  console.log(`wrote ${dashboardSpecs.length} dashboards to ${directory}`);
}
