// Checks the Prometheus configuration, the alert rules and their unit tests with the real
// promtool (Debian package `prometheus`), and that rules name only exported metrics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { exportedSeriesNames, metricNamesInExpression, requireTool } from './promql.ts';

const prometheusDirectory = 'deploy/prometheus';
const install = 'apt-get install -y prometheus';

function promtool(...args: string[]): { status: number | null; output: string } {
  const result = spawnSync('promtool', args, { encoding: 'utf8', cwd: prometheusDirectory });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

function ruleFiles(): string[] {
  return readdirSync(join(prometheusDirectory, 'rules')).filter((name) => name.endsWith('.yml')).map((name) => join('rules', name));
}

test('promtool check config accepts prometheus.yml', (t) => {
  if (!requireTool(t, 'promtool', install)) return;
  const result = promtool('check', 'config', 'prometheus.yml');
  assert.equal(result.status, 0, result.output);
  assert.match(result.output, /SUCCESS: prometheus.yml is valid/);
});

test('promtool check config accepts the Kubernetes configuration (discovery block swapped for static targets)', (t) => {
  if (!requireTool(t, 'promtool', install)) return;
  // Debian builds Prometheus without Kubernetes service discovery, so promtool rejects the
  // kubernetes_sd_configs key itself; everything else (relabelling, rule files) is checked
  // with that one block replaced by a static target.
  const original = readFileSync(join(prometheusDirectory, 'prometheus-kubernetes.yml'), 'utf8');
  const swapped = original.replace(/kubernetes_sd_configs:\n(?: {6}.*\n)+/, "static_configs:\n      - targets: ['127.0.0.1:9464']\n");
  assert.notEqual(swapped, original, 'the kubernetes_sd_configs block was not found');
  const directory = mkdtempSync(join(tmpdir(), 'bourse-promtool-'));
  try {
    cpSync(join(prometheusDirectory, 'rules'), join(directory, 'rules'), { recursive: true });
    writeFileSync(join(directory, 'prometheus.yml'), swapped);
    const result = spawnSync('promtool', ['check', 'config', 'prometheus.yml'], { encoding: 'utf8', cwd: directory });
    assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});

test('promtool check rules accepts every rule file', (t) => {
  if (!requireTool(t, 'promtool', install)) return;
  const files = ruleFiles();
  assert.ok(files.length > 0);
  const result = promtool('check', 'rules', ...files);
  assert.equal(result.status, 0, result.output);
});

test('promtool test rules passes, and every alert has a unit test', (t) => {
  if (!requireTool(t, 'promtool', install)) return;
  const tests = readdirSync(join(prometheusDirectory, 'tests')).filter((name) => name.endsWith('.yml')).map((name) => join('tests', name));
  const result = promtool('test', 'rules', ...tests);
  assert.equal(result.status, 0, result.output);
  assert.match(result.output, /SUCCESS/);
  const testText = tests.map((file) => readFileSync(join(prometheusDirectory, file), 'utf8')).join('\n');
  const alerts = ruleFiles().flatMap((file) => [...readFileSync(join(prometheusDirectory, file), 'utf8').matchAll(/- alert: (\w+)/g)].map((match) => match[1]));
  assert.ok(alerts.length >= 8, `expected the eight alerts the issue names, found ${alerts.length}`);
  for (const alert of alerts) assert.match(testText, new RegExp(`alertname: ${alert}\\n`), `alert ${alert} has no unit test`);
});

test('alert rules cover the required conditions and name only exported metrics', () => {
  const exported = exportedSeriesNames();
  const text = ruleFiles().map((file) => readFileSync(join(prometheusDirectory, file), 'utf8')).join('\n');
  for (const alert of ['BourseHighCpu', 'BourseApiLatencyP99OverBudget', 'BourseHigh5xxRate', 'BourseConsumerLagHigh', 'BourseEngineStandbyMissing', 'BourseReplicaLagHigh', 'BourseSolvencyMismatch', 'BourseDiskNearlyFull']) {
    assert.match(text, new RegExp(`- alert: ${alert}\\n`), `missing alert ${alert}`);
  }
  const expressions = [...text.matchAll(/^\s+expr: (.+)$/gm)].map((match) => match[1]);
  assert.ok(expressions.length > 0);
  for (const expression of expressions) {
    for (const name of metricNamesInExpression(expression)) assert.ok(exported.has(name), `rule expression reads ${name}, which no role exports: ${expression}`);
  }
});
