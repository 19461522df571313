// RedisCache and RedisPubSub: the Cache and PubSub ports on Redis (cluster mode), shared
// by every gateway. The token bucket is one Lua script, so all gateways draw from the same
// bucket atomically. Nothing here moves money or decides whether an order exists. When
// Redis is down, rate limiting FAILS OPEN to a per-gateway limit: the shared buckets and
// counters are replaced by this process's own (MemoryCache), so each gateway still limits
// what it sees, and a warning is logged; plain cache reads and writes fail fast so the
// caller can answer or fall back. A flushed Redis only resets limits and cached views.
import { Redis } from 'ioredis';
import type { Cache, PubSub, TokenBucketResult, WindowCounterAddition } from '../ports/cache.ts';
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

/**
 * Fixed-window counters, several per call: KEYS = the counters; ARGV = their amounts, then
 * their windows in ms. Each window starts at its counter's first add. Returns the counters'
 * new values in KEYS order.
 */
const windowCountersScript = `
local count = #KEYS
local values = {}
for index = 1, count do
  local value = redis.call('INCRBY', KEYS[index], ARGV[index])
  if redis.call('PTTL', KEYS[index]) < 0 then redis.call('PEXPIRE', KEYS[index], ARGV[count + index]) end
  values[index] = value
end
return values
`;

/**
 * Step-by-step window counters of several callers (countInWindowSteps), one call per turn:
 * KEYS = every counter in order; ARGV = the number of callers, then per caller its number
 * of steps, per step its number of counters, per counter its amount, window in ms and limit
 * (-1: none). A caller's later steps are skipped once a step's counter exceeds its limit.
 * Returns, per caller, the number of steps counted followed by their counters' values.
 */
const windowCounterStepsScript = `
local argument = 1
local keyIndex = 0
local answer = {}
local callers = tonumber(ARGV[argument])
for caller = 1, callers do
  argument = argument + 1
  local steps = tonumber(ARGV[argument])
  local countAt = #answer + 1
  answer[countAt] = 0
  local stopped = false
  for step = 1, steps do
    argument = argument + 1
    local counters = tonumber(ARGV[argument])
    local over = false
    for counter = 1, counters do
      keyIndex = keyIndex + 1
      local amount = ARGV[argument + 1]
      local windowMs = ARGV[argument + 2]
      local limit = tonumber(ARGV[argument + 3])
      argument = argument + 3
      if not stopped then
        local value = redis.call('INCRBY', KEYS[keyIndex], amount)
        if redis.call('PTTL', KEYS[keyIndex]) < 0 then redis.call('PEXPIRE', KEYS[keyIndex], windowMs) end
        answer[#answer + 1] = value
        if limit >= 0 and value > limit then over = true end
      end
    end
    if not stopped then answer[countAt] = step end
    if over then stopped = true end
  end
end
return answer
`;

/** Callers one countInWindowSteps script call may carry (the rest go in further calls of the same turn). */
export const windowCounterStepCallersPerCallMax = 128;

/** One countInWindowSteps call waiting for the script call of its event-loop turn. */
interface PendingSteps {
  steps: readonly (readonly WindowCounterAddition[])[];
  resolve: (values: number[][]) => void;
}

/**
 * Publishes several messages in one call: ARGV = count, the channels, then the messages.
 * Subscribers see them in ARGV order, as if published one by one.
 */
const publishManyScript = `
local count = tonumber(ARGV[1])
for index = 1, count do
  redis.call('PUBLISH', ARGV[1 + index], ARGV[1 + count + index])
end
return count
`;

/** Messages one publish call may carry (the rest go in further calls of the same turn). */
export const publishesPerCallMax = 256;

