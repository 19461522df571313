// Runs the shared contract suites against the cluster adapters on the real services of
// this machine: JetStreamLog on NATS JetStream, PostgresDatabase on PostgreSQL, RedisCache
// and RedisPubSub on Redis. Every service must be up: a missing one fails these tests
// (under CI=true and otherwise), it is never skipped.
import { before } from 'node:test';
import { JetStreamLog } from '../../src/adapters/jetstream-log.ts';
import { logLimits } from '../../src/adapters/memory-log.ts';
import { runLogContract } from './log.contract.ts';
import { natsUrl, requireService, uniqueName } from '../cluster/services.ts';

before(async () => {
  await requireService('nats');
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
