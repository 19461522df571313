import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { FileSnapshotStore } from './snapshot-store.ts';

async function withDirectory(body: (directory: string) => Promise<void>): Promise<void> {
  const directory = await mkdtemp(join(tmpdir(), 'bourse-snapshots-'));
  try {
    await body(directory);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

const bytesOf = (text: string): Uint8Array => new TextEncoder().encode(text);

test('saves snapshots atomically and loads the newest with its metadata', async () => {
  await withDirectory(async (directory) => {
    const store = await FileSnapshotStore.open(directory, { now: () => 1234 });
    assert.equal(await store.loadNewest(), null);
    await store.save({ commandSequence: 10, eventSequence: 40, bytes: bytesOf('state at 10') });
    const saved = await store.save({ commandSequence: 2 ** 40, eventSequence: 2 ** 41, bytes: bytesOf('state at 2^40') });
    assert.deepEqual(saved, { commandSequence: 2 ** 40, eventSequence: 2 ** 41, createdAtMs: 1234, sizeBytes: 13, file: saved.file });
    const newest = await store.loadNewest();
    assert.ok(newest);
    assert.equal(newest.commandSequence, 2 ** 40);
    assert.equal(newest.eventSequence, 2 ** 41);
    assert.equal(newest.createdAtMs, 1234);
    assert.equal(new TextDecoder().decode(newest.bytes), 'state at 2^40');
    assert.ok((await readdir(directory)).every((name) => !name.startsWith('.tmp')), 'no temporary file left');
  });
});

test('a corrupt newest snapshot is skipped with a warning; the previous valid one loads', async () => {
  await withDirectory(async (directory) => {
    const messages: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => messages.push(line) });
    const store = await FileSnapshotStore.open(directory, { logger });
    await store.save({ commandSequence: 5, eventSequence: 9, bytes: bytesOf('five') });
    const newest = await store.save({ commandSequence: 7, eventSequence: 12, bytes: bytesOf('seven') });
    const path = join(directory, newest.file);
    const contents = await readFile(path);
    contents[contents.length - 1] ^= 0x01;
    await writeFile(path, contents);
    const loaded = await store.loadNewest();
    assert.equal(loaded?.commandSequence, 5);
    assert.equal(new TextDecoder().decode(loaded!.bytes), 'five');
    assert.ok(messages.some((line) => line.includes('payload checksum mismatch')), 'warning names the reason');
    // A truncated file and a damaged header are skipped too.
    await writeFile(path, contents.subarray(0, 20));
    assert.equal((await store.loadNewest())?.commandSequence, 5);
    const header = Buffer.from(contents);
    header[0] ^= 0xff;
    await writeFile(path, header);
    assert.equal((await store.loadNewest())?.commandSequence, 5);
  });
});

test('keeps only the newest N snapshots and removes leftovers of an interrupted save', async () => {
  await withDirectory(async (directory) => {
    await writeFile(join(directory, '.tmp-snapshot-leftover'), 'half written');
    const store = await FileSnapshotStore.open(directory, { keepCount: 2 });
    assert.deepEqual(await readdir(directory), []);
    for (const sequence of [1, 2, 3, 4]) await store.save({ commandSequence: sequence, eventSequence: sequence, bytes: bytesOf(`s${sequence}`) });
    assert.deepEqual((await store.list()).map((entry) => entry.commandSequence), [4, 3]);
    assert.equal((await store.loadNewest())?.commandSequence, 4);
  });
});

test('an empty snapshot and a large one round-trip', async () => {
  await withDirectory(async (directory) => {
    const store = await FileSnapshotStore.open(directory);
    await store.save({ commandSequence: 1, eventSequence: 0, bytes: new Uint8Array(0) });
    assert.equal((await store.loadNewest())?.bytes.length, 0);
    const large = new Uint8Array(8 * 1024 * 1024);
    for (let index = 0; index < large.length; index += 4096) large[index] = index & 0xff;
    await store.save({ commandSequence: 2, eventSequence: 3, bytes: large });
    assert.deepEqual(Buffer.from((await store.loadNewest())!.bytes), Buffer.from(large));
  });
});
