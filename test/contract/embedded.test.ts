// Runs the shared contract suites against the embedded adapters: MemoryLog and FileLog,
// PGlite, MemoryCache and MemoryPubSub. The cluster adapters run the same suites from
// their own test file.
import { after } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileLog } from '../../src/adapters/file-log.ts';
import { MemoryLog, logLimits } from '../../src/adapters/memory-log.ts';
import { PgliteDatabase } from '../../src/adapters/pglite.ts';
import { runLogContract } from './log.contract.ts';
import { runSqlContract } from './sql.contract.ts';
import { MemoryBus, MemoryCache, MemoryPubSub } from '../../src/adapters/memory-cache.ts';
import { runCacheContract, runPubSubContract } from './cache.contract.ts';

runLogContract('MemoryLog', async () => ({ log: new MemoryLog(), cleanup: async () => undefined }), { recordBytesMax: logLimits.recordBytesMax });

runLogContract(
  'FileLog',
  async () => {
    const directory = await mkdtemp(join(tmpdir(), 'bourse-file-log-'));
    const subject = {
      log: await FileLog.open(directory, { segmentBytesMax: 4096 }),
      reopen: async () => {
        await subject.log.close();
        return FileLog.open(directory, { segmentBytesMax: 4096 });
      },
      cleanup: () => rm(directory, { recursive: true, force: true }),
    };
    return subject;
  },
  { recordBytesMax: logLimits.recordBytesMax },
);

// Starting PGlite takes seconds, so one instance serves the whole file and every test gets
// a fresh schema of its own (all our SQL is unqualified, so it lands there).
let sharedPglite: Promise<PgliteDatabase> | null = null;
let schemaCounter = 0;
after(async () => {
  if (sharedPglite) await (await sharedPglite).close();
});
runSqlContract('PGlite', async () => {
  sharedPglite ??= PgliteDatabase.open();
  const db = await sharedPglite;
  const schema = `contract_${++schemaCounter}`;
  await db.exec(`CREATE SCHEMA ${schema}; SET search_path TO ${schema}`);
  return {
    db,
    cleanup: async () => {
      await db.exec(`SET search_path TO public; DROP SCHEMA ${schema} CASCADE`);
    },
  };
});

runCacheContract('MemoryCache', async () => {
  let nowMs = 1_700_000_000_000;
  return {
    cache: new MemoryCache({ now: () => nowMs }),
    advanceTime: async (ms: number) => {
      nowMs += ms;
    },
    cleanup: async () => undefined,
  };
});

runPubSubContract('MemoryPubSub', async () => {
  const bus = new MemoryBus();
  return { pubsub: new MemoryPubSub(bus), peer: new MemoryPubSub(bus), cleanup: async () => undefined };
});
