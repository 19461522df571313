// The gateway role of cluster mode (any number of them behind nginx). It is the embedded
// gateway with cluster adapters: commands go to the engine leader over NATS, engine reads
// (balances, open orders, depth) come from a local EngineFollower replaying the command
// log, history from PostgreSQL (the read replica when configured), rate limits, listenKeys
// and market data fan-out from Redis. Read-your-writes: an order's answer waits until this
// gateway's follower executed it, and account reads first catch up with the log's tail,
// so a client whose requests land on different gateways still reads its own writes.
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { loadConfig } from '../config.ts';
import { Engine } from '../engine/engine.ts';
import { JetStreamLog } from '../adapters/jetstream-log.ts';
import { connectNats } from '../adapters/nats-connection.ts';
import { PostgresDatabase } from '../adapters/postgres.ts';
import { RedisCache, RedisPubSub } from '../adapters/redis-cache.ts';
import { collectReplicaLag, instrumentCache, instrumentCommandBus, instrumentFastify, instrumentPubSub, instrumentSqlExecutor } from '../adapters/metrics.ts';
import { migrate } from '../adapters/sql/migrate.ts';
import { SqlHistoryReads, solvencyFromSql } from '../services/ledger/index.ts';
import { registerMarketDataRoutes } from '../services/market-data/index.ts';
import { registerNotificationRoutes } from '../services/notifier/index.ts';
import { buildGatewayApp } from '../services/gateway/app.ts';
import { SqlAccountStore } from '../services/gateway/accounts.ts';
import { seedDemo } from '../services/gateway/demo.ts';
import { attachStreamServer } from '../services/gateway/streams.ts';
import { registerStaticAssets } from '../services/gateway/static.ts';
import { registerWebSessionRoutes } from '../services/gateway/web-session.ts';
import { defaultWebDirectory } from '../services/gateway/web/build-ui.ts';
import { NatsCommandBus } from './command-bus.ts';
import { EngineFollower } from './engine-follower.ts';
import type { RoleContext, RoleHandle } from './role.ts';

/** Longest an account read waits for this gateway's follower to reach the log's tail. */
export const readCatchUpMsMax = 1000;
/** How often a history read polls the projection's position while it waits. */
const projectionPollMs = 5;

/** GET endpoints answered from the engine's state: they first catch up with the command log. */
const engineReadPaths = new Set(['/api/v3/order', '/api/v3/openOrders', '/api/v3/account', '/api/v3/myTrades', '/api/v3/allOrders']);

export interface GatewayRoleOptions {
  webUi?: boolean;
}

