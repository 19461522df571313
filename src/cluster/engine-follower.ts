// EngineFollower: a read-only replica of the engine that follows the command log and
// executes every command, exactly as the leader does (the engine is deterministic, so it
// reaches the same state and emits the same events). Gateways read balances, open orders
// and depth from it; the standby engine is one, kept hot for a takeover. It never appends:
// only the leader writes the logs.
import { decodeCommand, decodeEventBatch, encodeEventBufferRange } from '../domain/codec.ts';
import { EventBuffer, decodeEvents, type EngineEvent } from '../domain/events.ts';
import { EventType } from '../domain/codes.ts';
import type { MatchingEngine } from '../engine/types.ts';
import { EngineStateReads } from '../services/engine-reads.ts';
import type { LogRecord, RecordLog } from '../ports/log.ts';
import type { EngineReads, EventBatch, EventFeed, EventHandler } from '../services/contracts.ts';
import { createLogger, type Logger } from '../adapters/logger.ts';
import { assert } from '../lib/assert.ts';

/** Events kept in memory for subscribers that are a little behind (and for a takeover). */
export const followerRetainedEventsMax = 200_000;
/** Commands the follower reads from the log per batch. */
export const followerBatchCommandsMax = 4096;

/**
 * Events of one applied batch. A standby keeps them encoded (the event log's codec: a
 * fraction of the memory and of the CPU of objects) and decodes them only if it takes
 * over; batches delivered to subscribers are decoded once, when first needed.
 */
interface RetainedBatch {
  firstEventSequence: number;
  lastEventSequence: number;
  lastCommandSequence: number;
  count: number;
  encoded: Uint8Array | null;
  decoded: EngineEvent[] | null;
}

function eventsOf(batch: RetainedBatch): EngineEvent[] {
  if (batch.decoded === null) {
    batch.decoded = decodeEventBatch(batch.encoded!);
    batch.encoded = null;
  }
  return batch.decoded;
}

interface Waiter {
  sequence: number;
  deadlineMs: number;
  resolve: (reached: boolean) => void;
}

interface Subscriber {
  delivered: number;
  handler: EventHandler;
  pumping: boolean;
  closed: boolean;
}

export class EventsNotRetainedError extends Error {
  override name = 'EventsNotRetainedError';
}

export class EngineFollower extends EngineStateReads implements EngineReads, EventFeed {
  private readonly commandLog: RecordLog;
  private readonly logger: Logger;
  private readonly out = new EventBuffer(4096);
  private stopFollowing: (() => void) | null = null;
  private retained: RetainedBatch[] = [];
  private retainedEvents = 0;
  private readonly subscribers = new Set<Subscriber>();
  private waiters: Waiter[] = [];
  private waitTimer: NodeJS.Timeout | null = null;
  private waitTimerAtMs = Number.POSITIVE_INFINITY;
  private failure: Error | null = null;

  /**
   * `retainEvents`: keep decoded events in memory (a standby needs them for a takeover).
   * Without it, events are decoded only while someone subscribes: a gateway or consumer
   * that only reads the engine's state skips that work.
   */
  constructor(
    engine: MatchingEngine,
    commandLog: RecordLog,
    logger: Logger = createLogger('engine-follower'),
    private readonly retainEvents = true,
  ) {
    super(engine);
    this.commandLog = commandLog;
    this.logger = logger;
  }

  /** Starts following from the engine's position; resolves once it has caught up with the log's tail at call time. */
  async start(): Promise<void> {
    const tail = await this.commandLog.lastSequence();
    this.stopFollowing = this.commandLog.follow(this.engine.counters().lastCommandSequence + 1, (records) => this.apply(records), followerBatchCommandsMax);
    await this.waitFor(tail);
  }

  /** Stops following (a standby about to take over, or shutdown). */
  stop(): void {
    this.stopFollowing?.();
    this.stopFollowing = null;
    for (const subscriber of this.subscribers) subscriber.closed = true;
    this.subscribers.clear();
  }

  private apply(records: LogRecord[]): void {
    const engine = this.engine;
    const out = this.out;
    out.clear();
    let expected = engine.counters().lastCommandSequence + 1;
    let marketsChanged = false;
    for (const record of records) {
      // A redelivered record (follower restart) is already applied: skip it.
      if (record.sequence < expected) continue;
      assert(record.sequence === expected, `command log gap at the follower: expected ${expected}, got ${record.sequence}`);
      const command = decodeCommand(record.payload);
      command.sequence = record.sequence;
      engine.execute(command, out);
      expected++;
    }
    for (let index = 0; index < out.length; index++) {
      const type = out.type(index);
      if (type === EventType.MarketAdded || type === EventType.MarketHalted || type === EventType.MarketResumed || type === EventType.FeesSet) marketsChanged = true;
    }
    if (marketsChanged) this.refreshMarkets();
    if (out.length > 0 && (this.retainEvents || this.subscribers.size > 0)) {
      const hasSubscribers = this.subscribers.size > 0;
      this.retain({
        firstEventSequence: out.eventSequence(0),
        lastEventSequence: out.eventSequence(out.length - 1),
        lastCommandSequence: expected - 1,
        count: out.length,
        encoded: hasSubscribers ? null : encodeEventBufferRange(out),
        decoded: hasSubscribers ? decodeEvents(out) : null,
      });
      for (const subscriber of this.subscribers) void this.pump(subscriber);
    }
    this.releaseWaiters();
  }

