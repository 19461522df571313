// Engine snapshots on disk. A snapshot is written whole or not at all (temporary file,
// fsync, rename, directory fsync) and carries checksums of its header and its bytes, so
// recovery takes the newest snapshot that verifies, skipping damaged ones with a warning,
// and never needs an operator to name one. The newest `keepCount` snapshots are kept.
//
// File layout, little endian: a 48-byte header then the engine's snapshot bytes.
//   magic "BSNP" | formatVersion u32 | commandSequence u64 | eventSequence u64 |
//   createdAtMs u64 | payloadBytes u64 | payloadCrc32 u32 | headerCrc32 u32 (of bytes 0..44)

import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from '../lib/hash.ts';
import { createLogger, type Logger } from './logger.ts';

export const snapshotLimits = {
  /** Snapshots kept when the caller does not say. */
  keepCountDefault: 3,
  /** Largest snapshot we write or read (a corrupt length field must not allocate wildly). */
  snapshotBytesMax: 2 * 1024 * 1024 * 1024,
};

const magic = 0x504e5342; // "BSNP" read as a little-endian u32.
const formatVersion = 1;
const headerBytes = 48;
const namePattern = /^snapshot-(\d{20})\.snap$/;
const temporaryPrefix = '.tmp-snapshot-';

export interface SnapshotMetadata {
  /** Last command applied to the state this snapshot holds. */
  commandSequence: number;
  /** Last event emitted by that state. */
  eventSequence: number;
  createdAtMs: number;
  sizeBytes: number;
  file: string;
}

export interface StoredSnapshot extends SnapshotMetadata {
  bytes: Uint8Array;
}

export interface SnapshotToSave {
  commandSequence: number;
  eventSequence: number;
  bytes: Uint8Array;
  /** Defaults to the store's clock. */
  createdAtMs?: number;
}

/** Where the engine host keeps snapshots (a file store embedded; the same interface in the cluster). */
export interface SnapshotStore {
  save(snapshot: SnapshotToSave): Promise<SnapshotMetadata>;
  /** The newest snapshot that verifies, or null when there is none. */
  loadNewest(): Promise<StoredSnapshot | null>;
  /** Snapshot files by name, newest first (not verified). */
  list(): Promise<{ commandSequence: number; file: string }[]>;
}

export class SnapshotCorruptError extends Error {
  override name = 'SnapshotCorruptError';
}

export interface FileSnapshotStoreOptions {
  keepCount?: number;
  logger?: Logger;
  now?: () => number;
}

function writeUint64(view: DataView, offset: number, value: number): void {
  view.setUint32(offset, value % 0x1_0000_0000, true);
  view.setUint32(offset + 4, Math.floor(value / 0x1_0000_0000), true);
}

function readUint64(view: DataView, offset: number): number {
  return view.getUint32(offset, true) + view.getUint32(offset + 4, true) * 0x1_0000_0000;
}

/** Verifies a snapshot file's bytes; throws SnapshotCorruptError saying what is wrong. */
export function decodeSnapshotFile(file: string, contents: Uint8Array): StoredSnapshot {
  if (contents.length < headerBytes) throw new SnapshotCorruptError(`${file}: ${contents.length} bytes, shorter than the header`);
  const view = new DataView(contents.buffer, contents.byteOffset, contents.byteLength);
  if (view.getUint32(0, true) !== magic) throw new SnapshotCorruptError(`${file}: not a snapshot file (bad magic)`);
  if (crc32(contents, 0, 44) !== view.getUint32(44, true)) throw new SnapshotCorruptError(`${file}: header checksum mismatch`);
  const version = view.getUint32(4, true);
  if (version !== formatVersion) throw new SnapshotCorruptError(`${file}: unknown format version ${version}`);
  const payloadBytes = readUint64(view, 32);
  if (headerBytes + payloadBytes !== contents.length) {
    throw new SnapshotCorruptError(`${file}: header says ${payloadBytes} payload bytes, file holds ${contents.length - headerBytes}`);
  }
  const bytes = contents.subarray(headerBytes);
  if (crc32(bytes) !== view.getUint32(40, true)) throw new SnapshotCorruptError(`${file}: payload checksum mismatch`);
  return {
    commandSequence: readUint64(view, 8),
    eventSequence: readUint64(view, 16),
    createdAtMs: readUint64(view, 24),
    sizeBytes: payloadBytes,
    file,
    bytes,
  };
}

