// The engine host: the one writer that turns submitted commands into durable, sequenced,
// executed commands. It keeps "no acknowledged command is lost": a submitter is answered
// only after its command is fsynced in the command log (group commit: while one append is
// in flight the next batch queues) and executed in log order. It also feeds consumers
// (EventFeed), serves reads from the engine's state, takes periodic snapshots and
// recovers on start from the newest valid snapshot plus the journal tail.
import type { Command } from '../../domain/command.ts';
import { EventBuffer, decodeEvents, type EngineEvent } from '../../domain/events.ts';
import type { RecordLog } from '../../ports/log.ts';
import type { MatchingEngine } from '../../engine/types.ts';
import { EngineStateReads } from '../engine-reads.ts';
import {
  CommandTimeoutError,
  type CommandBus,
  type CommandResult,
  type EngineReads,
  type EventBatch,
  type EventFeed,
  type EventHandler,
} from '../contracts.ts';
import { createLogger, type Logger } from '../../adapters/logger.ts';
import { assert } from '../../lib/assert.ts';

/** Encodes commands for the log; the log's sequence is put back on decode. */
export interface CommandCodec {
  encode(command: Command): Uint8Array;
  decode(payload: Uint8Array): Command;
}

export interface SnapshotInfo {
  commandSequence: number;
  eventSequence: number;
}

/** What the host needs from a snapshot store (main.ts adapts the real one to this). */
export interface EngineSnapshotStore {
  save(info: SnapshotInfo, bytes: Uint8Array): Promise<void>;
  /** Snapshots that exist, newest first (they may still fail their checksum on load). */
  list(): Promise<SnapshotInfo[]>;
  /** The snapshot's bytes, or null when it fails its checksum. */
  load(info: SnapshotInfo): Promise<Uint8Array | null>;
}

export class EngineHostStoppedError extends Error {
  override name = 'EngineHostStoppedError';
}

export class EngineOverloadedError extends Error {
  override name = 'EngineOverloadedError';
}

export interface EngineHostOptions {
  createEngine: () => MatchingEngine;
  commandLog: RecordLog;
  codec: CommandCodec;
  snapshots?: EngineSnapshotStore | null;
  snapshotEveryCommands?: number;
  snapshotIntervalMs?: number;
  commandTimeoutMs?: number;
  /** Commands per append. */
  batchCommandsMax?: number;
  /** Appends in flight at once; the log groups them into its fsyncs. */
  appendsInFlightMax?: number;
  /** Commands waiting for an append; submits beyond it are refused (backpressure). */
  queueCommandsMax?: number;
  /** Recent events kept in memory for consumers that are a little behind. */
  retainedEventsMax?: number;
  /** Commands read from the log per replay batch. */
  replayBatchCommandsMax?: number;
  /**
   * Events handed to a consumer in one batch when several retained batches are waiting.
   * Consumers translate a delivery synchronously on the main thread (the ledger builds its
   * rows, the notifier its reports), so this bounds how long one delivery stalls the order
   * path; per-row database work dominates beyond a few hundred events, so larger
   * deliveries buy little (bench/RESULTS.md, API).
   */
  deliveryEventsMax?: number;
  clock?: () => number;
  logger?: Logger;
  /** Called after each executed batch with its size and time (metrics; see src/adapters/metrics.ts). */
  onBatchExecuted?: (commands: number, seconds: number) => void;
}

export const engineHostDefaults = {
  snapshotEveryCommands: 100_000,
  snapshotIntervalMs: 60_000,
  commandTimeoutMs: 5000,
  batchCommandsMax: 4096,
  appendsInFlightMax: 8,
  queueCommandsMax: 200_000,
  retainedEventsMax: 200_000,
  replayBatchCommandsMax: 4096,
  deliveryEventsMax: 2_000,
};

class PendingCommand {
  settled = false;
  /** performance.now() after which the submitter is answered "status unknown". */
  deadlineMs = 0;
  resolve: (result: CommandResult) => void = noAnswer;
  reject: (error: Error) => void = noAnswer;

  constructor(readonly command: Command) {}
}

function noAnswer(): void {}

/** Settled commands a DeadlineQueue drops from its head before it compacts its array. */
const deadlineQueueCompactAfter = 1024;