  private retain(batch: RetainedBatch): void {
    this.retained.push(batch);
    this.retainedEvents += batch.count;
    let drop = 0;
    while (this.retainedEvents > followerRetainedEventsMax && drop < this.retained.length - 1) {
      this.retainedEvents -= this.retained[drop]!.count;
      drop++;
    }
    if (drop > 0) this.retained = this.retained.slice(drop);
  }

  private releaseWaiters(): void {
    if (this.waiters.length === 0) return;
    const position = this.engine.counters().lastCommandSequence;
    const still: Waiter[] = [];
    for (const waiter of this.waiters) {
      if (waiter.sequence <= position) waiter.resolve(true);
      else still.push(waiter);
    }
    this.waiters = still;
    if (still.length === 0 && this.waitTimer) {
      clearTimeout(this.waitTimer);
      this.waitTimer = null;
      this.waitTimerAtMs = Number.POSITIVE_INFINITY;
    }
  }

  /**
   * Resolves true once the follower has executed command `sequence`, or false after
   * `timeoutMs` (0: no limit). One timer serves every waiter (a gateway waits once per
   * order), set for the earliest deadline.
   */
  waitFor(sequence: number, timeoutMs = 0): Promise<boolean> {
    if (this.engine.counters().lastCommandSequence >= sequence) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const deadlineMs = timeoutMs > 0 ? performance.now() + timeoutMs : Number.POSITIVE_INFINITY;
      this.waiters.push({ sequence, deadlineMs, resolve });
      if (timeoutMs > 0 && deadlineMs < this.waitTimerAtMs) this.armWaitTimer(deadlineMs);
    });
  }

  private armWaitTimer(atMs: number): void {
    if (this.waitTimer) clearTimeout(this.waitTimer);
    this.waitTimerAtMs = atMs;
    this.waitTimer = setTimeout(() => this.expireWaiters(), Math.max(0, atMs - performance.now()));
  }

  private expireWaiters(): void {
    this.waitTimer = null;
    this.waitTimerAtMs = Number.POSITIVE_INFINITY;
    const nowMs = performance.now();
    const still: Waiter[] = [];
    let nextMs = Number.POSITIVE_INFINITY;
    for (const waiter of this.waiters) {
      if (waiter.deadlineMs <= nowMs) waiter.resolve(false);
      else {
        still.push(waiter);
        if (waiter.deadlineMs < nextMs) nextMs = waiter.deadlineMs;
      }
    }
    this.waiters = still;
    if (nextMs !== Number.POSITIVE_INFINITY) this.armWaitTimer(nextMs);
  }

  /** Events after `afterEventSequence` still in memory, in order (a takeover appends them). */
  retainedEventsAfter(afterEventSequence: number): EngineEvent[] {
    const first = this.retained[0];
    if (afterEventSequence >= this.engine.counters().lastEventSequence) return [];
    if (!first || first.firstEventSequence > afterEventSequence + 1) {
      throw new EventsNotRetainedError(`events after ${afterEventSequence} are no longer in memory (oldest ${first?.firstEventSequence ?? 'none'})`);
    }
    const events: EngineEvent[] = [];
    for (const batch of this.retained) {
      if (batch.lastEventSequence <= afterEventSequence) continue;
      for (const event of eventsOf(batch)) if (event.eventSequence > afterEventSequence) events.push(event);
    }
    return events;
  }

  // ---- EventFeed ----------------------------------------------------------------------

  subscribe(afterEventSequence: number, handler: EventHandler): () => void {
    const subscriber: Subscriber = { delivered: afterEventSequence, handler, pumping: false, closed: false };
    this.subscribers.add(subscriber);
    void this.pump(subscriber);
    return () => {
      subscriber.closed = true;
      this.subscribers.delete(subscriber);
    };
  }

  lastEventSequence(): number {
    return this.engine.counters().lastEventSequence;
  }

  private async pump(subscriber: Subscriber): Promise<void> {
    if (subscriber.pumping) return;
    subscriber.pumping = true;
    try {
      while (!subscriber.closed && subscriber.delivered < this.lastEventSequence()) {
        const first = this.retained[0];
        if (!first || first.firstEventSequence > subscriber.delivered + 1) {
          throw new EventsNotRetainedError(`subscriber at event ${subscriber.delivered} is behind the follower's memory`);
        }
        for (const batch of this.retained) {
          if (subscriber.closed) return;
          if (batch.lastEventSequence <= subscriber.delivered) continue;
          const all = eventsOf(batch);
          const events = batch.firstEventSequence > subscriber.delivered ? all : all.filter((event) => event.eventSequence > subscriber.delivered);
          const eventBatch: EventBatch = { events, lastCommandSequence: batch.lastCommandSequence };
          await subscriber.handler(eventBatch);
          subscriber.delivered = events[events.length - 1]!.eventSequence;
        }
      }
    } catch (error) {
      this.failure = error as Error;
      this.logger.error({ err: error }, 'event subscriber of the follower failed');
    } finally {
      subscriber.pumping = false;
    }
  }

  /** The last failure of a subscriber, if any (readiness). */
  lastFailure(): Error | null {
    return this.failure;
  }

}
