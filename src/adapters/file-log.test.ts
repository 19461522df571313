import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdir, mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { FileLog, LogCorruptError, fileLogLimits } from './file-log.ts';
import { pino } from 'pino';
import { SeededRandom } from '../lib/prng.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function withDirectory(body: (directory: string) => Promise<void>): Promise<void> {
  const directory = await mkdtemp(join(tmpdir(), 'bourse-file-log-test-'));
  try {
    await body(directory);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

/** A logger that keeps warnings so tests can check they were raised. */
function capturingLogger(): { logger: pino.Logger; messages: string[] } {
  const messages: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => messages.push(line) });
  return { logger, messages };
}

async function segmentFiles(directory: string): Promise<string[]> {
  return (await readdir(directory)).filter((name) => name.startsWith('segment-')).sort().map((name) => join(directory, name));
}

/** Appends `count` records one append (one commit group) at a time. */
async function appendEach(log: FileLog, count: number, prefix = 'record'): Promise<void> {
  for (let index = 1; index <= count; index++) await log.append([encoder.encode(`${prefix}-${index}`)]);
}

test('reopening reads every record from disk, across segments, past the tail cache', async () => {
  await withDirectory(async (directory) => {
    const log = await FileLog.open(directory, { segmentBytesMax: 2048, tailCacheRecordsMax: 16 });
    for (let batch = 0; batch < 20; batch++) {
      await log.append(Array.from({ length: 25 }, (_, index) => encoder.encode(`payload ${batch * 25 + index + 1} ${'x'.repeat(index)}`)));
    }
    await log.close();
    assert.ok((await segmentFiles(directory)).length > 5, 'several segments');
    const reopened = await FileLog.open(directory, { segmentBytesMax: 2048, tailCacheRecordsMax: 16 });
    assert.equal(await reopened.lastSequence(), 500);
    for (const from of [1, 2, 63, 64, 65, 130, 499, 500]) {
      const records = await reopened.read(from, 7);
      assert.equal(records.length, Math.min(7, 501 - from));
      records.forEach((record, index) => {
        assert.equal(record.sequence, from + index);
        assert.match(decoder.decode(record.payload), new RegExp(`^payload ${from + index} `));
      });
    }
    assert.equal((await reopened.read(1, 1000)).length, 500);
    await reopened.close();
  });
});

test('a torn tail is truncated to the last valid record, with a warning', async () => {
  await withDirectory(async (directory) => {
    const log = await FileLog.open(directory);
    await appendEach(log, 5);
    await log.close();
    const [file] = await segmentFiles(directory);
    const sizeBefore = (await stat(file!)).size;
    // Half a frame: a header promising 100 bytes of payload that never arrived.
    const torn = Buffer.alloc(30);
    torn.writeUInt32LE(100, 4);
    torn.writeUInt32LE(6, 8);
    await appendFile(file!, torn);
    const { logger, messages } = capturingLogger();
    const reopened = await FileLog.open(directory, { logger });
    assert.equal(await reopened.lastSequence(), 5);
    assert.equal((await stat(file!)).size, sizeBefore, 'file truncated back to the valid end');
    assert.equal(reopened.stats().truncatedBytesAtOpen, 30);
    assert.ok(messages.some((line) => line.includes('torn tail truncated')), 'warning logged');
    assert.deepEqual(await reopened.append([encoder.encode('six')]), { firstSequence: 6, lastSequence: 6 });
    await reopened.close();
    const again = await FileLog.open(directory);
    assert.deepEqual((await again.read(5, 5)).map((record) => decoder.decode(record.payload)), ['record-5', 'six']);
    await again.close();
  });
});

test('a record cut short in the middle of its payload is a torn tail too', async () => {
  await withDirectory(async (directory) => {
    const log = await FileLog.open(directory);
    await appendEach(log, 3);
    await log.close();
    const [file] = await segmentFiles(directory);
    const size = (await stat(file!)).size;
    const handle = await open(file!, 'r+');
    await handle.truncate(size - 3);
    await handle.close();
    const reopened = await FileLog.open(directory);
    assert.equal(await reopened.lastSequence(), 2);
    await reopened.close();
  });
});

