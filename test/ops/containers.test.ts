// Static checks of the container files (Docker cannot run on this machine, so the image is
// not built here): the Dockerfile's stages and role switch, and compose.yaml's topology,
// with its embedded Prometheus configuration checked by promtool.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { roleNames } from '../../src/adapters/metrics.ts';
import { requireTool, yaml } from './promql.ts';

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: unknown;
  volumes?: string[];
}

interface ComposeFile {
  services: Record<string, ComposeService>;
  configs: Record<string, { content: string }>;
}

const compose = yaml.load(readFileSync('compose.yaml', 'utf8')) as ComposeFile;

test('the Dockerfile builds in stages, runs as non-root and starts every role', () => {
  const dockerfile = readFileSync('Dockerfile', 'utf8');
  const stages = [...dockerfile.matchAll(/^FROM \S+ AS (\S+)$/gm)].map((match) => match[1]);
  assert.deepEqual(stages, ['dependencies', 'build', 'runtime']);
  assert.match(dockerfile, /^USER node$/m);
  assert.match(dockerfile, /^ARG ROLE=/m);
  assert.match(dockerfile, /BOURSE_HEALTH_PORT=9464/);
  assert.match(dockerfile, /npm ci /);
  for (const role of roleNames) assert.ok(dockerfile.includes(role), `Dockerfile does not start role ${role}`);
  // Every entry point the role switch starts exists.
  const entries = [...dockerfile.matchAll(/node --import tsx \\?"?(src\/[^"\s;]+\.ts)/g)].map((match) => match[1]);
  assert.ok(entries.includes('src/main.ts') && entries.includes('src/services/engine-host/main.ts'), entries.join(' '));
  for (const entry of entries) {
    const paths = entry.includes('$BOURSE_ROLE') ? ['gateway', 'ledger', 'market-data', 'notifier'].map((role) => entry.replace('$BOURSE_ROLE', role)) : [entry];
    for (const path of paths) assert.ok(existsSync(path), `the image starts ${path}, which does not exist`);
  }
  const ignored = readFileSync('.dockerignore', 'utf8').split('\n');
  for (const entry of ['node_modules', '.git', 'data', '.env']) assert.ok(ignored.includes(entry), `.dockerignore lacks ${entry}`);
});

test('compose.yaml runs nginx, two gateways, the engine pair, workers, PostgreSQL with a replica, Redis and three NATS servers', () => {
  const services = compose.services;
  const role = (name: string) => services[name]?.environment?.BOURSE_ROLE;
  assert.deepEqual(Object.keys(services).filter((name) => role(name) === 'gateway').sort(), ['gateway-1', 'gateway-2']);
  assert.deepEqual(Object.keys(services).filter((name) => role(name) === 'engine').sort(), ['engine-a', 'engine-b']);
  for (const worker of ['ledger', 'market-data', 'notifier']) assert.equal(role(worker), worker);
  assert.ok(services.nginx && services['postgres-primary'] && services['postgres-replica'] && services.redis);
  assert.match(JSON.stringify(services['postgres-replica']), /pg_basebackup/);
  const natsServers = Object.keys(services).filter((name) => services[name].image?.startsWith('nats:'));
  assert.equal(natsServers.length, 3);
  const natsConfig = compose.configs['nats-config'].content;
  assert.match(natsConfig, /sync_interval: always/);
  for (const name of natsServers) assert.ok(natsConfig.includes(`nats://${name}:6222`), `${name} is not in the NATS routes`);
  for (const name of Object.keys(services).filter((name) => role(name) !== undefined)) {
    assert.equal(services[name].environment?.BOURSE_HEALTH_PORT, '9464', `${name} health and metrics port`);
  }
  assert.match(compose.configs['nginx-config'].content, /server gateway-1:8080[\s\S]*server gateway-2:8080/);
});

test('the Prometheus configuration inside compose.yaml passes promtool and scrapes every role service', (t) => {
  if (!requireTool(t, 'promtool', 'apt-get install -y prometheus')) return;
  const content = compose.configs['prometheus-config'].content;
  for (const name of Object.keys(compose.services).filter((name) => compose.services[name].environment?.BOURSE_ROLE)) {
    assert.ok(content.includes(`'${name}:9464'`), `Prometheus does not scrape ${name}`);
  }
  const directory = mkdtempSync(join(tmpdir(), 'bourse-compose-prometheus-'));
  try {
    cpSync('deploy/prometheus/rules', join(directory, 'rules'), { recursive: true });
    writeFileSync(join(directory, 'prometheus.yml'), content.replace('/etc/prometheus/rules/', 'rules/'));
    const result = spawnSync('promtool', ['check', 'config', 'prometheus.yml'], { cwd: directory, encoding: 'utf8' });
    assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});
