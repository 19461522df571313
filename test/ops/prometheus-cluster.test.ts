// A real Prometheus scraping a running cluster (two gateways, engine leader and standby,
// ledger, market-data, notifier behind nginx, on the local NATS, PostgreSQL and Redis):
// after a short load through nginx, every role's target is up, the shipped alert rules
// evaluate, and every Grafana panel query runs and returns series. The embedded twin of
// this check is prometheus-live.test.ts. Fails (not skips) under CI=true when prometheus or
// a service is missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseOptions } from '../../src/tools/loadtest/options.ts';
import { runLoadtest } from '../../src/tools/loadtest/run.ts';
import { adminToken } from '../api/support.ts';
import { startTestCluster } from '../cluster/e2e-cluster.ts';
import { metricNamesInExpression, requireTool } from './promql.ts';

/** How long to wait for Prometheus to start, scrape every target and evaluate the rules. */
const prometheusReadyTimeoutMs = 30_000;

interface QueryAnswer {
  status: string;
  error?: string;
  data: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== null) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

function panelQueries(): { dashboard: string; panel: string; expr: string }[] {
  const directory = 'deploy/grafana/dashboards';
  return readdirSync(directory).flatMap((file) => {
    const dashboard = JSON.parse(readFileSync(join(directory, file), 'utf8')) as { panels: { title: string; targets: { expr: string }[] }[] };
    return dashboard.panels.flatMap((panel) => panel.targets.map((target) => ({ dashboard: file, panel: panel.title, expr: target.expr })));
  });
}

test('Prometheus scrapes every role of a running cluster; rules evaluate; every dashboard query returns series', { timeout: 240_000 }, async (t) => {
  if (!requireTool(t, 'prometheus', 'apt-get install -y prometheus')) return;
  const running = await startTestCluster();
  const directory = mkdtempSync(join(tmpdir(), 'bourse-prometheus-cluster-'));
  let prometheus: ReturnType<typeof spawn> | null = null;
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

    const prometheusPort = await freePort();
    cpSync('deploy/prometheus/rules', join(directory, 'rules'), { recursive: true });
    const scrapeConfigs = [...jobs].map(([job, ports]) => `  - { job_name: ${job}, static_configs: [{ targets: [${ports.map((port) => `'127.0.0.1:${port}'`).join(', ')}] }] }`);
    writeFileSync(
      join(directory, 'prometheus.yml'),
      ['global: { scrape_interval: 1s, scrape_timeout: 900ms, evaluation_interval: 1s }', 'rule_files: [rules/*.rules.yml]', 'scrape_configs:', ...scrapeConfigs, ''].join('\n'),
    );
    prometheus = spawn(
      'prometheus',
      [`--config.file=${join(directory, 'prometheus.yml')}`, `--storage.tsdb.path=${join(directory, 'data')}`, `--web.listen-address=127.0.0.1:${prometheusPort}`, '--log.level=warn'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let prometheusLog = '';
    prometheus.stderr!.on('data', (chunk: Buffer) => (prometheusLog += chunk.toString()));
    const base = `http://127.0.0.1:${prometheusPort}`;
    const query = async (expression: string): Promise<QueryAnswer> => (await fetch(`${base}/api/v1/query?query=${encodeURIComponent(expression)}`)).json() as Promise<QueryAnswer>;

    // Every role's target up, then a few more scrapes so rate() over the dashboards' windows has samples,
    // with a trickle of orders so the rates are not all zero.
    await until('every target to be up', prometheusReadyTimeoutMs, async () => {
      const answer = await query('up');
      const up = answer.data?.result.filter((series) => series.value[1] === '1').length ?? 0;
      return up === targetCount ? true : null;
    }).catch(async (error: Error) => {
      const answer = await query('up').catch(() => null);
      throw new Error(`${error.message}\n${JSON.stringify(answer?.data.result.map((series) => [series.metric.job, series.metric.instance, series.value[1]]))}\n${prometheusLog}`);
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
    if (prometheus && prometheus.exitCode === null) {
      const exited = new Promise((resolve) => prometheus!.once('exit', resolve));
      prometheus.kill('SIGTERM');
      await exited;
    }
    rmSync(directory, { recursive: true, force: true });
    await running.stop();
  }
});
