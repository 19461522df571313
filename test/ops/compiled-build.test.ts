// `npm run build` must give a runnable server: tsc compiles src/ to JavaScript, the build
// copies the SQL migrations beside it, and the PGlite worker starts from its compiled file
// (no tsx anywhere). This builds into a scratch directory inside the repository (so the
// compiled code finds node_modules), starts dist's main.js, and trades through it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startEmbeddedServer } from './embedded-server.ts';

const repositoryRoot = join(import.meta.dirname, '..', '..');
const demoKey = 'compiledbuildtestkey0000000000000000000000000000000000000000000001';
const demoSecret = 'compiledbuildtestsecret000000000000000000000000000000000000000001';

function signed(query: string): string {
  return `${query}&signature=${createHmac('sha256', demoSecret).update(query).digest('hex')}`;
}

test('the compiled build (tsc output + copied migrations) serves, places an order and reads it back from the database', { timeout: 240_000 }, async () => {
  const outDirectory = join(repositoryRoot, `.build-test-${process.pid}`);
  try {
    const tsc = join(repositoryRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', outDirectory], { cwd: repositoryRoot, stdio: 'pipe' });
    execFileSync(process.execPath, ['scripts/copy-build-assets.mjs', '--out', outDirectory], { cwd: repositoryRoot, stdio: 'pipe' });
    assert.ok(existsSync(join(outDirectory, 'adapters', 'sql', 'migrations', '001_ledger.sql')), 'migrations copied beside the compiled code');
    assert.ok(existsSync(join(outDirectory, 'adapters', 'pglite-worker-thread.js')), 'the PGlite worker compiled');

    const server = await startEmbeddedServer({ BOURSE_DEMO_API_KEY: demoKey, BOURSE_DEMO_API_SECRET: demoSecret }, [], [join(outDirectory, 'main.js')]);
    try {
      const ping = await fetch(`${server.url}/api/v3/ping`);
      assert.equal(ping.status, 200);
      const placed = await fetch(`${server.url}/api/v3/order?${signed(`symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=50000&newClientOrderId=compiled-1&timestamp=${Date.now()}`)}`, {
        method: 'POST',
        headers: { 'X-MBX-APIKEY': demoKey },
      });
      const order = (await placed.json()) as { orderId: number; status: string; clientOrderId: string };
      assert.equal(placed.status, 200, JSON.stringify(order));
      assert.equal(order.status, 'NEW');
      // allOrders reads the ledger projection in PGlite: the compiled worker thread works.
      let listed: { orderId: number; clientOrderId: string }[] = [];
      for (let attempt = 0; attempt < 50 && listed.length === 0; attempt++) {
        const response = await fetch(`${server.url}/api/v3/allOrders?${signed(`symbol=BTCUSDT&timestamp=${Date.now()}`)}`, { headers: { 'X-MBX-APIKEY': demoKey } });
        assert.equal(response.status, 200);
        listed = (await response.json()) as typeof listed;
        if (listed.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.deepEqual(listed.map((entry) => [entry.orderId, entry.clientOrderId]), [[order.orderId, 'compiled-1']]);
      assert.doesNotMatch(server.output(), /tsx|ERR_MODULE_NOT_FOUND|ENOENT/);
    } finally {
      await server.stop();
    }
  } finally {
    rmSync(outDirectory, { recursive: true, force: true });
  }
});
