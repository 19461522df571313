// Cluster roles serve /metrics on their health port (next to /healthz and /readyz): a real
// ledger role process against the local NATS and PostgreSQL, scraped over HTTP. Needs the
// local services (127.0.0.1:4222, 127.0.0.1:5432 db test); fails when they are missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { freePort } from '../../src/cluster/processes.ts';
import { destroyClusterStreams } from '../cluster/cleanup.ts';
import { loadClusterSettings } from '../../src/cluster/settings.ts';

test('a cluster role (ledger) serves its metrics on the health port', { timeout: 90_000 }, async () => {
  const cluster = `ops${process.pid}`;
  const healthPort = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/services/ledger/main.ts'], {
    env: { ...process.env, NODE_TEST_CONTEXT: '', BOURSE_CLUSTER: cluster, BOURSE_HEALTH_PORT: String(healthPort), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    const deadline = Date.now() + 60_000;
    let ready = false;
    while (!ready && Date.now() < deadline && child.exitCode === null) {
      ready = await fetch(`http://127.0.0.1:${healthPort}/readyz`).then((response) => response.ok, () => false);
      if (!ready) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.ok(ready, `the ledger role did not become ready (is NATS/PostgreSQL running?):\n${output}`);
    const response = await fetch(`http://127.0.0.1:${healthPort}/metrics`);
    assert.equal(response.status, 200);
    const text = await response.text();
    assert.match(text, /^bourse_build_info\{role="ledger",version="[^"]+"\} 1$/m);
    assert.match(text, /^bourse_consumer_lag_events\{consumer="ledger"\} 0$/m, 'consumer lag from the role status');
    assert.match(text, /^bourse_consumer_last_event_sequence\{consumer="ledger"\} \d+$/m);
    assert.match(text, /^bourse_ledger_lag_seconds 0$/m, 'an idle ledger has no uncommitted event');
    assert.match(text, /^bourse_database_replica_lag_seconds 0$/m, 'the ledger writes the primary: no replica lag');
    assert.match(text, /^bourse_ledger_batch_duration_seconds_count \d+$/m);
    assert.match(text, /^process_cpu_seconds_total /m);
    assert.match(text, /^nodejs_eventloop_lag_p99_seconds /m);
    assert.doesNotMatch(text, /^bourse_http_requests_total/m, 'the ledger does not declare gateway metrics');
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    await destroyClusterStreams(loadClusterSettings({ BOURSE_CLUSTER: cluster }));
  }
});
