// The metrics catalogue: exposition format, cheap cells, role sets, the /metrics server and
// METRICS_PORT handling, and docs/metrics.md listing exactly the exported names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  instrumentCache,
  instrumentPubSub,
  instrumentRecordLog,
  instrumentCommandBus,
  instrumentEngine,
  collectEmbeddedState,
  writePrometheusTargets,
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

test('wrappers: cache hits and misses, pub/sub publishes and delivery, durable appends, command round trips', async () => {
  const { MemoryCache, MemoryPubSub } = await import('../../src/adapters/memory-cache.ts');
  const { MemoryLog } = await import('../../src/adapters/memory-log.ts');
  const metrics = createEmbeddedMetrics({ processMetrics: false });

  const cache = instrumentCache(new MemoryCache(), metrics);
  await cache.set('md:BTCUSDT:depth', 'x');
  assert.equal(await cache.get('md:BTCUSDT:depth'), 'x');
  assert.equal(await cache.get('md:ETHUSDT:depth'), null);
  assert.equal(await cache.get('listenKey:abc'), null);
  assert.equal(metrics.cacheHits.labels('md').value, 1);
  assert.equal(metrics.cacheMisses.labels('md').value, 1);
  assert.equal(metrics.cacheMisses.labels('listenKey').value, 1);

  const pubsub = instrumentPubSub(new MemoryPubSub(), metrics);
  const received: string[] = [];
  const unsubscribe = await pubsub.subscribe('md.BTCUSDT.trade', (message) => received.push(message));
  await pubsub.publish('md.BTCUSDT.trade', JSON.stringify({ e: 'trade', E: Date.now() - 40, p: '1' }));
  await pubsub.publish('md.BTCUSDT.kline_1m', JSON.stringify({ e: 'kline', E: Date.now() }));
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(received.length, 1, 'the message still reaches the subscriber');
  assert.equal(metrics.marketDataPublished.labels('trade').value, 1);
  assert.equal(metrics.marketDataPublished.labels('kline').value, 1);
  assert.equal(metrics.marketDataDelivery.count, 1);
  assert.ok(metrics.marketDataDelivery.sum >= 0.03 && metrics.marketDataDelivery.sum < 5, `delivery ${metrics.marketDataDelivery.sum} s`);
  await unsubscribe();

  const log = instrumentRecordLog(new MemoryLog(), metrics, 'command');
  await log.append([new Uint8Array([1]), new Uint8Array([2])]);
  assert.equal(metrics.logAppendRecords.labels('command').value, 2);
  assert.equal(metrics.logAppendDuration.labels('command').count, 1);

  const { CommandTimeoutError } = await import('../../src/services/contracts.ts');
  let fail = false;
  const bus = instrumentCommandBus({ submit: async (command: number) => { if (fail) throw new CommandTimeoutError('late'); return command * 2; } }, metrics);
  assert.equal(await bus.submit(21), 42);
  fail = true;
  await assert.rejects(bus.submit(1), CommandTimeoutError);
  assert.equal(metrics.gatewayCommandDuration.count, 1);
  assert.equal(metrics.gatewayCommandTimeouts.value, 1);
});

test('instrumentEngine observes one batch per synchronous run, spread over its commands', async () => {
  const metrics = createEngineMetrics({ processMetrics: false });
  const executed: number[] = [];
  const engine = instrumentEngine({ execute(command: number, _out: null) { executed.push(command); } }, metrics);
  for (let command = 0; command < 5; command++) engine.execute(command, null);
  await Promise.resolve();
  engine.execute(5, null);
  engine.execute(6, null);
  await Promise.resolve();
  assert.deepEqual(executed, [0, 1, 2, 3, 4, 5, 6]);
  assert.equal(metrics.engineBatchSize.count, 2);
  assert.equal(metrics.engineBatchSize.sum, 7);
  assert.equal(metrics.engineCommandDuration.count, 7);
  assert.equal(metrics.engineBatchDuration.count, 2);
});

test('collectEmbeddedState mirrors sequences, lags, solvency and stream totals at scrape time', async () => {
  const metrics = createEmbeddedMetrics({ processMetrics: false });
  let lastCommand = 10;
  let lastEvent = 40;
  let ledgerApplied = 40;
  const stop = collectEmbeddedState(metrics, {
    engine: {
      lastCommandSequence: () => lastCommand,
      lastEventSequence: () => lastEvent,
      solvency: () => [{ asset: 'BTC', supplyAtoms: 100, balancesAtoms: 100 }, { asset: 'USDT', supplyAtoms: 50n, balancesAtoms: 49n }],
    },
    commandLog: { lastSequence: async () => lastCommand + 3 },
    consumers: { ledger: () => ledgerApplied },
    streams: { stats: () => ({ connections: 4, slowConsumerCloses: 1, messagesSent: 99 }) },
  });
  await new Promise((resolve) => setTimeout(resolve, 5));
  lastCommand = 15;
  lastEvent = 60;
  ledgerApplied = 50;
  const text = await metrics.render();
  assert.match(text, /^bourse_engine_commands_total 5$/m);
  assert.match(text, /^bourse_engine_events_total 20$/m);
  assert.match(text, /^bourse_engine_last_command_sequence 15$/m);
  assert.match(text, /^bourse_engine_log_lag_commands 3$/m);
  assert.match(text, /^bourse_engine_replay_progress_ratio 1$/m);
  assert.match(text, /^bourse_engine_leader 1$/m);
  assert.match(text, /^bourse_solvency_difference_units\{asset="BTC"\} 0$/m);
  assert.match(text, /^bourse_solvency_difference_units\{asset="USDT"\} -1$/m);
  assert.match(text, /^bourse_consumer_lag_events\{consumer="ledger"\} 10$/m);
  assert.match(text, /^bourse_consumer_events_total\{consumer="ledger"\} 10$/m);
  assert.match(text, /^bourse_ws_connections 4$/m);
  assert.match(text, /^bourse_ws_messages_sent_total 99$/m);
  stop();
});

