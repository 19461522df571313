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
  /**
   * Adds to window counters step by step, atomically: the counters of each step are added
   * to (as countInWindow would), and when any of them then exceeds its `limit` the later
   * steps are left untouched. Returns one array of new values per step counted, so a
   * shorter answer means the last step returned went over a limit.
   */
  countInWindowSteps(steps: readonly (readonly WindowCounterAddition[])[]): Promise<number[][]>;
  close(): Promise<void>;
}

/** One addition of a countInWindowSteps step; `limit` may be Infinity (never stops). */
export interface WindowCounterAddition {
  key: string;
  amount: number;
  windowMs: number;
  limit: number;
}

export interface PubSub {
  publish(channel: string, message: string): Promise<void>;
  /** Returns a function that unsubscribes. */
  subscribe(channel: string, onMessage: (message: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}
