// The reference RecordLog: records in an array, durable as soon as they are appended.
// It is what the contract suite checks every other log against, and it owns the pieces
// every in-process log shares: the named limits and the follow loop (each batch awaited
// before the next; a handler that throws gets the same batch again after a backoff).

import { LogFencedError, type AppendResult, type LogRecord, type RecordLog } from '../ports/log.ts';
import { createLogger, type Logger } from './logger.ts';

/** Limits every RecordLog implementation enforces the same way (the contract suite checks them). */
export const logLimits = {
  /** Bytes in one record's payload (stays under NATS's default 1 MiB message size). */
  recordBytesMax: 1_000_000,
  /** Records in one append call. */
  appendRecordsMax: 10_000,
  /** Bytes in one append call, all payloads together. */
  appendBytesMax: 16 * 1024 * 1024,
  /** Records one follow batch carries when the caller does not say. */
  followBatchDefault: 1024,
  /** Upper bound on a follow batch, whatever the caller asks. */
  followBatchMax: 65_536,
  /** Backoff after a follow handler throws, doubling up to the maximum. */
  followRetryDelayMsMin: 10,
  followRetryDelayMsMax: 2_000,
};

export class LogLimitError extends Error {
  override name = 'LogLimitError';
}

/** Checks an append against `logLimits`; returns the total payload bytes. */
export function checkAppend(payloads: readonly Uint8Array[]): number {
  if (!Array.isArray(payloads) || payloads.length === 0) throw new LogLimitError('append needs at least one record');
  if (payloads.length > logLimits.appendRecordsMax) {
    throw new LogLimitError(`append of ${payloads.length} records exceeds appendRecordsMax ${logLimits.appendRecordsMax}`);
  }
  let totalBytes = 0;
  for (const payload of payloads) {
    if (!(payload instanceof Uint8Array)) throw new LogLimitError('a record payload must be a Uint8Array');
    if (payload.length > logLimits.recordBytesMax) {
      throw new LogLimitError(`record of ${payload.length} bytes exceeds recordBytesMax ${logLimits.recordBytesMax}`);
    }
    totalBytes += payload.length;
  }
  if (totalBytes > logLimits.appendBytesMax) {
    throw new LogLimitError(`append of ${totalBytes} bytes exceeds appendBytesMax ${logLimits.appendBytesMax}`);
  }
  return totalBytes;
}

/** What the shared follow loop needs from a log. */
export interface FollowSource {
  read(fromSequence: number, limit: number): Promise<LogRecord[]>;
  /** Registers a callback run after every durable append and on close; returns an unregister function. */
  onAppend(listener: () => void): () => void;
  isClosed(): boolean;
}

/**
 * Follows `source` from `fromSequence`: reads bounded batches, awaits `onRecords` for each,
 * and sleeps until the next append when caught up. No timers while idle; no lost wake-ups
 * (an append during a read sets `signaled`, so the loop reads again instead of sleeping).
 */
export function followLog(
  source: FollowSource,
  fromSequence: number,
  onRecords: (records: LogRecord[]) => Promise<void> | void,
  batchMax: number = logLimits.followBatchDefault,
  logger: Logger = createLogger('log-follow'),
): () => void {
  const batchLimit = Math.max(1, Math.min(Math.floor(batchMax) || 1, logLimits.followBatchMax));
  let next = Math.max(1, Math.floor(fromSequence));
  let stopped = false;
  let signaled = false;
  let wake: (() => void) | null = null;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;
  const rouse = (): void => {
    signaled = true;
    if (wake) {
      const resolve = wake;
      wake = null;
      resolve();
    }
  };
  const unregister = source.onAppend(rouse);
  // Backoff sleeps are not cut short by appends (a failing handler must not spin on a
  // busy log); only stop() ends them early.
  let endSleep: (() => void) | null = null;
  const sleep = (delayMs: number): Promise<void> =>
    new Promise((resolve) => {
      endSleep = resolve;
      retryTimer = setTimeout(() => {
        retryTimer = null;
        endSleep = null;
        resolve();
      }, delayMs);
    });

  void (async () => {
    let retryDelayMs = logLimits.followRetryDelayMsMin;
    while (!stopped && !source.isClosed()) {
      signaled = false;
      let records: LogRecord[];
      try {
        records = await source.read(next, batchLimit);
      } catch (error) {
        if (stopped || source.isClosed()) break;
        logger.error({ err: error, fromSequence: next }, 'log follow: read failed; retrying');
        await sleep(retryDelayMs);
        retryDelayMs = Math.min(retryDelayMs * 2, logLimits.followRetryDelayMsMax);
        continue;
      }
      if (stopped) break;
      if (records.length === 0) {
        if (!signaled) await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      try {
        await onRecords(records);
        next = records[records.length - 1]!.sequence + 1;
        retryDelayMs = logLimits.followRetryDelayMsMin;
      } catch (error) {
        if (stopped) break;
        logger.error({ err: error, fromSequence: next }, 'log follow: handler failed; the same batch will be retried');
        await sleep(retryDelayMs);
        retryDelayMs = Math.min(retryDelayMs * 2, logLimits.followRetryDelayMsMax);
      }
    }
    unregister();
  })();

  return () => {
    stopped = true;
    if (retryTimer) clearTimeout(retryTimer);
    retryTimer = null;
    endSleep?.();
    unregister();
    rouse();
  };
}

/** Listeners for "new durable records" (and close), shared by the in-process logs. */
export class AppendListeners {
  private readonly listeners = new Set<() => void>();

  add(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  notify(): void {
    for (const listener of this.listeners) listener();
  }
}

export class MemoryLog implements RecordLog {
  private readonly records: LogRecord[] = [];
  private readonly listeners = new AppendListeners();
  private closed = false;

  async append(payloads: Uint8Array[], expectedLastSequence?: number): Promise<AppendResult> {
    if (this.closed) throw new Error('log is closed');
    checkAppend(payloads);
    const last = this.records.length;
    if (expectedLastSequence !== undefined && expectedLastSequence !== last) {
      throw new LogFencedError(`expected last sequence ${expectedLastSequence}, log is at ${last}`);
    }
    // Copies: a caller reusing its buffer must not change what the log holds.
    for (const payload of payloads) this.records.push({ sequence: this.records.length + 1, payload: payload.slice() });
    const result = { firstSequence: last + 1, lastSequence: this.records.length };
    this.listeners.notify();
    return result;
  }

  async read(fromSequence: number, limit: number): Promise<LogRecord[]> {
    if (this.closed) throw new Error('log is closed');
    const from = Math.max(1, Math.floor(fromSequence));
    const count = Math.max(0, Math.floor(limit));
    return this.records.slice(from - 1, from - 1 + count);
  }

  async lastSequence(): Promise<number> {
    return this.records.length;
  }

  follow(fromSequence: number, onRecords: (records: LogRecord[]) => Promise<void> | void, batchMax?: number): () => void {
    return followLog(
      { read: (from, limit) => this.read(from, limit), onAppend: (listener) => this.listeners.add(listener), isClosed: () => this.closed },
      fromSequence,
      onRecords,
      batchMax,
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.notify();
  }
}
