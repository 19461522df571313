// A real server stack for tests that need knobs the embedded exchange does not expose
// (small stream limits, the PubSub handle, the notifier's clock): engine host, PGlite with
// the migrations, market data, notifier, a Fastify app with the market data and
// notification routes, and the WebSocket stream server, listening on a loopback port.

import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { PgliteDatabase } from '../../src/adapters/pglite.ts';
import { migrate } from '../../src/adapters/sql/migrate.ts';
import { startMarketData, registerMarketDataRoutes, type MarketDataService } from '../../src/services/market-data/index.ts';
import { startNotifier, registerNotificationRoutes, type Notifier, type NotifierDeps } from '../../src/services/notifier/index.ts';
import { attachStreamServer, type StreamServer, type StreamServerLimits, type StreamServerMetrics } from '../../src/services/gateway/streams.ts';
import { startPipeline, testLogger, type Pipeline } from './support.ts';

export interface Stack extends Pipeline {
  db: PgliteDatabase;
  app: FastifyInstance;
  marketData: MarketDataService;
  notifier: Notifier;
  streams: StreamServer;
  url: string;
  wsUrl: string;
  stop(): Promise<void>;
}

export interface StackOptions {
  streamLimits?: Partial<StreamServerLimits>;
  streamMetrics?: StreamServerMetrics;
  notifier?: Partial<Pick<NotifierDeps, 'httpFetch' | 'clock' | 'webhookLimits' | 'timers' | 'metrics'>>;
}

/** The test's authentication: the account id in the `x-test-account` header. */
function testAuthenticate(request: { headers: Record<string, unknown> }): number | null {
  const value = Number(request.headers['x-test-account']);
  return Number.isSafeInteger(value) && value > 0 ? value : null;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const pipeline = await startPipeline();
  const db = await PgliteDatabase.open();
  await migrate(db, { logger: testLogger });
  const marketData = await startMarketData({ feed: pipeline.host, reads: pipeline.host, cache: pipeline.cache, pubsub: pipeline.pubsub, logger: testLogger });
  const notifier = await startNotifier({
    feed: pipeline.host, db, pubsub: pipeline.pubsub, reads: pipeline.host, cache: pipeline.cache, logger: testLogger, ...options.notifier,
  });
  const app = Fastify();
  registerMarketDataRoutes(app, { cache: pipeline.cache, reads: pipeline.host });
  registerNotificationRoutes(app, { db, cache: pipeline.cache, authenticate: testAuthenticate });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const streams = attachStreamServer(app.server, {
    pubsub: pipeline.pubsub, cache: pipeline.cache, reads: pipeline.host, logger: testLogger, limits: options.streamLimits, metrics: options.streamMetrics,
  });
  const port = (app.server.address() as AddressInfo).port;
  return {
    ...pipeline, db, app, marketData, notifier, streams,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}`,
    async stop() {
      await streams.close();
      await app.close();
      await notifier.stop();
      await marketData.stop();
      await pipeline.close();
      await db.close();
    },
  };
}
