// Embedded mode: every role in one Node process. The wiring, in data-flow order:
//   1. command journal (FileLog, fsync group commit) + snapshots under BOURSE_DATA_DIR
//   2. engine host: recovery (newest valid snapshot + journal tail), then the one writer
//   3. PGlite + migrations, ledger projection (catches up from its stored position)
//   4. in-memory cache + pub/sub, market data, notifier
//   5. accounts, demo seed, gateway (REST + admin) and WebSocket streams on one port
// Shutdown (SIGINT/SIGTERM) runs it backwards: stop accepting, drain, snapshot, close.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { configHelp, ConfigError, loadConfig, type BourseConfig } from './config.ts';
import { createLogger, rootLogger } from './adapters/logger.ts';
import { FileLog } from './adapters/file-log.ts';
import { WorkerPgliteDatabase } from './adapters/pglite-worker.ts';
import { migrate } from './adapters/sql/migrate.ts';
import { MemoryCache, MemoryPubSub } from './adapters/memory-cache.ts';
import { decodeCommand, encodeCommand } from './domain/codec.ts';
import { Engine } from './engine/engine.ts';
import { EngineHost } from './services/engine-host/engine-host.ts';
import { openSnapshotStore } from './services/engine-host/snapshots.ts';
import { SqlHistoryReads, startLedgerProjection, solvencyFromSql } from './services/ledger/index.ts';
import { registerMarketDataRoutes, startMarketData } from './services/market-data/index.ts';
import { registerNotificationRoutes, startNotifier } from './services/notifier/index.ts';
import { attachStreamServer } from './services/gateway/streams.ts';
import { buildGatewayApp } from './services/gateway/app.ts';
import { SqlAccountStore } from './services/gateway/accounts.ts';
import type { GatewayContext } from './services/gateway/context.ts';
import { seedDemo, startSimulation, type DemoUser, type Simulation } from './services/gateway/demo.ts';
import { registerStaticAssets } from './services/gateway/static.ts';
import { registerWebSessionRoutes } from './services/gateway/web-session.ts';
import { defaultWebDirectory, startWebBuildInBackground } from './services/gateway/web/build-ui.ts';
import type { FastifyInstance } from 'fastify';
import {
  collectEmbeddedState,
  createEmbeddedMetrics,
  instrumentCache,
  instrumentSqlDatabase,
  instrumentCommandBus,
  engineBatchObserver,
  instrumentFastify,
  instrumentPubSub,
  instrumentRecordLog,
  startMetricsServerFromEnvironment,
} from './adapters/metrics.ts';

export interface EmbeddedExchange {
  url: string;
  port: number;
  adminToken: string;
  demoUsers: DemoUser[];
  host: EngineHost;
  app: FastifyInstance;
  accounts: SqlAccountStore;
  gateway: GatewayContext;
  close(): Promise<void>;
}

export interface EmbeddedOptions {
  /** Serve the web UI from web/dist (default true; tests turn it off). */
  webUi?: boolean;
}

