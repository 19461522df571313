// Shared set-up of the end-to-end cluster tests: a whole cluster (two gateways behind nginx)
// on the real services with its own streams, database and Redis keys, the demo keys of the
// embedded API tests, and a runner that executes an embedded-mode test file unchanged
// against it (BOURSE_TEST_TARGET=cluster, see test/cluster/target.ts).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { LocalCluster } from '../../src/cluster/cluster.ts';
import { repositoryRoot } from '../../src/cluster/processes.ts';
import { createScratchDatabase } from '../../src/adapters/postgres.ts';
import { adminToken, demoKeys } from '../api/support.ts';
import { requireService, uniqueName, natsUrl, redisUrl } from './services.ts';
import { destroyClusterStreams } from './cleanup.ts';

/** The child must not see the parent's test-runner context, or it refuses to run its tests. */
function withoutTestRunnerContext(environment: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const copy = { ...environment };
  delete copy.NODE_TEST_CONTEXT;
  return copy;
}

/** Each embedded test file gets this long against the cluster. */
export const embeddedFileTimeoutMs = 240_000;

export interface TestCluster {
  cluster: LocalCluster;
  stop(): Promise<void>;
}

export async function startTestCluster(gateways = 2): Promise<TestCluster> {
  for (const service of ['nats', 'postgres', 'redis'] as const) await requireService(service);
  const database = await createScratchDatabase();
  const cluster = new LocalCluster({
    name: uniqueName('e2e').toLowerCase(),
    port: 0,
    gateways,
    env: {
      BOURSE_DATABASE_URL: database.url,
      BOURSE_NATS_URL: natsUrl,
      BOURSE_REDIS_URL: redisUrl,
      BOURSE_ADMIN_TOKEN: adminToken,
      BOURSE_DEMO_API_KEY: demoKeys.apiKey,
      BOURSE_DEMO_API_SECRET: demoKeys.secret,
      BOURSE_DEMO2_API_KEY: demoKeys.apiKey2,
      BOURSE_DEMO2_API_SECRET: demoKeys.secret2,
      BOURSE_WEIGHT_PER_MINUTE: '10000000',
      BOURSE_ORDERS_PER_10S: '10000000',
      BOURSE_ORDERS_PER_DAY: '100000000',
      LOG_LEVEL: 'warn',
    },
  });
  try {
    await cluster.start();
  } catch (error) {
    await destroyClusterStreams(cluster.settings);
    await database.drop();
    throw error;
  }
  return {
    cluster,
    stop: async () => {
      await cluster.stop();
      await destroyClusterStreams(cluster.settings);
      await database.drop();
    },
  };
}

/** Runs an embedded-mode test file unchanged against the cluster; fails with its output. */
export function runEmbeddedTestFile(cluster: LocalCluster, file: string): void {
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', file], {
    cwd: repositoryRoot,
    encoding: 'utf8',
    timeout: embeddedFileTimeoutMs,
    env: {
      ...withoutTestRunnerContext(process.env),
      BOURSE_TEST_TARGET: 'cluster',
      BOURSE_TEST_CLUSTER_URL: cluster.url,
      BOURSE_CLUSTER: cluster.settings.cluster,
      BOURSE_NATS_URL: cluster.settings.natsUrl,
      BOURSE_DATABASE_URL: cluster.settings.databaseUrl,
      BOURSE_DEMO_API_KEY: demoKeys.apiKey,
      BOURSE_DEMO_API_SECRET: demoKeys.secret,
      BOURSE_DEMO2_API_KEY: demoKeys.apiKey2,
      BOURSE_DEMO2_API_SECRET: demoKeys.secret2,
    },
  });
  const output = `${result.stdout ?? ''}\n${result.stderr ?? ''}`;
  if (result.status !== 0) console.log(output);
  assert.equal(result.status, 0, `${file} against the cluster: exit ${result.status} ${result.signal ?? ''}`);
  assert.match(output, /ℹ fail 0/);
}
