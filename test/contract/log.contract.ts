// The RecordLog contract: one suite every log implementation passes (MemoryLog, FileLog,
// the JetStream log). Call `runLogContract(name, factory)` from a *.test.ts file; the
// factory returns a fresh, empty log each time, and optionally a way to reopen it.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LogFencedError, type LogRecord, type RecordLog } from '../../src/ports/log.ts';

export interface LogUnderTest {
  log: RecordLog;
  /** Closes the log and opens the same storage again (durable logs only). */
  reopen?: () => Promise<RecordLog>;
  /** Removes whatever the log stored (files, streams). Called after close. */
  cleanup: () => Promise<void>;
}

export type LogFactory = () => Promise<LogUnderTest>;

export interface LogContractOptions {
  /** The implementation's largest record payload; the suite appends one of this size and one over it. */
  recordBytesMax: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const text = (value: string): Uint8Array => encoder.encode(value);
const texts = (records: LogRecord[]): string[] => records.map((record) => decoder.decode(record.payload));

async function withLog(factory: LogFactory, body: (subject: LogUnderTest) => Promise<void>): Promise<void> {
  const subject = await factory();
  try {
    await body(subject);
  } finally {
    await subject.log.close().catch(() => undefined);
    await subject.cleanup();
  }
}

/** Resolves when `predicate` holds, polling briefly; fails after `timeoutMs`. */
async function eventually(predicate: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export function runLogContract(name: string, factory: LogFactory, options: LogContractOptions): void {
  describe(`RecordLog contract: ${name}`, () => {
    test('an empty log has last sequence 0 and reads nothing', async () => {
      await withLog(factory, async ({ log }) => {
        assert.equal(await log.lastSequence(), 0);
        assert.deepEqual(await log.read(1, 10), []);
        assert.deepEqual(await log.read(0, 10), []);
      });
    });

    test('appends get contiguous sequences from 1 and read back in order', async () => {
      await withLog(factory, async ({ log }) => {
        assert.deepEqual(await log.append([text('a'), text('b')]), { firstSequence: 1, lastSequence: 2 });
        assert.deepEqual(await log.append([text('c')]), { firstSequence: 3, lastSequence: 3 });
        assert.equal(await log.lastSequence(), 3);
        const all = await log.read(1, 100);
        assert.deepEqual(all.map((record) => record.sequence), [1, 2, 3]);
        assert.deepEqual(texts(all), ['a', 'b', 'c']);
        assert.deepEqual(texts(await log.read(2, 1)), ['b']);
        assert.deepEqual(texts(await log.read(3, 10)), ['c']);
        assert.deepEqual(await log.read(4, 10), []);
        assert.deepEqual(await log.read(1, 0), []);
      });
    });

    test('payloads of every size round-trip byte for byte, including empty and the maximum', async () => {
      await withLog(factory, async ({ log }) => {
        const largest = new Uint8Array(options.recordBytesMax);
        for (let index = 0; index < largest.length; index++) largest[index] = (index * 31 + 7) & 0xff;
        const payloads = [new Uint8Array(0), new Uint8Array([0, 255, 1]), largest, text('after')];
        await log.append(payloads);
        const records = await log.read(1, 10);
        assert.equal(records.length, 4);
        records.forEach((record, index) => assert.deepEqual(Buffer.from(record.payload), Buffer.from(payloads[index]!), `record ${index + 1}`));
      });
    });

    test('a record over the size limit and an empty append are refused and change nothing', async () => {
      await withLog(factory, async ({ log }) => {
        await log.append([text('one')]);
        await assert.rejects(log.append([new Uint8Array(options.recordBytesMax + 1)]));
        await assert.rejects(log.append([]));
        assert.equal(await log.lastSequence(), 1);
        assert.deepEqual(await log.append([text('two')]), { firstSequence: 2, lastSequence: 2 });
      });
    });

    test('the log keeps its own copy: changing the buffer after append changes nothing', async () => {
      await withLog(factory, async ({ log }) => {
        const payload = text('original');
        const pending = log.append([payload]);
        payload.fill(120);
        await pending;
        assert.deepEqual(texts(await log.read(1, 1)), ['original']);
      });
    });

    test('concurrent appends get disjoint ranges and every record is where its range says', async () => {
      await withLog(factory, async ({ log }) => {
        const appenders = 40;
        const results = await Promise.all(
          Array.from({ length: appenders }, (_, appender) => {
            const count = 1 + (appender % 4);
            return log.append(Array.from({ length: count }, (_, index) => text(`${appender}:${index}`))).then((range) => ({ appender, count, range }));
          }),
        );
        const total = results.reduce((sum, result) => sum + result.count, 0);
        assert.equal(await log.lastSequence(), total);
        const records = await log.read(1, total + 10);
        assert.equal(records.length, total);
        records.forEach((record, index) => assert.equal(record.sequence, index + 1));
        const seen = new Set<number>();
        for (const { appender, count, range } of results) {
          assert.equal(range.lastSequence - range.firstSequence + 1, count);
          for (let index = 0; index < count; index++) {
            const sequence = range.firstSequence + index;
            assert.ok(!seen.has(sequence), `sequence ${sequence} given twice`);
            seen.add(sequence);
            assert.equal(decoder.decode(records[sequence - 1]!.payload), `${appender}:${index}`);
          }
        }
      });
    });

    test('expectedLastSequence fences: a stale writer is refused and appends nothing', async () => {
      await withLog(factory, async ({ log }) => {
        assert.deepEqual(await log.append([text('a')], 0), { firstSequence: 1, lastSequence: 1 });
        assert.deepEqual(await log.append([text('b'), text('c')], 1), { firstSequence: 2, lastSequence: 3 });
        await assert.rejects(log.append([text('stale')], 1), (error: unknown) => error instanceof LogFencedError);
        await assert.rejects(log.append([text('ahead')], 7), (error: unknown) => error instanceof LogFencedError);
        assert.equal(await log.lastSequence(), 3);
        assert.deepEqual(texts(await log.read(1, 10)), ['a', 'b', 'c']);
      });
    });

    test('an append resolves only once its records are readable and counted by lastSequence', async () => {
      await withLog(factory, async ({ log }) => {
        const ranges = await Promise.all(Array.from({ length: 20 }, (_, index) => log.append([text(`r${index}`)])));
        for (const range of ranges) {
          assert.ok((await log.lastSequence()) >= range.lastSequence);
          assert.equal((await log.read(range.lastSequence, 1)).length, 1);
        }
      });
    });

    test('follow delivers existing and new records in order, in bounded batches, and stops', async () => {
      await withLog(factory, async ({ log }) => {
        await log.append([text('1'), text('2'), text('3')]);
        const received: LogRecord[] = [];
        let largestBatch = 0;
        const stop = log.follow(
          1,
          async (records) => {
            largestBatch = Math.max(largestBatch, records.length);
            received.push(...records);
          },
          2,
        );
        await eventually(() => received.length === 3, 'existing records');
        for (let index = 4; index <= 10; index++) await log.append([text(String(index))]);
        await log.append([text('11'), text('12'), text('13')]);
        await eventually(() => received.length === 13, 'new records');
        assert.deepEqual(received.map((record) => record.sequence), Array.from({ length: 13 }, (_, index) => index + 1));
        assert.deepEqual(texts(received), Array.from({ length: 13 }, (_, index) => String(index + 1)));
        assert.ok(largestBatch <= 2, `batch of ${largestBatch} over batchMax 2`);
        stop();
        await log.append([text('after stop')]);
        await new Promise((resolve) => setTimeout(resolve, 100));
        assert.equal(received.length, 13);
      });
    });

    test('follow from the middle starts there; each batch is awaited before the next', async () => {
      await withLog(factory, async ({ log }) => {
        await log.append(Array.from({ length: 10 }, (_, index) => text(String(index + 1))));
        const received: number[] = [];
        let inHandler = 0;
        let overlapped = false;
        const stop = log.follow(
          6,
          async (records) => {
            inHandler++;
            if (inHandler > 1) overlapped = true;
            await new Promise((resolve) => setTimeout(resolve, 5));
            received.push(...records.map((record) => record.sequence));
            inHandler--;
          },
          1,
        );
        await eventually(() => received.length === 5, 'records 6..10');
        stop();
        assert.deepEqual(received, [6, 7, 8, 9, 10]);
        assert.equal(overlapped, false);
      });
    });

    test('a follow handler that throws gets the same batch again', async () => {
      await withLog(factory, async ({ log }) => {
        await log.append([text('a'), text('b')]);
        const attempts: number[][] = [];
        let failuresLeft = 2;
        const stop = log.follow(1, (records) => {
          attempts.push(records.map((record) => record.sequence));
          if (failuresLeft-- > 0) throw new Error('handler failure (expected by the test)');
        });
        await eventually(() => attempts.length === 3, 'two retries');
        stop();
        assert.deepEqual(attempts[0], attempts[1]);
        assert.deepEqual(attempts[1], attempts[2]);
        assert.equal(attempts[0]![0], 1);
      });
    });

    test('records survive close and reopen (durable logs)', async (context) => {
      const subject = await factory();
      try {
        if (!subject.reopen) {
          // Not a durable implementation: state the property it does have instead.
          await subject.log.append([text('x')]);
          assert.equal(await subject.log.lastSequence(), 1);
          context.diagnostic('no reopen: durability across restarts is not part of this implementation');
          return;
        }
        await subject.log.append([text('a'), text('b')]);
        await subject.log.append([text('c')]);
        const reopened = await subject.reopen();
        subject.log = reopened;
        assert.equal(await reopened.lastSequence(), 3);
        assert.deepEqual(texts(await reopened.read(1, 10)), ['a', 'b', 'c']);
        assert.deepEqual(await reopened.append([text('d')], 3), { firstSequence: 4, lastSequence: 4 });
        assert.deepEqual(texts(await reopened.read(4, 1)), ['d']);
      } finally {
        await subject.log.close().catch(() => undefined);
        await subject.cleanup();
      }
    });
  });
}