/**
 * The unanswered commands of one timeout length, in submission order, hence in deadline
 * order: one timer per queue (armed for the oldest deadline) instead of one per command.
 * Answered commands are dropped from the head as batches execute (execution follows
 * submission order), so the queue holds about the commands in flight.
 */
class DeadlineQueue {
  private pendings: PendingCommand[] = [];
  private head = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    readonly timeoutMs: number,
    private readonly onTimeout: (pending: PendingCommand, timeoutMs: number) => void,
  ) {}

  add(pending: PendingCommand): void {
    pending.deadlineMs = performance.now() + this.timeoutMs;
    this.pendings.push(pending);
    if (this.timer === null) this.arm(this.timeoutMs);
  }

  /** Drops answered commands from the head; stops the timer once nothing is left. */
  dropSettled(): void {
    const pendings = this.pendings;
    let head = this.head;
    while (head < pendings.length && pendings[head]!.settled) pendings[head++] = undefined as unknown as PendingCommand;
    this.head = head;
    if (head === pendings.length) {
      this.pendings = [];
      this.head = 0;
      if (this.timer !== null) {
        clearTimeout(this.timer);
        this.timer = null;
      }
    } else if (head > deadlineQueueCompactAfter && head * 2 > pendings.length) {
      this.pendings = pendings.slice(head);
      this.head = 0;
    }
  }

  private arm(delayMs: number): void {
    this.timer = setTimeout(() => this.expire(), Math.max(1, Math.ceil(delayMs)));
  }

  /** Answers the commands whose deadline passed, then re-arms for the oldest one left. */
  private expire(): void {
    this.timer = null;
    const nowMs = performance.now();
    const pendings = this.pendings;
    while (this.head < pendings.length) {
      const pending = pendings[this.head]!;
      if (!pending.settled && pending.deadlineMs > nowMs) break;
      if (!pending.settled) this.onTimeout(pending, this.timeoutMs);
      pendings[this.head++] = undefined as unknown as PendingCommand;
    }
    this.dropSettled();
    if (this.head < this.pendings.length) this.arm(this.pendings[this.head]!.deadlineMs - nowMs);
  }
}

interface InFlightAppend {
  batch: PendingCommand[];
  firstSequence: number;
  durable: boolean;
}

interface RetainedBatch {
  firstEventSequence: number;
  lastEventSequence: number;
  lastCommandSequence: number;
  events: EngineEvent[];
}

interface Subscriber {
  deliveredEventSequence: number;
  handler: EventHandler;
  pumping: boolean;
  closed: boolean;
}

export class EngineHost extends EngineStateReads implements CommandBus, EventFeed, EngineReads {
  private readonly options: Required<Omit<EngineHostOptions, 'snapshots' | 'logger' | 'onBatchExecuted'>> & { snapshots: EngineSnapshotStore | null };
  private readonly onBatchExecuted: ((commands: number, seconds: number) => void) | null;
  private readonly logger: Logger;
  private readonly out = new EventBuffer(4096);
  private queue: PendingCommand[] = [];
  /** Appends not yet executed, in log order. */
  private inFlight: InFlightAppend[] = [];
  private flushScheduled = false;
  private readonly scheduledFlush = (): void => {
    this.flushScheduled = false;
    this.flush();
  };
  /** The last sequence handed to the log (appended or in flight). */
  private lastAppendedSequence: number;
  private lastTimestampMs = 0;
  private failure: Error | null = null;
  private stopping = false;
  private drainWaiters: (() => void)[] = [];
  private submittedCount = 0;
  private executedCount = 0;
  private settleWaiters: { target: number; resolve: () => void }[] = [];
  private retained: RetainedBatch[] = [];
  private retainedHead = 0;
  private retainedEvents = 0;
  private readonly subscribers = new Set<Subscriber>();
  /** Unanswered commands by timeout length (usually one length: the configured timeout). */
  private readonly deadlines = new Map<number, DeadlineQueue>();
  private readonly timeOut = (pending: PendingCommand, timeoutMs: number): void => {
    pending.settled = true;
    pending.reject(new CommandTimeoutError(`no engine result within ${timeoutMs} ms; execution status unknown`));
  };
  private commandsSinceSnapshot = 0;
  private lastSnapshotAtMs: number;
  private snapshotInFlight: Promise<void> | null = null;
  private snapshotTimer: ReturnType<typeof setInterval> | null = null;
  private constructor(engine: MatchingEngine, options: EngineHostOptions, lastAppendedSequence: number) {
    super(engine);
    this.options = {
      ...engineHostDefaults,
      clock: Date.now,
      ...options,
      snapshots: options.snapshots ?? null,
    } as EngineHost['options'];
    this.logger = options.logger ?? createLogger('engine-host');
    this.onBatchExecuted = options.onBatchExecuted ?? null;
    this.lastAppendedSequence = lastAppendedSequence;
    this.lastSnapshotAtMs = this.options.clock();
  }

