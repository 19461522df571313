// The embedded mode's book-sync test file (10,000 random commands, two book-sync clients
// on `@depth` and `@depth@100ms`) runs unchanged against a whole cluster through nginx with
// two gateways: market data goes engine -> event log -> market-data role -> Redis pub/sub
// -> every gateway -> WebSocket, and the clients' books still equal the engine's.
import { after, before, describe, test } from 'node:test';
import { embeddedFileTimeoutMs, runEmbeddedTestFile, startTestCluster, type TestCluster } from './e2e-cluster.ts';

describe('book sync through the cluster', { timeout: 300_000 }, () => {
  let running: TestCluster;

  before(async () => {
    running = await startTestCluster();
  });

  after(async () => {
    await running?.stop();
  });

  test('the book-sync test file passes unchanged against the cluster', { timeout: embeddedFileTimeoutMs + 10_000 }, () => {
    runEmbeddedTestFile(running.cluster, 'test/streams/book-sync.test.ts');
  });
});
