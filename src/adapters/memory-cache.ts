// The embedded cache, rate limiter and fan-out bus: MemoryCache (values with TTLs, token
// buckets, fixed-window counters) and MemoryPubSub. Nothing here moves money or decides
// whether an order exists; losing it costs a refill. Time comes from an injectable clock,
// so tests move it by hand; entries expire lazily and the maps have named size limits.

import type { Cache, PubSub, TokenBucketResult, WindowCounterAddition } from '../ports/cache.ts';
import { createLogger, type Logger } from './logger.ts';

export const memoryCacheLimits = {
  /** Values, buckets and counters each; beyond it, expired entries are swept, then the oldest evicted. */
  entriesMax: 1_000_000,
  /**
   * Above this many entries, every insert also checks the next few entries of a rolling
   * sweep and drops the expired ones, so short-lived entries (signature uses, per-minute
   * counters) leave the heap about when they expire instead of piling up to entriesMax.
   */
  sweepAboveEntries: 4096,
  /** Entries the rolling sweep checks per insert (more than one, so it outpaces inserts). */
  sweepEntriesPerInsert: 2,
  /** Subscribers of one channel. */
  subscribersPerChannelMax: 100_000,
  /** Bytes in one published message (Redis' default is far larger; we keep messages small). */
  messageBytesMax: 8 * 1024 * 1024,
};

export type Clock = () => number;

interface Expiring {
  expiresAtMs: number;
}

interface ValueEntry extends Expiring {
  value: string;
}

interface BucketEntry extends Expiring {
  tokens: number;
  updatedAtMs: number;
}

interface CounterEntry extends Expiring {
  count: number;
}

/** A map whose entries expire at `expiresAtMs` (Infinity: never), bounded by `entriesMax`. */
class ExpiringMap<Entry extends Expiring> {
  private readonly entries = new Map<string, Entry>();
  /** Where the rolling sweep goes on (a live Map iterator: it sees later inserts and survives deletes). */
  private sweepCursor: Iterator<string> | null = null;

  constructor(private readonly now: Clock) {}

  get(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAtMs <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  set(key: string, entry: Entry): void {
    this.entries.delete(key);
    if (this.entries.size >= memoryCacheLimits.entriesMax) this.makeRoom();
    this.entries.set(key, entry);
    if (this.entries.size > memoryCacheLimits.sweepAboveEntries) this.sweepSome();
  }

  /** Checks the next sweepEntriesPerInsert entries of the rolling sweep and drops the expired ones. */
  private sweepSome(): void {
    const now = this.now();
    for (let step = 0; step < memoryCacheLimits.sweepEntriesPerInsert; step++) {
      this.sweepCursor ??= this.entries.keys();
      const next = this.sweepCursor.next();
      if (next.done === true) {
        this.sweepCursor = null;
        return;
      }
      const key = next.value;
      if (this.entries.get(key)!.expiresAtMs <= now) this.entries.delete(key);
    }
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  /** Entries held, expired ones not yet swept included. */
  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
    this.sweepCursor = null;
  }

  private makeRoom(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) if (entry.expiresAtMs <= now) this.entries.delete(key);
    // Still full: evict the oldest quarter (Map order is insertion order).
    if (this.entries.size >= memoryCacheLimits.entriesMax) {
      let evict = this.entries.size >> 2;
      for (const key of this.entries.keys()) {
        if (evict-- <= 0) break;
        this.entries.delete(key);
      }
    }
  }
}

export interface MemoryCacheOptions {
  /** Milliseconds since the epoch; defaults to Date.now. */
  now?: Clock;
}

export class MemoryCache implements Cache {
  private readonly now: Clock;
  private readonly values: ExpiringMap<ValueEntry>;
  private readonly buckets: ExpiringMap<BucketEntry>;
  private readonly counters: ExpiringMap<CounterEntry>;
  private closed = false;

  constructor(options: MemoryCacheOptions = {}) {
    this.now = options.now ?? Date.now;
    this.values = new ExpiringMap(this.now);
    this.buckets = new ExpiringMap(this.now);
    this.counters = new ExpiringMap(this.now);
  }

  async get(key: string): Promise<string | null> {
    this.checkOpen();
    return this.values.get(key)?.value ?? null;
  }

