// The order path's rate-limit counters (request weight, signature use, order counts) go to
// Redis in ONE call per request, and keep the semantics of three separate calls: a request
// over its weight burns neither its signature nor an order count, a replayed signature is
// refused with -1022 before any later error and counts no order, and the usage headers are
// the same. Runs on the local Redis and on the embedded MemoryCache.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { RedisCache } from '../../src/adapters/redis-cache.ts';
import { MemoryCache } from '../../src/adapters/memory-cache.ts';
import type { Cache } from '../../src/ports/cache.ts';
import { authenticateSigned, RateLimiter, type SecurityDeps } from '../../src/services/gateway/security.ts';
import type { SqlAccountStore } from '../../src/services/gateway/accounts.ts';
import { ApiError } from '../../src/services/gateway/errors.ts';
import { ParamReader, parseParams } from '../../src/services/gateway/params.ts';
import { redisUrl, requireService, uniqueName } from './services.ts';

const key = { apiKey: 'admissionKey', secret: 'admissionSecret', accountId: 7, canRead: true, canTrade: true, revoked: false };
const readOnlyKey = { ...key, apiKey: 'readOnlyKey', canTrade: false };

/** Counts the cache calls a request makes. */
function countingCache(cache: Cache): { cache: Cache; calls: () => number } {
  let calls = 0;
  const counted: Cache = {
    get: (name) => cache.get(name),
    set: (name, value, ttlMs) => cache.set(name, value, ttlMs),
    delete: (name) => cache.delete(name),
    takeTokens: (...args) => cache.takeTokens(...args),
    countInWindow: (name, amount, windowMs) => {
      calls++;
      return cache.countInWindow(name, amount, windowMs);
    },
    countInWindowSteps: (steps) => {
      calls++;
      return cache.countInWindowSteps(steps);
    },
    close: () => cache.close(),
  };
  return { cache: counted, calls: () => calls };
}

function signedQuery(secret: string, nowMs: number, extra = ''): string {
  const payload = `symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=10${extra}&timestamp=${nowMs}`;
  return `${payload}&signature=${createHmac('sha256', secret).update(payload).digest('hex')}`;
}

/** The order route's sequence: weight (deferred), signature, order counts; returns headers or the refusal. */
async function placeOrder(limiter: RateLimiter, deps: SecurityDeps, query: string, apiKey = key.apiKey): Promise<Record<string, string> | ApiError> {
  const request = {};
  const admission = limiter.admit('10.0.0.1', 1);
  limiter.defer(request, admission);
  try {
    const parsed = parseParams(query, '');
    const record = await authenticateSigned(apiKey, parsed, new ParamReader(parsed.values), 'TRADE', deps, limiter.deferred(request));
    return await limiter.takeOrder(record.accountId, request);
  } catch (error) {
    // What the gateway's error handler does: count what waits, its refusals first.
    try {
      await admission.settle();
    } catch (refusal) {
      return refusal as ApiError;
    }
    return error as ApiError;
  }
}

function runAdmissionSuite(name: string, open: () => Promise<{ cache: Cache; close: () => Promise<void> }>): void {
  describe(`order admission in one cache call: ${name}`, () => {
    let subject: { cache: Cache; close: () => Promise<void> };
    before(async () => {
      subject = await open();
    });
    after(async () => {
      await subject?.close();
    });

    test('one call per order; weight, replay and order limits as with separate calls', async () => {
      const nowMs = Date.now();
      const { cache, calls } = countingCache(subject.cache);
      const limits = { weightPerMinute: 3, ordersPer10Seconds: 100, ordersPerDay: 1000 };
      const limiter = new RateLimiter(cache, limits, () => nowMs);
      const accounts = { apiKey: async (apiKey: string) => (apiKey === key.apiKey ? key : apiKey === readOnlyKey.apiKey ? readOnlyKey : null) } as unknown as SqlAccountStore;
      const deps: SecurityDeps = { accounts, cache, clock: () => nowMs };

      const first = await placeOrder(limiter, deps, signedQuery(key.secret, nowMs, '&n=1'));
      assert.ok(!(first instanceof ApiError), String(first));
      assert.equal(calls(), 1, 'weight, signature and order counts travel in one call');
      assert.equal(first['x-mbx-used-weight-1m'], '1');
      assert.equal(first['x-mbx-order-count-10s'], '1');
      assert.equal(first['x-mbx-order-count-1d'], '1');

      const replayed = await placeOrder(limiter, deps, signedQuery(key.secret, nowMs, '&n=1'));
      assert.ok(replayed instanceof ApiError);
      assert.equal(replayed.code, -1022);
      assert.equal(calls(), 2);

      // A read-only key: the signature is used (counted), no order is counted.
      const readOnly = await placeOrder(limiter, deps, signedQuery(key.secret, nowMs, '&n=2'), readOnlyKey.apiKey);
      assert.ok(readOnly instanceof ApiError);
      assert.equal(readOnly.code, -2015);

      // Over the weight limit: 429, and neither the signature nor an order is counted.
      const overWeight = await placeOrder(limiter, deps, signedQuery(key.secret, nowMs, '&n=3'));
      assert.ok(overWeight instanceof ApiError);
      assert.equal(overWeight.status, 429);
      assert.equal(overWeight.headers['x-mbx-used-weight-1m'], '4');
      // A bad signature over the weight limit answers the weight refusal, as before.
      const badOverWeight = await placeOrder(limiter, deps, `${signedQuery(key.secret, nowMs, '&n=4')}0`);
      assert.ok(badOverWeight instanceof ApiError);
      assert.equal(badOverWeight.status, 429);

      limits.weightPerMinute = 100;
      const afterWeight = await placeOrder(limiter, deps, signedQuery(key.secret, nowMs, '&n=3'));
      assert.ok(!(afterWeight instanceof ApiError), `the signature refused for weight was not burned: ${String(afterWeight)}`);
      assert.equal(afterWeight['x-mbx-order-count-10s'], '2', 'refused requests counted no order');
      assert.equal(afterWeight['x-mbx-used-weight-1m'], '6');

      // The replay refusal comes before a later error (the key's permission).
      const replayedReadOnly = await placeOrder(limiter, deps, signedQuery(key.secret, nowMs, '&n=2'), readOnlyKey.apiKey);
      assert.ok(replayedReadOnly instanceof ApiError);
      assert.equal(replayedReadOnly.code, -1022);

      // Past the 10 s order limit: 429 -1015 with the order counts.
      limits.ordersPer10Seconds = 2;
      const overOrders = await placeOrder(limiter, deps, signedQuery(key.secret, nowMs, '&n=5'));
      assert.ok(overOrders instanceof ApiError);
      assert.equal(overOrders.code, -1015);
      assert.equal(overOrders.headers['x-mbx-order-count-10s'], '3');
    });
  });
}

const prefix = `${uniqueName('admission')}:`;
runAdmissionSuite('RedisCache', async () => {
  await requireService('redis');
  const cache = await RedisCache.open({ url: redisUrl, keyPrefix: prefix });
  return {
    cache,
    close: async () => {
      await cache.deleteByPrefix('');
      await cache.close();
    },
  };
});
runAdmissionSuite('MemoryCache', async () => {
  const cache = new MemoryCache();
  return { cache, close: () => cache.close() };
});
