// A real Prometheus scraping a running cluster (two gateways, engine leader and standby,
// ledger, market-data, notifier behind nginx, on the local NATS, PostgreSQL and Redis):
// after a short load through nginx, every role's target is up, the shipped alert rules
// evaluate, and every Grafana panel query runs and returns series. The embedded twin of
// this check is prometheus-live.test.ts. Fails (not skips) under CI=true when prometheus or
// a service is missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseOptions } from '../../src/tools/loadtest/options.ts';
import { runLoadtest } from '../../src/tools/loadtest/run.ts';
import { adminToken } from '../api/support.ts';
import { startTestCluster } from '../cluster/e2e-cluster.ts';
import { metricNamesInExpression, requireTool } from './promql.ts';
import { panelQueries, startPrometheus, until, type RunningPrometheus } from './prometheus-server.ts';

/** How long to wait for Prometheus to start, scrape every target and evaluate the rules. */
const prometheusReadyTimeoutMs = 30_000;

test('Prometheus scrapes every role of a running cluster; rules evaluate; every dashboard query returns series', { timeout: 240_000 }, async (t) => {
  if (!requireTool(t, 'prometheus', 'apt-get install -y prometheus')) return;
  const running = await startTestCluster();
  const directory = mkdtempSync(join(tmpdir(), 'bourse-prometheus-cluster-'));
  let prometheus: RunningPrometheus | null = null;
  try {
    const { cluster } = running;
    // One job per role, as deploy/prometheus/prometheus.yml names them.
    const jobs = new Map<string, number[]>([
      ['gateway', cluster.gateways.map((process) => process.options.healthPort)],
      ['engine', cluster.engines.map((process) => process.options.healthPort)],
    ]);
    for (const [role, process] of cluster.consumers) jobs.set(role, [process.options.healthPort]);
    const targetCount = [...jobs.values()].reduce((sum, ports) => sum + ports.length, 0);
    assert.ok(targetCount >= 7, `expected at least 7 role processes, found ${targetCount}`);

    // A short load through nginx so counters, histograms, consumers and market data move.
    const options = parseOptions(['--url', cluster.url, '--duration', '4', '--out', directory, '--rate', '100', '--users', '4', '--subscribers', '2', '--admin-token', adminToken, '--quiet'], {})!;
    const load = await runLoadtest(options);
    assert.ok(load.requests.ok > 100, `load answered only ${load.requests.ok} orders`);

    prometheus = await startPrometheus(directory, jobs);
    const { base, query } = prometheus;
    const prometheusLog = prometheus.log;

    // Every role's target up, then a few more scrapes so rate() over the dashboards' windows has samples,
    // with a trickle of orders so the rates are not all zero.
    await until('every target to be up', prometheusReadyTimeoutMs, async () => {
      const answer = await query('up');
      const up = answer.data?.result.filter((series) => series.value[1] === '1').length ?? 0;
      return up === targetCount ? true : null;
    }).catch(async (error: Error) => {
      const answer = await query('up').catch(() => null);
      throw new Error(`${error.message}\n${JSON.stringify(answer?.data.result.map((series) => [series.metric.job, series.metric.instance, series.value[1]]))}\n${prometheusLog()}`);
    });
    const trickle = parseOptions(['--url', cluster.url, '--duration', '4', '--out', directory, '--rate', '50', '--users', '2', '--subscribers', '1', '--admin-token', adminToken, '--quiet'], {})!;
    await runLoadtest(trickle);

    const upByJob = (await query('count by (job) (up == 1)')).data.result.map((series) => [series.metric.job, series.value[1]]);
    assert.deepEqual(Object.fromEntries(upByJob), Object.fromEntries([...jobs].map(([job, ports]) => [job, String(ports.length)])), 'every role target up');

    // Every alert rule evaluates; the correctness alerts are quiet on a healthy cluster.
    await until('every rule to evaluate', prometheusReadyTimeoutMs, async () => {
      const current = (await (await fetch(`${base}/api/v1/rules`)).json()) as { data: { groups: { rules: { name: string; health: string; state?: string }[] }[] } };
      const evaluated = current.data.groups.flatMap((group) => group.rules);
      return evaluated.length >= 15 && evaluated.every((rule) => rule.health === 'ok') ? evaluated : null;
    }).then((evaluated) => {
      for (const name of ['BourseSolvencyMismatch', 'BourseTargetDown', 'BourseEngineLeaderNotUnique']) {
        assert.equal(evaluated.find((rule) => rule.name === name)?.state, 'inactive', name);
      }
    });

    // Every dashboard query runs and returns series from the cluster's roles.
    const sampled = new Set((await query('count by (__name__) ({__name__=~".+"})')).data.result.map((series) => series.metric.__name__));
    const empty: string[] = [];
    let checked = 0;
    for (const { dashboard, panel, expr } of panelQueries()) {
      const answer = await query(expr);
      assert.equal(answer.status, 'success', `${dashboard} / ${panel}: ${answer.error}`);
      checked += 1;
      if (answer.data.result.length === 0) {
        const missing = metricNamesInExpression(expr).filter((name) => !sampled.has(name));
        empty.push(`${dashboard} / ${panel}: ${expr}${missing.length ? ` (never scraped: ${missing.join(', ')})` : ''}`);
      }
    }
    t.diagnostic(`dashboard queries run against the cluster: ${checked}; without series: ${empty.length}`);
    assert.deepEqual(empty, [], 'every dashboard panel returns series against the running cluster');
    assert.ok(checked >= 60, `only ${checked} panel queries found`);
  } finally {
    await prometheus?.stop();
    rmSync(directory, { recursive: true, force: true });
    await running.stop();
  }
});
