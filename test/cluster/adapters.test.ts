// Cluster adapter behaviour beyond the shared contracts, on the real services: JetStream
// record sequences stay gapless with several writers and with appends split over several
// messages; the NATS KV lease has one holder at a time, expires when its holder dies and
// is handed over at once on release; history reads go to a streaming replica set up by
// scripts/pg-replica.sh, whose lag is reported.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { JetStreamLog } from '../../src/adapters/jetstream-log.ts';
import { NatsLease } from '../../src/adapters/nats-lease.ts';
import { createScratchDatabase, PostgresDatabase } from '../../src/adapters/postgres.ts';
import { freePort, repositoryRoot } from '../../src/cluster/processes.ts';
import { databaseUrl, natsUrl, requireService, uniqueName } from './services.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

describe('JetStreamLog with several writers', () => {
  before(() => requireService('nats'));

  test('two writers appending at once produce one gapless sequence, each record where its range says', async () => {
    const stream = uniqueName('BOURSE_TWO_WRITERS');
    const first = await JetStreamLog.open({ stream, servers: natsUrl });
    const second = await JetStreamLog.open({ stream, servers: natsUrl });
    try {
      const appends = [];
      for (let index = 0; index < 200; index++) {
        const writer = index % 2 === 0 ? first : second;
        appends.push(writer.append([encoder.encode(`w${index % 2}-${index}`)]).then((range) => ({ index, range })));
      }
      const results = await Promise.all(appends);
      assert.equal(await first.lastSequence(), 200);
      const records = await second.read(1, 500);
      assert.deepEqual(records.map((record) => record.sequence), Array.from({ length: 200 }, (_, index) => index + 1));
      for (const { index, range } of results) assert.equal(decoder.decode(records[range.firstSequence - 1]!.payload), `w${index % 2}-${index}`);
    } finally {
      await first.destroy();
      await first.close();
      await second.close();
    }
  });

  test('an append larger than one NATS message is split over consecutive messages and reads back whole', async () => {
    const stream = uniqueName('BOURSE_BIG_APPEND');
    const log = await JetStreamLog.open({ stream, servers: natsUrl });
    try {
      const payloads = Array.from({ length: 5 }, (_, index) => new Uint8Array(600_000).fill(index + 1));
      assert.deepEqual(await log.append(payloads), { firstSequence: 1, lastSequence: 5 });
      assert.deepEqual(await log.append([encoder.encode('after')], 5), { firstSequence: 6, lastSequence: 6 });
      const tags = await log.writerTags();
      assert.ok(tags.length >= 4, `split over ${tags.length} messages`);
      const records = await log.read(1, 10);
      assert.equal(records.length, 6);
      records.slice(0, 5).forEach((record, index) => assert.ok(record.payload.length === 600_000 && record.payload.every((byte) => byte === index + 1)));
    } finally {
      await log.destroy();
      await log.close();
    }
  });
});

describe('NatsLease', () => {
  before(() => requireService('nats'));

  test('one holder at a time; a dead holder expires after the TTL; release hands over at once', async () => {
    const bucket = uniqueName('BOURSE_LEASE_TEST');
    const ttlMs = 800;
    const first = await NatsLease.open({ bucket, holderId: 'first', ttlMs, servers: natsUrl });
    const second = await NatsLease.open({ bucket, holderId: 'second', ttlMs, servers: natsUrl });
    try {
      assert.equal(await first.tryAcquire(), true);
      assert.equal(await second.tryAcquire(), false);
      // Renewals keep it well past the TTL.
      await new Promise((resolve) => setTimeout(resolve, ttlMs * 2));
      assert.equal(first.isHeld(), true);
      assert.equal(await second.tryAcquire(), false);
      assert.equal((await second.holder())?.holderId, 'first');
      // The holder "dies" (stops renewing without releasing): the key expires.
      let lost = '';
      first.onLost((reason) => (lost = reason));
      (first as unknown as { renewTimer: NodeJS.Timeout | null }).renewTimer?.close();
      (first as unknown as { holding: boolean }).holding = false;
      const startedMs = Date.now();
      assert.equal(await second.acquire(AbortSignal.timeout(5000)), true);
      const waitedMs = Date.now() - startedMs;
      assert.ok(waitedMs >= ttlMs / 2 && waitedMs < ttlMs * 4, `took over after ${waitedMs} ms`);
      assert.ok(second.currentTerm() > first.currentTerm(), 'terms grow with every holder');
      assert.equal(lost, '', 'a holder that stopped by itself is not told it lost');
      // Release: the next holder need not wait for the TTL.
      await second.release();
      const releasedMs = Date.now();
      assert.equal(await first.tryAcquire(), true);
      assert.ok(Date.now() - releasedMs < ttlMs / 2);
    } finally {
      await first.destroy();
      await first.close();
      await second.close();
    }
  });
});

describe('PostgreSQL read replica (scripts/pg-replica.sh)', () => {
  let replicaPort = 0;
  const replicaDirectory = `/var/lib/postgresql/bourse-replica-test-${process.pid}`;
  const script = `${repositoryRoot}scripts/pg-replica.sh`;
  const run = (action: string): string =>
    execFileSync(script, [action], { encoding: 'utf8', env: { ...process.env, REPLICA_PORT: String(replicaPort), REPLICA_DIR: replicaDirectory } });

  before(async () => {
    await requireService('postgres');
    replicaPort = await freePort();
  });

  after(() => {
    run('destroy');
  });

  test('start is idempotent; history reads go to the replica; lag is reported', async () => {
    const scratch = await createScratchDatabase(databaseUrl, 'bourse_replica_test');
    let db: PostgresDatabase | null = null;
    try {
      assert.match(run('start'), /running on 127\.0\.0\.1/);
      assert.match(run('start'), /already running/);
      assert.match(run('status'), /in recovery=t/);
      const replicaUrl = new URL(scratch.url);
      replicaUrl.port = String(replicaPort);
      db = await PostgresDatabase.open({ url: scratch.url, replicaUrl: replicaUrl.toString() });
      assert.equal(db.hasReplica(), true);
      await db.query('CREATE TABLE probe (id INTEGER PRIMARY KEY)');
      await db.query('INSERT INTO probe VALUES (1), (2)');
      const history = db.historyExecutor();
      const deadline = Date.now() + 10_000;
      let count = 0;
      while (Date.now() < deadline) {
        count = await history.query<{ count: string }>('SELECT count(*) AS count FROM probe').then((result) => Number(result.rows[0]!.count), () => 0);
        if (count === 2) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.equal(count, 2, 'the replica has the rows');
      const inRecovery = await history.query<{ recovery: boolean }>('SELECT pg_is_in_recovery() AS recovery');
      assert.equal(inRecovery.rows[0]!.recovery, true, 'history reads are served by the replica');
      await assert.rejects(history.query('INSERT INTO probe VALUES (3)'), /read-only/);
      const lag = await db.replicaLagSeconds();
      assert.ok(lag >= 0 && lag < 60, `lag ${lag} s`);
    } finally {
      await db?.close();
      run('stop');
      await scratch.drop();
    }
  });
});
