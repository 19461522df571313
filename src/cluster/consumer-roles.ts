// The consumer roles of cluster mode: ledger (events -> PostgreSQL), market data (events
// -> Redis cache and pub/sub) and notifier (events -> inbox, user streams, webhooks). Each
// reads the JetStream event log from its own stored or derived position and uses the same
// service module as the embedded mode; only the adapters differ. Roles that need engine
// reads (market and asset specs, books) keep an EngineFollower on the command log.
import { Engine } from '../engine/engine.ts';
import { JetStreamLog } from '../adapters/jetstream-log.ts';
import { connectNats, type NatsConnection } from '../adapters/nats-connection.ts';
import { PostgresDatabase } from '../adapters/postgres.ts';
import { RedisCache, RedisPubSub } from '../adapters/redis-cache.ts';
import { collectReplicaLag, instrumentCache, instrumentPubSub, instrumentSqlDatabase, type DatabaseMetrics, type LedgerMetrics, type NotifierMetrics } from '../adapters/metrics.ts';
import { migrate } from '../adapters/sql/migrate.ts';
import { SqlHistoryReads, startLedgerProjection } from '../services/ledger/index.ts';
import { startMarketData } from '../services/market-data/index.ts';
import { startNotifier } from '../services/notifier/index.ts';
import { EngineFollower } from './engine-follower.ts';
import { LogEventFeed } from './event-log.ts';
import type { RoleContext, RoleHandle } from './role.ts';

/** Closes what a role opened, newest first, logging failures. */
class Closers {
  private readonly list: (() => Promise<unknown>)[] = [];
  constructor(private readonly context: RoleContext) {}
  add(close: () => Promise<unknown>): void {
    this.list.push(close);
  }
  async closeAll(): Promise<void> {
    for (const close of this.list.reverse()) await close().catch((error: unknown) => this.context.logger.error({ err: error }, 'close failed'));
    this.list.length = 0;
  }
}

async function openEventFeed(context: RoleContext, connection: NatsConnection, closers: Closers): Promise<LogEventFeed> {
  const eventLog = await JetStreamLog.open({ stream: context.settings.eventStream, connection, replicas: context.settings.jetStreamReplicas });
  closers.add(() => eventLog.close());
  const feed = await LogEventFeed.open(eventLog);
  closers.add(async () => feed.close());
  return feed;
}

async function openFollower(context: RoleContext, connection: NatsConnection, closers: Closers): Promise<EngineFollower> {
  const commandLog = await JetStreamLog.open({ stream: context.settings.commandStream, connection, replicas: context.settings.jetStreamReplicas });
  closers.add(() => commandLog.close());
  const follower = new EngineFollower(new Engine(), commandLog, context.logger.child({ component: 'follower' }), false);
  await follower.start();
  closers.add(async () => follower.stop());
  return follower;
}

async function openDatabase(context: RoleContext, closers: Closers): Promise<PostgresDatabase> {
  const db = await PostgresDatabase.open({ url: context.settings.databaseUrl, applicationName: `bourse-${process.env.BOURSE_ROLE}-${context.settings.instance}` });
  closers.add(() => db.close());
  await migrate(db, { logger: context.logger.child({ component: 'migrate' }) });
  return db;
}

async function withClosers(context: RoleContext, build: (closers: Closers, connection: NatsConnection) => Promise<RoleHandle>): Promise<RoleHandle> {
  const closers = new Closers(context);
  try {
    const connection = await connectNats(context.settings.natsUrl, `bourse-${process.env.BOURSE_ROLE}-${context.settings.instance}`);
    closers.add(() => connection.drain());
    return await build(closers, connection);
  } catch (error) {
    await closers.closeAll();
    throw error;
  }
}

