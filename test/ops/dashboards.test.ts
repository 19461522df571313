// Checks the Grafana dashboards: the JSON files are what the generator builds, every panel
// has a data source and queries, and every query reads only metrics the catalogue exports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { renderDashboards } from '../../deploy/grafana/generate-dashboards.ts';
import { exportedSeriesNames, metricNamesInExpression } from './promql.ts';

const dashboardDirectory = 'deploy/grafana/dashboards';

interface Panel {
  title: string;
  datasource?: { uid?: string };
  targets?: { expr?: string; refId?: string }[];
}

function dashboards(): { file: string; json: { uid: string; title: string; panels: Panel[] } }[] {
  return readdirSync(dashboardDirectory)
    .filter((name) => name.endsWith('.json'))
    .map((file) => ({ file, json: JSON.parse(readFileSync(join(dashboardDirectory, file), 'utf8')) }));
}

test('the metric-name parser finds selectors and skips functions, labels, durations and keywords', () => {
  assert.deepEqual(metricNamesInExpression('sum by (job) (rate(foo_total{status=~"5.."}[5m])) / on (job) group_left bar_seconds offset 5m'), ['bar_seconds', 'foo_total']);
  assert.deepEqual(metricNamesInExpression('histogram_quantile(0.99, sum by (le) (rate(x_bucket[1m]))) > 0.025 or vector(0)'), ['x_bucket']);
});

test('the five dashboards exist and equal the generator output', () => {
  const rendered = renderDashboards();
  assert.deepEqual([...rendered.keys()].sort(), ['database.json', 'engine.json', 'gateways.json', 'market-data.json', 'overview.json']);
  for (const [file, text] of rendered) {
    assert.equal(readFileSync(join(dashboardDirectory, file), 'utf8'), text, `${file} is stale: run node --import tsx deploy/grafana/generate-dashboards.ts`);
  }
});

test('every panel has a data source and PromQL reading only exported metrics', () => {
  const exported = exportedSeriesNames();
  const uids = new Set<string>();
  let queryCount = 0;
  for (const { file, json } of dashboards()) {
    assert.ok(!uids.has(json.uid), `duplicate uid ${json.uid}`);
    uids.add(json.uid);
    assert.ok(json.panels.length >= 6, `${file} has only ${json.panels.length} panels`);
    for (const panel of json.panels) {
      assert.equal(panel.datasource?.uid, '${datasource}', `${file} / ${panel.title}: data source`);
      assert.ok(panel.targets && panel.targets.length > 0, `${file} / ${panel.title}: no query`);
      for (const target of panel.targets) {
        const names = metricNamesInExpression(target.expr ?? '');
        assert.ok(names.length > 0, `${file} / ${panel.title}: query reads no metric: ${target.expr}`);
        for (const name of names) assert.ok(exported.has(name), `${file} / ${panel.title}: ${name} is not exported (${target.expr})`);
        queryCount += 1;
      }
    }
  }
  assert.ok(queryCount >= 40, `only ${queryCount} queries`);
});

test('the provisioning files point Grafana at the dashboards and at Prometheus', () => {
  const provider = readFileSync('deploy/grafana/provisioning/dashboards/bourse.yaml', 'utf8');
  assert.match(provider, /type: file/);
  assert.match(provider, /path: \/var\/lib\/grafana\/dashboards\/bourse/);
  const datasource = readFileSync('deploy/grafana/provisioning/datasources/prometheus.yaml', 'utf8');
  assert.match(datasource, /type: prometheus/);
  assert.ok(existsSync('compose.yaml'), 'compose.yaml mounts the provisioning directory');
  const compose = readFileSync('compose.yaml', 'utf8');
  assert.match(compose, /deploy\/grafana\/provisioning:\/etc\/grafana\/provisioning/);
  assert.match(compose, /deploy\/grafana\/dashboards:\/var\/lib\/grafana\/dashboards\/bourse/);
});
