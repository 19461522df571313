// JetStreamLog: the RecordLog port on a NATS JetStream stream (cluster mode). It keeps
// the port's invariant that record sequences are 1, 2, 3, ... without gaps, while one
// JetStream message carries many records (group commit): every message says in a header
// which record sequence it starts at, and every publish names the stream sequence it
// must follow (Nats-Expected-Last-Sequence), so no two writers can ever interleave and a
// fenced writer (expectedLastSequence) that lost its place gets LogFencedError.
import { headers, type MsgHdrs } from '@nats-io/nats-core';
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  jetstream,
  jetstreamManager,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type PubAck,
  type StoredMsg,
} from '@nats-io/jetstream';
import { LogFencedError, type AppendResult, type LogRecord, type RecordLog } from '../ports/log.ts';
import { checkAppend, logLimits } from './memory-log.ts';
import { createLogger } from './logger.ts';
import { connectNats, type NatsConnection } from './nats-connection.ts';

/** Header naming the record sequence of the first record in a message. */
export const firstSequenceHeader = 'Bourse-First-Sequence';
/** Header naming who wrote a message (engine instance and lease term), for audits and tests. */
export const writerHeader = 'Bourse-Writer';
/** Header naming how many records a message carries. */
export const recordCountHeader = 'Bourse-Record-Count';

/** Records one JetStream message may carry (one group commit). */
export const recordsPerMessageMax = 4096;
/** Bytes NATS headers and subject may take next to a message's payload. */
const messageOverheadBytes = 4096;
/** How long one publish waits for the stream's acknowledgement before it is retried. */
export const publishTimeoutMs = 5000;
/** Publish attempts (timeouts and lost races with other writers) before an append fails. */
export const publishAttemptsMax = 50;
/** Records a follower hands to its callback at once unless the caller asks otherwise. */
export const followBatchRecordsDefault = logLimits.followBatchDefault;
/** Messages a follower's pull consumer may hold unacknowledged (its bound). */
export const followPendingMessagesMax = 256;
/** A follower acknowledges after this many messages (a quarter of its window, so it never stalls)... */
export const followAckEveryMessages = 64;
/** ...or this long after the first unacknowledged one, whichever comes first. */
export const followAckDelayMs = 100;
/** Stream window inside which a repeated Nats-Msg-Id is recognised as a duplicate. */
export const duplicateWindowMs = 120_000;
/** Header cache entries (stream sequence -> record range) kept for lookups. */
const rangeCacheEntriesMax = 4096;

const nanosPerMs = 1_000_000;
const log = createLogger('jetstream-log');

export interface JetStreamLogOptions {
  /** Stream name, e.g. BOURSE_COMMANDS. Letters, digits, `_` and `-`. */
  stream: string;
  /** Subject the stream captures; defaults to `log.<stream name in lower case>` (kept apart from request subjects). */
  subject?: string;
  /** NATS servers (comma separated) when no connection is given. */
  servers?: string;
  /** An existing connection to share; the log then does not close it. */
  connection?: NatsConnection;
  /** Replicas for a new stream: 1 on one machine, 3 in production (see docs/cluster.md). */
  replicas?: number;
}

interface PendingAppend {
  /** Each record framed as [u32 length][bytes]: a private copy taken at append time. */
  frames: Uint8Array[];
  /** Sum of the frames' lengths. */
  bytes: number;
  expectedLastSequence: number | undefined;
  resolve: (result: AppendResult) => void;
  reject: (error: Error) => void;
}

interface MessageRange {
  streamSequence: number;
  firstSequence: number;
  count: number;
}

/** Frames one record as [u32 length][bytes] (a copy, so the caller may reuse its buffer). */
function frameRecord(payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(4 + payload.length);
  new DataView(frame.buffer).setUint32(0, payload.length);
  frame.set(payload, 4);
  return frame;
}

/** A message body: [u32 count] then the records' frames. */
function encodeFrames(frames: Uint8Array[], bytes: number): Uint8Array {
  const body = new Uint8Array(4 + bytes);
  new DataView(body.buffer).setUint32(0, frames.length);
  let offset = 4;
  for (const frame of frames) {
    body.set(frame, offset);
    offset += frame.length;
  }
  return body;
}

export function encodeRecords(payloads: Uint8Array[]): Uint8Array {
  const frames = payloads.map(frameRecord);
  return encodeFrames(frames, frames.reduce((sum, frame) => sum + frame.length, 0));
}

