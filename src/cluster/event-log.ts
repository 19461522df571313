// The event log of cluster mode: one JetStream record per engine event, so record
// sequence N IS event sequence N (both start at 1 and have no gaps) and a consumer resumes
// from its own position with one lookup. The leader appends with the log's expected last
// sequence (a deposed leader's append is refused); consumers read it as an EventFeed.
import { decodeEventBatch, encodeEventBatch } from '../domain/codec.ts';
import type { EngineEvent } from '../domain/events.ts';
import type { LogRecord, RecordLog } from '../ports/log.ts';
import type { EventBatch, EventFeed, EventHandler } from '../services/contracts.ts';
import { createLogger } from '../adapters/logger.ts';
import { assert } from '../lib/assert.ts';

/** Event records per append call (one group commit may still carry several calls). */
export const eventRecordsPerAppendMax = 4096;
/** Appends the publisher may have in flight before it waits (bounds its memory). */
export const publisherAppendsInFlightMax = 64;
/** How often a consumer refreshes the log's last event sequence (lastEventSequence()). */
export const tailPollMs = 200;
/** Events a consumer receives per batch. */
export const consumerBatchEventsMax = 1024;

const log = createLogger('event-log');

export function encodeEventRecord(event: EngineEvent): Uint8Array {
  return encodeEventBatch([event]);
}

export function decodeEventRecord(record: LogRecord): EngineEvent {
  const events = decodeEventBatch(record.payload);
  assert(events.length === 1, `event record ${record.sequence} holds ${events.length} events`);
  const event = events[0]!;
  assert(event.eventSequence === record.sequence, `event record ${record.sequence} holds event ${event.eventSequence}`);
  return event;
}

/**
 * Appends events in order with fencing, without waiting for one append before queueing the
 * next (the log group-commits what is queued). `onFailure` runs once if an append fails:
 * the leader must stop, because its events can no longer be published in order.
 */
export class EventLogPublisher {
  private tail: number;
  private readonly inFlight = new Set<Promise<unknown>>();
  private failed: Error | null = null;

  constructor(
    private readonly eventLog: RecordLog,
    lastEventSequence: number,
    private readonly onFailure: (error: Error) => void,
  ) {
    this.tail = lastEventSequence;
  }

  /** The last event sequence queued (durable once `flush` resolves). */
  queuedThrough(): number {
    return this.tail;
  }

  async publish(events: EngineEvent[]): Promise<void> {
    if (this.failed) throw this.failed;
    let index = 0;
    // Events the log already has (a replayed batch after a takeover) are skipped.
    while (index < events.length && events[index]!.eventSequence <= this.tail) index++;
    while (index < events.length) {
      const chunk = events.slice(index, index + eventRecordsPerAppendMax);
      index += chunk.length;
      assert(chunk[0]!.eventSequence === this.tail + 1, `event ${chunk[0]!.eventSequence} does not follow ${this.tail}`);
      const expected = this.tail;
      this.tail += chunk.length;
      const append = this.eventLog.append(chunk.map(encodeEventRecord), expected).then(
        () => undefined,
        (error: Error) => {
          if (!this.failed) {
            this.failed = error;
            log.fatal({ err: error }, 'event log append failed');
            this.onFailure(error);
          }
        },
      );
      this.inFlight.add(append);
      void append.finally(() => this.inFlight.delete(append));
      while (this.inFlight.size >= publisherAppendsInFlightMax) await Promise.race(this.inFlight);
    }
  }

  /** Resolves when everything queued is durable (or has failed). */
  async flush(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
    if (this.failed) throw this.failed;
  }
}

/** An EventFeed over the event log, for consumers in their own processes. */
export class LogEventFeed implements EventFeed {
  private last = 0;
  private readonly poller: NodeJS.Timeout;

  private constructor(private readonly eventLog: RecordLog, initial: number) {
    this.last = initial;
    this.poller = setInterval(() => {
      this.eventLog.lastSequence().then(
        (sequence) => {
          if (sequence > this.last) this.last = sequence;
        },
        () => undefined,
      );
    }, tailPollMs);
    this.poller.unref();
  }

  static async open(eventLog: RecordLog): Promise<LogEventFeed> {
    return new LogEventFeed(eventLog, await eventLog.lastSequence());
  }

  subscribe(afterEventSequence: number, handler: EventHandler): () => void {
    return this.eventLog.follow(
      afterEventSequence + 1,
      async (records) => {
        const events = records.map(decodeEventRecord);
        const lastEvent = events[events.length - 1]!;
        if (lastEvent.eventSequence > this.last) this.last = lastEvent.eventSequence;
        const batch: EventBatch = { events, lastCommandSequence: lastEvent.commandSequence };
        await handler(batch);
      },
      consumerBatchEventsMax,
    );
  }

  lastEventSequence(): number {
    return this.last;
  }

  close(): void {
    clearInterval(this.poller);
  }
}
