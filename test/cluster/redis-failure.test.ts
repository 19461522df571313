// What a flushed or dead Redis does (a private redis-server on its own port, so the shared
// one is never touched): no money effect and no duplicate order; rate limits fall back to
// each gateway's own counters (fail open) with a warning; cache reads fail fast; all of it
// recovers when Redis is back.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { RedisCache, redisUnavailableWarnings } from '../../src/adapters/redis-cache.ts';
import { createScratchDatabase } from '../../src/adapters/postgres.ts';
import { LocalCluster } from '../../src/cluster/cluster.ts';
import { freePort } from '../../src/cluster/processes.ts';
import { ApiClient, adminToken, demoKeys } from '../api/support.ts';
import { destroyClusterStreams } from './cleanup.ts';
import { natsUrl, portOpen, requireService, uniqueName } from './services.ts';

class PrivateRedis {
  process: ChildProcess | null = null;
  constructor(readonly port: number) {}

  async start(): Promise<void> {
    this.process = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    while (!(await portOpen('127.0.0.1', this.port))) {
      if (Date.now() > deadline) throw new Error('private redis-server did not start');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async kill(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
}

describe('Redis flushed or down', () => {
  let redis: PrivateRedis;
  let url = '';

  before(async () => {
    await requireService('nats');
    await requireService('postgres');
    redis = new PrivateRedis(await freePort());
    await redis.start();
    url = `redis://127.0.0.1:${redis.port}`;
  });

  after(async () => {
    await redis.kill();
  });

  test('the adapter: limits fall back to local counters with a warning, reads fail fast, recovery', async () => {
    const cache = await RedisCache.open({ url, keyPrefix: 'adapter:' });
    try {
      const nowMs = 1_000_000;
      for (let index = 0; index < 3; index++) assert.equal((await cache.takeTokens('bucket', 3, 1, 1, nowMs)).allowed, true);
      assert.equal((await cache.takeTokens('bucket', 3, 1, 1, nowMs)).allowed, false, 'the shared bucket is empty');
      await cache.set('view', 'cached');
      // Flushed: limits start over, cached views are gone; nothing else changes.
      const flusher = await RedisCache.open({ url, keyPrefix: '' });
      await flusher.deleteByPrefix('');
      await flusher.close();
      assert.equal((await cache.takeTokens('bucket', 3, 1, 1, nowMs)).allowed, true);
      assert.equal(await cache.get('view'), null);
      // Down: the gateway's own bucket takes over (it still limits), with a warning.
      const warningsBefore = redisUnavailableWarnings();
      await redis.kill();
      const startedMs = Date.now();
      const local = [];
      for (let index = 0; index < 4; index++) local.push((await cache.takeTokens('bucket', 3, 1, 1, nowMs)).allowed);
      assert.deepEqual(local, [true, true, true, false], 'fail open to a per-gateway limit');
      assert.equal(await cache.countInWindow('weight', 5, 60_000), 5);
      // An order's one-call counters fall back as a whole, stopping at the first limit.
      const steps = [[{ key: 'steps-weight', amount: 1, windowMs: 60_000, limit: 10 }], [{ key: 'steps-signature', amount: 1, windowMs: 60_000, limit: 1 }]];
      assert.deepEqual(await cache.countInWindowSteps(steps), [[1], [1]]);
      assert.deepEqual(await cache.countInWindowSteps(steps), [[2], [2]], 'a replayed signature is still refused while Redis is down');
      await assert.rejects(cache.get('view'));
      assert.ok(Date.now() - startedMs < 2000, 'failures are fast, never a hang');
      assert.ok(redisUnavailableWarnings() > warningsBefore, 'a warning was logged');
      // Back: the shared bucket is used again.
      await redis.start();
      const deadline = Date.now() + 10_000;
      while (!cache.isReady() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.ok(cache.isReady(), 'reconnected');
      await cache.set('view', 'again');
      assert.equal(await cache.get('view'), 'again');
    } finally {
      await cache.close();
    }
  });

  test('the cluster: orders keep their exact-once answers and balances through a flush and an outage', { timeout: 180_000 }, async () => {
    const database = await createScratchDatabase();
    const cluster = new LocalCluster({
      name: uniqueName('redis').toLowerCase(),
      port: 0,
      gateways: 1,
      engines: 1,
      env: {
        BOURSE_DATABASE_URL: database.url,
        BOURSE_NATS_URL: natsUrl,
        BOURSE_REDIS_URL: url,
        BOURSE_ADMIN_TOKEN: adminToken,
        BOURSE_DEMO_API_KEY: demoKeys.apiKey,
        BOURSE_DEMO_API_SECRET: demoKeys.secret,
        BOURSE_DEMO2_API_KEY: demoKeys.apiKey2,
        BOURSE_DEMO2_API_SECRET: demoKeys.secret2,
        LOG_LEVEL: 'error',
      },
    });
    try {
      await cluster.start();
      const client = new ApiClient(cluster.url, demoKeys.apiKey, demoKeys.secret);
      const order = (clientOrderId: string) =>
        client.signed('POST', '/api/v3/order', { symbol: 'BTCUSDT', side: 'BUY', type: 'LIMIT', timeInForce: 'GTC', quantity: '0.01', price: '1000', newClientOrderId: clientOrderId });
      const usdt = async (): Promise<{ free: string; locked: string }> => {
        const account = await client.signed('GET', '/api/v3/account');
        assert.equal(account.status, 200, JSON.stringify(account.body));
        return (account.body.balances as { asset: string; free: string; locked: string }[]).find((balance) => balance.asset === 'USDT')!;
      };
      const first = await order('redis-1');
      assert.equal(first.status, 200, JSON.stringify(first.body));
      const afterFirst = await usdt();

      // Flushed: a retry of the same order is answered with the original, never a second one.
      const flusher = await RedisCache.open({ url, keyPrefix: '' });
      await flusher.deleteByPrefix('');
      await flusher.close();
      const retried = await order('redis-1');
      assert.equal(retried.body.orderId, first.body.orderId);
      assert.deepEqual(await usdt(), afterFirst, 'a flush has no money effect');

      // Down: trading continues (limits fail open to the gateway's own), still exactly once.
      await redis.kill();
      const second = await order('redis-2');
      assert.equal(second.status, 200, JSON.stringify(second.body));
      const secondAgain = await order('redis-2');
      assert.equal(secondAgain.body.orderId, second.body.orderId);
      const open = await client.signed('GET', '/api/v3/openOrders', { symbol: 'BTCUSDT' });
      assert.equal(open.status, 200);
      assert.deepEqual((open.body as { clientOrderId: string }[]).map((row) => row.clientOrderId).sort(), ['redis-1', 'redis-2']);
      const solvency = await client.admin('GET', '/solvency');
      assert.equal(solvency.body.balanced, true);

      // Back: everything works again.
      await redis.start();
      let third = await order('redis-3');
      const deadline = Date.now() + 10_000;
      while (third.status !== 200 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        third = await order('redis-3');
      }
      assert.equal(third.status, 200, JSON.stringify(third.body));
    } finally {
      await cluster.stop();
      await destroyClusterStreams(cluster.settings);
      await database.drop();
    }
  });
});