test('createRoleMetrics builds each role; writePrometheusTargets writes file_sd files per job', async () => {
  assert.ok('engineCommands' in createRoleMetrics('engine', { processMetrics: false }));
  assert.ok(!('engineCommands' in createRoleMetrics('gateway', { processMetrics: false })));
  const directory = mkdtempSync(join(tmpdir(), 'bourse-targets-'));
  try {
    await writePrometheusTargets(directory, [
      { job: 'gateway', instance: 'gateway-1', address: '127.0.0.1:9401' },
      { job: 'gateway', instance: 'gateway-2', address: '127.0.0.1:9402' },
      { job: 'engine', instance: 'engine-a', address: '127.0.0.1:9403' },
    ]);
    const gateways = JSON.parse(readFileSync(join(directory, 'gateway.json'), 'utf8'));
    assert.deepEqual(gateways.map((group: { targets: string[] }) => group.targets[0]), ['127.0.0.1:9401', '127.0.0.1:9402']);
    assert.equal(JSON.parse(readFileSync(join(directory, 'engine.json'), 'utf8'))[0].labels.bourse_instance, 'engine-a');
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});

test('the ledger projection records its transaction time and the age of its oldest uncommitted event', async () => {
  const { startLedgerProjection } = await import('../../src/services/ledger/index.ts');
  const { testLogger } = await import('../streams/support.ts');
  const metrics = createLedgerMetrics({ processMetrics: false });
  // A database whose transactions wait for the test to open the gate (a slow or stuck database).
  let openGate: () => void = () => undefined;
  let gate = new Promise<void>((resolve) => (openGate = resolve));
  const noRows = { rows: [], rowCount: 0 };
  const database = {
    query: async () => noRows,
    transaction: async <T>(work: (tx: { query: () => Promise<typeof noRows> }) => Promise<T>): Promise<T> => {
      await gate;
      return work({ query: async () => noRows });
    },
    exec: async () => undefined,
    close: async () => undefined,
  };
  let handler: ((batch: { events: Record<string, unknown>[]; lastCommandSequence: number }) => Promise<void> | void) | null = null;
  const feed = { subscribe: (_after: number, onBatch: typeof handler) => { handler = onBatch; return () => undefined; }, lastEventSequence: () => 2 };
  const projection = await startLedgerProjection({ db: database as never, feed: feed as never, logger: testLogger, metrics });
  const eventTimeMs = Date.now() - 2000;
  const applied = handler!({ lastCommandSequence: 1, events: [1, 2].map((eventSequence) => ({ type: 'Unknown', eventSequence, commandSequence: 1, timestampMs: eventTimeMs })) });
  await new Promise((resolve) => setTimeout(resolve, 20));
  const lagWhileStuck = Number(/^bourse_ledger_lag_seconds (\S+)$/m.exec(await metrics.render())?.[1]);
  assert.ok(lagWhileStuck >= 2 && lagWhileStuck < 60, `lag while the database is stuck: ${lagWhileStuck}`);
  assert.equal(metrics.ledgerBatchDuration.count, 0, 'nothing committed yet');
  openGate();
  await applied;
  assert.equal(projection.lastEventSequence(), 2);
  assert.match(await metrics.render(), /^bourse_ledger_lag_seconds 0$/m, 'caught up');
  assert.equal(metrics.ledgerBatchDuration.count, 1, 'one transaction observed');
  assert.ok(metrics.ledgerBatchDuration.sum >= 0.01, `the transaction waited ${metrics.ledgerBatchDuration.sum} s at the gate`);
  gate = Promise.resolve();
  await projection.stop();
});

test('SQL executor timing and replica lag from the database adapter', async () => {
  const { instrumentSqlExecutor, collectReplicaLag } = await import('../../src/adapters/metrics.ts');
  const metrics = createGatewayMetrics({ processMetrics: false });
  const executor = instrumentSqlExecutor({ query: async () => ({ rows: [{ one: 1 }], rowCount: 1 }) } as never, metrics, 'history_read');
  assert.deepEqual((await executor.query('select 1')).rows, [{ one: 1 }]);
  assert.equal(metrics.databaseQueryDuration.labels('history_read').count, 1);
  let lagSeconds = 1.5;
  const stop = collectReplicaLag(metrics, { replicaLagSeconds: async () => lagSeconds });
  assert.match(await metrics.render(), /^bourse_database_replica_lag_seconds 1\.5$/m);
  lagSeconds = 0;
  assert.match(await metrics.render(), /^bourse_database_replica_lag_seconds 0$/m);
  stop();
});
