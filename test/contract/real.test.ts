// Runs the shared contract suites against the cluster adapters on the real services of
// this machine: JetStreamLog on NATS JetStream, PostgresDatabase on PostgreSQL, RedisCache
// and RedisPubSub on Redis. Every service must be up: a missing one fails these tests
// (under CI=true and otherwise), it is never skipped. Each run uses its own stream names,
// database and Redis key prefix, and removes them afterwards.
import { before } from 'node:test';
import { JetStreamLog } from '../../src/adapters/jetstream-log.ts';
import { logLimits } from '../../src/adapters/memory-log.ts';
import { createScratchDatabase, PostgresDatabase } from '../../src/adapters/postgres.ts';
import { RedisCache, RedisPubSub } from '../../src/adapters/redis-cache.ts';
import { runLogContract } from './log.contract.ts';
import { runSqlContract } from './sql.contract.ts';
import { runCacheContract, runPubSubContract } from './cache.contract.ts';
import { databaseUrl, natsUrl, redisUrl, requireService, uniqueName } from '../cluster/services.ts';

before(async () => {
  await requireService('nats');
  await requireService('postgres');
  await requireService('redis');
});

runLogContract(
  'JetStreamLog',
  async () => {
    const stream = uniqueName('BOURSE_CONTRACT');
    const subject = {
      log: (await JetStreamLog.open({ stream, servers: natsUrl })) as JetStreamLog,
      reopen: async () => {
        await subject.log.close();
        subject.log = await JetStreamLog.open({ stream, servers: natsUrl });
        return subject.log;
      },
      cleanup: async () => {
        const cleaner = await JetStreamLog.open({ stream, servers: natsUrl });
        await cleaner.destroy();
        await cleaner.close();
      },
    };
    return subject;
  },
  { recordBytesMax: logLimits.recordBytesMax },
);

// Every test gets a database of its own (CREATE DATABASE is quick on a small server).
runSqlContract('PostgresDatabase', async () => {
  const scratch = await createScratchDatabase(databaseUrl, 'bourse_contract');
  const db = await PostgresDatabase.open({ url: scratch.url });
  return {
    db,
    cleanup: async () => {
      await db.close();
      await scratch.drop();
    },
  };
});

runCacheContract('RedisCache', async () => {
  const keyPrefix = `${uniqueName('contract').toLowerCase()}:`;
  const cache = await RedisCache.open({ url: redisUrl, keyPrefix });
  return {
    cache,
    // Redis keeps real time: TTLs and windows pass by waiting.
    advanceTime: (ms: number) => new Promise((resolve) => setTimeout(resolve, ms)),
    cleanup: async () => {
      const cleaner = await RedisCache.open({ url: redisUrl, keyPrefix: '' });
      await cleaner.deleteByPrefix(keyPrefix);
      await cleaner.close();
    },
  };
});

runPubSubContract('RedisPubSub', async () => {
  const keyPrefix = `${uniqueName('contract').toLowerCase()}:`;
  const pubsub = await RedisPubSub.open({ url: redisUrl, keyPrefix });
  const peer = await RedisPubSub.open({ url: redisUrl, keyPrefix });
  return {
    pubsub,
    peer,
    cleanup: async () => {
      await pubsub.close().catch(() => undefined);
      await peer.close().catch(() => undefined);
    },
  };
});