export function startLedgerRole(context: RoleContext): Promise<RoleHandle> {
  return withClosers(context, async (closers, connection) => {
    const db = await openDatabase(context, closers);
    const feed = await openEventFeed(context, connection, closers);
    // Ledger roles export bourse_database_query_duration_seconds{operation="ledger_write"}.
    const metrics = context.metrics as Partial<DatabaseMetrics>;
    const ledgerDb = metrics.databaseQueryDuration ? instrumentSqlDatabase(db, metrics as DatabaseMetrics, 'ledger_write') : db;
    // Ledger batch time and lag are recorded by the projection; replica lag (0: the ledger writes the primary) at scrape time.
    const ledgerMetrics = 'ledgerLag' in context.metrics ? (context.metrics as LedgerMetrics) : undefined;
    if (ledgerMetrics) collectReplicaLag(ledgerMetrics, db);
    const ledger = await startLedgerProjection({ db: ledgerDb, feed, logger: context.logger.child({ component: 'ledger' }), metrics: ledgerMetrics });
    let stopping = false;
    return {
      ready: () => !stopping,
      status: () => ({ projectedEventSequence: ledger.lastEventSequence(), eventLogSequence: feed.lastEventSequence(), lagEvents: Math.max(0, feed.lastEventSequence() - ledger.lastEventSequence()) }),
      stop: async () => {
        stopping = true;
        // The projection commits what it has in hand, then everything closes.
        await ledger.stop();
        await closers.closeAll();
      },
    };
  });
}

export function startMarketDataRole(context: RoleContext<'market-data'>): Promise<RoleHandle> {
  return withClosers(context, async (closers, connection) => {
    const db = await openDatabase(context, closers);
    const cache = instrumentCache(await RedisCache.open({ url: context.settings.redisUrl, keyPrefix: context.settings.redisPrefix }), context.metrics);
    closers.add(() => cache.close());
    // Publishes are counted by stream kind (bourse_market_data_messages_published_total).
    const pubsub = instrumentPubSub(await RedisPubSub.open({ url: context.settings.redisUrl, keyPrefix: context.settings.redisPrefix }), context.metrics);
    closers.add(() => pubsub.close());
    const follower = await openFollower(context, connection, closers);
    const feed = await openEventFeed(context, connection, closers);
    const marketData = await startMarketData({ feed, reads: follower, cache, pubsub, history: new SqlHistoryReads(db), logger: context.logger.child({ component: 'market-data' }) });
    let stopping = false;
    return {
      ready: () => !stopping,
      status: () => ({ appliedEventSequence: marketData.appliedEventSequence(), eventLogSequence: feed.lastEventSequence() }),
      stop: async () => {
        stopping = true;
        await marketData.stop();
        await closers.closeAll();
      },
    };
  });
}

export function startNotifierRole(context: RoleContext): Promise<RoleHandle> {
  return withClosers(context, async (closers, connection) => {
    const db = await openDatabase(context, closers);
    const cache = await RedisCache.open({ url: context.settings.redisUrl, keyPrefix: context.settings.redisPrefix });
    closers.add(() => cache.close());
    const pubsub = await RedisPubSub.open({ url: context.settings.redisUrl, keyPrefix: context.settings.redisPrefix });
    closers.add(() => pubsub.close());
    const follower = await openFollower(context, connection, closers);
    // The notifier reads the engine's state only for orders accepted before its event
    // position (their first event after a restart); everything later it learns from the
    // events themselves (orders, assets and markets added). A copy of the state at the
    // log's tail at start-up answers those reads (better than a live one, which may already
    // hold fills the notifier has yet to process), so the follower stops here instead of
    // executing every order a sixth time.
    follower.stop();
    const feed = await openEventFeed(context, connection, closers);
    const notifierMetrics = 'outboxPending' in context.metrics ? (context.metrics as NotifierMetrics) : undefined;
    const notifier = await startNotifier({ feed, db, pubsub, reads: follower, cache, logger: context.logger.child({ component: 'notifier' }), metrics: notifierMetrics });
    let stopping = false;
    return {
      ready: () => !stopping,
      status: () => ({ appliedEventSequence: notifier.appliedEventSequence(), eventLogSequence: feed.lastEventSequence() }),
      stop: async () => {
        stopping = true;
        await notifier.stop();
        await closers.closeAll();
      },
    };
  });
}
