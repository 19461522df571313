// Engine snapshots on disk for the embedded mode: one file per snapshot, named by the
// command and event sequence it covers, holding a CRC-32 and the engine's snapshot bytes.
// A file is written to a temporary name, fsynced and renamed, so a crash leaves either the
// old set or the new one; a file whose checksum fails is skipped by recovery. The newest
// `snapshotsKept` are kept: older ones are only needed by consumers far behind, and the
// full journal serves those.
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from '../../lib/hash.ts';
import type { EngineSnapshotStore, SnapshotInfo } from './engine-host.ts';

export const snapshotsKept = 3;
const namePattern = /^snapshot-(\d{20})-(\d{20})\.bin$/;

function fileName(info: SnapshotInfo): string {
  return `snapshot-${String(info.commandSequence).padStart(20, '0')}-${String(info.eventSequence).padStart(20, '0')}.bin`;
}

export class FileSnapshotStore implements EngineSnapshotStore {
  constructor(private readonly directory: string) {}

  async save(info: SnapshotInfo, bytes: Uint8Array): Promise<void> {
    const header = Buffer.alloc(4);
    header.writeUInt32LE(crc32(bytes) >>> 0, 0);
    const path = join(this.directory, fileName(info));
    const temporary = `${path}.tmp`;
    const handle = await open(temporary, 'w');
    try {
      await handle.writev([header, bytes]);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
    const directory = await open(this.directory, 'r');
    try {
      await directory.sync();
    } finally {
      await directory.close();
    }
    const all = await this.list();
    for (const old of all.slice(snapshotsKept)) await rm(join(this.directory, fileName(old)), { force: true });
  }

  async list(): Promise<SnapshotInfo[]> {
    const infos: SnapshotInfo[] = [];
    for (const name of await readdir(this.directory)) {
      const match = namePattern.exec(name);
      if (match) infos.push({ commandSequence: Number(match[1]), eventSequence: Number(match[2]) });
    }
    return infos.sort((a, b) => b.commandSequence - a.commandSequence);
  }

  async load(info: SnapshotInfo): Promise<Uint8Array | null> {
    let file: Buffer;
    try {
      file = await readFile(join(this.directory, fileName(info)));
    } catch {
      return null;
    }
    if (file.length < 4) return null;
    const bytes = new Uint8Array(file.buffer, file.byteOffset + 4, file.length - 4);
    return (crc32(bytes) >>> 0) === file.readUInt32LE(0) ? bytes : null;
  }
}

export async function openSnapshotStore(directory: string): Promise<FileSnapshotStore> {
  await mkdir(directory, { recursive: true });
  for (const name of await readdir(directory)) if (name.endsWith('.tmp')) await rm(join(directory, name), { force: true });
  return new FileSnapshotStore(directory);
}
