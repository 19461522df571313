// RedisCache and RedisPubSub: the Cache and PubSub ports on Redis (cluster mode), shared
// by every gateway. The token bucket is one Lua script, so all gateways draw from the same
// bucket atomically. Nothing here moves money or decides whether an order exists. When
// Redis is down, rate limiting FAILS OPEN to a per-gateway limit: the shared buckets and
// counters are replaced by this process's own (MemoryCache), so each gateway still limits
// what it sees, and a warning is logged; plain cache reads and writes fail fast so the
// caller can answer or fall back. A flushed Redis only resets limits and cached views.
import { Redis } from 'ioredis';
import type { Cache, PubSub, TokenBucketResult } from '../ports/cache.ts';
import { createLogger } from './logger.ts';
import { MemoryCache } from './memory-cache.ts';

export const defaultRedisUrl = 'redis://127.0.0.1:6379';
/** A Redis command that takes longer than this fails (a hung Redis must not hang requests). */
export const redisCommandTimeoutMs = 250;
/** How long a role waits for Redis at start-up. */
export const redisConnectTimeoutMs = 5000;
/** At most one "Redis unavailable" warning per this interval, however many requests fail. */
export const failOpenWarningIntervalMs = 10_000;

const log = createLogger('redis');

/**
 * Token bucket: KEYS[1] = bucket hash {tokens, updatedMs}; ARGV = capacity,
 * refillPerSecond, cost, nowMs. Time never runs backwards for a bucket (gateways' clocks
 * differ slightly). Returns {allowed 0/1, remaining floored, retryAfterMs}.
 */
const tokenBucketScript = `
local capacity = tonumber(ARGV[1])
local refill = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updatedMs')
local tokens = tonumber(state[1])
local updated = tonumber(state[2])
if tokens == nil or updated == nil then
  tokens = capacity
  updated = now
end
if now > updated then
  tokens = math.min(capacity, tokens + (now - updated) * refill / 1000)
  updated = now
end
local allowed = 0
local retry = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
elseif refill > 0 then
  retry = math.ceil((cost - tokens) * 1000 / refill)
else
  retry = -1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updatedMs', tostring(updated))
local ttl = 60000
if refill > 0 then ttl = math.ceil(capacity * 1000 / refill) + 1000 end
redis.call('PEXPIRE', KEYS[1], ttl)
return {allowed, math.floor(tokens), retry}
`;

/** Fixed-window counter: KEYS[1]; ARGV = amount, windowMs. The window starts at the first add. */
const windowCounterScript = `
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return value
`;

export interface RedisOptions {
  url?: string;
  /** Prefix for every key and channel, so several clusters (or test runs) share one Redis. */
  keyPrefix?: string;
}

type ScriptedRedis = Redis & {
  bourseTokenBucket(key: string, capacity: number, refillPerSecond: number, cost: number, nowMs: number): Promise<[number, number, number]>;
  bourseWindowCounter(key: string, amount: number, windowMs: number): Promise<number>;
};

function createClient(url: string, name: string): Redis {
  const client = new Redis(url, {
    lazyConnect: true,
    connectionName: name,
    connectTimeout: redisConnectTimeoutMs,
    commandTimeout: redisCommandTimeoutMs,
    // Fail at once while disconnected instead of queueing requests behind a dead server.
    enableOfflineQueue: false,
    // Commands issued in the same tick by concurrent requests travel as one pipeline.
    enableAutoPipelining: true,
    maxRetriesPerRequest: 0,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
  });
  client.on('error', (error) => warnUnavailable(error));
  return client;
}

let lastWarningMs = 0;
let warningsLogged = 0;

/** How many "Redis unavailable" warnings this process has logged (tests, metrics). */
export function redisUnavailableWarnings(): number {
  return warningsLogged;
}

function warnUnavailable(error: unknown, what = 'Redis unavailable'): void {
  const now = Date.now();
  if (now - lastWarningMs < failOpenWarningIntervalMs) return;
  lastWarningMs = now;
  warningsLogged++;
  log.warn({ err: error }, `${what}: rate limits fall back to this gateway's own counters (fail open), cache reads and writes fail`);
}

async function connectClient(client: Redis, url: string): Promise<void> {
  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    throw new Error(`cannot reach Redis at ${url} (set BOURSE_REDIS_URL): ${(error as Error).message}`, { cause: error });
  }
}

export class RedisCache implements Cache {
  private readonly client: ScriptedRedis;
  private readonly prefix: string;
  /** This process's own limits, used while Redis is unavailable. */
  private readonly fallback = new MemoryCache();

  private constructor(client: Redis, prefix: string) {
    this.client = client as ScriptedRedis;
    this.prefix = prefix;
    client.defineCommand('bourseTokenBucket', { numberOfKeys: 1, lua: tokenBucketScript });
    client.defineCommand('bourseWindowCounter', { numberOfKeys: 1, lua: windowCounterScript });
  }

