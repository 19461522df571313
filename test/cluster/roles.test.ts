// The role process shell: a clear one-line error and exit code 1 when a dependency is
// unreachable at start-up; /healthz and /readyz; SIGTERM drains and exits 0, and a
// leader that stops gracefully hands its lease over at once (no TTL wait).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { freePort, repositoryRoot, roleEntryPoints } from '../../src/cluster/processes.ts';
import { EngineCluster } from './engine-cluster.ts';
import { requireService } from './services.ts';

function startFailing(role: keyof typeof roleEntryPoints, env: NodeJS.ProcessEnv): { status: number | null; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', roleEntryPoints[role]], {
    cwd: repositoryRoot,
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, LOG_LEVEL: 'silent', BOURSE_HEALTH_PORT: '0', ...env },
  });
  return { status: result.status, stderr: result.stderr };
}

describe('role start-up errors', () => {
  test('an unreachable NATS: exit code 1 and a line naming it', async () => {
    const port = await freePort();
    const result = startFailing('engine', { BOURSE_NATS_URL: `nats://127.0.0.1:${port}` });
    assert.equal(result.status, 1);
    assert.match(result.stderr, new RegExp(`bourse engine: cannot start: cannot reach NATS at nats://127\\.0\\.0\\.1:${port} \\(set BOURSE_NATS_URL\\)`));
  });

  test('an unreachable PostgreSQL: exit code 1 and a line naming it', async () => {
    await requireService('nats');
    const port = await freePort();
    const result = startFailing('ledger', { BOURSE_DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/nothing` });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /bourse ledger: cannot start: cannot reach PostgreSQL at 127\.0\.0\.1:\d+\/nothing \(set BOURSE_DATABASE_URL\)/);
  });

  test('a bad setting: exit code 2 and the reason', () => {
    const result = startFailing('gateway', { BOURSE_CLUSTER: 'no spaces allowed' });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /bad configuration: BOURSE_CLUSTER/);
  });
});

describe('graceful stop of the engine leader', () => {
  const cluster = new EngineCluster(5000);

  before(async () => {
    await requireService('nats');
    await cluster.open();
  });

  after(async () => {
    await cluster.close();
  });

  test('SIGTERM: the leader drains, exits 0, and the standby takes over well before the lease TTL', async () => {
    const leader = await cluster.startEngine();
    assert.equal((await cluster.leader()).options.name, leader.options.name);
    const health = await fetch(`http://127.0.0.1:${leader.options.healthPort}/healthz`);
    assert.equal(health.status, 200);
    const standby = await cluster.startEngine();
    const readiness = await standby.readiness();
    assert.equal(readiness?.ready, true);
    assert.equal(readiness?.body.state, 'standby');
    await cluster.seed();
    const stoppedMs = Date.now();
    const exit = await leader.stop();
    assert.equal(exit.code, 0);
    assert.equal((await cluster.leader()).options.name, standby.options.name);
    const takeoverMs = Date.now() - stoppedMs;
    assert.ok(takeoverMs < 4000, `takeover after a graceful stop took ${takeoverMs} ms (lease TTL 5000 ms)`);
    // The new leader has everything the old one acknowledged.
    const result = await cluster.bus.submit((await import('../../src/domain/command.ts')).addAsset('ETH', 8));
    assert.ok(result.events.some((event) => event.type === 'AssetAdded'));
  });
});