test('a torn group (later records of the same unacknowledged group survived) is still a torn tail', async () => {
  await withDirectory(async (directory) => {
    const log = await FileLog.open(directory);
    await appendEach(log, 2);
    // One append = one commit group of three records.
    await log.append([encoder.encode('g-1'), encoder.encode('g-2'), encoder.encode('g-3')]);
    await log.close();
    const [file] = await segmentFiles(directory);
    const bytes = await readFile(file!);
    // Damage the first record of the last group (as if its page never reached the disk).
    const firstOfGroup = 2 * fileLogLimits.frameHeaderBytes + 'record-1'.length + 'record-2'.length;
    bytes[firstOfGroup + fileLogLimits.frameHeaderBytes] ^= 0xff;
    await writeFile(file!, bytes);
    const reopened = await FileLog.open(directory);
    assert.equal(await reopened.lastSequence(), 2);
    await reopened.close();
  });
});

test('corruption before the end refuses to open, naming the file and offset', async () => {
  await withDirectory(async (directory) => {
    const log = await FileLog.open(directory);
    await appendEach(log, 10);
    await log.close();
    const [file] = await segmentFiles(directory);
    const bytes = await readFile(file!);
    const frameBytes = fileLogLimits.frameHeaderBytes + 'record-1'.length;
    const offsetOfFourth = 3 * frameBytes;
    bytes[offsetOfFourth + fileLogLimits.frameHeaderBytes + 2] ^= 0x01;
    await writeFile(file!, bytes);
    await assert.rejects(FileLog.open(directory), (error: unknown) => {
      assert.ok(error instanceof LogCorruptError);
      assert.ok(error.message.includes(file!), error.message);
      assert.ok(error.message.includes(`offset ${offsetOfFourth}`), error.message);
      return true;
    });
    assert.equal((await stat(file!)).size, bytes.length, 'nothing truncated');
  });
});

test('corruption in an earlier segment refuses to open', async () => {
  await withDirectory(async (directory) => {
    const log = await FileLog.open(directory, { segmentBytesMax: 100 });
    await appendEach(log, 12);
    await log.close();
    const files = await segmentFiles(directory);
    assert.ok(files.length >= 3);
    const bytes = await readFile(files[0]!);
    bytes[bytes.length - 1] ^= 0x10;
    await writeFile(files[0]!, bytes);
    await assert.rejects(FileLog.open(directory), /refusing to open/);
  });
});

test('group commit: many concurrent appends share far fewer fsyncs', async () => {
  await withDirectory(async (directory) => {
    const log = await FileLog.open(directory);
    const appenders = 64;
    const rounds = 20;
    await Promise.all(
      Array.from({ length: appenders }, async (_, appender) => {
        for (let round = 0; round < rounds; round++) await log.append([encoder.encode(`${appender}/${round}`)]);
      }),
    );
    const stats = log.stats();
    assert.equal(stats.appendCount, appenders * rounds);
    assert.equal(stats.recordCount, appenders * rounds);
    assert.ok(stats.syncCount * 8 < stats.appendCount, `${stats.syncCount} fsyncs for ${stats.appendCount} appends`);
    await log.close();
  });
});

test('durability ordering: an append resolves after its fsync, and in sequence order', async () => {
  await withDirectory(async (directory) => {
    const log = await FileLog.open(directory);
    const resolvedOrder: number[] = [];
    const syncsSeen: number[] = [];
    await Promise.all(
      Array.from({ length: 50 }, (_, index) =>
        log.append([encoder.encode(`r${index}`)]).then((range) => {
          resolvedOrder.push(range.lastSequence);
          syncsSeen.push(log.stats().syncCount);
        }),
      ),
    );
    assert.deepEqual(resolvedOrder, [...resolvedOrder].sort((a, b) => a - b));
    assert.ok(syncsSeen.every((count) => count >= 1), 'no append resolved before the first fsync');
    // What an append acknowledged is on disk: a fresh reader of the files sees it all.
    const other = await FileLog.open(directory);
    assert.equal(await other.lastSequence(), 50);
    await other.close();
    await log.close();
  });
});

test('append throughput with group commit (64 concurrent appenders)', async () => {
  await withDirectory(async (directory) => {
    const log = await FileLog.open(directory);
    const payload = new Uint8Array(64).fill(7);
    const durationMs = 1500;
    const deadline = performance.now() + durationMs;
    let appends = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (performance.now() < deadline) {
          await log.append([payload]);
          appends++;
        }
      }),
    );
    const stats = log.stats();
    const perSecond = Math.round(appends / (durationMs / 1000));
    console.log(`file log: ${perSecond} appends/s (64-byte records), ${stats.syncCount} fsyncs, ${(stats.appendCount / stats.syncCount).toFixed(1)} appends per fsync`);
    assert.equal(stats.appendCount, appends);
    assert.ok(appends > 0);
    await log.close();
  });
});

