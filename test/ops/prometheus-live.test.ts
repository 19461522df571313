// A real Prometheus scraping a running exchange: starts the embedded server with
// METRICS_PORT, drives a short load through the load tester, starts the `prometheus`
// binary on a loopback port with a temporary configuration (the shipped alert rules
// included), then checks the target is up, that EVERY declared bourse_ metric has series
// with a plausible value (tied to what the load did where the test knows it: orders
// answered, errors by code, webhook deliveries received), every rule evaluates, and every
// Grafana panel query runs and returns series. Besides the load tester the test makes a
// user with a webhook (to a local receiver) and a deposit, one refused request and one
// refused stream, so notifier, API-error and cache-miss series exist for certain.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportedMetricNames } from '../../src/adapters/metrics.ts';
import { parseOptions } from '../../src/tools/loadtest/options.ts';
import { ExchangeClient } from '../../src/tools/loadtest/exchange.ts';
import { runLoadtest } from '../../src/tools/loadtest/run.ts';
import { startEmbeddedServer } from './embedded-server.ts';
import { metricNamesInExpression, requireTool } from './promql.ts';
import { panelQueries, startPrometheus, until, type RunningPrometheus } from './prometheus-server.ts';
import { freePort } from '../../src/cluster/processes.ts';

/** How long to wait for Prometheus to start and scrape. */
const prometheusReadyTimeoutMs = 30_000;

