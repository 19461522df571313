// The projection benchmark: the embedded exchange's database work for a stream of orders,
// without HTTP. A real engine (in-memory command log) executes the API benchmark's order
// pattern (accounts take turns; buys and sells alternate at one price, so every sell fills
// a resting buy), then the ledger projection and the notifier catch up from event 0 into a
// fresh PGlite on its own worker thread, as `npm start` runs them. It prints the CPU time
// of the database thread and of the main thread per order, and the wall time.
//
// usage: npm run bench:projection [-- --orders 30000 --users 8 --delivery-events 2000 --runs 1]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { placeOrder, transfer } from '../src/domain/command.ts';
import { CommandType, OrderType, Side, TimeInForce } from '../src/domain/codes.ts';
import { decodeCommand, encodeCommand } from '../src/domain/codec.ts';
import { Engine } from '../src/engine/engine.ts';
import { EngineHost } from '../src/services/engine-host/engine-host.ts';
import { MemoryLog } from '../src/adapters/memory-log.ts';
import { MemoryCache, MemoryPubSub } from '../src/adapters/memory-cache.ts';
import { WorkerPgliteDatabase } from '../src/adapters/pglite-worker.ts';
import { migrate } from '../src/adapters/sql/migrate.ts';
import { createLogger } from '../src/adapters/logger.ts';
import { createEmbeddedMetrics, instrumentSqlDatabase } from '../src/adapters/metrics.ts';
import { startLedgerProjection } from '../src/services/ledger/index.ts';
import { startNotifier } from '../src/services/notifier/index.ts';
import { seedMarkets } from '../src/services/gateway/demo.ts';
import { threadCpuSeconds } from './thread-cpu.ts';

const benchLimits = {
  /** Orders submitted at once while the engine generates the stream (one engine batch, about). */
  ordersPerSubmitMax: 128,
  /** Longest wait for the projections to reach the last event. */
  catchUpMsMax: 600_000,
};

/** The order of bench:api: 0.0001 BTC at 60000 USDT on the demo BTCUSDT market (tick 0.01, step 0.0001). */
const orderPriceTicks = 6_000_000;
const orderQuantityLots = 1;

interface Options {
  orders: number;
  users: number;
  deliveryEvents: number;
  runs: number;
}

function parseOptions(argv: string[]): Options | null {
  if (argv.includes('--help')) {
    console.log(`usage: npm run bench:projection [-- --orders N --users N --delivery-events N --runs N]
  --orders N           orders in the stream (default 30000)
  --users N            accounts taking turns (default 8, as bench:api)
  --delivery-events N  most events handed to a consumer at once (default 2000, the engine host's)
  --runs N             repetitions, each on a fresh database (default 1)
Prints CPU microseconds per order of the database thread and the main thread while the
ledger projection and the notifier catch up from the first event.`);
    return null;
  }
  const value = (name: string, fallback: number): number => {
    const index = argv.indexOf(`--${name}`);
    const parsed = index >= 0 ? Number(argv[index + 1]) : fallback;
    if (!Number.isSafeInteger(parsed) || parsed <= 0) throw new Error(`--${name} must be a positive integer`);
    return parsed;
  };
  return { orders: value('orders', 30_000), users: value('users', 8), deliveryEvents: value('delivery-events', 2000), runs: value('runs', 1) };
}

