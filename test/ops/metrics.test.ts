// The metrics catalogue: exposition format, cheap cells, role sets, the /metrics server and
// METRICS_PORT handling, and docs/metrics.md listing exactly the exported names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  createEmbeddedMetrics,
  createEngineMetrics,
  createGatewayMetrics,
  createLedgerMetrics,
  createMarketDataMetrics,
  createNotifierMetrics,
  FastHistogram,
  labelCombinationsMax,
  metricPrefix,
  roleNames,
  createRoleMetrics,
  startMetricsServer,
  startMetricsServerFromEnvironment,
  watchDataDirectory,
} from '../../src/adapters/metrics.ts';

test('histograms export cumulative buckets, sum and count', async () => {
  const metrics = createEngineMetrics({ processMetrics: false });
  metrics.engineBatchSize.observe(3);
  metrics.engineBatchSize.observe(4);
  metrics.engineBatchSize.observe(5000);
  metrics.engineCommandDuration.observeMany(0.00002, 10);
  const text = await metrics.render();
  assert.match(text, /^bourse_engine_batch_size_commands_bucket\{le="2"\} 0$/m);
  assert.match(text, /^bourse_engine_batch_size_commands_bucket\{le="4"\} 2$/m);
  assert.match(text, /^bourse_engine_batch_size_commands_bucket\{le="4096"\} 2$/m);
  assert.match(text, /^bourse_engine_batch_size_commands_bucket\{le="\+Inf"\} 3$/m);
  assert.match(text, /^bourse_engine_batch_size_commands_sum 5007$/m);
  assert.match(text, /^bourse_engine_batch_size_commands_count 3$/m);
  assert.match(text, /^bourse_engine_command_duration_seconds_bucket\{le="0.000025"\} 10$/m);
  assert.match(text, /^bourse_engine_command_duration_seconds_count 10$/m);
  assert.match(text, /^# TYPE bourse_engine_batch_size_commands histogram$/m);
});

test('a bound value falls into its own bucket (le is inclusive)', () => {
  const histogram = new FastHistogram([1, 2]);
  histogram.observe(1);
  histogram.observe(2);
  histogram.observe(2.5);
  assert.deepEqual([...histogram.bucketCounts], [1, 1, 1]);
});

test('labelled families keep one cell per combination and fold overflow into "other"', async () => {
  const metrics = createGatewayMetrics({ processMetrics: false });
  metrics.observeHttpRequest('/api/v3/order', 'POST', 200, 0.002);
  metrics.observeHttpRequest('/api/v3/order', 'POST', 200, 0.004);
  metrics.observeHttpRequest('/api/v3/order', 'POST', 400, 0.001);
  assert.equal(metrics.httpRequests.labels('/api/v3/order', 'POST', '200').value, 2);
  assert.throws(() => metrics.httpRequests.labels('/x'), /takes labels route, method, status/);
  for (let index = 0; index < labelCombinationsMax + 10; index++) metrics.cacheHits.labels(`cache${index}`).inc();
  assert.equal(metrics.cacheHits.labels('other').value, 10);
  const text = await metrics.render();
  assert.match(text, /^bourse_http_requests_total\{route="\/api\/v3\/order",method="POST",status="400"\} 1$/m);
  assert.match(text, /^bourse_http_request_duration_seconds_count\{route="\/api\/v3\/order",method="POST"\} 3$/m);
});

test('each role exports its own set, the embedded process all of them, all with the prefix', async () => {
  const names = (metrics: { registry: { getMetricsAsArray(): { name: string }[] } }) => new Set(metrics.registry.getMetricsAsArray().map((metric) => metric.name));
  const gateway = names(createGatewayMetrics({ processMetrics: false }));
  const engine = names(createEngineMetrics({ processMetrics: false }));
  const ledger = names(createLedgerMetrics({ processMetrics: false }));
  const marketData = names(createMarketDataMetrics({ processMetrics: false }));
  const notifier = names(createNotifierMetrics({ processMetrics: false }));
  const embedded = names(createEmbeddedMetrics({ processMetrics: false }));
  assert.ok(gateway.has('bourse_http_request_duration_seconds') && gateway.has('bourse_ws_slow_client_closes_total') && !gateway.has('bourse_engine_commands_total'));
  assert.ok(engine.has('bourse_engine_command_duration_seconds') && engine.has('bourse_engine_replay_progress_ratio') && !engine.has('bourse_http_requests_total'));
  assert.ok(ledger.has('bourse_ledger_lag_seconds') && ledger.has('bourse_consumer_lag_events'));
  assert.ok(marketData.has('bourse_market_data_messages_published_total') && marketData.has('bourse_cache_misses_total'));
  assert.ok(notifier.has('bourse_notifier_webhook_deliveries_total'));
  for (const set of [gateway, engine, ledger, marketData, notifier]) {
    for (const name of set) {
      assert.ok(embedded.has(name), `embedded lacks ${name}`);
      assert.ok(name.startsWith(metricPrefix), name);
    }
  }
  const withProcess = await createGatewayMetrics().render();
  for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_heap_size_used_bytes']) {
    assert.match(withProcess, new RegExp(`^${name} `, 'm'), name);
  }
});

