// A cache, rate limiter and fan-out bus. Nothing in it may move money or decide whether
// an order exists: losing its contents only costs a refill. Implementations: MemoryCache
// (embedded) and RedisCache (cluster), both run by test/contract/cache.contract.ts.

export interface TokenBucketResult {
  allowed: boolean;
  /** Tokens left after this request (floored). */
  remaining: number;
  /** When refused: milliseconds until enough tokens are back. */
  retryAfterMs: number;
}

export interface Cache {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  delete(key: string): Promise<void>;
  /** Atomically takes `cost` tokens from a bucket of `capacity` refilled at `refillPerSecond`. */
  takeTokens(key: string, capacity: number, refillPerSecond: number, cost: number, nowMs: number): Promise<TokenBucketResult>;
  /** Adds to a counter in a fixed window that expires after `windowMs`; returns the new count. */
  countInWindow(key: string, amount: number, windowMs: number): Promise<number>;
  close(): Promise<void>;
}

export interface PubSub {
  publish(channel: string, message: string): Promise<void>;
  /** Returns a function that unsubscribes. */
  subscribe(channel: string, onMessage: (message: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}
