// A durable, sequenced log of opaque records: the command log (gateways append, the
// engine reads) and the event log (the engine appends, consumers read). Implementations:
// FileLog (embedded; fsync group commit), MemoryLog (reference for tests) and
// JetStreamLog (cluster). One contract suite (test/contract/log.contract.ts) runs them all.

export interface LogRecord {
  /** 1, 2, 3, ... without gaps, assigned by the log. */
  sequence: number;
  payload: Uint8Array;
}

export interface AppendResult {
  firstSequence: number;
  lastSequence: number;
}

export class LogFencedError extends Error {
  override name = 'LogFencedError';
}

export interface RecordLog {
  /**
   * Appends records in order and resolves once they are durable (fsynced, or stored by
   * the replicated log). With `expectedLastSequence`, the append succeeds only if the
   * log's last sequence is exactly that (rejects with LogFencedError otherwise): a
   * writer that lost its lease can never interleave.
   */
  append(payloads: Uint8Array[], expectedLastSequence?: number): Promise<AppendResult>;
  /** Up to `limit` records with sequence >= fromSequence, in order. */
  read(fromSequence: number, limit: number): Promise<LogRecord[]>;
  /** The last durable sequence (0 when empty). */
  lastSequence(): Promise<number>;
  /**
   * Calls `onRecords` with batches of new records from `fromSequence` on, in order, each
   * batch awaited before the next. Returns a function that stops following.
   */
  follow(fromSequence: number, onRecords: (records: LogRecord[]) => Promise<void> | void, batchMax?: number): () => void;
  close(): Promise<void>;
}