/** Runs the order stream through a fresh engine host; returns it with every event retained. */
async function generate(options: Options): Promise<{ host: EngineHost; lastEventSequence: number }> {
  const logger = createLogger('bench-projection');
  logger.level = 'warn';
  const host = await EngineHost.start({
    createEngine: () => new Engine(),
    commandLog: new MemoryLog(),
    codec: { encode: encodeCommand, decode: decodeCommand },
    retainedEventsMax: options.orders * 20 + 10_000,
    deliveryEventsMax: options.deliveryEvents,
    logger,
  });
  await seedMarkets(host, host);
  const marketId = host.marketBySymbol('BTCUSDT')!.marketId;
  for (let accountId = 1; accountId <= options.users; accountId++) {
    await host.submit(transfer(CommandType.Deposit, `btc-${accountId}`, accountId, 'BTC', 1_000_000_000_000));
    await host.submit(transfer(CommandType.Deposit, `usdt-${accountId}`, accountId, 'USDT', 1_000_000_000_000_000));
  }
  for (let first = 0; first < options.orders; first += benchLimits.ordersPerSubmitMax) {
    const submitted: Promise<unknown>[] = [];
    for (let index = first; index < Math.min(options.orders, first + benchLimits.ordersPerSubmitMax); index++) {
      const side = Math.floor(index / options.users) % 2 === 0 ? Side.Buy : Side.Sell;
      submitted.push(host.submit(placeOrder({
        accountId: 1 + (index % options.users), marketId, side, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC,
        priceTicks: orderPriceTicks, quantityLots: orderQuantityLots, clientOrderId: `b${index}`,
      })));
    }
    await Promise.all(submitted);
  }
  return { host, lastEventSequence: host.lastEventSequence() };
}

async function runOnce(options: Options, run: number): Promise<void> {
  const { host, lastEventSequence } = await generate(options);
  const directory = await mkdtemp(join(tmpdir(), 'bourse-bench-projection-'));
  const logger = createLogger('bench-projection');
  logger.level = 'warn';
  const db = await WorkerPgliteDatabase.open({ dataDirectory: join(directory, 'pglite') });
  const cache = new MemoryCache();
  const pubsub = new MemoryPubSub();
  try {
    await migrate(db, { logger });
    const before = threadCpuSeconds('self');
    const mainThreadId = process.pid;
    const startedMs = performance.now();
    // Wired as src/main.ts wires them: each consumer through its instrumented database handle.
    const metrics = createEmbeddedMetrics();
    const ledger = await startLedgerProjection({ db: instrumentSqlDatabase(db, metrics, 'ledger_write'), feed: host, logger, metrics });
    const notifier = await startNotifier({ feed: host, db: instrumentSqlDatabase(db, metrics, 'notifier'), pubsub, reads: host, cache, logger, timers: false, metrics });
    await Promise.all([ledger.waitFor(lastEventSequence, benchLimits.catchUpMsMax), notifier.waitFor(lastEventSequence, benchLimits.catchUpMsMax)]);
    const wallSeconds = (performance.now() - startedMs) / 1000;
    const after = threadCpuSeconds('self');
    await notifier.stop();
    await ledger.stop();
    let databaseSeconds = 0;
    for (const [threadId, seconds] of after) {
      if (threadId !== mainThreadId) databaseSeconds = Math.max(databaseSeconds, seconds - (before.get(threadId) ?? 0));
    }
    const mainSeconds = (after.get(mainThreadId) ?? 0) - (before.get(mainThreadId) ?? 0);
    const perOrder = (seconds: number): string => ((seconds * 1e6) / options.orders).toFixed(1);
    const counts = await db.query<Record<string, string>>(
      `SELECT (SELECT count(*) FROM orders)::text AS orders, (SELECT count(*) FROM trades)::text AS trades,
              (SELECT count(*) FROM balance_changes)::text AS journal, (SELECT count(*) FROM notifications)::text AS notifications`,
    );
    const row = counts.rows[0]!;
    console.log(
      `run ${run}: ${options.orders} orders, ${lastEventSequence} events -> ${row.orders} orders, ${row.trades} trades, ${row.journal} journal rows, ${row.notifications} notifications`,
    );
    console.log(
      `  catch-up ${wallSeconds.toFixed(2)} s (${Math.round(options.orders / wallSeconds)} orders/s); CPU per order: database thread ${perOrder(databaseSeconds)} us, main thread ${perOrder(mainSeconds)} us`,
    );
  } finally {
    await db.close();
    await host.stop();
    await pubsub.close();
    await cache.close();
    await rm(directory, { recursive: true, force: true });
  }
}

const options = parseOptions(process.argv.slice(2));
if (options) {
  console.log(`projection benchmark: ${options.orders} orders by ${options.users} accounts, deliveries of up to ${options.deliveryEvents} events, ledger + notifier into PGlite on a worker thread`);
  for (let run = 1; run <= options.runs; run++) await runOnce(options, run);
}
