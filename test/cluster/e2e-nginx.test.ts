// The whole cluster through nginx with two gateways, on the real services: the embedded
// mode's CCXT test file runs unchanged against it (BOURSE_TEST_TARGET=cluster), nginx's
// edge cache serves the UI assets, and a gateway killed with SIGKILL under load costs no
// acknowledged order and no double: clients keep trading through the other one.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { repositoryRoot } from '../../src/cluster/processes.ts';
import { ApiClient, demoKeys } from '../api/support.ts';
import { embeddedFileTimeoutMs, runEmbeddedTestFile, startTestCluster, type TestCluster } from './e2e-cluster.ts';

/** Orders each load client places at most (keeps the account under its open-order limit). */
const ordersPerClientMax = 400;

describe('cluster end to end through nginx (two gateways)', { timeout: 300_000 }, () => {
  let running: TestCluster;

  before(async () => {
    running = await startTestCluster();
  });

  after(async () => {
    await running?.stop();
  });

  test('the CCXT test file passes unchanged against the cluster', { timeout: embeddedFileTimeoutMs + 10_000 }, () => {
    runEmbeddedTestFile(running.cluster, 'test/api/ccxt.test.ts');
  });

  test('the notification inbox is served through nginx: an order placed on the cluster appears in it', async () => {
    const client = new ApiClient(running.cluster.url, demoKeys.apiKey, demoKeys.secret);
    const clientOrderId = `inbox-${Date.now()}`;
    const placed = await client.signed('POST', '/api/v3/order', { symbol: 'BTCUSDT', side: 'BUY', type: 'LIMIT', timeInForce: 'GTC', quantity: '0.01', price: '1000', newClientOrderId: clientOrderId });
    assert.equal(placed.status, 200, JSON.stringify(placed.body));
    // The notifier role writes the inbox asynchronously: poll until the order's entry is there.
    const deadline = Date.now() + 10_000;
    const hasOrder = (body: unknown): boolean => Array.isArray(body) && JSON.stringify(body).includes(clientOrderId);
    let inbox = await client.signed('GET', '/api/v1/notifications', { limit: 50 });
    while (!(inbox.status === 200 && hasOrder(inbox.body)) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      inbox = await client.signed('GET', '/api/v1/notifications', { limit: 50 });
    }
    assert.equal(inbox.status, 200, JSON.stringify(inbox.body));
    assert.ok(hasOrder(inbox.body), `the order ${clientOrderId} is in the inbox: ${JSON.stringify(inbox.body).slice(0, 500)}`);
    const canceled = await client.signed('DELETE', '/api/v3/order', { symbol: 'BTCUSDT', origClientOrderId: clientOrderId });
    assert.equal(canceled.status, 200, JSON.stringify(canceled.body));
    const unauthorized = await fetch(`${running.cluster.url}/api/v1/notifications`);
    assert.equal(unauthorized.status, 401);
  });

  test('nginx caches the content-hashed UI assets at the edge', async (context) => {
    const assets = join(repositoryRoot, 'web/dist/assets');
    if (!existsSync(assets)) {
      // The UI build is not part of this checkout's state: say so, and check the header path.
      context.diagnostic('web/dist is not built: checking the cache header on a missing asset instead');
      const missing = await fetch(`${running.cluster.url}/assets/not-built.js`);
      assert.ok(missing.headers.get('x-cache-status'), 'X-Cache-Status is set on /assets/');
      return;
    }
    const file = readdirSync(assets).find((name) => name.endsWith('.js'));
    assert.ok(file, 'a built asset');
    const first = await fetch(`${running.cluster.url}/assets/${file}?probe=${Date.now()}`);
    await first.arrayBuffer();
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('x-cache-status'), 'MISS');
    const second = await fetch(first.url);
    await second.arrayBuffer();
    assert.equal(second.headers.get('x-cache-status'), 'HIT');
    assert.match(second.headers.get('cache-control') ?? '', /immutable/);
  });

  test('kill -9 a gateway under load: no acknowledged order lost or doubled, trading continues', async () => {
    const client = new ApiClient(running.cluster.url, demoKeys.apiKey, demoKeys.secret);
    const acknowledged = new Map<string, number>();
    const failures: { status: number; body: unknown }[] = [];
    let stopped = false;
    let sequence = 0;
    const clients = 16;
    const place = async (clientOrderId: string, price: string): Promise<void> => {
      // A retry after "status unknown" (502 from nginx) uses the same clientOrderId.
      for (let attempt = 0; attempt < 20; attempt++) {
        const answer = await client.signed('POST', '/api/v3/order', { symbol: 'BTCUSDT', side: 'BUY', type: 'LIMIT', timeInForce: 'GTC', quantity: '0.01', price, newClientOrderId: clientOrderId });
        if (answer.status === 200) {
          acknowledged.set(clientOrderId, answer.body.orderId as number);
          return;
        }
        failures.push({ status: answer.status, body: answer.body });
        if (answer.status !== 502 && answer.status !== 503 && !(answer.status >= 500 && String(answer.body?.code) === '-1007')) throw new Error(`order ${clientOrderId}: ${answer.status} ${JSON.stringify(answer.body)}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`order ${clientOrderId} never acknowledged`);
    };
    const unexpected: Error[] = [];
    const loops = Array.from({ length: clients }, async (_, index) => {
      for (let count = 0; !stopped && count < ordersPerClientMax; count++) {
        const id = `kill-${index}-${++sequence}`;
        try {
          await place(id, (1000 + (sequence % 50)).toFixed(2));
        } catch (error) {
          unexpected.push(error as Error);
          stopped = true;
        }
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const victim = running.cluster.gateways[0]!;
    const beforeKill = acknowledged.size;
    await victim.crash();
    await new Promise((resolve) => setTimeout(resolve, 2500));
    stopped = true;
    await Promise.all(loops);
    assert.deepEqual(unexpected.map((error) => error.message), [], 'no unexpected answers');
    console.log(`# ${acknowledged.size} orders acknowledged (${beforeKill} before the kill); ${failures.length} answers with unknown status, each retried`);
    assert.ok(acknowledged.size > beforeKill + clients, 'trading continued through the other gateway');
    // Only requests in flight on the killed gateway may fail, never more than one per client.
    assert.ok(failures.length <= clients, `${failures.length} failed answers for ${clients} clients`);
    // Every acknowledged order exists exactly once, with the id it was answered with.
    const open = await client.signed('GET', '/api/v3/openOrders', { symbol: 'BTCUSDT' });
    assert.equal(open.status, 200);
    const byClientId = new Map<string, number[]>();
    for (const order of open.body as { clientOrderId: string; orderId: number }[]) {
      byClientId.set(order.clientOrderId, [...(byClientId.get(order.clientOrderId) ?? []), order.orderId]);
    }
    for (const [clientOrderId, orderId] of acknowledged) {
      assert.deepEqual(byClientId.get(clientOrderId), [orderId], `order ${clientOrderId} exactly once`);
    }
    const solvency = await client.admin('GET', '/solvency');
    assert.equal(solvency.status, 200);
    assert.equal(solvency.body.balanced, true, 'conservation holds');
    // The restarted gateway takes its old port and nginx sends it traffic again.
    const restarted = await running.cluster.startGateway(1, false);
    await restarted.waitReady(60_000);
    const direct = await fetch(`http://127.0.0.1:${running.cluster.gatewayPort(restarted)}/api/v3/ping`);
    assert.equal(direct.status, 200);
  });
});