test('collectors run before each scrape; a failing collector does not break the scrape', async () => {
  const metrics = createEngineMetrics({ processMetrics: false });
  let lag = 7;
  metrics.addCollector(() => metrics.engineLogLag.set(lag));
  metrics.addCollector(() => {
    throw new Error('broken collector');
  });
  watchDataDirectory(metrics, '.');
  assert.match(await metrics.render(), /^bourse_engine_log_lag_commands 7$/m);
  lag = 9;
  const text = await metrics.render();
  assert.match(text, /^bourse_engine_log_lag_commands 9$/m);
  const free = Number(/^bourse_data_directory_free_bytes (\d+)$/m.exec(text)?.[1]);
  const size = Number(/^bourse_data_directory_size_bytes (\d+)$/m.exec(text)?.[1]);
  assert.ok(size > 0 && free > 0 && free <= size, `free ${free} size ${size}`);
});

test('the metrics server answers GET /metrics on its own port and 404 elsewhere', async () => {
  const metrics = createLedgerMetrics({ processMetrics: false });
  metrics.consumerLag.labels('ledger').set(12);
  const server = await startMetricsServer(metrics, 0);
  try {
    const response = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/plain/);
    assert.match(await response.text(), /^bourse_consumer_lag_events\{consumer="ledger"\} 12$/m);
    assert.equal((await fetch(`http://127.0.0.1:${server.port}/other`)).status, 404);
  } finally {
    await server.close();
  }
});

test('METRICS_PORT: unset or 0 disables, a port enables, garbage is refused', async () => {
  const metrics = createNotifierMetrics({ processMetrics: false });
  assert.equal(await startMetricsServerFromEnvironment(metrics, {}), null);
  assert.equal(await startMetricsServerFromEnvironment(metrics, { METRICS_PORT: '0' }), null);
  await assert.rejects(startMetricsServerFromEnvironment(metrics, { METRICS_PORT: 'abc' }), /METRICS_PORT must be a port number/);
  await assert.rejects(startMetricsServerFromEnvironment(metrics, { METRICS_PORT: '70000' }), /METRICS_PORT/);
  const probe = await startMetricsServer(metrics, 0);
  const port = probe.port;
  await probe.close();
  const server = await startMetricsServerFromEnvironment(metrics, { METRICS_PORT: String(port), METRICS_HOST: '127.0.0.1' });
  assert.ok(server);
  try {
    assert.equal((await fetch(`http://127.0.0.1:${port}/metrics`)).status, 200);
  } finally {
    await server.close();
  }
});

test('docs/metrics.md lists exactly the catalogue', () => {
  const documented = new Set([...readFileSync('docs/metrics.md', 'utf8').matchAll(/^\| `(bourse_[a-z0-9_]+)` \|/gm)].map((match) => match[1]));
  const exported = new Set<string>();
  for (const role of roleNames) {
    for (const metric of createRoleMetrics(role, { processMetrics: false }).registry.getMetricsAsArray()) exported.add(metric.name);
  }
  assert.deepEqual([...documented].sort(), [...exported].sort());
});

test('hot-path cells are cheap: ten million counter and histogram updates in under two seconds', () => {
  const metrics = createEngineMetrics({ processMetrics: false });
  const started = process.hrtime.bigint();
  for (let index = 0; index < 10_000_000; index++) {
    metrics.engineCommands.inc();
    metrics.engineCommandDuration.observe(0.000004);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  assert.equal(metrics.engineCommands.value, 10_000_000);
  assert.ok(seconds < 2, `took ${seconds} s`);
});
