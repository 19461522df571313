// The in-process contracts between the roles. In embedded mode all of them live in one
// process and these are plain objects; in cluster mode the same interfaces are backed by
// NATS (commands, events), PostgreSQL and Redis (reads). Roles depend on these
// interfaces, never on each other's modules.

import type { Command } from '../domain/command.ts';
import type { EngineEvent } from '../domain/events.ts';
import type { DepthView, MarketView, OrderView, BalanceView, AssetView } from '../engine/types.ts';

/** What a command produced once it is durable in the log and the engine executed it. */
export interface CommandResult {
  sequence: number;
  events: EngineEvent[];
}

export class CommandTimeoutError extends Error {
  override name = 'CommandTimeoutError';
}

/**
 * Gateways submit commands here. `submit` resolves only after the command is durable
 * (fsynced / replicated) AND executed; it rejects with CommandTimeoutError when the result
 * does not arrive in time (the command may still have been executed: status unknown).
 */
export interface CommandBus {
  submit(command: Command, timeoutMs?: number): Promise<CommandResult>;
}

/** A batch of events in sequence order, as consumers receive them. */
export interface EventBatch {
  events: EngineEvent[];
  /** Highest command sequence covered by this batch. */
  lastCommandSequence: number;
}

export type EventHandler = (batch: EventBatch) => void | Promise<void>;

/** Consumers (ledger, market data, notifier, user streams) subscribe here. */
export interface EventFeed {
  /** Calls `handler` for every batch after `afterEventSequence`; returns an unsubscribe function. */
  subscribe(afterEventSequence: number, handler: EventHandler): () => void;
  /** Highest event sequence produced so far. */
  lastEventSequence(): number;
}

/** Reads served from the engine's state (embedded) or its projections (cluster). */
export interface EngineReads {
  assets(): AssetView[];
  markets(): MarketView[];
  marketBySymbol(symbol: string): MarketView | null;
  depth(marketId: number, levelsMax: number): DepthView;
  order(orderId: number): OrderView | null;
  openOrders(accountId: number, marketId: number | null): OrderView[];
  balances(accountId: number): BalanceView[];
  lastCommandSequence(): number;
}

/*
 * Module map (who provides what; services never import each other, main files wire them):
 * - src/services/engine-host/  EngineHost: CommandBus + EventFeed + EngineReads over a RecordLog.
 * - src/services/ledger/       startLedgerProjection(deps) -> projects events into SQL; HistoryReads.
 * - src/services/market-data/  startMarketData(deps): events -> depth/trades/klines/tickers into
 *                              Cache + PubSub; registerMarketDataRoutes(app, deps) for public REST.
 * - src/services/notifier/     startNotifier(deps): events -> inbox rows, user-stream messages on
 *                              PubSub channel `user.<accountId>`, webhook outbox with retries.
 * - src/services/gateway/      buildGatewayApp(deps) (Fastify: Binance REST, admin API, auth,
 *                              rate limits); attachStreamServer(httpServer, deps) for WebSocket.
 * - src/main.ts                embedded mode: every role in one process.
 *
 * PubSub channels: `md.<SYMBOL>.<stream>` (JSON payloads ready for Binance streams, e.g.
 * `md.BTCUSDT.depth`, `md.BTCUSDT.trade`, `md.BTCUSDT.kline_1m`), `user.<accountId>`.
 * Cache keys: `listenKey:<key>` -> accountId (TTL 60 min), `md:<SYMBOL>:<what>` snapshots.
 */