test('Prometheus scrapes the running embedded server; rules evaluate; every dashboard query runs', { timeout: 240_000 }, async (t) => {
  if (!requireTool(t, 'prometheus', 'apt-get install -y prometheus')) return;
  const metricsPort = await freePort();
  const server = await startEmbeddedServer({ METRICS_PORT: String(metricsPort), METRICS_HOST: '127.0.0.1' });
  const directory = mkdtempSync(join(tmpdir(), 'bourse-prometheus-'));
  let prometheus: RunningPrometheus | null = null;
  // The webhook receiver: accepts every delivery and counts them.
  let webhooksReceived = 0;
  const receiver = createHttpServer((request, response) => {
    request.resume();
    request.on('end', () => {
      webhooksReceived += 1;
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', () => resolve()));
  const client = new ExchangeClient(server.url, server.adminToken, 2);
  try {
    // A user with a webhook, then a deposit: an inbox notification delivered to the receiver.
    const user = await client.admin<{ userId: number }>('POST', '/users', { email: `prometheus-live-${process.pid}@bourse.local` });
    const key = await client.admin<{ apiKey: string; secret: string }>('POST', `/users/${user.userId}/api-keys`, { permissions: ['read', 'trade'] });
    const hook = await client.signed('PUT', '/api/v1/notifications/webhook', { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, secret: 'prometheus-live-secret-0123' }, key);
    assert.equal(hook.status, 200, JSON.stringify(hook.body));
    await client.admin('POST', '/deposits', { transferId: `prometheus-live-${process.pid}`, userId: user.userId, asset: 'USDT', amount: '25' });
    // One refused request (an API error with its code) and one refused stream (a listenKey the cache does not hold).
    const unknownSymbol = await client.request('GET', '/api/v3/depth?symbol=NOSUCHPAIR');
    assert.equal(unknownSymbol.code, -1121);
    const refusedStream = new WebSocket(`${server.url.replace('http', 'ws')}/ws/${'q'.repeat(60)}`);
    await new Promise<void>((resolve) => refusedStream.once('error', () => resolve()));

    // A short load so counters, histograms and market data have something to show.
    const options = parseOptions(['--url', server.url, '--duration', '4', '--out', directory, '--rate', '100', '--users', '4', '--subscribers', '2', '--admin-token', server.adminToken, '--quiet'], {})!;
    const load = await runLoadtest(options);
    assert.ok(load.requests.ok > 100, `load answered only ${load.requests.ok} orders`);

    prometheus = await startPrometheus(directory, new Map([['embedded', [metricsPort]]]));
    const { base, query } = prometheus;
    const prometheusLog = prometheus.log;

    // Up, with enough samples for rate() over the dashboards' windows.
    await until('the target to be up', prometheusReadyTimeoutMs, async () => {
      const answer = await query('up{job="embedded"}');
      return answer.data?.result[0]?.value[1] === '1' ? true : null;
    }).catch((error: Error) => {
      throw new Error(`${error.message}\n${prometheusLog()}`);
    });
    await until('three scrapes', prometheusReadyTimeoutMs, async () => {
      const answer = await query('count_over_time(up{job="embedded"}[1m])');
      return Number(answer.data?.result[0]?.value[1] ?? 0) >= 3 ? true : null;
    });
    const targets = (await (await fetch(`${base}/api/v1/targets`)).json()) as { data: { activeTargets: { health: string; lastError: string }[] } };
    assert.deepEqual(targets.data.activeTargets.map((target) => [target.health, target.lastError]), [['up', '']]);

    // Key series exist and their values are plausible after the load.
    const valueOf = async (expression: string) => {
      const answer = await query(expression);
      assert.equal(answer.status, 'success', `${expression}: ${answer.error}`);
      assert.ok(answer.data.result.length > 0, `no series for ${expression}`);
      return Number(answer.data.result[0].value[1]);
    };
    // Consumers, the ledger and the outbox settle shortly after the load: wait for the scrape that shows it.
    for (const settled of ['max(bourse_consumer_lag_events) == 0', 'bourse_ledger_lag_seconds == 0', 'bourse_notifier_outbox_pending == 0', 'bourse_engine_log_lag_commands == 0']) {
      await until(settled, prometheusReadyTimeoutMs, async () => ((await query(settled)).data?.result.length ?? 0) > 0 ? true : null);
    }
    assert.ok((await valueOf('sum(bourse_http_requests_total{route="/api/v3/order"})')) >= load.requests.ok, 'HTTP requests counted');
    assert.ok((await valueOf('sum(bourse_http_request_duration_seconds_count)')) > 0);
    assert.ok((await valueOf('bourse_engine_commands_total')) >= load.requests.ok, 'engine commands counted');
    assert.ok((await valueOf('bourse_engine_last_command_sequence')) > 0);
    assert.ok((await valueOf('bourse_engine_batch_size_commands_count')) > 0, 'engine batches observed');
    assert.ok((await valueOf('bourse_engine_command_duration_seconds_count')) >= load.requests.ok, 'per-command latency observed');
    assert.ok((await valueOf('bourse_log_append_records_total{log="command"}')) >= load.requests.ok, 'durable appends counted');
    assert.ok((await valueOf('bourse_gateway_command_duration_seconds_count')) >= load.requests.ok, 'gateway round trips observed');
    assert.equal(await valueOf('bourse_engine_replay_progress_ratio'), 1);
    assert.equal(await valueOf('bourse_engine_leader'), 1);
    assert.ok((await valueOf('bourse_consumer_last_event_sequence{consumer="ledger"}')) > 0, 'ledger position');
    assert.ok((await valueOf('max(bourse_consumer_lag_events)')) >= 0);
    assert.equal(await valueOf('max(abs(bourse_solvency_difference_units))'), 0, 'solvency balanced');
    assert.ok((await valueOf('bourse_ws_messages_sent_total')) > 0, 'WebSocket messages counted');
    assert.ok((await valueOf('bourse_market_data_delivery_seconds_count')) > 0, 'market-data delivery observed');
    assert.ok((await valueOf('sum(bourse_market_data_messages_published_total)')) > 0, 'market-data publishes counted');
    assert.ok((await valueOf('bourse_data_directory_free_bytes')) > 0);
    assert.ok((await valueOf('process_resident_memory_bytes')) > 10_000_000);
    assert.ok((await valueOf('rate(process_cpu_seconds_total[1m])')) > 0);
    assert.ok((await valueOf('nodejs_eventloop_lag_p99_seconds')) >= 0);

    // Every declared bourse_ metric, each with a plausible value. A metric added to the
    // catalogue without a check here fails the test, so nothing declared goes unrecorded.
    const errorCount = (match: (code: string) => boolean) => Object.entries(load.errorsByCode).filter(([code]) => match(code)).reduce((sum, [, count]) => sum + count, 0);
    const apiCodedErrors = errorCount((code) => /^\d+\/-\d+$/.test(code));
    const meanOf = async (name: string, selector = '') => (await valueOf(`sum(${name}_sum${selector})`)) / (await valueOf(`sum(${name}_count${selector})`));
    const between = (value: number, low: number, high: number, what: string) => assert.ok(value >= low && value <= high, `${what}: ${value} not in [${low}, ${high}]`);
    const engineCommands = await valueOf('bourse_engine_commands_total');
    const checks: Record<string, () => Promise<void>> = {
      bourse_build_info: async () => assert.equal(await valueOf('bourse_build_info{role="embedded"}'), 1),
      bourse_http_requests_total: async () => assert.ok((await valueOf('sum(bourse_http_requests_total{route="/api/v3/order"})')) >= load.requests.ok, 'HTTP requests counted'),
      bourse_http_request_duration_seconds: async () => between(await meanOf('bourse_http_request_duration_seconds'), 0.000001, 5, 'mean HTTP request time'),
      bourse_api_errors_total: async () => {
        assert.ok((await valueOf('sum(bourse_api_errors_total{route="/api/v3/order"})')) >= apiCodedErrors, 'every coded error the load got is counted');
        assert.ok((await valueOf('sum(bourse_api_errors_total{code="-1121"})')) >= 1, 'the unknown symbol is counted');
      },
      bourse_rate_limit_rejections_total: async () => assert.equal(await valueOf('bourse_rate_limit_rejections_total'), errorCount((code) => code.startsWith('429/')), 'rejections equal the 429 answers the load got'),
      bourse_gateway_command_duration_seconds: async () => {
        assert.ok((await valueOf('bourse_gateway_command_duration_seconds_count')) >= load.requests.ok, 'gateway round trips observed');
        between(await meanOf('bourse_gateway_command_duration_seconds'), 0.000001, 5, 'mean command round trip');
      },
      bourse_gateway_command_timeouts_total: async () => assert.equal(await valueOf('bourse_gateway_command_timeouts_total'), errorCount((code) => code.endsWith('/-1007')), 'timeouts equal the -1007 answers'),
      bourse_ws_connections: async () => between(await valueOf('bourse_ws_connections'), 0, await valueOf('bourse_ws_connections_opened_total'), 'open connections'),
      bourse_ws_connections_opened_total: async () => assert.ok((await valueOf('bourse_ws_connections_opened_total')) >= load.marketData.subscribersConnected),
      bourse_ws_messages_sent_total: async () => assert.ok((await valueOf('bourse_ws_messages_sent_total')) >= Math.max(1, load.marketData.messages), 'at least what the subscribers received'),
      bourse_ws_messages_dropped_total: async () => assert.equal(await valueOf('bourse_ws_messages_dropped_total'), 0, 'no slow client in this run'),
      bourse_ws_slow_client_closes_total: async () => assert.equal(await valueOf('bourse_ws_slow_client_closes_total'), 0, 'no slow client in this run'),
      bourse_market_data_delivery_seconds: async () => {
        assert.ok((await valueOf('bourse_market_data_delivery_seconds_count')) > 0, 'market-data delivery observed');
        between(await meanOf('bourse_market_data_delivery_seconds'), 0, 5, 'mean market-data delivery');
      },
      bourse_cache_hits_total: async () => assert.ok((await valueOf('sum(bourse_cache_hits_total)')) > 0),
      bourse_cache_misses_total: async () => assert.ok((await valueOf('sum(bourse_cache_misses_total{cache="listenKey"})')) >= 1, 'the unknown listenKey missed'),
      bourse_database_query_duration_seconds: async () => {
        for (const operation of ['ledger_write', 'notifier']) {
          assert.ok((await valueOf(`bourse_database_query_duration_seconds_count{operation="${operation}"}`)) > 0, operation);
          between(await meanOf('bourse_database_query_duration_seconds', `{operation="${operation}"}`), 0.000001, 5, `mean ${operation} round trip`);
        }
      },
      bourse_database_replica_lag_seconds: async () => assert.equal(await valueOf('bourse_database_replica_lag_seconds'), 0, 'no replica in embedded mode: 0'),
      bourse_engine_commands_total: async () => assert.ok(engineCommands >= load.requests.ok, 'engine commands counted'),
      bourse_engine_events_total: async () => assert.ok((await valueOf('bourse_engine_events_total')) >= engineCommands, 'every command emits an event'),
      bourse_engine_batch_size_commands: async () => assert.ok((await valueOf('bourse_engine_batch_size_commands_sum')) >= engineCommands, 'batches hold every command'),
      bourse_engine_batch_duration_seconds: async () => {
        assert.equal(await valueOf('bourse_engine_batch_duration_seconds_count'), await valueOf('bourse_engine_batch_size_commands_count'), 'one time per batch');
        between(await meanOf('bourse_engine_batch_duration_seconds'), 0, 1, 'mean engine batch time');
      },
      bourse_engine_command_duration_seconds: async () => {
        assert.ok((await valueOf('bourse_engine_command_duration_seconds_count')) >= load.requests.ok, 'per-command latency observed');
        between(await meanOf('bourse_engine_command_duration_seconds'), 0, 0.01, 'mean engine command time');
      },
      bourse_engine_log_lag_commands: async () => assert.equal(await valueOf('bourse_engine_log_lag_commands'), 0),
      bourse_engine_replay_progress_ratio: async () => assert.equal(await valueOf('bourse_engine_replay_progress_ratio'), 1),
      bourse_engine_last_command_sequence: async () => assert.ok((await valueOf('bourse_engine_last_command_sequence')) >= engineCommands),
      bourse_engine_leader: async () => assert.equal(await valueOf('bourse_engine_leader'), 1),
      bourse_log_append_duration_seconds: async () => between(await meanOf('bourse_log_append_duration_seconds', '{log="command"}'), 0.000001, 5, 'mean durable append'),
      bourse_log_append_records_total: async () => assert.ok((await valueOf('bourse_log_append_records_total{log="command"}')) >= load.requests.ok, 'durable appends counted'),
      bourse_solvency_difference_units: async () => {
        assert.equal(await valueOf('max(abs(bourse_solvency_difference_units))'), 0, 'solvency balanced');
        assert.ok((await valueOf('count(bourse_solvency_difference_units)')) >= 2, 'one series per asset');
      },
      bourse_data_directory_free_bytes: async () => between(await valueOf('bourse_data_directory_free_bytes'), 1, await valueOf('bourse_data_directory_size_bytes'), 'free bytes'),
      bourse_data_directory_size_bytes: async () => assert.ok((await valueOf('bourse_data_directory_size_bytes')) > 1_000_000),
      bourse_consumer_lag_events: async () => assert.equal(await valueOf('count(bourse_consumer_lag_events == 0)'), 3, 'ledger, market-data and notifier caught up'),
      bourse_consumer_events_total: async () => {
        for (const consumer of ['ledger', 'market-data', 'notifier']) assert.ok((await valueOf(`bourse_consumer_events_total{consumer="${consumer}"}`)) >= engineCommands, consumer);
      },
      bourse_consumer_last_event_sequence: async () => {
        for (const consumer of ['ledger', 'market-data', 'notifier']) assert.ok((await valueOf(`bourse_consumer_last_event_sequence{consumer="${consumer}"}`)) > 0, consumer);
      },
      bourse_ledger_lag_seconds: async () => {
        assert.equal(await valueOf('bourse_ledger_lag_seconds'), 0, 'caught up');
        between(await valueOf('max_over_time(bourse_ledger_lag_seconds[5m])'), 0, 30, 'ledger lag during the load');
      },
      bourse_ledger_batch_duration_seconds: async () => {
        assert.ok((await valueOf('bourse_ledger_batch_duration_seconds_count')) > 0, 'ledger transactions observed');
        between(await meanOf('bourse_ledger_batch_duration_seconds'), 0.000001, 5, 'mean ledger transaction');
      },
      bourse_market_data_messages_published_total: async () => {
        for (const stream of ['trade', 'depth']) assert.ok((await valueOf(`bourse_market_data_messages_published_total{stream="${stream}"}`)) > 0, stream);
      },
      bourse_notifier_notifications_total: async () => assert.ok((await valueOf('bourse_notifier_notifications_total')) >= load.requests.ok, 'an order notification per accepted order at least'),
      bourse_notifier_webhook_deliveries_total: async () => {
        assert.ok(webhooksReceived >= 1, 'the receiver got the deposit notification');
        assert.equal(await valueOf('bourse_notifier_webhook_deliveries_total{result="delivered"}'), webhooksReceived, 'deliveries equal what the receiver accepted');
      },
      bourse_notifier_outbox_pending: async () => assert.equal(await valueOf('bourse_notifier_outbox_pending'), 0, 'everything delivered'),
    };
    assert.deepEqual(Object.keys(checks).sort(), exportedMetricNames('embedded').filter((name) => name.startsWith('bourse_')).sort(), 'a check for every declared metric');
    for (const [name, check] of Object.entries(checks)) {
      await check().catch((error: Error) => {
        throw new Error(`${name}: ${error.message}`);
      });
    }

    // Every alert rule evaluates without error; none of the correctness alerts is pending.
    const rules = (await (await fetch(`${base}/api/v1/rules`)).json()) as { data: { groups: { rules: { name: string; health: string; lastError?: string; state?: string }[] }[] } };
    const allRules = rules.data.groups.flatMap((group) => group.rules);
    assert.ok(allRules.length >= 15, `only ${allRules.length} rules loaded`);
    await until('every rule to evaluate', prometheusReadyTimeoutMs, async () => {
      const current = (await (await fetch(`${base}/api/v1/rules`)).json()) as typeof rules;
      const evaluated = current.data.groups.flatMap((group) => group.rules);
      return evaluated.every((rule) => rule.health === 'ok') ? evaluated : null;
    }).then((evaluated) => {
      for (const name of ['BourseSolvencyMismatch', 'BourseTargetDown', 'BourseEngineLeaderNotUnique']) {
        assert.equal(evaluated.find((rule) => rule.name === name)?.state, 'inactive', name);
      }
    });

    // Every dashboard query runs and returns series.
    const sampled = new Set((await query('count by (__name__) ({job="embedded"})')).data.result.map((series) => series.metric.__name__));
    const checked: string[] = [];
    const withoutData: string[] = [];
    for (const { dashboard, panel, expr } of panelQueries()) {
      const answer = await query(expr);
      assert.equal(answer.status, 'success', `${dashboard} / ${panel}: ${answer.error}`);
      const names = metricNamesInExpression(expr).filter((name) => name !== 'up');
      const recorded = names.filter((name) => sampled.has(name));
      if (recorded.length === names.length) {
        assert.ok(answer.data.result.length > 0, `${dashboard} / ${panel}: no series for ${expr}`);
        checked.push(`${dashboard} / ${panel}`);
      } else {
        withoutData.push(`${dashboard} / ${panel} (${names.filter((name) => !sampled.has(name)).join(', ')})`);
      }
    }
    t.diagnostic(`dashboard queries returning series: ${checked.length}; not checkable (metric not recorded by the embedded server yet): ${withoutData.length}`);
    for (const entry of withoutData) t.diagnostic(`no data: ${entry}`);
    // Every metric a dashboard reads is recorded by the embedded server, so every panel must have data.
    assert.deepEqual(withoutData, [], 'dashboard panels reading metrics that nothing recorded');
    assert.ok(checked.length >= 30, `only ${checked.length} panel queries could be checked`);

    // Which declared metrics stayed at zero (declared, but not wired in this process yet).
    const zero = (await query('{job="embedded", __name__=~"bourse_.*"} == 0')).data.result.map((series) => series.metric.__name__);
    t.diagnostic(`bourse_ series at 0 after the load: ${[...new Set(zero)].sort().join(', ') || 'none'}`);
    const declared = exportedMetricNames('embedded').filter((name) => name.startsWith('bourse_'));
    t.diagnostic(`declared bourse_ metrics: ${declared.length}; with samples: ${declared.filter((name) => sampled.has(name) || sampled.has(`${name}_count`)).length}`);
  } finally {
    await client.close();
    await new Promise((resolve) => receiver.close(resolve));
    await prometheus?.stop();
    rmSync(directory, { recursive: true, force: true });
    await server.stop();
  }
});