export class FileSnapshotStore implements SnapshotStore {
  private readonly keepCount: number;
  private readonly logger: Logger;
  private readonly now: () => number;

  private constructor(
    readonly directory: string,
    options: FileSnapshotStoreOptions,
  ) {
    this.keepCount = Math.max(1, options.keepCount ?? snapshotLimits.keepCountDefault);
    this.logger = options.logger ?? createLogger('snapshot-store', { directory });
    this.now = options.now ?? Date.now;
  }

  /** Creates the directory if needed and removes temporary files a crash left behind. */
  static async open(directory: string, options: FileSnapshotStoreOptions = {}): Promise<FileSnapshotStore> {
    await mkdir(directory, { recursive: true });
    for (const name of await readdir(directory)) {
      if (name.startsWith(temporaryPrefix)) await rm(join(directory, name), { force: true });
    }
    return new FileSnapshotStore(directory, options);
  }

  async save(snapshot: SnapshotToSave): Promise<SnapshotMetadata> {
    const { commandSequence, eventSequence, bytes } = snapshot;
    for (const [what, value] of [
      ['commandSequence', commandSequence],
      ['eventSequence', eventSequence],
    ] as const) {
      if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${what} must be a non-negative safe integer, got ${value}`);
    }
    if (bytes.length > snapshotLimits.snapshotBytesMax) throw new RangeError(`snapshot of ${bytes.length} bytes exceeds ${snapshotLimits.snapshotBytesMax}`);
    const createdAtMs = snapshot.createdAtMs ?? this.now();
    const header = new Uint8Array(headerBytes);
    const view = new DataView(header.buffer);
    view.setUint32(0, magic, true);
    view.setUint32(4, formatVersion, true);
    writeUint64(view, 8, commandSequence);
    writeUint64(view, 16, eventSequence);
    writeUint64(view, 24, createdAtMs);
    writeUint64(view, 32, bytes.length);
    view.setUint32(40, crc32(bytes), true);
    view.setUint32(44, crc32(header, 0, 44), true);

    const file = `snapshot-${String(commandSequence).padStart(20, '0')}.snap`;
    const temporary = join(this.directory, `${temporaryPrefix}${randomBytes(6).toString('hex')}`);
    const handle = await open(temporary, 'wx');
    try {
      await handle.writev([header, bytes]);
      await handle.sync();
    } catch (error) {
      await handle.close();
      await rm(temporary, { force: true });
      throw error;
    }
    await handle.close();
    await rename(temporary, join(this.directory, file));
    await this.syncDirectory();
    await this.prune();
    return { commandSequence, eventSequence, createdAtMs, sizeBytes: bytes.length, file };
  }

  async list(): Promise<{ commandSequence: number; file: string }[]> {
    const entries: { commandSequence: number; file: string }[] = [];
    for (const name of await readdir(this.directory)) {
      const match = namePattern.exec(name);
      if (match) entries.push({ commandSequence: Number(match[1]), file: name });
    }
    return entries.sort((left, right) => right.commandSequence - left.commandSequence);
  }

  async loadNewest(): Promise<StoredSnapshot | null> {
    for (const entry of await this.list()) {
      const path = join(this.directory, entry.file);
      try {
        const snapshot = decodeSnapshotFile(path, await readFile(path));
        if (snapshot.commandSequence !== entry.commandSequence) {
          throw new SnapshotCorruptError(`${path}: holds command sequence ${snapshot.commandSequence}, its name says ${entry.commandSequence}`);
        }
        return snapshot;
      } catch (error) {
        if (!(error instanceof SnapshotCorruptError)) throw error;
        this.logger.warn({ file: path, reason: error.message }, 'snapshot store: skipping a snapshot that fails verification');
      }
    }
    return null;
  }

  /** Deletes all but the newest `keepCount` snapshot files. */
  private async prune(): Promise<void> {
    const entries = await this.list();
    for (const entry of entries.slice(this.keepCount)) await rm(join(this.directory, entry.file), { force: true });
  }

  private async syncDirectory(): Promise<void> {
    const handle = await open(this.directory, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}