export function decodeRecords(bytes: Uint8Array): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(0);
  const payloads: Uint8Array[] = [];
  let offset = 4;
  for (let index = 0; index < count; index++) {
    const length = view.getUint32(offset);
    // Copy so that a record never aliases the client's receive buffer.
    payloads.push(bytes.slice(offset + 4, offset + 4 + length));
    offset += 4 + length;
  }
  if (offset !== bytes.length) throw new Error(`corrupt log message: ${bytes.length - offset} trailing bytes`);
  return payloads;
}

function rangeOf(message: StoredMsg | { seq: number; headers?: MsgHdrs; header?: MsgHdrs }): MessageRange {
  const header = 'header' in message && message.header ? message.header : (message as { headers?: MsgHdrs }).headers;
  const first = Number(header?.get(firstSequenceHeader));
  const count = Number(header?.get(recordCountHeader));
  if (!Number.isSafeInteger(first) || first < 1 || !Number.isSafeInteger(count) || count < 1) {
    throw new Error(`log message ${message.seq} lacks valid ${firstSequenceHeader}/${recordCountHeader} headers`);
  }
  return { streamSequence: message.seq, firstSequence: first, count };
}

function isWrongLastSequence(error: unknown): boolean {
  return error instanceof JetStreamApiError && (error.code === JetStreamApiCodes.StreamWrongLastSequence || error.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);
}

function isTimeout(error: unknown): boolean {
  const text = String((error as Error)?.message ?? error).toLowerCase();
  return text.includes('timeout') || (error as { code?: string })?.code === 'TIMEOUT';
}