interface PendingPublish {
  channel: string;
  message: string;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** Distinct counters one script call may carry (the rest go in further calls of the same turn). */
export const windowCountersPerCallMax = 256;

/** One countInWindow call waiting for the script call of its event-loop turn. */
interface CounterAddition {
  key: string;
  amount: number;
  windowMs: number;
  resolve: (count: number) => void;
}

/** The additions to one counter within a turn: added together, answered in call order. */
interface CounterGroup {
  amount: number;
  windowMs: number;
  additions: CounterAddition[];
}

export interface RedisOptions {
  url?: string;
  /** Prefix for every key and channel, so several clusters (or test runs) share one Redis. */
  keyPrefix?: string;
}

type ScriptedRedis = Redis & {
  bourseTokenBucket(key: string, capacity: number, refillPerSecond: number, cost: number, nowMs: number): Promise<[number, number, number]>;
  bourseWindowCounters(keyCount: number, ...keysThenAmountsThenWindows: (string | number)[]): Promise<number[]>;
  bourseWindowCounterSteps(keyCount: number, ...keysThenArguments: (string | number)[]): Promise<number[]>;
};

/**
 * Collects what callers hand in during one turn of the event loop and passes it all to
 * `flush` once, at the turn's end (setImmediate): the per-turn batching every Redis call of
 * the order path uses, so a burst of calls costs one round trip instead of one each.
 */
class TurnBatch<T> {
  private items: T[] = [];
  private scheduled = false;

  constructor(private readonly flush: (items: T[]) => void) {}

  add(item: T): void {
    this.items.push(item);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.run);
  }

  private readonly run = (): void => {
    this.scheduled = false;
    const items = this.items;
    this.items = [];
    this.flush(items);
  };
}

