// A real Prometheus for the operations tests: started on a loopback port with the shipped
// alert rules and one static job per entry of `jobs`, queried over its HTTP API, stopped
// by PID. Also the Grafana panel queries and a polling helper both Prometheus tests use.
import { spawn } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../src/cluster/processes.ts';

export interface QueryAnswer {
  status: string;
  error?: string;
  data: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

export interface RunningPrometheus {
  base: string;
  query(expression: string): Promise<QueryAnswer>;
  /** What Prometheus wrote on stderr so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

/** Polls `probe` every 500 ms until it returns something other than null. */
export async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | null>): Promise<T> {
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

/** Every query of every panel of the shipped Grafana dashboards. */
export function panelQueries(): { dashboard: string; panel: string; expr: string }[] {
  const directory = 'deploy/grafana/dashboards';
  return readdirSync(directory).flatMap((file) => {
    const dashboard = JSON.parse(readFileSync(join(directory, file), 'utf8')) as { panels: { title: string; targets: { expr: string }[] }[] };
    return dashboard.panels.flatMap((panel) => panel.targets.map((target) => ({ dashboard: file, panel: panel.title, expr: target.expr })));
  });
}

/** Starts `prometheus` in `directory` (config, rules and data go there), scraping every second. */
export async function startPrometheus(directory: string, jobs: ReadonlyMap<string, readonly number[]>): Promise<RunningPrometheus> {
  const port = await freePort();
  cpSync('deploy/prometheus/rules', join(directory, 'rules'), { recursive: true });
  const scrapeConfigs = [...jobs].map(([job, ports]) => `  - { job_name: ${job}, static_configs: [{ targets: [${ports.map((target) => `'127.0.0.1:${target}'`).join(', ')}] }] }`);
  writeFileSync(
    join(directory, 'prometheus.yml'),
    ['global: { scrape_interval: 1s, scrape_timeout: 900ms, evaluation_interval: 1s }', 'rule_files: [rules/*.rules.yml]', 'scrape_configs:', ...scrapeConfigs, ''].join('\n'),
  );
  const child = spawn(
    'prometheus',
    [`--config.file=${join(directory, 'prometheus.yml')}`, `--storage.tsdb.path=${join(directory, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const base = `http://127.0.0.1:${port}`;
  return {
    base,
    query: async (expression) => (await fetch(`${base}/api/v1/query?query=${encodeURIComponent(expression)}`)).json() as Promise<QueryAnswer>,
    log: () => log,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
