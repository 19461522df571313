// The Cache and PubSub contracts: one suite for MemoryCache/MemoryPubSub and for the Redis
// adapters. Factories return fresh instances (for Redis: a fresh key prefix or database)
// and a way to let time pass: MemoryCache moves its injected clock, Redis really waits,
// so the suite keeps every TTL short.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Cache, PubSub } from '../../src/ports/cache.ts';

export interface CacheUnderTest {
  cache: Cache;
  /** Lets `ms` milliseconds pass for TTLs and windows (not for takeTokens, which takes nowMs). */
  advanceTime: (ms: number) => Promise<void>;
  cleanup: () => Promise<void>;
}

export type CacheFactory = () => Promise<CacheUnderTest>;

export interface PubSubUnderTest {
  pubsub: PubSub;
  /** A second instance on the same bus (another gateway), when the implementation has one. */
  peer?: PubSub;
  cleanup: () => Promise<void>;
}

export type PubSubFactory = () => Promise<PubSubUnderTest>;

async function withCache(factory: CacheFactory, body: (subject: CacheUnderTest) => Promise<void>): Promise<void> {
  const subject = await factory();
  try {
    await body(subject);
  } finally {
    await subject.cache.close().catch(() => undefined);
    await subject.cleanup();
  }
}

async function eventually(predicate: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export function runCacheContract(name: string, factory: CacheFactory): void {
  describe(`Cache contract: ${name}`, () => {
    test('get, set, overwrite and delete', async () => {
      await withCache(factory, async ({ cache }) => {
        assert.equal(await cache.get('missing'), null);
        await cache.set('key', 'one');
        assert.equal(await cache.get('key'), 'one');
        await cache.set('key', 'two ü {"json":true}');
        assert.equal(await cache.get('key'), 'two ü {"json":true}');
        await cache.delete('key');
        assert.equal(await cache.get('key'), null);
        await cache.delete('never-set');
        await cache.set('md:BTCUSDT:depth', '');
        assert.equal(await cache.get('md:BTCUSDT:depth'), '', 'an empty string is a value, not a miss');
      });
    });

    test('values with a TTL expire; values without one stay; setting again without a TTL drops it', async () => {
      await withCache(factory, async ({ cache, advanceTime }) => {
        await cache.set('short', 'a', 150);
        await cache.set('forever', 'b');
        await cache.set('renewed', 'c', 150);
        await cache.set('renewed', 'd');
        assert.equal(await cache.get('short'), 'a');
        await advanceTime(400);
        assert.equal(await cache.get('short'), null);
        assert.equal(await cache.get('forever'), 'b');
        assert.equal(await cache.get('renewed'), 'd');
      });
    });

    test('a token bucket allows its capacity, then refuses with the time until enough tokens return', async () => {
      await withCache(factory, async ({ cache }) => {
        const nowMs = 1_700_000_000_000;
        for (let index = 0; index < 10; index++) {
          const result = await cache.takeTokens('bucket', 10, 5, 1, nowMs);
          assert.deepEqual(result, { allowed: true, remaining: 9 - index, retryAfterMs: 0 });
        }
        const refused = await cache.takeTokens('bucket', 10, 5, 1, nowMs);
        assert.equal(refused.allowed, false);
        assert.equal(refused.remaining, 0);
        assert.equal(refused.retryAfterMs, 200);
        assert.equal((await cache.takeTokens('bucket', 10, 5, 1, nowMs + 200)).allowed, true);
        // Half a second later: 2.5 tokens; a cost of 3 waits 100 ms more.
        const partial = await cache.takeTokens('bucket', 10, 5, 3, nowMs + 700);
        assert.deepEqual(partial, { allowed: false, remaining: 2, retryAfterMs: 100 });
        assert.equal((await cache.takeTokens('bucket', 10, 5, 3, nowMs + 800)).allowed, true);
        // Other keys have their own buckets; refills never exceed the capacity.
        assert.deepEqual(await cache.takeTokens('other', 10, 5, 1, nowMs), { allowed: true, remaining: 9, retryAfterMs: 0 });
        assert.deepEqual(await cache.takeTokens('other', 10, 5, 1, nowMs + 3_600_000), { allowed: true, remaining: 9, retryAfterMs: 0 });
      });
    });

    test('token buckets are atomic under concurrent takes', async () => {
      await withCache(factory, async ({ cache }) => {
        const nowMs = 1_700_000_000_000;
        const results = await Promise.all(Array.from({ length: 25 }, () => cache.takeTokens('shared', 10, 1, 1, nowMs)));
        assert.equal(results.filter((result) => result.allowed).length, 10);
        assert.deepEqual(
          results.filter((result) => result.allowed).map((result) => result.remaining).sort((a, b) => a - b),
          [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        );
      });
    });

    test('window counters add up, restart after the window, and are atomic', async () => {
      await withCache(factory, async ({ cache, advanceTime }) => {
        assert.equal(await cache.countInWindow('weight', 1, 200), 1);
        assert.equal(await cache.countInWindow('weight', 5, 200), 6);
        assert.equal(await cache.countInWindow('other-weight', 2, 200), 2);
        await advanceTime(450);
        assert.equal(await cache.countInWindow('weight', 3, 200), 3);
        const counts = await Promise.all(Array.from({ length: 50 }, () => cache.countInWindow('burst', 1, 60_000)));
        assert.deepEqual(
          [...counts].sort((a, b) => a - b),
          Array.from({ length: 50 }, (_, index) => index + 1),
        );
      });
    });

    test('window counter steps stop after the first step over a limit, atomically and in call order', async () => {
      await withCache(factory, async ({ cache, advanceTime }) => {
        const weight = (amount: number) => ({ key: 'steps-weight', amount, windowMs: 200, limit: 10 });
        const signature = { key: 'steps-signature', amount: 1, windowMs: 200, limit: 1 };
        const orders = [
          { key: 'steps-orders-short', amount: 1, windowMs: 200, limit: 2 },
          { key: 'steps-orders-long', amount: 1, windowMs: 60_000, limit: Number.POSITIVE_INFINITY },
        ];
        assert.deepEqual(await cache.countInWindowSteps([[weight(4)], [signature], orders]), [[4], [1], [1, 1]]);
        // The signature is used: its step is over, the orders stay uncounted.
        assert.deepEqual(await cache.countInWindowSteps([[weight(4)], [signature], orders]), [[8], [2]]);
        // The weight is over: nothing after it is counted.
        assert.deepEqual(await cache.countInWindowSteps([[weight(4)], [signature], orders]), [[12]]);
        assert.equal(await cache.countInWindow('steps-signature', 0, 200), 2);
        assert.equal(await cache.countInWindow('steps-orders-short', 0, 200), 1);
        await advanceTime(450);
        // Callers of one turn see the values consecutive calls would return.
        const answers = await Promise.all(Array.from({ length: 4 }, () => cache.countInWindowSteps([[weight(3)], orders])));
        assert.deepEqual(
          answers.map((answer) => answer.map((values) => values[0])),
          [[3, 1], [6, 2], [9, 3], [12]],
        );
        assert.equal(await cache.countInWindow('steps-orders-long', 0, 60_000), 4);
      });
    });
  });
}

export function runPubSubContract(name: string, factory: PubSubFactory): void {
  describe(`PubSub contract: ${name}`, () => {
    test('subscribers get messages in publish order; other channels do not', async () => {
      const { pubsub, cleanup } = await factory();
      try {
        const first: string[] = [];
        const second: string[] = [];
        const elsewhere: string[] = [];
        const stopFirst = await pubsub.subscribe('md.BTCUSDT.trade', (message) => first.push(message));
        const stopSecond = await pubsub.subscribe('md.BTCUSDT.trade', (message) => second.push(message));
        const stopElsewhere = await pubsub.subscribe('md.ETHUSDT.trade', (message) => elsewhere.push(message));
        const messages = Array.from({ length: 100 }, (_, index) => JSON.stringify({ e: 'trade', t: index, note: 'ü' }));
        for (const message of messages) await pubsub.publish('md.BTCUSDT.trade', message);
        await eventually(() => first.length === 100 && second.length === 100, 'all messages');
        assert.deepEqual(first, messages);
        assert.deepEqual(second, messages);
        assert.deepEqual(elsewhere, []);
        await stopFirst();
        await stopSecond();
        await stopElsewhere();
      } finally {
        await pubsub.close();
        await cleanup();
      }
    });

    test('after unsubscribing, nothing more arrives; the other subscription keeps going', async () => {
      const { pubsub, cleanup } = await factory();
      try {
        const kept: string[] = [];
        const dropped: string[] = [];
        await pubsub.subscribe('user.7', (message) => kept.push(message));
        const stop = await pubsub.subscribe('user.7', (message) => dropped.push(message));
        await pubsub.publish('user.7', 'one');
        await eventually(() => kept.length === 1 && dropped.length === 1, 'first message');
        await stop();
        await pubsub.publish('user.7', 'two');
        await eventually(() => kept.length === 2, 'second message');
        await new Promise((resolve) => setTimeout(resolve, 50));
        assert.deepEqual(dropped, ['one']);
        assert.deepEqual(kept, ['one', 'two']);
      } finally {
        await pubsub.close();
        await cleanup();
      }
    });

    test('a message published on one instance reaches subscribers of another (fan-out to every gateway)', async (context) => {
      const { pubsub, peer, cleanup } = await factory();
      try {
        if (!peer) {
          context.diagnostic('no peer instance: single-instance bus');
          const own: string[] = [];
          await pubsub.subscribe('md.X.depth', (message) => own.push(message));
          await pubsub.publish('md.X.depth', 'self');
          await eventually(() => own.length === 1, 'own message');
          return;
        }
        const received: string[] = [];
        await peer.subscribe('md.BTCUSDT.depth', (message) => received.push(message));
        await pubsub.publish('md.BTCUSDT.depth', 'from-one');
        await peer.publish('md.BTCUSDT.depth', 'from-peer');
        await eventually(() => received.length === 2, 'both messages');
        assert.deepEqual(received.sort(), ['from-one', 'from-peer']);
      } finally {
        await pubsub.close();
        await peer?.close();
        await cleanup();
      }
    });
  });
}
