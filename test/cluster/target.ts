// Runs the embedded mode's end-to-end test bodies (CCXT, book sync) against a running
// cluster instead: test/cluster/e2e-nginx.test.ts starts the cluster and runs those test
// files with BOURSE_TEST_TARGET=cluster; their start helpers then call `clusterTarget()`,
// which connects to that cluster through nginx and offers the same surface as the
// embedded exchange (url, wsUrl, demoUsers, and a `host` that submits over NATS and reads
// from a local engine follower).
import { connect } from '@nats-io/transport-node';
import type { Command } from '../../src/domain/command.ts';
import { Engine } from '../../src/engine/engine.ts';
import { JetStreamLog } from '../../src/adapters/jetstream-log.ts';
import { PostgresDatabase } from '../../src/adapters/postgres.ts';
import { NatsCommandBus } from '../../src/cluster/command-bus.ts';
import { EngineFollower } from '../../src/cluster/engine-follower.ts';
import { loadClusterSettings } from '../../src/cluster/settings.ts';
import { SqlAccountStore } from '../../src/services/gateway/accounts.ts';
import type { CommandResult } from '../../src/services/contracts.ts';

/** Environment the cluster test passes to the test files it runs. */
export const clusterTargetVariables = ['BOURSE_TEST_TARGET', 'BOURSE_TEST_CLUSTER_URL', 'BOURSE_CLUSTER', 'BOURSE_NATS_URL', 'BOURSE_DATABASE_URL', 'BOURSE_DEMO_API_KEY', 'BOURSE_DEMO_API_SECRET', 'BOURSE_DEMO2_API_KEY', 'BOURSE_DEMO2_API_SECRET'] as const;

export function clusterTargetRequested(): boolean {
  return process.env.BOURSE_TEST_TARGET === 'cluster';
}

/** What the embedded tests use of their exchange, served by the cluster. */
export interface ClusterTarget {
  url: string;
  wsUrl: string;
  demoUsers: { userId: number; email: string; apiKey: string; secret: string }[];
  host: EngineFollower & { submit(command: Command, timeoutMs?: number): Promise<CommandResult> };
  stop(): Promise<void>;
}

export async function clusterTarget(): Promise<ClusterTarget> {
  const url = process.env.BOURSE_TEST_CLUSTER_URL;
  if (!url) throw new Error('BOURSE_TEST_TARGET=cluster needs BOURSE_TEST_CLUSTER_URL (run through test/cluster/e2e-nginx.test.ts)');
  const settings = loadClusterSettings();
  const connection = await connect({ servers: settings.natsUrl });
  const commandLog = await JetStreamLog.open({ stream: settings.commandStream, connection });
  const follower = new EngineFollower(new Engine(), commandLog);
  await follower.start();
  const bus = new NatsCommandBus({ connection, subject: settings.commandSubject, afterResult: (sequence, remainingMs) => follower.waitFor(sequence, remainingMs) });
  const db = await PostgresDatabase.open({ url: settings.databaseUrl });
  const accounts = new SqlAccountStore(db);
  const demoUsers: ClusterTarget['demoUsers'] = [];
  for (const [index, email] of ['demo1@bourse.local', 'demo2@bourse.local'].entries()) {
    const user = await accounts.userByEmail(email);
    if (!user) throw new Error(`demo user ${email} is missing in the cluster database`);
    const suffix = index === 0 ? '' : '2';
    demoUsers.push({ userId: user.userId, email, apiKey: process.env[`BOURSE_DEMO${suffix}_API_KEY`] ?? '', secret: process.env[`BOURSE_DEMO${suffix}_API_SECRET`] ?? '' });
  }
  await db.close();
  const host = follower as ClusterTarget['host'];
  host.submit = (command, timeoutMs) => bus.submit(command, timeoutMs);
  return {
    url,
    wsUrl: url.replace(/^http/, 'ws'),
    demoUsers,
    host,
    async stop() {
      follower.stop();
      await commandLog.close();
      await connection.close();
    },
  };
}