export async function startGatewayRole(context: RoleContext<'gateway'>, options: GatewayRoleOptions = {}): Promise<RoleHandle> {
  const { metrics } = context;
  const { settings, logger } = context;
  const config = loadConfig();
  const closers: (() => Promise<unknown>)[] = [];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.reverse()) await close().catch((error: unknown) => logger.error({ err: error }, 'close failed'));
  };
  try {
    const connection = await connectNats(settings.natsUrl, `bourse-gateway-${settings.instance}`);
    closers.push(() => connection.drain());
    const commandLog = await JetStreamLog.open({ stream: settings.commandStream, connection, replicas: settings.jetStreamReplicas });
    closers.push(() => commandLog.close());
    const db = await PostgresDatabase.open({ url: settings.databaseUrl, replicaUrl: settings.databaseReplicaUrl ?? undefined, applicationName: `bourse-gateway-${settings.instance}` });
    closers.push(() => db.close());
    await migrate(db, { logger: logger.child({ component: 'migrate' }) });
    const cache = instrumentCache(await RedisCache.open({ url: settings.redisUrl, keyPrefix: settings.redisPrefix }), metrics);
    closers.push(() => cache.close());
    const pubsub = instrumentPubSub(await RedisPubSub.open({ url: settings.redisUrl, keyPrefix: settings.redisPrefix }), metrics);
    closers.push(() => pubsub.close());

    const follower = new EngineFollower(new Engine(), commandLog, logger.child({ component: 'follower' }), false);
    await follower.start();
    closers.push(async () => follower.stop());

    const commands = new NatsCommandBus({
      connection,
      subject: settings.commandSubject,
      timeoutMsDefault: config.commandTimeoutMs,
      afterResult: (sequence, remainingMs) => follower.waitFor(sequence, remainingMs),
    });
    // History reads (the replica when configured) are timed; the replica's lag is read at scrape time.
    const history = new SqlHistoryReads(instrumentSqlExecutor(db.historyExecutor(), metrics, 'history_read'));
    collectReplicaLag(metrics, db);
    const accounts = new SqlAccountStore(db);
    const waitForProjection = async (eventSequence: number, timeoutMs: number): Promise<void> => {
      const deadline = Date.now() + timeoutMs;
      while ((await history.projectedEventSequence()) < eventSequence) {
        if (Date.now() >= deadline) throw new Error(`projection did not reach event ${eventSequence} within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, projectionPollMs));
      }
    };

    if (config.seedDemo) await seedDemo(commands, follower, accounts, config.demoKeys);

    const webUi = options.webUi ?? process.env.BOURSE_WEB_UI !== 'false';
    const { app } = buildGatewayApp(
      {
        commands: instrumentCommandBus(commands, metrics),
        reads: follower,
        events: follower,
        history,
        cache,
        accounts,
        inspector: follower,
        waitForProjection,
        // Commands this gateway sent, then everything the log holds now (other gateways' too).
        commandsSettled: async () => {
          await commands.settled();
          await follower.waitFor(await commandLog.lastSequence(), readCatchUpMsMax);
        },
        projectionSolvency: async () =>
          (await solvencyFromSql(db)).map((row) => ({
            asset: row.asset,
            balancesAtoms: row.balancesAtoms.toString(),
            supplyAtoms: row.supplyAtoms.toString(),
            balanced: row.balanced,
          })),
        config: { adminToken: config.adminToken, bodyLimitBytes: config.bodyLimitBytes, commandTimeoutMs: config.commandTimeoutMs, rateLimits: config.rateLimits },
        logger: logger.child({ component: 'gateway' }),
      },
      {
        extraRoutes: [
          (instance: FastifyInstance) => registerMarketDataRoutes(instance, { cache, reads: follower, history }),
          // The inbox the notifier role writes into PostgreSQL (cached in Redis under the version key it bumps).
          (instance: FastifyInstance, context) => registerNotificationRoutes(instance, { db, cache, authenticate: (request) => context.authenticatedAccount(request) }),
          (instance: FastifyInstance) => registerWebSessionRoutes(instance, { database: db, accounts, cache, adminToken: config.adminToken, reads: follower }),
          (instance: FastifyInstance) => {
            const root = join(defaultWebDirectory, 'dist');
            if (webUi && existsSync(root)) registerStaticAssets(instance, { root });
          },
        ],
      },
    );
    // Account reads served from the engine state catch up with the command log first.
    app.addHook('onRequest', async (request: FastifyRequest) => {
      if (request.method !== 'GET') return;
      const path = request.url.split('?', 1)[0]!;
      if (!engineReadPaths.has(path)) return;
      const tail = await commandLog.lastSequence();
      await follower.waitFor(tail, readCatchUpMsMax);
    });
    app.get('/healthz', async () => ({ status: 'ok' }));
    instrumentFastify(app, metrics);
    await app.listen({ port: config.port, host: config.host });
    let stopping = false;
    const streams = attachStreamServer(app.server, { pubsub, cache, reads: follower, logger: logger.child({ component: 'streams' }), metrics });
    metrics.addCollector(() => {
      const stats = streams.stats();
      metrics.wsConnections.set(stats.connections);
      metrics.wsMessagesSent.value = stats.messagesSent;
      metrics.wsSlowClientCloses.value = stats.slowConsumerCloses;
    });
    const port = (app.server.address() as AddressInfo).port;
    logger.info({ port }, 'gateway listening');
    return {
      ready: () => !stopping,
      status: () => ({ port, lastCommandSequence: follower.lastCommandSequence() }),
      stop: async () => {
        stopping = true;
        // Stop accepting and finish in-flight requests, then close sockets and adapters.
        await app.close();
        await streams.close();
        await closeAll();
      },
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