  static async open(options: RedisOptions = {}): Promise<RedisCache> {
    const url = options.url ?? process.env.BOURSE_REDIS_URL ?? defaultRedisUrl;
    const client = createClient(url, 'bourse-cache');
    await connectClient(client, url);
    return new RedisCache(client, options.keyPrefix ?? process.env.BOURSE_REDIS_PREFIX ?? 'bourse:');
  }

  async get(key: string): Promise<string | null> {
    return this.client.get(this.prefix + key);
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    if (ttlMs !== undefined && ttlMs > 0) await this.client.set(this.prefix + key, value, 'PX', Math.ceil(ttlMs));
    else await this.client.set(this.prefix + key, value);
  }

  async delete(key: string): Promise<void> {
    await this.client.del(this.prefix + key);
  }

  async takeTokens(key: string, capacity: number, refillPerSecond: number, cost: number, nowMs: number): Promise<TokenBucketResult> {
    try {
      const [allowed, remaining, retryAfterMs] = await this.client.bourseTokenBucket(this.prefix + key, capacity, refillPerSecond, cost, nowMs);
      return { allowed: allowed === 1, remaining, retryAfterMs: allowed === 1 ? 0 : Math.max(0, retryAfterMs) };
    } catch (error) {
      // FAIL OPEN to a per-gateway bucket: an outage must not stop trading.
      warnUnavailable(error, 'Redis token bucket failed');
      return this.fallback.takeTokens(key, capacity, refillPerSecond, cost, nowMs);
    }
  }

  async countInWindow(key: string, amount: number, windowMs: number): Promise<number> {
    try {
      return await this.client.bourseWindowCounter(this.prefix + key, amount, Math.max(1, Math.ceil(windowMs)));
    } catch (error) {
      // FAIL OPEN to a per-gateway counter: an outage must not stop trading.
      warnUnavailable(error, 'Redis window counter failed');
      return this.fallback.countInWindow(key, amount, windowMs);
    }
  }

  /** Deletes every key starting with `prefix` (tests and `cluster --reset`); SCAN, never KEYS. */
  async deleteByPrefix(prefix: string): Promise<number> {
    let cursor = '0';
    let deleted = 0;
    do {
      const [next, keys] = await this.client.scan(cursor, 'MATCH', `${this.prefix}${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) deleted += await this.client.del(...keys);
    } while (cursor !== '0');
    return deleted;
  }

  /** True when the connection is up (readiness probes). */
  isReady(): boolean {
    return this.client.status === 'ready';
  }

  async close(): Promise<void> {
    await this.fallback.close();
    await this.client.quit().catch(() => this.client.disconnect());
  }
}

export class RedisPubSub implements PubSub {
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly prefix: string;
  private readonly handlers = new Map<string, Set<(message: string) => void>>();

  private constructor(publisher: Redis, subscriber: Redis, prefix: string) {
    this.publisher = publisher;
    this.subscriber = subscriber;
    this.prefix = prefix;
    subscriber.on('message', (channel: string, message: string) => {
      const set = this.handlers.get(channel.slice(this.prefix.length));
      if (!set) return;
      for (const handler of set) {
        try {
          handler(message);
        } catch (error) {
          log.error({ err: error, channel }, 'pub/sub handler threw');
        }
      }
    });
  }

  static async open(options: RedisOptions = {}): Promise<RedisPubSub> {
    const url = options.url ?? process.env.BOURSE_REDIS_URL ?? defaultRedisUrl;
    const publisher = createClient(url, 'bourse-publisher');
    // The subscriber queues its SUBSCRIBE commands while reconnecting and resubscribes
    // after a Redis restart, so fan-out resumes by itself.
    const subscriber = new Redis(url, { lazyConnect: true, connectionName: 'bourse-subscriber', connectTimeout: redisConnectTimeoutMs, autoResubscribe: true, maxRetriesPerRequest: null });
    subscriber.on('error', (error) => warnUnavailable(error, 'Redis subscriber failed'));
    await connectClient(publisher, url);
    try {
      await connectClient(subscriber, url);
    } catch (error) {
      publisher.disconnect();
      throw error;
    }
    return new RedisPubSub(publisher, subscriber, options.keyPrefix ?? process.env.BOURSE_REDIS_PREFIX ?? 'bourse:');
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.publisher.publish(this.prefix + channel, message);
  }

  async subscribe(channel: string, onMessage: (message: string) => void): Promise<() => Promise<void>> {
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
      await this.subscriber.subscribe(this.prefix + channel);
    }
    set.add(onMessage);
    return async () => {
      const current = this.handlers.get(channel);
      if (!current || !current.delete(onMessage) || current.size > 0) return;
      this.handlers.delete(channel);
      await this.subscriber.unsubscribe(this.prefix + channel).catch(() => undefined);
    };
  }

  async close(): Promise<void> {
    this.handlers.clear();
    await Promise.all([
      this.publisher.quit().catch(() => this.publisher.disconnect()),
      this.subscriber.quit().catch(() => this.subscriber.disconnect()),
    ]);
  }
}