  /** Recovers the engine (newest valid snapshot + journal tail) and starts the host. */
  static async start(options: EngineHostOptions): Promise<EngineHost> {
    const logger = options.logger ?? createLogger('engine-host');
    const startedAtMs = Date.now();
    const { engine, snapshotCommandSequence } = await EngineHost.restoreNewest(options, logger, Number.MAX_SAFE_INTEGER);
    const lastSequence = await options.commandLog.lastSequence();
    const counters = engine.counters();
    if (counters.lastCommandSequence > lastSequence) {
      throw new Error(
        `snapshot at command ${counters.lastCommandSequence} is ahead of the command log (last ${lastSequence}): refusing to start on a state the log cannot explain`,
      );
    }
    const replayed = await EngineHost.replay(engine, options, lastSequence, null);
    const host = new EngineHost(engine, options, lastSequence);
    host.lastTimestampMs = replayed.lastTimestampMs;
    host.startSnapshotTimer();
    logger.info(
      { snapshotCommandSequence, replayedCommands: replayed.commands, lastCommandSequence: lastSequence, recoveryMs: Date.now() - startedAtMs },
      'engine recovered',
    );
    return host;
  }

  /** Restores the newest snapshot that loads and whose event sequence is <= maxEventSequence. */
  private static async restoreNewest(
    options: EngineHostOptions,
    logger: Logger,
    maxEventSequence: number,
  ): Promise<{ engine: MatchingEngine; snapshotCommandSequence: number }> {
    const store = options.snapshots ?? null;
    if (store) {
      for (const info of await store.list()) {
        if (info.eventSequence > maxEventSequence) continue;
        const bytes = await store.load(info);
        if (!bytes) {
          logger.warn({ snapshot: info }, 'snapshot failed its checksum; trying an older one');
          continue;
        }
        const engine = options.createEngine();
        try {
          engine.restore(bytes);
        } catch (error) {
          logger.warn({ snapshot: info, err: error }, 'snapshot could not be restored; trying an older one');
          continue;
        }
        const counters = engine.counters();
        if (counters.lastCommandSequence !== info.commandSequence || counters.lastEventSequence !== info.eventSequence) {
          logger.warn({ snapshot: info, counters }, 'snapshot content disagrees with its name; trying an older one');
          continue;
        }
        return { engine, snapshotCommandSequence: info.commandSequence };
      }
    }
    return { engine: options.createEngine(), snapshotCommandSequence: 0 };
  }

  /**
   * Replays commands from the engine's position up to `untilSequence`. With `onEvents`, the
   * decoded events of each replay batch are handed over (consumer catch-up).
   */
  private static async replay(
    engine: MatchingEngine,
    options: EngineHostOptions,
    untilSequence: number,
    onEvents: ((events: EngineEvent[], lastCommandSequence: number) => Promise<boolean>) | null,
  ): Promise<{ commands: number; lastTimestampMs: number }> {
    const batchMax = options.replayBatchCommandsMax ?? engineHostDefaults.replayBatchCommandsMax;
    const out = new EventBuffer(4096);
    let commands = 0;
    let lastTimestampMs = 0;
    let next = engine.counters().lastCommandSequence + 1;
    while (next <= untilSequence) {
      const records = await options.commandLog.read(next, Math.min(batchMax, untilSequence - next + 1));
      if (records.length === 0) throw new Error(`command log ends at ${next - 1}, expected records up to ${untilSequence}`);
      out.clear();
      for (const record of records) {
        assert(record.sequence === next, `command log gap: expected ${next}, read ${record.sequence}`);
        const command = options.codec.decode(record.payload);
        command.sequence = record.sequence;
        lastTimestampMs = command.timestampMs;
        engine.execute(command, out);
        next++;
        commands++;
      }
      if (onEvents) {
        const keepGoing = await onEvents(decodeEvents(out), next - 1);
        if (!keepGoing) break;
      }
    }
    return { commands, lastTimestampMs };
  }