export async function startEmbedded(config: BourseConfig, options: EmbeddedOptions = {}): Promise<EmbeddedExchange> {
  const logger = createLogger('main');
  await mkdir(config.dataDirectory, { recursive: true });
  const closers: { name: string; close: () => Promise<unknown> }[] = [];
  const closeAll = async () => {
    for (const closer of closers.reverse()) {
      try {
        await closer.close();
      } catch (error) {
        logger.error({ err: error, component: closer.name }, 'close failed');
      }
    }
  };
  try {
    // 0. Metrics (docs/metrics.md): served on METRICS_PORT, off when it is unset or 0.
    const metrics = createEmbeddedMetrics();
    const metricsServer = await startMetricsServerFromEnvironment(metrics);
    if (metricsServer) closers.push({ name: 'metrics', close: () => metricsServer.close() });

    // 1-2. Journal, snapshots, engine.
    const commandLog = instrumentRecordLog(await FileLog.open(join(config.dataDirectory, 'commands'), { logger: createLogger('command-log') }), metrics, 'command');
    closers.push({ name: 'command-log', close: () => commandLog.close() });
    const snapshots = await openSnapshotStore(join(config.dataDirectory, 'snapshots'));
    const host = await EngineHost.start({
      createEngine: () => new Engine(),
      onBatchExecuted: engineBatchObserver(metrics),
      commandLog,
      codec: { encode: encodeCommand, decode: decodeCommand },
      snapshots,
      snapshotEveryCommands: config.snapshotEveryCommands,
      snapshotIntervalMs: config.snapshotIntervalMs,
      commandTimeoutMs: config.commandTimeoutMs,
      logger: createLogger('engine-host'),
    });
    closers.push({ name: 'engine-host', close: () => host.stop() });

    // 3. Database and ledger projection.
    // PGlite works on its own thread so ledger transactions never stall the gateway.
    const db = await WorkerPgliteDatabase.open({ dataDirectory: join(config.dataDirectory, 'pglite'), niceness: 10 });
    closers.push({ name: 'database', close: () => db.close() });
    await migrate(db, { logger: createLogger('migrate') });
    const ledger = await startLedgerProjection({ db: instrumentSqlDatabase(db, metrics, 'ledger_write'), feed: host, logger: createLogger('ledger'), metrics });
    closers.push({ name: 'ledger', close: () => ledger.stop() });
    const history = new SqlHistoryReads(instrumentSqlDatabase(db, metrics, 'history_read'));

    // 4. Cache, pub/sub, market data.
    const cache = instrumentCache(new MemoryCache(), metrics);
    const pubsub = instrumentPubSub(new MemoryPubSub(), metrics);
    closers.push({ name: 'cache', close: async () => { await pubsub.close(); await cache.close(); } });
    const marketData = await startMarketData({ feed: host, reads: host, cache, pubsub, history, logger: createLogger('market-data') });
    closers.push({ name: 'market-data', close: () => marketData.stop() });
    const notifier = await startNotifier({ feed: host, db: instrumentSqlDatabase(db, metrics, 'notifier'), pubsub, reads: host, cache, logger: createLogger('notifier'), metrics });
    closers.push({ name: 'notifier', close: () => notifier.stop() });

    // 5. Accounts, seed, gateway, streams.
    const accounts = new SqlAccountStore(db);
    const demoUsers = config.seedDemo ? await seedDemo(host, host, accounts, config.demoKeys) : [];
    const { app, context: gateway } = buildGatewayApp(
      {
        commands: instrumentCommandBus(host, metrics),
        reads: host,
        events: host,
        history,
        cache,
        accounts,
        inspector: host,
        waitForProjection: (eventSequence, timeoutMs) => ledger.waitFor(eventSequence, timeoutMs),
        commandsSettled: () => host.settled(),
        projectionSolvency: async () =>
          (await solvencyFromSql(db)).map((row) => ({
            asset: row.asset,
            balancesAtoms: row.balancesAtoms.toString(),
            supplyAtoms: row.supplyAtoms.toString(),
            balanced: row.balanced,
          })),
        config: {
          adminToken: config.adminToken,
          bodyLimitBytes: config.bodyLimitBytes,
          commandTimeoutMs: config.commandTimeoutMs,
          rateLimits: config.rateLimits,
        },
        logger: createLogger('gateway'),
      },
      {
        extraRoutes: [
          (instance) => registerMarketDataRoutes(instance, { cache, reads: host, history }),
          (instance, context) => registerNotificationRoutes(instance, { db, cache, authenticate: (request) => context.authenticatedAccount(request) }),
          (instance) => registerWebSessionRoutes(instance, { database: db, accounts, cache, adminToken: config.adminToken, reads: host, metrics }),
          (instance) => {
            if (options.webUi === false) return;
            registerStaticAssets(instance, {
              root: join(defaultWebDirectory, 'dist'),
              onMissing: () => {
                if (existsSync(join(defaultWebDirectory, 'package.json'))) startWebBuildInBackground();
              },
            });
          },
        ],
      },
    );
    instrumentFastify(app, metrics);
    await app.listen({ port: config.port, host: config.host });
    closers.push({ name: 'gateway', close: () => app.close() });
    const streams = attachStreamServer(app.server, { pubsub, cache, reads: host, logger: createLogger('streams'), metrics });
    closers.push({ name: 'streams', close: () => streams.close() });
    const stopCollecting = collectEmbeddedState(metrics, {
      engine: host,
      commandLog,
      consumers: {
        ledger: () => history.projectedEventSequence(),
        'market-data': () => marketData.appliedEventSequence(),
        notifier: () => notifier.appliedEventSequence(),
      },
      streams,
      dataDirectory: config.dataDirectory,
    });
    closers.push({ name: 'metrics-collectors', close: async () => stopCollecting() });

    let simulation: Simulation | null = null;
    if (config.simulate) {
      simulation = await startSimulation(host, host, accounts, config.simulateSeed, createLogger('simulation'));
      closers.push({ name: 'simulation', close: () => simulation!.stop() });
    }

    const port = (app.server.address() as AddressInfo).port;
    return {
      url: `http://${config.host}:${port}`,
      port,
      adminToken: config.adminToken,
      demoUsers,
      host,
      app,
      accounts,
      gateway,
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

export function usage(): string {
  return [
    'usage: npm start            (node --import tsx src/main.ts [--help])',
    '',
    'Starts the embedded exchange: Binance-dialect REST (/api/v3) and WebSocket streams',
    '(/ws, /stream), the admin API (/admin/v1) and the web UI, all on one port, with a',
    'durable command journal, snapshots and a PGlite database under BOURSE_DATA_DIR.',
    '',
    'Environment:',
    configHelp(),
  ].join('\n');
}

function banner(exchange: EmbeddedExchange, config: BourseConfig): string {
  const lines = [
    '',
    `Bourse is running at ${exchange.url}  (REST ${exchange.url}/api/v3, WebSocket ${exchange.url.replace('http', 'ws')}/ws)`,
    `data directory: ${config.dataDirectory}`,
    `admin token:    ${exchange.adminToken}${config.adminTokenGenerated ? '   (random; set BOURSE_ADMIN_TOKEN to fix it)' : ''}`,
  ];
  for (const user of exchange.demoUsers) {
    lines.push(`demo user ${user.email} (id ${user.userId}):`, `  API key:    ${user.apiKey}`, `  API secret: ${user.secret}`);
  }
  if (config.simulate) lines.push('simulation:     on (market maker + random takers)');
  return lines.join('\n');
}

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(usage());
    return;
  }
  let config: BourseConfig;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`configuration error: ${error.message}\n\n${usage()}`);
      process.exit(2);
    }
    throw error;
  }
  const exchange = await startEmbedded(config);
  console.log(banner(exchange, config));
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    rootLogger.info({ signal }, 'shutting down: draining requests, snapshotting, closing');
    exchange.close().then(
      () => process.exit(0),
      (error: unknown) => {
        rootLogger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    rootLogger.fatal({ err: error }, 'failed to start');
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
