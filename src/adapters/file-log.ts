// The embedded command/event journal: append-only segment files with a CRC-32 per record
// and group commit (appends that arrive while an fsync is in flight share the next one).
// An append resolves only after its records are fdatasynced. Opening verifies every
// record: a torn tail is cut back to the last valid record; damage before the end (a bad
// record with acknowledged records after it) refuses to open, naming file and offset.
//
// Record frame, little endian, 20-byte header then the payload:
//   crc32 u32 | payloadLength u32 | sequence u64 | indexInGroup u32 | payload
// The CRC covers everything after itself. `indexInGroup` is the record's position in
// its commit group (one write + one fsync): a group is written only after the previous
// group's fsync finished, so a valid record from a LATER group behind a bad one proves
// the bad record had been acknowledged (real corruption), while valid records of the
// SAME group only show a torn, never-acknowledged write.

import { mkdir, open, readdir, readFile, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from '../lib/hash.ts';
import { LogFencedError, type AppendResult, type LogRecord, type RecordLog } from '../ports/log.ts';
import { createLogger, type Logger } from './logger.ts';
import { AppendListeners, checkAppend, followLog, logLimits } from './memory-log.ts';

export const fileLogLimits = {
  /** Frame header bytes before each payload. */
  frameHeaderBytes: 20,
  /** A new segment starts once the current one reaches this size (checked per group). */
  segmentBytesDefault: 64 * 1024 * 1024,
  /** Bytes written by one commit group (one write + one fsync); at least one append always fits. */
  groupBytesMax: 32 * 1024 * 1024,
  /** Appends waiting for the disk, in bytes, before new appends are refused (back-pressure). */
  pendingBytesMax: 256 * 1024 * 1024,
  /** Every Nth record's file offset is kept in memory to find reads quickly. */
  indexEveryRecords: 64,
  /** Recently appended records kept in memory so followers at the tail never touch the disk. */
  tailCacheRecordsDefault: 65_536,
  /** Bytes read from a segment file per read call. */
  readChunkBytes: 1024 * 1024,
};

const segmentNamePattern = /^segment-(\d{20})\.log$/;

function segmentName(firstSequence: number): string {
  return `segment-${String(firstSequence).padStart(20, '0')}.log`;
}

/** The append queue is full: the disk is behind. Callers answer "busy" and may retry. */
export class LogLimitBusyError extends Error {
  override name = 'LogLimitBusyError';
}

export class LogCorruptError extends Error {
  override name = 'LogCorruptError';
}

export interface FileLogOptions {
  segmentBytesMax?: number;
  tailCacheRecordsMax?: number;
  logger?: Logger;
}

export interface FileLogStats {
  /** fdatasync calls made for appends (one per commit group). */
  syncCount: number;
  /** append() calls made durable. */
  appendCount: number;
  /** Records made durable. */
  recordCount: number;
  /** Records dropped from a torn tail when the log was opened. */
  truncatedRecordsAtOpen: number;
  /** Bytes cut from a torn tail when the log was opened. */
  truncatedBytesAtOpen: number;
}

interface Segment {
  firstSequence: number;
  /** 0 when the segment holds no record yet. */
  lastSequence: number;
  path: string;
  /** Bytes of durable, verified records. */
  sizeBytes: number;
  /** Offsets of records firstSequence + i * indexEveryRecords. */
  index: number[];
  handle: Promise<FileHandle> | null;
}

interface PendingAppend {
  frames: Buffer;
  records: LogRecord[];
  firstSequence: number;
  lastSequence: number;
  resolve: (result: AppendResult) => void;
  reject: (error: Error) => void;
}

/** Reads one frame header at `offset`: null when the frame is not valid there. */
function validFrameAt(bytes: Buffer, offset: number, recordBytesMax: number): { sequence: number; length: number; indexInGroup: number } | null {
  const header = fileLogLimits.frameHeaderBytes;
  if (offset + header > bytes.length) return null;
  const length = bytes.readUInt32LE(offset + 4);
  if (length > recordBytesMax || offset + header + length > bytes.length) return null;
  const sequence = bytes.readUInt32LE(offset + 8) + bytes.readUInt32LE(offset + 12) * 0x1_0000_0000;
  if (sequence < 1 || !Number.isSafeInteger(sequence)) return null;
  if (crc32(bytes, offset + 4, offset + header + length) !== bytes.readUInt32LE(offset)) return null;
  return { sequence, length, indexInGroup: bytes.readUInt32LE(offset + 16) };
}

export class FileLog implements RecordLog {
  private readonly segments: Segment[] = [];
  private readonly listeners = new AppendListeners();
  private readonly logger: Logger;
  private readonly segmentBytesMax: number;
  private readonly tailCacheRecordsMax: number;
  private pending: PendingAppend[] = [];
  private pendingBytes = 0;
  private flushing: Promise<void> | null = null;
  /** Last sequence handed out (durable or in flight). */
  private assignedLastSequence = 0;
  /** Last sequence known to be on disk. */
  private durableLastSequence = 0;
  /** Recent durable records, `tailCache[i].sequence === tailFirstSequence + i`. */
  private tailCache: LogRecord[] = [];
  private tailFirstSequence = 1;
  private failure: Error | null = null;
  private closed = false;
  private closing = false;
  private readonly statistics: FileLogStats = { syncCount: 0, appendCount: 0, recordCount: 0, truncatedRecordsAtOpen: 0, truncatedBytesAtOpen: 0 };

  private constructor(
    readonly directory: string,
    options: FileLogOptions,
  ) {
    this.logger = options.logger ?? createLogger('file-log', { directory });
    this.segmentBytesMax = options.segmentBytesMax ?? fileLogLimits.segmentBytesDefault;
    this.tailCacheRecordsMax = options.tailCacheRecordsMax ?? fileLogLimits.tailCacheRecordsDefault;
  }

  /** Opens (creating if needed) the log in `directory`, verifying every record. */
  static async open(directory: string, options: FileLogOptions = {}): Promise<FileLog> {
    const log = new FileLog(directory, options);
    await mkdir(directory, { recursive: true });
    await log.recover();
    return log;
  }

  stats(): FileLogStats {
    return { ...this.statistics };
  }

  // -------------------------------------------------------------------------------------
  // Recovery

  private async recover(): Promise<void> {
    const names = (await readdir(this.directory)).filter((name) => segmentNamePattern.test(name)).sort();
    let expected = 0;
    for (let position = 0; position < names.length; position++) {
      const name = names[position]!;
      const path = join(this.directory, name);
      const firstSequence = Number(segmentNamePattern.exec(name)![1]);
      const isLast = position === names.length - 1;
      const bytes = await readFile(path);
      if (expected !== 0 && firstSequence !== expected) {
        if (isLast && bytes.length === 0) {
          await rm(path);
          continue;
        }
        throw new LogCorruptError(`${path}: segment starts at sequence ${firstSequence}, expected ${expected} (a segment is missing)`);
      }
      const segment: Segment = { firstSequence, lastSequence: 0, path, sizeBytes: 0, index: [], handle: null };
      let offset = 0;
      let sequence = firstSequence;
      let groupFirstSequence = firstSequence;
      while (offset < bytes.length) {
        const frame = validFrameAt(bytes, offset, logLimits.recordBytesMax);
        if (!frame || frame.sequence !== sequence) break;
        if ((sequence - firstSequence) % fileLogLimits.indexEveryRecords === 0) segment.index.push(offset);
        groupFirstSequence = sequence - frame.indexInGroup;
        offset += fileLogLimits.frameHeaderBytes + frame.length;
        sequence++;
      }
      if (offset < bytes.length) {
        // The record at `offset` (sequence `sequence`) is bad. It is a torn tail only if it
        // is in the last segment and nothing valid from a later commit group follows.
        const laterGroup = isLast ? this.findLaterGroup(bytes, offset, sequence) : { sequence, offset };
        if (laterGroup) {
          throw new LogCorruptError(
            `${path}: corrupt record at byte offset ${offset} (expected sequence ${sequence}) followed by valid acknowledged records ` +
              `(sequence ${laterGroup.sequence} at offset ${laterGroup.offset}); refusing to open. Restore the journal from a replica or backup.`,
          );
        }
        const droppedBytes = bytes.length - offset;
        this.logger.warn({ file: path, offset, droppedBytes, lastValidSequence: sequence - 1, groupFirstSequence }, 'file log: torn tail truncated to the last valid record');
        const handle = await open(path, 'r+');
        try {
          await handle.truncate(offset);
          await handle.datasync();
        } finally {
          await handle.close();
        }
        this.statistics.truncatedBytesAtOpen += droppedBytes;
        this.statistics.truncatedRecordsAtOpen += this.countFramesLoosely(bytes, offset);
      }
      segment.sizeBytes = offset;
      segment.lastSequence = sequence - 1 >= firstSequence ? sequence - 1 : 0;
      expected = sequence;
      if (segment.lastSequence === 0 && isLast && this.segments.length > 0) {
        // An empty segment left by a crash right after rollover: drop it.
        await rm(path);
        continue;
      }
      this.segments.push(segment);
    }
    const last = this.segments.length > 0 ? this.segments[this.segments.length - 1]! : null;
    this.durableLastSequence = last ? Math.max(last.lastSequence, last.firstSequence - 1) : 0;
    this.assignedLastSequence = this.durableLastSequence;
    this.tailFirstSequence = this.durableLastSequence + 1;
  }

  /** Looks for a valid record behind a bad one that belongs to a later commit group. */
  private findLaterGroup(bytes: Buffer, badOffset: number, badSequence: number): { sequence: number; offset: number } | null {
    const header = fileLogLimits.frameHeaderBytes;
    const maxSequence = badSequence + Math.ceil((bytes.length - badOffset) / header);
    for (let offset = badOffset + 1; offset + header <= bytes.length; offset++) {
      const length = bytes.readUInt32LE(offset + 4);
      if (length > logLimits.recordBytesMax || offset + header + length > bytes.length) continue;
      const sequence = bytes.readUInt32LE(offset + 8) + bytes.readUInt32LE(offset + 12) * 0x1_0000_0000;
      if (sequence <= badSequence || sequence > maxSequence) continue;
      const frame = validFrameAt(bytes, offset, logLimits.recordBytesMax);
      if (!frame) continue;
      // This record's group started after the bad record was written: that group was only
      // written once the bad record's fsync had completed, so the bad record was acknowledged.
      if (frame.sequence - frame.indexInGroup > badSequence) return { sequence: frame.sequence, offset };
    }
    return null;
  }

  /** For the warning only: how many frame headers the dropped tail seems to hold. */
  private countFramesLoosely(bytes: Buffer, offset: number): number {
    let count = 0;
    while (offset + fileLogLimits.frameHeaderBytes <= bytes.length) {
      count++;
      offset += fileLogLimits.frameHeaderBytes + bytes.readUInt32LE(offset + 4);
    }
    return Math.max(count, 1);
  }

  // -------------------------------------------------------------------------------------
  // Appends and group commit

  append(payloads: Uint8Array[], expectedLastSequence?: number): Promise<AppendResult> {
    try {
      if (this.closed || this.closing) throw new Error('file log is closed');
      if (this.failure) throw new Error(`file log failed earlier and accepts no more appends: ${this.failure.message}`);
      const payloadBytes = checkAppend(payloads);
      if (expectedLastSequence !== undefined && expectedLastSequence !== this.assignedLastSequence) {
        throw new LogFencedError(`expected last sequence ${expectedLastSequence}, log is at ${this.assignedLastSequence}`);
      }
      const header = fileLogLimits.frameHeaderBytes;
      const frameBytes = payloadBytes + header * payloads.length;
      if (this.pendingBytes + frameBytes > fileLogLimits.pendingBytesMax) {
        throw new LogLimitBusyError(`file log append queue is full (${this.pendingBytes} bytes waiting for the disk)`);
      }
      const frames = Buffer.allocUnsafe(frameBytes);
      const records: LogRecord[] = new Array(payloads.length);
      const firstSequence = this.assignedLastSequence + 1;
      let offset = 0;
      for (let index = 0; index < payloads.length; index++) {
        const payload = payloads[index]!;
        const sequence = firstSequence + index;
        frames.writeUInt32LE(payload.length, offset + 4);
        frames.writeUInt32LE(sequence % 0x1_0000_0000, offset + 8);
        frames.writeUInt32LE(Math.floor(sequence / 0x1_0000_0000), offset + 12);
        frames.set(payload, offset + header);
        // The record keeps a view into the frame buffer: one copy of the caller's bytes.
        records[index] = { sequence, payload: frames.subarray(offset + header, offset + header + payload.length) };
        offset += header + payload.length;
      }
      this.assignedLastSequence = firstSequence + payloads.length - 1;
      this.pendingBytes += frameBytes;
      return new Promise<AppendResult>((resolve, reject) => {
        this.pending.push({ frames, records, firstSequence, lastSequence: this.assignedLastSequence, resolve, reject });
        if (!this.flushing) this.flushing = this.flushLoop();
      });
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  /** Writes and syncs commit groups until nothing is pending. Runs one at a time. */
  private async flushLoop(): Promise<void> {
    try {
      while (this.pending.length > 0 && !this.failure) {
        // Take everything queued so far (bounded by groupBytesMax): one write, one fsync.
        let groupBytes = 0;
        let count = 0;
        while (count < this.pending.length && (count === 0 || groupBytes + this.pending[count]!.frames.length <= fileLogLimits.groupBytesMax)) {
          groupBytes += this.pending[count]!.frames.length;
          count++;
        }
        const group = this.pending.splice(0, count);
        this.pendingBytes -= groupBytes;
        try {
          await this.writeGroup(group, groupBytes);
        } catch (error) {
          // After a failed write or fsync the file's state is unknown (the kernel may have
          // dropped dirty pages): refuse everything from now on; a restart re-verifies.
          this.failure = error as Error;
          this.logger.error({ err: error }, 'file log: write or fsync failed; the log stops accepting appends');
          for (const entry of group) entry.reject(this.failure);
        }
      }
      if (this.failure) {
        for (const entry of this.pending.splice(0)) entry.reject(this.failure);
        this.pendingBytes = 0;
      }
    } finally {
      this.flushing = null;
    }
  }

  private async writeGroup(group: PendingAppend[], groupBytes: number): Promise<void> {
    const groupFirstSequence = group[0]!.firstSequence;
    const header = fileLogLimits.frameHeaderBytes;
    // Stamp each frame's position in the group and its checksum, now that the group is known.
    for (const entry of group) {
      const frames = entry.frames;
      let offset = 0;
      for (const record of entry.records) {
        frames.writeUInt32LE(record.sequence - groupFirstSequence, offset + 16);
        const end = offset + header + record.payload.length;
        frames.writeUInt32LE(crc32(frames, offset + 4, end), offset);
        offset = end;
      }
    }
    let segment = this.segments[this.segments.length - 1];
    let newSegment = false;
    if (!segment || (segment.sizeBytes > 0 && segment.sizeBytes + groupBytes > this.segmentBytesMax)) {
      segment = { firstSequence: groupFirstSequence, lastSequence: 0, path: join(this.directory, segmentName(groupFirstSequence)), sizeBytes: 0, index: [], handle: null };
      this.segments.push(segment);
      newSegment = true;
    }
    // One handle per segment, shared by the writer and readers (positional I/O only).
    segment.handle ??= open(segment.path, newSegment ? 'wx+' : 'r+');
    const handle = await segment.handle;
    const buffers = group.map((entry) => entry.frames);
    let written = (await handle.writev(buffers, segment.sizeBytes)).bytesWritten;
    if (written < groupBytes) {
      // A short write: finish it from one joined buffer.
      const joined = Buffer.concat(buffers, groupBytes);
      while (written < groupBytes) {
        const result = await handle.write(joined, written, groupBytes - written, segment.sizeBytes + written);
        if (result.bytesWritten <= 0) throw new Error(`short write to ${segment.path}`);
        written += result.bytesWritten;
      }
    }
    await handle.datasync();
    this.statistics.syncCount++;
    if (newSegment) await this.syncDirectory();

    // Durable: index the records, publish them, answer the appenders.
    let offset = segment.sizeBytes;
    for (const entry of group) {
      for (const record of entry.records) {
        if ((record.sequence - segment.firstSequence) % fileLogLimits.indexEveryRecords === 0) segment.index.push(offset);
        offset += header + record.payload.length;
        this.tailCache.push(record);
      }
    }
    segment.sizeBytes = offset;
    segment.lastSequence = group[group.length - 1]!.lastSequence;
    this.durableLastSequence = segment.lastSequence;
    if (this.tailCache.length > this.tailCacheRecordsMax) {
      const drop = this.tailCache.length - (this.tailCacheRecordsMax >> 1);
      this.tailCache.splice(0, drop);
      this.tailFirstSequence += drop;
    }
    for (const entry of group) {
      this.statistics.appendCount++;
      this.statistics.recordCount += entry.records.length;
      entry.resolve({ firstSequence: entry.firstSequence, lastSequence: entry.lastSequence });
    }
    this.listeners.notify();
  }

  private async syncDirectory(): Promise<void> {
    const handle = await open(this.directory, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  // -------------------------------------------------------------------------------------
  // Reads

  async read(fromSequence: number, limit: number): Promise<LogRecord[]> {
    if (this.closed) throw new Error('file log is closed');
    let next = Math.max(1, Math.floor(fromSequence));
    const wanted = Math.max(0, Math.floor(limit));
    const last = this.durableLastSequence;
    const records: LogRecord[] = [];
    while (records.length < wanted && next <= last) {
      if (next >= this.tailFirstSequence && this.tailCache.length > 0) {
        const start = next - this.tailFirstSequence;
        const end = Math.min(this.tailCache.length, start + wanted - records.length, last - this.tailFirstSequence + 1);
        for (let index = start; index < end; index++) records.push(this.tailCache[index]!);
        break;
      }
      const before = records.length;
      await this.readFromSegment(next, wanted - records.length, records);
      if (records.length === before) break;
      next = records[records.length - 1]!.sequence + 1;
    }
    return records;
  }

  /** Reads records from the one segment holding `from`, verifying checksums. */
  private async readFromSegment(from: number, wanted: number, into: LogRecord[]): Promise<void> {
    const segment = this.segmentFor(from);
    if (!segment) return;
    const step = fileLogLimits.indexEveryRecords;
    const indexSlot = Math.min(Math.floor((from - segment.firstSequence) / step), segment.index.length - 1);
    let sequence = segment.firstSequence + indexSlot * step;
    let fileOffset = segment.index[indexSlot]!;
    const endOffset = segment.sizeBytes;
    const lastSequence = Math.min(segment.lastSequence, this.durableLastSequence);
    segment.handle ??= open(segment.path, 'r+');
    const handle = await segment.handle;
    const header = fileLogLimits.frameHeaderBytes;
    let chunk = Buffer.allocUnsafe(fileLogLimits.readChunkBytes);
    let added = 0;
    while (added < wanted && sequence <= lastSequence && fileOffset < endOffset) {
      const chunkBytes = Math.min(chunk.length, endOffset - fileOffset);
      const { bytesRead } = await handle.read(chunk, 0, chunkBytes, fileOffset);
      if (bytesRead === 0) throw new LogCorruptError(`${segment.path}: file ends at byte ${fileOffset}, before record ${sequence}`);
      let offset = 0;
      while (added < wanted && sequence <= lastSequence && offset + header <= bytesRead) {
        const length = chunk.readUInt32LE(offset + 4);
        if (offset + header + length > bytesRead) break;
        const frame = validFrameAt(chunk.subarray(0, bytesRead), offset, logLimits.recordBytesMax);
        if (!frame || frame.sequence !== sequence) {
          throw new LogCorruptError(`${segment.path}: record ${sequence} at byte offset ${fileOffset + offset} fails its checksum on read`);
        }
        if (sequence >= from) {
          into.push({ sequence, payload: Uint8Array.prototype.slice.call(chunk, offset + header, offset + header + length) });
          added++;
        }
        offset += header + length;
        sequence++;
      }
      if (offset === 0) {
        // One record larger than the chunk: grow the chunk and read again.
        const length = chunk.readUInt32LE(4);
        chunk = Buffer.allocUnsafe(header + Math.min(length, logLimits.recordBytesMax));
        continue;
      }
      fileOffset += offset;
    }
  }

  private segmentFor(sequence: number): Segment | null {
    let low = 0;
    let high = this.segments.length - 1;
    let found: Segment | null = null;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const segment = this.segments[middle]!;
      if (segment.firstSequence <= sequence) {
        found = segment;
        low = middle + 1;
      } else high = middle - 1;
    }
    return found && found.lastSequence >= sequence ? found : null;
  }

  async lastSequence(): Promise<number> {
    return this.durableLastSequence;
  }

  follow(fromSequence: number, onRecords: (records: LogRecord[]) => Promise<void> | void, batchMax?: number): () => void {
    return followLog(
      { read: (from, limit) => this.read(from, limit), onAppend: (listener) => this.listeners.add(listener), isClosed: () => this.closed },
      fromSequence,
      onRecords,
      batchMax,
      this.logger,
    );
  }

  /** Waits for appends in flight, then closes the files. */
  async close(): Promise<void> {
    if (this.closed || this.closing) return;
    this.closing = true;
    while (this.flushing) await this.flushing;
    this.closed = true;
    this.listeners.notify();
    for (const segment of this.segments) {
      if (segment.handle) await (await segment.handle).close();
      segment.handle = null;
    }
  }
}