export class JetStreamLog implements RecordLog {
  readonly stream: string;
  readonly subject: string;
  private readonly connection: NatsConnection;
  private readonly ownsConnection: boolean;
  private readonly client: JetStreamClient;
  private readonly manager: JetStreamManager;
  private readonly writerId = `${process.pid.toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
  private messageCounter = 0;
  /** The stream tail as this writer last knew it; refreshed after a lost race. */
  private tailStreamSequence = -1;
  private tailRecordSequence = 0;
  private readonly queue: PendingAppend[] = [];
  private flushing = false;
  private closed = false;
  private readonly ranges = new Map<number, MessageRange>();
  private readonly followers = new Set<() => void>();
  private writerTag = '';

  private constructor(connection: NatsConnection, ownsConnection: boolean, manager: JetStreamManager, stream: string, subject: string) {
    this.connection = connection;
    this.ownsConnection = ownsConnection;
    this.manager = manager;
    this.client = jetstream(connection);
    this.stream = stream;
    this.subject = subject;
  }

  /** Connects (or reuses `connection`) and creates the stream if it does not exist. */
  static async open(options: JetStreamLogOptions): Promise<JetStreamLog> {
    const connection = options.connection ?? (await connectNats(options.servers, `bourse-log-${options.stream}`));
    const subject = options.subject ?? `log.${options.stream.toLowerCase()}`;
    try {
      const manager = await jetstreamManager(connection);
      await ensureStream(manager, options.stream, subject, options.replicas ?? 1);
      return new JetStreamLog(connection, options.connection === undefined, manager, options.stream, subject);
    } catch (error) {
      if (options.connection === undefined) await connection.close();
      throw error;
    }
  }

  /** Names the writer in every message appended from now on (see writerHeader). */
  setWriterTag(tag: string): void {
    this.writerTag = tag;
  }

  /** The writer tag of every message in stream order (audits and tests; reads the whole stream). */
  async writerTags(): Promise<{ streamSequence: number; firstSequence: number; count: number; writer: string }[]> {
    const info = await this.manager.streams.info(this.stream);
    const tags: { streamSequence: number; firstSequence: number; count: number; writer: string }[] = [];
    for (let sequence = info.state.first_seq; sequence <= info.state.last_seq && info.state.messages > 0; sequence++) {
      const message = await this.messageAt(sequence);
      if (!message) continue;
      const range = rangeOf(message);
      tags.push({ streamSequence: sequence, firstSequence: range.firstSequence, count: range.count, writer: message.header?.get(writerHeader) ?? '' });
    }
    return tags;
  }

  /** Deletes the stream (tests and `cluster down --purge` only). */
  async destroy(): Promise<void> {
    await this.manager.streams.delete(this.stream).catch(() => false);
  }

  append(payloads: Uint8Array[], expectedLastSequence?: number): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new Error('log is closed'));
    let frames: Uint8Array[];
    try {
      checkAppend(payloads);
      frames = payloads.map(frameRecord);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    let bytes = 0;
    for (const frame of frames) bytes += frame.length;
    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({ frames, bytes, expectedLastSequence, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  /** Payload bytes one message may carry: the server's max_payload minus headers. */
  private messageBytesMax(): number {
    const serverMax = this.connection.info?.max_payload ?? 1024 * 1024;
    return serverMax - messageOverheadBytes;
  }

  /** Group commit: everything queued while one publish is in flight goes in the next one. */
  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        if (this.tailStreamSequence < 0) await this.refreshTail();
        const batch = this.takeBatch();
        if (batch.length === 0) continue;
        await this.publishBatch(batch);
      }
    } catch (error) {
      // Only unexpected failures get here (publishBatch settles its own entries).
      for (const entry of this.queue.splice(0)) entry.reject(error as Error);
    } finally {
      this.flushing = false;
    }
  }

  /**
   * Takes queued appends that fit one message (an append too large for one message
   * travels alone, split over consecutive messages). A fenced append that does not match
   * the known tail also travels alone; publishBatch checks it against a fresh tail before
   * refusing it.
   */
  private takeBatch(): PendingAppend[] {
    const batch: PendingAppend[] = [];
    const bytesMax = this.messageBytesMax();
    let records = 0;
    let bytes = 4;
    while (this.queue.length > 0) {
      const entry = this.queue[0]!;
      const fits = records + entry.frames.length <= recordsPerMessageMax && bytes + entry.bytes <= bytesMax;
      if (!fits && batch.length > 0) break;
      const fencedElsewhere = entry.expectedLastSequence !== undefined && entry.expectedLastSequence !== this.tailRecordSequence + records;
      if (fencedElsewhere && batch.length > 0) break;
      this.queue.shift();
      batch.push(entry);
      records += entry.frames.length;
      bytes += entry.bytes;
      if (fencedElsewhere || !fits) break;
    }
    return batch;
  }

  /** Cuts the batch's frames into message-sized groups, in order. */
  private messageGroups(batch: PendingAppend[]): { frames: Uint8Array[]; bytes: number }[] {
    const bytesMax = this.messageBytesMax();
    const groups: { frames: Uint8Array[]; bytes: number }[] = [];
    let current = { frames: [] as Uint8Array[], bytes: 0 };
    for (const entry of batch) {
      for (const frame of entry.frames) {
        if (current.frames.length > 0 && (current.frames.length >= recordsPerMessageMax || 4 + current.bytes + frame.length > bytesMax)) {
          groups.push(current);
          current = { frames: [], bytes: 0 };
        }
        current.frames.push(frame);
        current.bytes += frame.length;
      }
    }
    groups.push(current);
    return groups;
  }

  private async publishBatch(batch: PendingAppend[]): Promise<void> {
    if (this.fencedMismatch(batch)) {
      // Fenced entries must match the tail; a mismatch after a fresh read is final.
      await this.refreshTail();
      if (this.fencedMismatch(batch)) {
        this.settleFenced(batch);
        return;
      }
    }
    const groups = this.messageGroups(batch);
    let firstSequence = 0;
    try {
      for (let index = 0; index < groups.length; index++) {
        const group = groups[index]!;
        // Only the first message may move after a lost race: the rest must follow it directly.
        const range = await this.publishMessage(group.frames, group.bytes, index === 0 ? batch : null);
        if (range === null) return;
        if (index === 0) firstSequence = range.firstSequence;
      }
    } catch (error) {
      for (const entry of batch) entry.reject(error as Error);
      return;
    }
    let next = firstSequence;
    for (const entry of batch) {
      entry.resolve({ firstSequence: next, lastSequence: next + entry.frames.length - 1 });
      next += entry.frames.length;
    }
  }

  /**
   * Publishes one message right after the known tail, retrying lost races (re-reading the
   * tail) and lost acknowledgements (same Nats-Msg-Id, so a stored message is reported as
   * a duplicate). `fencedBatch` is the batch when this is its first message: after a lost
   * race its fenced entries are checked again (returns null when they were settled).
   */
  private async publishMessage(frames: Uint8Array[], bytes: number, fencedBatch: PendingAppend[] | null): Promise<MessageRange | null> {
    const data = encodeFrames(frames, bytes);
    const messageId = `${this.writerId}-${++this.messageCounter}`;
    for (let attempt = 1; ; attempt++) {
      const firstSequence = this.tailRecordSequence + 1;
      const header = headers();
      header.set(firstSequenceHeader, String(firstSequence));
      header.set(recordCountHeader, String(frames.length));
      if (this.writerTag) header.set(writerHeader, this.writerTag);
      let ack: PubAck;
      try {
        ack = await this.client.publish(this.subject, data, {
          msgID: messageId,
          expect: { lastSequence: this.tailStreamSequence },
          headers: header,
          timeout: publishTimeoutMs,
        });
      } catch (error) {
        const raced = isWrongLastSequence(error);
        if (attempt >= publishAttemptsMax || this.closed || !(raced || isTimeout(error))) throw error;
        await this.refreshTail();
        if (raced && fencedBatch === null) {
          throw new Error(`log ${this.stream}: another writer interleaved a multi-message append; its earlier part is stored before sequence ${this.tailRecordSequence}`);
        }
        if (fencedBatch && this.fencedMismatch(fencedBatch)) {
          this.settleFenced(fencedBatch);
          return null;
        }
        continue;
      }
      if (ack.duplicate) {
        // An earlier attempt of this message was stored: its headers say where it landed.
        const range = await this.rangeAt(ack.seq);
        await this.refreshTail();
        return range;
      }
      const range = { streamSequence: ack.seq, firstSequence, count: frames.length };
      this.tailStreamSequence = ack.seq;
      this.tailRecordSequence = firstSequence + frames.length - 1;
      this.rememberRange(range);
      return range;
    }
  }

  private fencedMismatch(batch: PendingAppend[]): boolean {
    let before = this.tailRecordSequence;
    for (const entry of batch) {
      if (entry.expectedLastSequence !== undefined && entry.expectedLastSequence !== before) return true;
      before += entry.frames.length;
    }
    return false;
  }

  /** Refuses the fenced entries whose expectation fails; requeues the others in front. */
  private settleFenced(batch: PendingAppend[]): void {
    const retry: PendingAppend[] = [];
    let before = this.tailRecordSequence;
    for (const entry of batch) {
      if (entry.expectedLastSequence !== undefined && entry.expectedLastSequence !== before) {
        entry.reject(new LogFencedError(`log ${this.stream} is at ${this.tailRecordSequence}, append expected ${entry.expectedLastSequence}`));
        continue;
      }
      retry.push(entry);
      before += entry.frames.length;
    }
    this.queue.unshift(...retry);
  }

  private async refreshTail(): Promise<void> {
    const info = await this.manager.streams.info(this.stream);
    const last = info.state.last_seq;
    if (info.state.messages === 0 || last === 0) {
      this.tailStreamSequence = last;
      this.tailRecordSequence = 0;
      return;
    }
    const range = await this.rangeAt(last);
    this.tailStreamSequence = last;
    this.tailRecordSequence = range.firstSequence + range.count - 1;
  }

  private rememberRange(range: MessageRange): void {
    if (this.ranges.size >= rangeCacheEntriesMax) this.ranges.delete(this.ranges.keys().next().value as number);
    this.ranges.set(range.streamSequence, range);
  }

  private async messageAt(streamSequence: number): Promise<StoredMsg | null> {
    try {
      return await this.manager.streams.getMessage(this.stream, { seq: streamSequence });
    } catch (error) {
      if (error instanceof JetStreamApiError && error.code === JetStreamApiCodes.NoMessageFound) return null;
      throw error;
    }
  }

  private async rangeAt(streamSequence: number): Promise<MessageRange> {
    const cached = this.ranges.get(streamSequence);
    if (cached) return cached;
    const message = await this.messageAt(streamSequence);
    if (!message) throw new Error(`log ${this.stream} has no message at stream sequence ${streamSequence}`);
    const range = rangeOf(message);
    this.rememberRange(range);
    return range;
  }

  /**
   * The stream sequence of the message holding record `sequence`, found by binary search
   * over the message headers (record ranges grow with stream sequences). Returns
   * lastStreamSequence + 1 when the record is not written yet.
   */
  private async locate(sequence: number): Promise<{ streamSequence: number; lastStreamSequence: number }> {
    const info = await this.manager.streams.info(this.stream);
    const lastStreamSequence = info.state.last_seq;
    if (info.state.messages === 0) return { streamSequence: lastStreamSequence + 1, lastStreamSequence };
    let low = Math.max(1, info.state.first_seq);
    let high = lastStreamSequence;
    const lastRange = await this.rangeAt(high);
    if (sequence > lastRange.firstSequence + lastRange.count - 1) return { streamSequence: high + 1, lastStreamSequence };
    // Every message carries at least one record, so the record cannot sit past this message.
    const firstRange = await this.rangeAt(low);
    if (sequence <= firstRange.firstSequence) return { streamSequence: low, lastStreamSequence };
    high = Math.min(high, low + (sequence - firstRange.firstSequence));
    while (low < high) {
      const middle = Math.ceil((low + high) / 2);
      const range = await this.rangeAt(middle);
      if (range.firstSequence <= sequence) low = middle;
      else high = middle - 1;
    }
    return { streamSequence: low, lastStreamSequence };
  }

  async read(fromSequence: number, limit: number): Promise<LogRecord[]> {
    const records: LogRecord[] = [];
    if (limit <= 0) return records;
    const start = Math.max(1, fromSequence);
    const { streamSequence, lastStreamSequence } = await this.locate(start);
    for (let current = streamSequence; current <= lastStreamSequence && records.length < limit; current++) {
      const message = await this.messageAt(current);
      if (!message) continue;
      const range = rangeOf(message);
      this.rememberRange(range);
      const payloads = decodeRecords(message.data);
      for (let index = 0; index < payloads.length && records.length < limit; index++) {
        const sequence = range.firstSequence + index;
        if (sequence >= start) records.push({ sequence, payload: payloads[index]! });
      }
    }
    return records;
  }

  async lastSequence(): Promise<number> {
    const info = await this.manager.streams.info(this.stream);
    if (info.state.messages === 0) return 0;
    const range = await this.rangeAt(info.state.last_seq);
    return range.firstSequence + range.count - 1;
  }

  follow(fromSequence: number, onRecords: (records: LogRecord[]) => Promise<void> | void, batchMax = followBatchRecordsDefault): () => void {
    let stopped = false;
    let stopConsumer: (() => void) | null = null;
    const stop = (): void => {
      stopped = true;
      stopConsumer?.();
      this.followers.delete(stop);
    };
    this.followers.add(stop);
    let next = Math.max(1, fromSequence);
    const run = async (): Promise<void> => {
      while (!stopped && !this.closed) {
        try {
          next = await this.followOnce(next, onRecords, Math.max(1, batchMax), () => stopped, (stopper) => (stopConsumer = stopper));
        } catch (error) {
          if (stopped || this.closed) return;
          log.warn({ err: error, stream: this.stream, next }, 'log follower restarts after an error');
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      }
    };
    void run();
    return stop;
  }

  /**
   * One pull consumer with cumulative acks from the message holding `next` on. Records are
   * handed over in order, in batches of at most `batchMax`; a message is acknowledged (with
   * every earlier one) only after all its records were handed over. Returns the next
   * record sequence to deliver when the consumer ends (it is recreated from there after
   * errors, redeliveries or a gap).
   */
  private async followOnce(
    next: number,
    onRecords: (records: LogRecord[]) => Promise<void> | void,
    batchMax: number,
    isStopped: () => boolean,
    setStopper: (stopper: () => void) => void,
  ): Promise<number> {
    const { streamSequence } = await this.locate(next);
    // AckPolicy.All: acknowledging a message acknowledges every earlier one, so a follower
    // acknowledges every followAckEveryMessages messages or followAckDelayMs, not per message.
    const info = await this.manager.consumers.add(this.stream, {
      ack_policy: AckPolicy.All,
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: streamSequence,
      max_ack_pending: followPendingMessagesMax,
      ack_wait: 60_000 * nanosPerMs,
      inactive_threshold: 30_000 * nanosPerMs,
      filter_subject: this.subject,
    });
    const consumer = await this.client.consumers.get(this.stream, info.name);
    const messages = await consumer.consume({ max_messages: followPendingMessagesMax });
    setStopper(() => void messages.stop());
    // A reader moves arriving messages into `arrived`; the loop below takes everything that
    // has arrived at once (batches grow under load, a lone record goes out immediately),
    // hands it over in chunks of batchMax, then acknowledges it. The reader never waits on
    // the handler, so the consumer's window (max_ack_pending) always drains.
    const arrived: JsMsg[] = [];
    let lastTaken: JsMsg | null = null;
    let unacknowledged = 0;
    let ackTimer: NodeJS.Timeout | null = null;
    const acknowledge = (): void => {
      if (ackTimer !== null) clearTimeout(ackTimer);
      ackTimer = null;
      if (lastTaken !== null && unacknowledged > 0) lastTaken.ack();
      unacknowledged = 0;
    };
    const waker: { wake: (() => void) | null } = { wake: null };
    let readerDone = false;
    let readerError: unknown = null;
    const reader = (async () => {
      try {
        for await (const message of messages) {
          arrived.push(message);
          waker.wake?.();
        }
      } catch (error) {
        readerError = error;
      } finally {
        readerDone = true;
        waker.wake?.();
      }
    })();
    try {
      while (!isStopped()) {
        if (arrived.length === 0) {
          if (readerDone) break;
          await new Promise<void>((resolve) => (waker.wake = resolve));
          waker.wake = null;
          continue;
        }
        const taken = arrived.splice(0, arrived.length);
        const records: LogRecord[] = [];
        for (const message of taken) {
          const range = rangeOf(message);
          const expected = next + records.length;
          if (range.firstSequence > expected) throw new Error(`log ${this.stream} gap: expected record ${expected}, message starts at ${range.firstSequence}`);
          const payloads = decodeRecords(message.data);
          for (let index = 0; index < payloads.length; index++) {
            const sequence = range.firstSequence + index;
            // Records before `next` were handed over already (a redelivery): skip them.
            if (sequence === next + records.length) records.push({ sequence, payload: payloads[index]! });
          }
        }
        for (let index = 0; index < records.length && !isStopped(); index += batchMax) {
          const chunk = records.length <= batchMax ? records : records.slice(index, index + batchMax);
          await onRecords(chunk);
          next = chunk[chunk.length - 1]!.sequence + 1;
        }
        if (isStopped()) break;
        // Cumulative acks (AckPolicy.All), one per followAckEveryMessages messages or per
        // followAckDelayMs: every ack is a socket write, and a write costs more than a small
        // message's whole handling.
        lastTaken = taken[taken.length - 1]!;
        unacknowledged += taken.length;
        if (unacknowledged >= followAckEveryMessages) acknowledge();
        else if (ackTimer === null) {
          ackTimer = setTimeout(acknowledge, followAckDelayMs);
          ackTimer.unref();
        }
      }
      if (readerError && !isStopped()) throw readerError;
    } finally {
      if (ackTimer !== null) clearTimeout(ackTimer);
      void messages.stop();
      await reader;
      await this.manager.consumers.delete(this.stream, info.name).catch(() => false);
    }
    return next;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Let queued appends finish before the connection goes away.
    while (this.flushing || this.queue.length > 0) await new Promise((resolve) => setTimeout(resolve, 5));
    this.closed = true;
    for (const stop of [...this.followers]) stop();
    if (this.ownsConnection) await this.connection.drain().catch(() => undefined);
  }
}

/**
 * Creates the stream or checks that an existing one captures the subject. File storage,
 * limits retention without age or count limits (the log is kept; trimming is an operator
 * decision after snapshots), duplicate window for Nats-Msg-Id.
 */
async function ensureStream(manager: JetStreamManager, stream: string, subject: string, replicas: number): Promise<void> {
  try {
    const info = await manager.streams.info(stream);
    if (!info.config.subjects?.includes(subject)) throw new Error(`stream ${stream} exists but does not capture ${subject}`);
    return;
  } catch (error) {
    if (!(error instanceof JetStreamApiError) || error.code !== JetStreamApiCodes.StreamNotFound) throw error;
  }
  await manager.streams.add({
    name: stream,
    subjects: [subject],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.New,
    max_msgs: -1,
    max_bytes: -1,
    max_age: 0,
    max_msg_size: -1,
    duplicate_window: duplicateWindowMs * nanosPerMs,
    num_replicas: replicas,
    allow_direct: false,
    deny_delete: true,
    deny_purge: false,
  });
}