function createClient(url: string, name: string): Redis {
  const client = new Redis(url, {
    lazyConnect: true,
    connectionName: name,
    connectTimeout: redisConnectTimeoutMs,
    commandTimeout: redisCommandTimeoutMs,
    // Fail at once while disconnected instead of queueing requests behind a dead server.
    enableOfflineQueue: false,
    // No auto-pipelining: the hot paths (window counters, publishes) batch themselves into
    // one script call per event-loop turn, and ioredis's pipeline machinery costs about
    // twice the CPU of a plain command for what is then one command per turn.
    enableAutoPipelining: false,
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
  private readonly counterAdditions = new TurnBatch<CounterAddition>((additions) => this.flushCounters(additions));
  private readonly pendingSteps = new TurnBatch<PendingSteps>((pending) => this.flushSteps(pending));

  private constructor(client: Redis, prefix: string) {
    this.client = client as ScriptedRedis;
    this.prefix = prefix;
    client.defineCommand('bourseTokenBucket', { numberOfKeys: 1, lua: tokenBucketScript });
    client.defineCommand('bourseWindowCounters', { lua: windowCountersScript });
    client.defineCommand('bourseWindowCounterSteps', { lua: windowCounterStepsScript });
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

  /**
   * Counts go to Redis once per turn of the event loop: every countInWindow call of the turn
   * (a gateway counts request weight, order rates and signature uses for every request)
   * travels in one script call, and calls on the same counter are added together and
   * answered in call order with the values consecutive single calls would have returned.
   */
  countInWindow(key: string, amount: number, windowMs: number): Promise<number> {
    return new Promise<number>((resolve) => {
      this.counterAdditions.add({ key, amount, windowMs: Math.max(1, Math.ceil(windowMs)), resolve });
    });
  }

  private flushCounters(additions: CounterAddition[]): void {
    const groups = new Map<string, CounterGroup>();
    for (const addition of additions) {
      const group = groups.get(addition.key);
      if (group) {
        group.amount += addition.amount;
        group.additions.push(addition);
      } else groups.set(addition.key, { amount: addition.amount, windowMs: addition.windowMs, additions: [addition] });
    }
    const entries = [...groups];
    for (let start = 0; start < entries.length; start += windowCountersPerCallMax) void this.sendCounters(entries.slice(start, start + windowCountersPerCallMax));
  }

  private async sendCounters(entries: [string, CounterGroup][]): Promise<void> {
    const keys: string[] = [];
    const amounts: number[] = [];
    const windows: number[] = [];
    for (const [key, group] of entries) {
      keys.push(this.prefix + key);
      amounts.push(group.amount);
      windows.push(group.windowMs);
    }
    let values: number[];
    try {
      values = await this.client.bourseWindowCounters(keys.length, ...keys, ...amounts, ...windows);
    } catch (error) {
      // FAIL OPEN to per-gateway counters: an outage must not stop trading.
      warnUnavailable(error, 'Redis window counter failed');
      for (const [key, group] of entries) {
        for (const addition of group.additions) {
          // A closed cache (shutdown) answers with the addition alone: still fail open.
          addition.resolve(await this.fallback.countInWindow(key, addition.amount, addition.windowMs).catch(() => addition.amount));
        }
      }
      return;
    }
    for (let index = 0; index < entries.length; index++) {
      const group = entries[index]![1];
      let running = Number(values[index]) - group.amount;
      for (const addition of group.additions) {
        running += addition.amount;
        addition.resolve(running);
      }
    }
  }

  /**
   * Step-by-step counters (a gateway's request weight, signature use and order counts of one
   * request) go to Redis once per turn of the event loop: every call of the turn travels in
   * one script call, run in call order, so each caller sees what consecutive calls would.
   */
  countInWindowSteps(steps: readonly (readonly WindowCounterAddition[])[]): Promise<number[][]> {
    return new Promise<number[][]>((resolve) => {
      this.pendingSteps.add({ steps, resolve });
    });
  }

  private flushSteps(pending: PendingSteps[]): void {
    for (let start = 0; start < pending.length; start += windowCounterStepCallersPerCallMax) {
      void this.sendSteps(pending.slice(start, start + windowCounterStepCallersPerCallMax));
    }
  }

  private async sendSteps(callers: PendingSteps[]): Promise<void> {
    const keys: string[] = [];
    const values: number[] = [callers.length];
    for (const caller of callers) {
      values.push(caller.steps.length);
      for (const step of caller.steps) {
        values.push(step.length);
        for (const addition of step) {
          keys.push(this.prefix + addition.key);
          values.push(addition.amount, Math.max(1, Math.ceil(addition.windowMs)), addition.limit === Number.POSITIVE_INFINITY ? -1 : addition.limit);
        }
      }
    }
    let answer: number[];
    try {
      answer = await this.client.bourseWindowCounterSteps(keys.length, ...keys, ...values);
    } catch (error) {
      // FAIL OPEN to per-gateway counters: an outage must not stop trading.
      warnUnavailable(error, 'Redis window counter failed');
      for (const caller of callers) {
        // A closed cache (shutdown) answers with each step's additions alone: still fail open.
        caller.resolve(await this.fallback.countInWindowSteps(caller.steps).catch(() => caller.steps.map((step) => step.map((addition) => addition.amount))));
      }
      return;
    }
    let position = 0;
    for (const caller of callers) {
      const stepsCounted = Number(answer[position++]);
      const result: number[][] = [];
      for (let step = 0; step < stepsCounted; step++) {
        const stepValues: number[] = [];
        for (let counter = 0; counter < caller.steps[step]!.length; counter++) stepValues.push(Number(answer[position++]));
        result.push(stepValues);
      }
      caller.resolve(result);
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
  private readonly pendingPublishes = new TurnBatch<PendingPublish>((pending) => this.flushPublishes(pending));

  private constructor(publisher: Redis, subscriber: Redis, prefix: string) {
    this.publisher = publisher;
    publisher.defineCommand('boursePublishMany', { numberOfKeys: 0, lua: publishManyScript });
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

  /**
   * Publishes go out once per turn of the event loop: every message published in the turn
   * travels in one script call (in publish order), so a consumer that publishes a message
   * per user or per stream pays the client's per-command cost once per batch.
   */
  publish(channel: string, message: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pendingPublishes.add({ channel: this.prefix + channel, message, resolve, reject });
    });
  }

  private flushPublishes(pending: PendingPublish[]): void {
    for (let start = 0; start < pending.length; start += publishesPerCallMax) void this.sendPublishes(pending.slice(start, start + publishesPerCallMax));
  }

  private async sendPublishes(batch: PendingPublish[]): Promise<void> {
    try {
      if (batch.length === 1) await this.publisher.publish(batch[0]!.channel, batch[0]!.message);
      else {
        const channels = batch.map((entry) => entry.channel);
        const messages = batch.map((entry) => entry.message);
        await (this.publisher as Redis & { boursePublishMany(...args: (string | number)[]): Promise<number> }).boursePublishMany(batch.length, ...channels, ...messages);
      }
    } catch (error) {
      for (const entry of batch) entry.reject(error as Error);
      return;
    }
    for (const entry of batch) entry.resolve();
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