  /** Without `ttlMs` the value never expires (and a previous TTL is dropped, as Redis SET does). */
  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    this.checkOpen();
    if (ttlMs !== undefined && !(ttlMs > 0)) throw new RangeError(`ttlMs must be positive, got ${ttlMs}`);
    this.values.set(key, { value, expiresAtMs: ttlMs === undefined ? Number.POSITIVE_INFINITY : this.now() + ttlMs });
  }

  async delete(key: string): Promise<void> {
    this.checkOpen();
    this.values.delete(key);
  }

  async takeTokens(key: string, capacity: number, refillPerSecond: number, cost: number, nowMs: number): Promise<TokenBucketResult> {
    this.checkOpen();
    if (!(capacity > 0) || !(refillPerSecond > 0) || !(cost >= 0)) {
      throw new RangeError(`bad token bucket: capacity ${capacity}, refillPerSecond ${refillPerSecond}, cost ${cost}`);
    }
    const existing = this.buckets.get(key);
    let tokens = capacity;
    if (existing) {
      // Gateways' clocks differ slightly: time never runs backwards for a bucket.
      const elapsedMs = Math.max(0, nowMs - existing.updatedAtMs);
      tokens = Math.min(capacity, existing.tokens + (elapsedMs * refillPerSecond) / 1000);
    }
    const updatedAtMs = existing ? Math.max(existing.updatedAtMs, nowMs) : nowMs;
    // A full bucket needs no entry: it expires once it would have refilled completely.
    const fullInMs = (capacity * 1000) / refillPerSecond;
    if (tokens >= cost) {
      tokens -= cost;
      this.buckets.set(key, { tokens, updatedAtMs, expiresAtMs: this.now() + Math.ceil(fullInMs) });
      return { allowed: true, remaining: Math.floor(tokens), retryAfterMs: 0 };
    }
    this.buckets.set(key, { tokens, updatedAtMs, expiresAtMs: this.now() + Math.ceil(fullInMs) });
    return { allowed: false, remaining: Math.floor(tokens), retryAfterMs: Math.ceil(((cost - tokens) * 1000) / refillPerSecond) };
  }

  async countInWindow(key: string, amount: number, windowMs: number): Promise<number> {
    this.checkOpen();
    return this.addToCounter(key, amount, windowMs);
  }

  async countInWindowSteps(steps: readonly (readonly WindowCounterAddition[])[]): Promise<number[][]> {
    this.checkOpen();
    for (const step of steps) for (const addition of step) if (!(addition.windowMs > 0)) throw new RangeError(`windowMs must be positive, got ${addition.windowMs}`);
    const results: number[][] = [];
    for (const step of steps) {
      const values: number[] = new Array(step.length);
      let over = false;
      for (let index = 0; index < step.length; index++) {
        const addition = step[index]!;
        values[index] = this.addToCounter(addition.key, addition.amount, addition.windowMs);
        if (values[index]! > addition.limit) over = true;
      }
      results.push(values);
      if (over) break;
    }
    return results;
  }

  private addToCounter(key: string, amount: number, windowMs: number): number {
    if (!(windowMs > 0)) throw new RangeError(`windowMs must be positive, got ${windowMs}`);
    let entry = this.counters.get(key);
    if (!entry) {
      entry = { count: 0, expiresAtMs: this.now() + windowMs };
      this.counters.set(key, entry);
    }
    entry.count += amount;
    return entry.count;
  }

  /** Entries held per map, expired ones not yet swept included (tests, memory checks). */
  entryCounts(): { values: number; buckets: number; counters: number } {
    return { values: this.values.size, buckets: this.buckets.size, counters: this.counters.size };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.values.clear();
    this.buckets.clear();
    this.counters.clear();
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('cache is closed');
  }
}

/** The in-process message bus several MemoryPubSub instances can share (one per simulated gateway). */
export class MemoryBus {
  readonly channels = new Map<string, Set<(message: string) => void>>();
}

interface Subscription {
  channel: string;
  active: boolean;
  handler: (message: string) => void;
}

export class MemoryPubSub implements PubSub {
  private readonly owned = new Set<Subscription>();
  private closed = false;

  constructor(
    private readonly bus: MemoryBus = new MemoryBus(),
    private readonly logger: Logger = createLogger('memory-pubsub'),
  ) {}

  /**
   * Delivers to every subscriber of the channel after the current call stack (like a
   * network bus), in publish order. A throwing subscriber is logged and skipped.
   */
  async publish(channel: string, message: string): Promise<void> {
    if (this.closed) throw new Error('pubsub is closed');
    if (message.length > memoryCacheLimits.messageBytesMax) throw new RangeError(`message of ${message.length} characters exceeds ${memoryCacheLimits.messageBytesMax}`);
    const subscribers = this.bus.channels.get(channel);
    if (!subscribers || subscribers.size === 0) return;
    const targets = [...subscribers];
    queueMicrotask(() => {
      for (const handler of targets) {
        try {
          handler(message);
        } catch (error) {
          this.logger.error({ err: error, channel }, 'pubsub subscriber threw');
        }
      }
    });
  }

  async subscribe(channel: string, onMessage: (message: string) => void): Promise<() => Promise<void>> {
    if (this.closed) throw new Error('pubsub is closed');
    let subscribers = this.bus.channels.get(channel);
    if (!subscribers) {
      subscribers = new Set();
      this.bus.channels.set(channel, subscribers);
    }
    if (subscribers.size >= memoryCacheLimits.subscribersPerChannelMax) throw new RangeError(`channel ${channel} has ${subscribers.size} subscribers already`);
    // Each subscription gets its own function, so one handler subscribed twice is two
    // subscriptions; `active` also silences messages already queued when it ends.
    const subscription: Subscription = { channel, active: true, handler: (message) => subscription.active && onMessage(message) };
    subscribers.add(subscription.handler);
    this.owned.add(subscription);
    return async () => this.remove(subscription);
  }

  private remove(subscription: Subscription): void {
    subscription.active = false;
    this.owned.delete(subscription);
    const subscribers = this.bus.channels.get(subscription.channel);
    if (!subscribers) return;
    subscribers.delete(subscription.handler);
    if (subscribers.size === 0) this.bus.channels.delete(subscription.channel);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const subscription of [...this.owned]) this.remove(subscription);
  }
}