  // ---- CommandBus ---------------------------------------------------------------------

  submit(command: Command, timeoutMs = this.options.commandTimeoutMs): Promise<CommandResult> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.stopping) return Promise.reject(new EngineHostStoppedError('the engine host is shutting down'));
    if (this.queue.length >= this.options.queueCommandsMax) {
      return Promise.reject(new EngineOverloadedError(`command queue is full (${this.options.queueCommandsMax})`));
    }
    const pending = new PendingCommand(command);
    const answer = new Promise<CommandResult>((resolve, reject) => {
      pending.resolve = resolve;
      pending.reject = reject;
    });
    let deadlines = this.deadlines.get(timeoutMs);
    if (deadlines === undefined) {
      deadlines = new DeadlineQueue(timeoutMs, this.timeOut);
      this.deadlines.set(timeoutMs, deadlines);
    }
    deadlines.add(pending);
    this.queue.push(pending);
    this.submittedCount++;
    // Submits of the same tick share a batch: flush once the current task is done.
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(this.scheduledFlush);
    }
    return answer;
  }

  /**
   * Appends queued commands as batches, up to `appendsInFlightMax` appends at once (the log
   * groups appends that arrive during an fsync into its next one). Batches execute strictly
   * in log order, each only once its own append is durable.
   */
  private flush(): void {
    while (this.queue.length > 0 && this.inFlight.length < this.options.appendsInFlightMax && !this.failure) {
      const batch = this.queue.length <= this.options.batchCommandsMax ? this.queue : this.queue.slice(0, this.options.batchCommandsMax);
      this.queue = batch === this.queue ? [] : this.queue.slice(batch.length);
      // Timestamps never go backwards in log order, whatever the wall clock does.
      const nowMs = Math.max(this.options.clock(), this.lastTimestampMs);
      this.lastTimestampMs = nowMs;
      const payloads: Uint8Array[] = new Array(batch.length);
      for (let index = 0; index < batch.length; index++) {
        const command = batch[index]!.command;
        command.timestampMs = nowMs;
        command.sequence = 0;
        payloads[index] = this.options.codec.encode(command);
      }
      const firstSequence = this.lastAppendedSequence + 1;
      const inFlight: InFlightAppend = { batch, firstSequence, durable: false };
      this.inFlight.push(inFlight);
      this.options.commandLog.append(payloads, this.lastAppendedSequence).then(
        (result) => {
          assert(result.firstSequence === firstSequence, `log assigned ${result.firstSequence}, expected ${firstSequence}`);
          inFlight.durable = true;
          this.executeDurable();
        },
        (error: unknown) => this.fail(error instanceof Error ? error : new Error(String(error)), batch),
      );
      this.lastAppendedSequence += batch.length;
    }
    if (this.inFlight.length === 0 && this.queue.length === 0) this.notifyDrained();
  }

  /** Executes durable batches from the head of the in-flight list, in log order. */
  private executeDurable(): void {
    while (this.inFlight.length > 0 && this.inFlight[0]!.durable) {
      const done = this.inFlight.shift()!;
      // Start the next append before executing so disk and CPU overlap.
      this.flush();
      this.execute(done.batch, done.firstSequence);
    }
    if (this.inFlight.length === 0 && this.queue.length === 0) this.notifyDrained();
  }

  private execute(batch: PendingCommand[], firstSequence: number): void {
    // One clock read per batch, and only when someone observes batches (metrics).
    const startedMs = this.onBatchExecuted === null ? 0 : performance.now();
    const engine = this.engine;
    const out = this.out;
    const allEvents: EngineEvent[] = [];
    let marketsChanged = false;
    for (let index = 0; index < batch.length; index++) {
      const pending = batch[index]!;
      const command = pending.command;
      command.sequence = firstSequence + index;
      out.clear();
      engine.execute(command, out);
      const events = decodeEvents(out);
      for (const event of events) {
        allEvents.push(event);
        if (event.type === 'MarketAdded' || event.type === 'MarketHalted' || event.type === 'MarketResumed' || event.type === 'FeesSet') marketsChanged = true;
      }
      if (!pending.settled) {
        pending.settled = true;
        pending.resolve({ sequence: command.sequence, events });
      }
    }
    if (marketsChanged) this.refreshMarkets();
    for (const deadlines of this.deadlines.values()) deadlines.dropSettled();
    this.executedCount += batch.length;
    if (this.settleWaiters.length > 0) {
      const executed = this.executedCount;
      const waiting = this.settleWaiters;
      this.settleWaiters = waiting.filter((waiter) => waiter.target > executed);
      for (const waiter of waiting) if (waiter.target <= executed) waiter.resolve();
    }
    const lastCommandSequence = firstSequence + batch.length - 1;
    if (allEvents.length > 0) {
      this.retain({
        firstEventSequence: allEvents[0]!.eventSequence,
        lastEventSequence: allEvents[allEvents.length - 1]!.eventSequence,
        lastCommandSequence,
        events: allEvents,
      });
    }
    for (const subscriber of this.subscribers) void this.pump(subscriber);
    this.commandsSinceSnapshot += batch.length;
    if (this.commandsSinceSnapshot >= this.options.snapshotEveryCommands) void this.takeSnapshot();
    if (this.onBatchExecuted !== null) this.onBatchExecuted(batch.length, (performance.now() - startedMs) / 1000);
  }

  private fail(error: Error, batch: PendingCommand[]): void {
    this.failure = error;
    this.logger.fatal({ err: error }, 'command log append failed: the engine host stops accepting commands');
    const inFlight = this.inFlight.flatMap((append) => append.batch);
    this.inFlight = [];
    for (const pending of [...batch, ...inFlight, ...this.queue]) {
      if (!pending.settled) {
        pending.settled = true;
        pending.reject(error);
      }
    }
    this.queue = [];
    for (const deadlines of this.deadlines.values()) deadlines.dropSettled();
    this.notifyDrained();
    for (const waiter of this.settleWaiters) waiter.resolve();
    this.settleWaiters = [];
  }

  /**
   * Resolves once every command submitted before this call has been executed (or the host
   * failed). A lookup after an "unknown status" answer uses it: by then the command has
   * either run or will never run.
   */
  settled(): Promise<void> {
    if (this.executedCount >= this.submittedCount || this.failure) return Promise.resolve();
    return new Promise((resolve) => this.settleWaiters.push({ target: this.submittedCount, resolve }));
  }

  private notifyDrained(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const waiter of waiters) waiter();
  }

  // ---- EventFeed ----------------------------------------------------------------------

  private retain(batch: RetainedBatch): void {
    this.retained.push(batch);
    this.retainedEvents += batch.events.length;
    while (this.retainedEvents > this.options.retainedEventsMax && this.retained.length - this.retainedHead > 1) {
      this.retainedEvents -= this.retained[this.retainedHead]!.events.length;
      this.retained[this.retainedHead] = undefined as unknown as RetainedBatch;
      this.retainedHead++;
    }
    if (this.retainedHead > 1024 && this.retainedHead * 2 > this.retained.length) {
      this.retained = this.retained.slice(this.retainedHead);
      this.retainedHead = 0;
    }
  }

  /** Retained batches holding events after `position`, or null when memory no longer reaches back that far. */
  private retainedAfter(position: number): RetainedBatch[] | null {
    const retained = this.retained;
    if (this.retainedHead >= retained.length) return null;
    if (retained[this.retainedHead]!.firstEventSequence > position + 1) return null;
    let low = this.retainedHead;
    let high = retained.length - 1;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (retained[middle]!.lastEventSequence <= position) low = middle + 1;
      else high = middle;
    }
    return retained.slice(low);
  }

  subscribe(afterEventSequence: number, handler: EventHandler): () => void {
    const subscriber: Subscriber = { deliveredEventSequence: afterEventSequence, handler, pumping: false, closed: false };
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

  /**
   * Delivers everything after the subscriber's position, one batch at a time, each awaited.
   * Recent events come from memory; older ones are regenerated by replaying the journal
   * into a scratch engine (the engine is deterministic, so they are the same events).
   */
  private async pump(subscriber: Subscriber): Promise<void> {
    if (subscriber.pumping) return;
    subscriber.pumping = true;
    try {
      while (!subscriber.closed && subscriber.deliveredEventSequence < this.lastEventSequence()) {
        const batches = this.retainedAfter(subscriber.deliveredEventSequence);
        if (batches === null) {
          await this.catchUpFromJournal(subscriber);
          continue;
        }
        // Batches that piled up while the consumer was busy go out together (up to a
        // bound), so a slow consumer catches up in fewer, larger transactions.
        let index = 0;
        while (index < batches.length && !subscriber.closed) {
          let events = batches[index]!.events;
          let lastCommandSequence = batches[index]!.lastCommandSequence;
          index++;
          if (index < batches.length && events.length < this.options.deliveryEventsMax) {
            events = events.slice();
            while (index < batches.length && events.length + batches[index]!.events.length <= this.options.deliveryEventsMax) {
              for (const event of batches[index]!.events) events.push(event);
              lastCommandSequence = batches[index]!.lastCommandSequence;
              index++;
            }
          }
          await this.deliver(subscriber, events, lastCommandSequence);
        }
      }
    } catch (error) {
      this.logger.error({ err: error }, 'event consumer failed; it will be retried on the next batch');
    } finally {
      subscriber.pumping = false;
    }
  }

  private async deliver(subscriber: Subscriber, events: EngineEvent[], lastCommandSequence: number): Promise<void> {
    const after = subscriber.deliveredEventSequence;
    let fresh = events;
    if (events.length > 0 && events[0]!.eventSequence <= after) fresh = events.filter((event) => event.eventSequence > after);
    if (fresh.length === 0) return;
    const batch: EventBatch = { events: fresh, lastCommandSequence };
    await subscriber.handler(batch);
    subscriber.deliveredEventSequence = fresh[fresh.length - 1]!.eventSequence;
  }

  private async catchUpFromJournal(subscriber: Subscriber): Promise<void> {
    const { engine } = await EngineHost.restoreNewest(this.options, this.logger, subscriber.deliveredEventSequence);
    this.logger.info(
      { from: subscriber.deliveredEventSequence, snapshotEvent: engine.counters().lastEventSequence },
      'consumer is behind memory: replaying the journal for it',
    );
    await EngineHost.replay(engine, this.options, this.engine.counters().lastCommandSequence, async (events, lastCommandSequence) => {
      if (subscriber.closed) return false;
      await this.deliver(subscriber, events, lastCommandSequence);
      // Stop as soon as memory reaches back to where the subscriber is.
      return this.retainedAfter(subscriber.deliveredEventSequence) === null;
    });
  }

  // ---- Inspection (admin, tests) ------------------------------------------------------

  /** The engine's full state view, read-only by convention (tests, invariant checks). */
  stateView(): MatchingEngine {
    return this.engine;
  }

  // ---- Snapshots and shutdown ---------------------------------------------------------

  private startSnapshotTimer(): void {
    if (!this.options.snapshots) return;
    const period = Math.max(100, Math.min(this.options.snapshotIntervalMs, 10_000));
    this.snapshotTimer = setInterval(() => {
      if (this.commandsSinceSnapshot > 0 && this.options.clock() - this.lastSnapshotAtMs >= this.options.snapshotIntervalMs) void this.takeSnapshot();
    }, period);
    this.snapshotTimer.unref();
  }

  /** Snapshots the engine between batches (execution is synchronous, so the state is whole). */
  takeSnapshot(): Promise<void> {
    const store = this.options.snapshots;
    if (!store) return Promise.resolve();
    if (this.snapshotInFlight) return this.snapshotInFlight;
    const counters = this.engine.counters();
    const info: SnapshotInfo = { commandSequence: counters.lastCommandSequence, eventSequence: counters.lastEventSequence };
    const bytes = this.engine.snapshot();
    this.commandsSinceSnapshot = 0;
    this.lastSnapshotAtMs = this.options.clock();
    this.snapshotInFlight = store
      .save(info, bytes)
      .then(
        () => this.logger.info({ snapshot: info, bytes: bytes.length }, 'snapshot saved'),
        (error: unknown) => this.logger.error({ err: error, snapshot: info }, 'snapshot failed (the journal still has everything)'),
      )
      .finally(() => {
        this.snapshotInFlight = null;
      });
    return this.snapshotInFlight;
  }

  /** Stops accepting, waits until every queued command is durable and executed, snapshots. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.inFlight.length > 0 || this.queue.length > 0) await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
    if (this.snapshotTimer) clearInterval(this.snapshotTimer);
    if (this.snapshotInFlight) await this.snapshotInFlight;
    if (this.commandsSinceSnapshot > 0 && !this.failure) await this.takeSnapshot();
    for (const subscriber of this.subscribers) subscriber.closed = true;
    this.subscribers.clear();
  }
}