test('kill -9 during a burst of appends: every acknowledged record is there after reopening', async () => {
  await withDirectory(async (directory) => {
    const { spawn } = await import('node:child_process');
    const moduleUrl = new URL('./file-log.ts', import.meta.url).href;
    // The child appends from 32 concurrent writers and prints each acknowledged range.
    const script = `
      const { FileLog } = await import(${JSON.stringify(moduleUrl)});
      const log = await FileLog.open(${JSON.stringify(directory)}, { segmentBytesMax: 64 * 1024 });
      const payload = new Uint8Array(100).fill(1);
      for (let writer = 0; writer < 32; writer++) {
        (async () => {
          for (;;) {
            const range = await log.append([payload, payload]);
            process.stdout.write(range.lastSequence + '\\n');
          }
        })();
      }`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const deadline = Date.now() + 20_000;
    while (output.split('\n').length < 2000 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const acknowledged = output.split('\n').filter((line) => /^\d+$/.test(line)).map(Number);
    assert.ok(acknowledged.length >= 2000, `child acknowledged only ${acknowledged.length} appends`);
    const highest = Math.max(...acknowledged);
    const log = await FileLog.open(directory, { segmentBytesMax: 64 * 1024 });
    const last = await log.lastSequence();
    assert.ok(last >= highest, `acknowledged up to ${highest}, log holds ${last}`);
    const records = await log.read(1, last + 1);
    assert.equal(records.length, last);
    records.forEach((record, index) => assert.equal(record.sequence, index + 1));
    await log.close();
  });
});

test('seeded damage: a cut always opens at the last whole record; a flipped byte is cut (last group) or refused (earlier group)', async () => {
  const seed = Number(process.env.SEED ?? Date.now() % 1_000_000);
  const random = new SeededRandom(seed);
  console.log(`file log damage test seed ${seed} (SEED=${seed} reproduces it)`);
  await withDirectory(async (directory) => {
    const source = join(directory, 'source');
    const log = await FileLog.open(source);
    // Groups of 1..5 records; remember where each record starts and which group it is in.
    const starts: number[] = [];
    const groupOf: number[] = [];
    let offset = 0;
    let group = 0;
    while (starts.length < 120) {
      const size = random.integer(1, 5);
      const payloads = Array.from({ length: size }, () => new Uint8Array(random.integer(0, 40)).fill(random.integer(0, 255)));
      for (const payload of payloads) {
        starts.push(offset);
        groupOf.push(group);
        offset += fileLogLimits.frameHeaderBytes + payload.length;
      }
      await log.append(payloads);
      group++;
    }
    const original = await log.read(1, 1000);
    await log.close();
    const [file] = await segmentFiles(source);
    const bytes = await readFile(file!);
    assert.equal(bytes.length, offset);
    const recordAt = (byteOffset: number): number => {
      let index = 0;
      while (index + 1 < starts.length && starts[index + 1]! <= byteOffset) index++;
      return index;
    };
    for (let round = 0; round < 40; round++) {
      const damaged = join(directory, `damaged-${round}`);
      const copy = Buffer.from(bytes);
      const cut = random.chance(0.5);
      const position = random.integer(0, bytes.length - 1);
      const record = recordAt(position);
      let expectedLast: number | 'refused';
      if (cut) {
        await mkdir(damaged);
        await writeFile(join(damaged, basename(file!)), copy.subarray(0, position));
        expectedLast = record;
      } else {
        copy[position] ^= 1 << random.integer(0, 7);
        await mkdir(damaged);
        await writeFile(join(damaged, basename(file!)), copy);
        expectedLast = groupOf[record] === group - 1 ? record : 'refused';
      }
      const context = `seed ${seed} round ${round}: ${cut ? 'cut' : 'flip'} at ${position} (record ${record + 1}, group ${groupOf[record]} of ${group})`;
      if (expectedLast === 'refused') {
        await assert.rejects(FileLog.open(damaged), LogCorruptError, context);
        continue;
      }
      const reopened = await FileLog.open(damaged);
      assert.equal(await reopened.lastSequence(), expectedLast, context);
      const records = await reopened.read(1, 1000);
      assert.deepEqual(
        records.map((entry) => Buffer.from(entry.payload)),
        original.slice(0, expectedLast).map((entry) => Buffer.from(entry.payload)),
        context,
      );
      await reopened.close();
    }
  });
});
