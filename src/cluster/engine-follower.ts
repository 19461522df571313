// EngineFollower: a read-only replica of the engine that follows the command log and
// executes every command, exactly as the leader does (the engine is deterministic, so it
// reaches the same state and emits the same events). Gateways read balances, open orders
// and depth from it; the standby engine is one, kept hot for a takeover. It never appends:
// only the leader writes the logs.
import { decodeCommand } from '../domain/codec.ts';
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

interface RetainedBatch {
  firstEventSequence: number;
  lastEventSequence: number;
  lastCommandSequence: number;
  events: EngineEvent[];
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
  private waiters: { sequence: number; resolve: () => void }[] = [];
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
      const events = decodeEvents(out);
      this.retain({
        firstEventSequence: events[0]!.eventSequence,
        lastEventSequence: events[events.length - 1]!.eventSequence,
        lastCommandSequence: expected - 1,
        events,
      });
      for (const subscriber of this.subscribers) void this.pump(subscriber);
    }
    this.releaseWaiters();
  }

  private retain(batch: RetainedBatch): void {
    this.retained.push(batch);
    this.retainedEvents += batch.events.length;
    let drop = 0;
    while (this.retainedEvents > followerRetainedEventsMax && drop < this.retained.length - 1) {
      this.retainedEvents -= this.retained[drop]!.events.length;
      drop++;
    }
    if (drop > 0) this.retained = this.retained.slice(drop);
  }

  private releaseWaiters(): void {
    const position = this.engine.counters().lastCommandSequence;
    if (this.waiters.length === 0) return;
    const still: typeof this.waiters = [];
    for (const waiter of this.waiters) {
      if (waiter.sequence <= position) waiter.resolve();
      else still.push(waiter);
    }
    this.waiters = still;
  }

  /** Resolves once the follower has executed command `sequence` (or after `timeoutMs`, resolving false). */
  waitFor(sequence: number, timeoutMs = 0): Promise<boolean> {
    if (this.engine.counters().lastCommandSequence >= sequence) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      let timer: NodeJS.Timeout | null = null;
      const waiter = {
        sequence,
        resolve: () => {
          if (timer) clearTimeout(timer);
          resolve(true);
        },
      };
      this.waiters.push(waiter);
      if (timeoutMs > 0) {
        timer = setTimeout(() => {
          this.waiters = this.waiters.filter((candidate) => candidate !== waiter);
          resolve(false);
        }, timeoutMs);
      }
    });
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
      for (const event of batch.events) if (event.eventSequence > afterEventSequence) events.push(event);
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
          const events = batch.firstEventSequence > subscriber.delivered ? batch.events : batch.events.filter((event) => event.eventSequence > subscriber.delivered);
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
