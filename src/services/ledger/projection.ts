// The ledger writer: projects engine events into SQL (orders, trades, balances and their
// journal, transfers, markets, assets) in batched transactions. Each transaction also
// moves `projection_state.last_event_sequence`, and events at or below it are skipped, so
// every event is applied exactly once however often it is delivered; after a restart the
// projection resubscribes from that sequence and catches up. It never moves money: it
// records what the engine decided.

import { EventType, MarketStatus } from '../../domain/codes.ts';
import type { EngineEvent } from '../../domain/events.ts';
import type { OrderRecord, OrderStatus } from '../../ports/history.ts';
import type { SqlDatabase, SqlExecutor } from '../../ports/sql.ts';
import { runStatementsInTransaction, type SqlStatement } from '../../adapters/sql/statements.ts';
import type { EventBatch, EventFeed } from '../contracts.ts';
import { sqlInteger, sqlIntegerArray, sqlTextArray } from '../../adapters/sql/convert.ts';
import type { Logger } from '../../adapters/logger.ts';

export const ledgerLimits = {
  /** Events written in one SQL transaction; larger batches are split. */
  eventsPerTransactionMax: 5000,
  /** Events queued behind the database before the projection unsubscribes and catches up later. */
  pendingEventsMax: 200_000,
  /** Balances remembered to compute journal deltas without a read; the cache is dropped beyond it. */
  balanceCacheEntriesMax: 1_000_000,
  /** Backoff after a failed transaction, doubling up to the maximum. */
  retryDelayMsMin: 50,
  retryDelayMsMax: 5000,
};

export const ledgerConsumerName = 'ledger';

export interface LedgerProjectionDeps {
  db: SqlDatabase;
  feed: EventFeed;
  logger: Logger;
  /** projection_state key; default "ledger". */
  consumer?: string;
  /** bourse_ledger_batch_duration_seconds and bourse_ledger_lag_seconds (docs/metrics.md), when given. */
  metrics?: LedgerProjectionMetrics;
}

/** The ledger's metric cells (structurally the LedgerMetrics of src/adapters/metrics.ts). */
export interface LedgerProjectionMetrics {
  ledgerBatchDuration: { observe(seconds: number): void };
  ledgerLag: { set(seconds: number): void };
  addCollector(collector: () => void): () => void;
}

export interface LedgerProjection {
  /** Highest event sequence committed to SQL. */
  lastEventSequence(): number;
  /** Resolves once events up to `eventSequence` are committed (or rejects after `timeoutMs`). */
  waitFor(eventSequence: number, timeoutMs?: number): Promise<void>;
  /** Applies a batch directly (the feed's handler); exposed for tests and replays. */
  applyBatch(batch: EventBatch): Promise<void>;
  stop(): Promise<void>;
}

/** An order row as the projection writes it: the history record plus why it ended and when it was last written. */
interface OrderRow extends OrderRecord {
  endReason: number | null;
  eventSequence: number;
}

/** Changes to an order that was created in an earlier transaction. */
interface OrderUpdate {
  orderId: number;
  filledLotsDelta: number;
  filledQuoteAtomsDelta: number;
  quantityLots: number | null;
  status: OrderStatus | null;
  endReason: number | null;
  updatedAtMs: number;
}

interface TransferRow {
  transferId: string;
  kind: 'DEPOSIT' | 'WITHDRAWAL';
  accountId: number;
  assetId: number;
  amountAtoms: number;
  status: 'PENDING' | 'COMPLETED' | 'CANCELED';
  createdAtMs: number;
  updatedAtMs: number;
  eventSequence: number;
  /** False when only the status of a transfer from an earlier transaction changes. */
  isNew: boolean;
}

type Balance = [availableAtoms: number, heldAtoms: number];

const balanceKey = (accountId: number, assetId: number): string => `${accountId}:${assetId}`;

/** Resolves once the current event loop turn (and the I/O it started) is done. */
function afterThisTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
const terminalStatuses = new Set<OrderStatus>(['FILLED', 'CANCELED', 'EXPIRED']);

/** Everything one transaction writes, gathered in memory first, then flushed in a few statements. */
class TransactionWork {
  readonly newOrders = new Map<number, OrderRow>();
  readonly orderUpdates = new Map<number, OrderUpdate>();
  readonly trades: number[][] = [];
  readonly balances = new Map<string, { accountId: number; assetId: number; balance: Balance; eventSequence: number; timeMs: number }>();
  readonly journal: number[][] = [];
  readonly transfers = new Map<string, TransferRow>();
  /** Statements of rare events (assets, markets), in event order, run before the batched rows. */
  readonly statements: SqlStatement[] = [];

  statement(text: string, params: unknown[]): void {
    this.statements.push({ text, params });
  }

  orderChange(orderId: number, timeMs: number): OrderRow | OrderUpdate {
    const created = this.newOrders.get(orderId);
    if (created) {
      created.updatedAtMs = timeMs;
      return created;
    }
    let update = this.orderUpdates.get(orderId);
    if (!update) {
      update = { orderId, filledLotsDelta: 0, filledQuoteAtomsDelta: 0, quantityLots: null, status: null, endReason: null, updatedAtMs: timeMs };
      this.orderUpdates.set(orderId, update);
    }
    update.updatedAtMs = timeMs;
    return update;
  }
}

function num(event: EngineEvent, field: string): number {
  return event[field] as number;
}

function str(event: EngineEvent, field: string): string {
  return String(event[field] ?? '');
}

class SqlLedgerProjection implements LedgerProjection {
  private lastApplied = 0;
  private readonly quoteAtomsPerTickLot = new Map<number, number>();
  private readonly balanceCache = new Map<string, Balance>();
  private chain: Promise<void> = Promise.resolve();
  private generation = 0;
  private pendingEvents = 0;
  private unsubscribe: (() => void) | null = null;
  private stopped = false;
  private retryDelayMs = ledgerLimits.retryDelayMsMin;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private waiters: { eventSequence: number; resolve: () => void }[] = [];
  /**
   * Per batch received and not yet committed, in arrival order: its last sequence and its
   * first event's time. The head is the oldest uncommitted event (the ledger lag metric).
   */
  private uncommitted: { lastEventSequence: number; firstTimeMs: number }[] = [];
  private stopCollecting: (() => void) | null = null;

  constructor(
    private readonly db: SqlDatabase,
    private readonly feed: EventFeed,
    private readonly logger: Logger,
    private readonly consumer: string,
    private readonly metrics: LedgerProjectionMetrics | null = null,
  ) {}

  /** Seconds since the oldest event received but not yet committed was produced (0 when caught up). */
  lagSeconds(nowMs: number): number {
    const oldest = this.uncommitted[0];
    return oldest === undefined ? 0 : Math.max(0, nowMs - oldest.firstTimeMs) / 1000;
  }

  async start(): Promise<void> {
    if (this.metrics) {
      const metrics = this.metrics;
      this.stopCollecting = metrics.addCollector(() => metrics.ledgerLag.set(this.lagSeconds(Date.now())));
    }
    await this.db.query(
      `INSERT INTO projection_state (consumer, last_event_sequence, last_command_sequence, updated_at_ms) VALUES ($1, 0, 0, $2) ON CONFLICT (consumer) DO NOTHING`,
      [this.consumer, Date.now()],
    );
    await this.loadState();
    this.subscribe();
  }

  private async loadState(): Promise<void> {
    const state = await this.db.query<{ last_event_sequence: unknown }>('SELECT last_event_sequence FROM projection_state WHERE consumer = $1', [this.consumer]);
    this.lastApplied = sqlInteger(state.rows[0]?.last_event_sequence ?? 0, 'last_event_sequence');
    const markets = await this.db.query<{ market_id: unknown; quote_atoms_per_tick_lot: unknown }>('SELECT market_id, quote_atoms_per_tick_lot FROM markets');
    for (const row of markets.rows) this.quoteAtomsPerTickLot.set(sqlInteger(row.market_id), sqlInteger(row.quote_atoms_per_tick_lot));
  }

  private subscribe(): void {
    const generation = ++this.generation;
    this.pendingEvents = 0;
    this.logger.info({ fromEventSequence: this.lastApplied + 1 }, 'ledger projection: following events');
    this.unsubscribe = this.feed.subscribe(this.lastApplied, (batch) => this.enqueue(generation, batch));
  }

  /** Serialises batches even when the feed does not await its handler. */
  private enqueue(generation: number, batch: EventBatch): Promise<void> {
    if (generation !== this.generation || this.stopped) return Promise.resolve();
    this.pendingEvents += batch.events.length;
    if (this.pendingEvents > ledgerLimits.pendingEventsMax) {
      this.logger.warn({ pendingEvents: this.pendingEvents }, 'ledger projection: database behind; resubscribing after the queue drains');
      this.resubscribeLater(0);
      return Promise.resolve();
    }
    // Entries stay across a resubscription, so a ledger that is retrying still shows its age.
    const first = batch.events[0];
    if (first !== undefined) this.uncommitted.push({ lastEventSequence: batch.events[batch.events.length - 1]!.eventSequence, firstTimeMs: first.timestampMs });
    const applied: Promise<void> = this.chain.then(async () => {
      // The feed delivers right after the engine executed the batch, on the thread that
      // answers the orders: building the rows waits for this turn, so those answers go first.
      await afterThisTurn();
      if (generation !== this.generation || this.stopped) return;
      try {
        await this.applyBatchNow(batch);
        this.pendingEvents -= batch.events.length;
        this.retryDelayMs = ledgerLimits.retryDelayMsMin;
      } catch (error) {
        this.logger.error({ err: error, lastEventSequence: this.lastApplied }, 'ledger projection: transaction failed; will catch up from the last committed event');
        this.resubscribeLater(this.retryDelayMs);
        this.retryDelayMs = Math.min(this.retryDelayMs * 2, ledgerLimits.retryDelayMsMax);
      }
    });
    this.chain = applied;
    return applied;
  }

  /** Drops what is queued (it will be read again) and subscribes anew from the last commit. */
  private resubscribeLater(delayMs: number): void {
    this.generation++;
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.retryTimer || this.stopped) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.chain = this.chain.then(async () => {
        if (this.stopped) return;
        try {
          this.balanceCache.clear();
          await this.loadState();
          this.subscribe();
        } catch (error) {
          this.logger.error({ err: error }, 'ledger projection: cannot reload state; retrying');
          this.resubscribeLater(ledgerLimits.retryDelayMsMax);
        }
      });
    }, delayMs);
  }

  lastEventSequence(): number {
    return this.lastApplied;
  }

  waitFor(eventSequence: number, timeoutMs = 10_000): Promise<void> {
    if (this.lastApplied >= eventSequence) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((waiter) => waiter.resolve !== done);
        reject(new Error(`ledger projection did not reach event ${eventSequence} within ${timeoutMs} ms (at ${this.lastApplied})`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push({ eventSequence, resolve: done });
    });
  }

  /** Applies a batch after those already queued (errors go to the caller). */
  applyBatch(batch: EventBatch): Promise<void> {
    const applied = this.chain.then(() => this.applyBatchNow(batch));
    this.chain = applied.catch(() => undefined);
    return applied;
  }

  private async applyBatchNow(batch: EventBatch): Promise<void> {
    const events = batch.events;
    for (let start = 0; start < events.length; start += ledgerLimits.eventsPerTransactionMax) {
      const chunk = events.slice(start, start + ledgerLimits.eventsPerTransactionMax);
      if (chunk[chunk.length - 1]!.eventSequence <= this.lastApplied) continue;
      await this.applyChunk(chunk);
    }
    if (this.uncommitted.length > 0 && this.uncommitted[0]!.lastEventSequence <= this.lastApplied) {
      this.uncommitted = this.uncommitted.filter((entry) => entry.lastEventSequence > this.lastApplied);
    }
    const ready = this.waiters.filter((waiter) => waiter.eventSequence <= this.lastApplied);
    if (ready.length > 0) {
      this.waiters = this.waiters.filter((waiter) => waiter.eventSequence > this.lastApplied);
      for (const waiter of ready) waiter.resolve();
    }
  }

  /**
   * Writes one chunk in one transaction. Usually the whole transaction is known before it
   * starts (the balances it changes are cached and the stored progress is ours), so it goes
   * to the database as one statement list, guarded by the progress row: the update of
   * `last_event_sequence` must find the value this process committed last, or nothing is
   * written and the chunk takes the interactive path below, which reads what it needs.
   */
  private async applyChunk(events: EngineEvent[]): Promise<void> {
    const startedMs = performance.now();
    const fresh = events[0]!.eventSequence > this.lastApplied ? events : events.filter((event) => event.eventSequence > this.lastApplied);
    const overlay = new Map<string, Balance>();
    let result: { lastEventSequence: number; overlay: Map<string, Balance>; newMarkets: Map<number, number> } | null = null;
    if (fresh.length > 0 && this.overlayFromCache(fresh, overlay)) {
      const newMarkets = new Map<number, number>();
      const work = new TransactionWork();
      for (const event of fresh) this.collect(event, work, overlay, newMarkets);
      const last = fresh[fresh.length - 1]!;
      const guard: SqlStatement = {
        text: `UPDATE projection_state SET last_event_sequence = $2, last_command_sequence = $3, updated_at_ms = $4
                WHERE consumer = $1 AND last_event_sequence = $5`,
        params: [this.consumer, last.eventSequence, last.commandSequence, Date.now(), this.lastApplied],
        rowCountExpected: 1,
      };
      const outcome = await runStatementsInTransaction(this.db, [guard, ...work.statements, ...this.flushStatements(work)]);
      // Otherwise another writer moved the progress; the interactive path sees it and re-reads.
      if (outcome.committed) result = { lastEventSequence: last.eventSequence, overlay, newMarkets };
    }
    result ??= await this.applyChunkInteractively(events);
    this.metrics?.ledgerBatchDuration.observe((performance.now() - startedMs) / 1000);
    // Committed: only now may the in-memory caches learn what the transaction wrote.
    for (const [key, balance] of result.overlay) this.balanceCache.set(key, balance);
    if (this.balanceCache.size > ledgerLimits.balanceCacheEntriesMax) this.balanceCache.clear();
    for (const [marketId, value] of result.newMarkets) this.quoteAtomsPerTickLot.set(marketId, value);
    this.lastApplied = Math.max(this.lastApplied, result.lastEventSequence);
  }

  /** The general path: locks the progress row, reads the stored progress and missing balances, then writes. */
  private async applyChunkInteractively(events: EngineEvent[]): Promise<{ lastEventSequence: number; overlay: Map<string, Balance>; newMarkets: Map<number, number> }> {
    const overlay = new Map<string, Balance>();
    const newMarkets = new Map<number, number>();
    return this.db.transaction(async (tx) => {
      const state = await tx.query<{ last_event_sequence: unknown }>('SELECT last_event_sequence FROM projection_state WHERE consumer = $1 FOR UPDATE', [this.consumer]);
      const committed = sqlInteger(state.rows[0]?.last_event_sequence ?? 0, 'last_event_sequence');
      // Another writer applied events this process did not: its cached balances may be stale.
      if (committed !== this.lastApplied) this.balanceCache.clear();
      const fresh = events.filter((event) => event.eventSequence > committed);
      if (fresh.length === 0) return { lastEventSequence: committed, overlay, newMarkets };
      await this.loadBalances(tx, fresh, overlay);
      const work = new TransactionWork();
      for (const event of fresh) this.collect(event, work, overlay, newMarkets);
      for (const statement of [...work.statements, ...this.flushStatements(work)]) await tx.query(statement.text, statement.params);
      const last = fresh[fresh.length - 1]!;
      await tx.query('UPDATE projection_state SET last_event_sequence = $2, last_command_sequence = $3, updated_at_ms = $4 WHERE consumer = $1', [
        this.consumer,
        last.eventSequence,
        last.commandSequence,
        Date.now(),
      ]);
      return { lastEventSequence: last.eventSequence, overlay, newMarkets };
    });
  }

  /** Fills the overlay with the cached balances of the chunk; false when one is not cached. */
  private overlayFromCache(events: EngineEvent[], overlay: Map<string, Balance>): boolean {
    for (const event of events) {
      if (event.type !== 'BalanceChanged') continue;
      const key = balanceKey(num(event, 'accountId'), num(event, 'assetId'));
      if (overlay.has(key)) continue;
      const cached = this.balanceCache.get(key);
      if (cached === undefined) return false;
      overlay.set(key, cached);
    }
    return true;
  }

  /** Reads the balances this chunk changes that the cache does not hold (one query). */
  private async loadBalances(tx: SqlExecutor, events: EngineEvent[], overlay: Map<string, Balance>): Promise<void> {
    const accounts: number[] = [];
    const assets: number[] = [];
    const seen = new Set<string>();
    for (const event of events) {
      if (event.type !== 'BalanceChanged') continue;
      const key = balanceKey(num(event, 'accountId'), num(event, 'assetId'));
      if (seen.has(key)) continue;
      seen.add(key);
      const cached = this.balanceCache.get(key);
      if (cached) overlay.set(key, cached);
      else {
        accounts.push(num(event, 'accountId'));
        assets.push(num(event, 'assetId'));
        overlay.set(key, [0, 0]);
      }
    }
    if (accounts.length === 0) return;
    const rows = await tx.query<{ account_id: unknown; asset_id: unknown; available_atoms: unknown; held_atoms: unknown }>(
      `SELECT b.account_id, b.asset_id, b.available_atoms, b.held_atoms
         FROM balances b JOIN unnest($1::bigint[], $2::integer[]) AS k(account_id, asset_id)
           ON b.account_id = k.account_id AND b.asset_id = k.asset_id`,
      [accounts, assets],
    );
    for (const row of rows.rows) {
      overlay.set(balanceKey(sqlInteger(row.account_id), sqlInteger(row.asset_id)), [sqlInteger(row.available_atoms), sqlInteger(row.held_atoms)]);
    }
  }

  private collect(event: EngineEvent, work: TransactionWork, overlay: Map<string, Balance>, newMarkets: Map<number, number>): void {
    const timeMs = event.timestampMs;
    switch (EventType[event.type as keyof typeof EventType]) {
      case EventType.OrderAccepted: {
        const orderId = num(event, 'orderId');
        work.newOrders.set(orderId, {
          orderId,
          accountId: num(event, 'accountId'),
          marketId: num(event, 'marketId'),
          clientOrderId: str(event, 'clientOrderId'),
          side: num(event, 'side'),
          orderType: num(event, 'orderType'),
          timeInForce: num(event, 'timeInForce'),
          priceTicks: num(event, 'priceTicks'),
          quantityLots: num(event, 'quantityLots'),
          quoteAmountAtoms: num(event, 'quoteAmountAtoms'),
          filledLots: 0,
          filledQuoteAtoms: 0,
          status: 'NEW',
          stpMode: num(event, 'stpMode'),
          endReason: null,
          createdAtMs: timeMs,
          updatedAtMs: timeMs,
          eventSequence: event.eventSequence,
        });
        return;
      }
      case EventType.TradeExecuted: {
        const marketId = num(event, 'marketId');
        const quoteAtomsPerTickLot = newMarkets.get(marketId) ?? this.quoteAtomsPerTickLot.get(marketId);
        if (quoteAtomsPerTickLot === undefined) throw new Error(`trade ${num(event, 'tradeId')} in unknown market ${marketId}`);
        const priceTicks = num(event, 'priceTicks');
        const quantityLots = num(event, 'quantityLots');
        const quoteAtoms = priceTicks * quantityLots * quoteAtomsPerTickLot;
        work.trades.push([
          num(event, 'tradeId'),
          marketId,
          priceTicks,
          quantityLots,
          quoteAtoms,
          num(event, 'makerOrderId'),
          num(event, 'takerOrderId'),
          num(event, 'makerAccountId'),
          num(event, 'takerAccountId'),
          num(event, 'takerSide'),
          num(event, 'makerFeeAtoms'),
          num(event, 'takerFeeAtoms'),
          timeMs,
          event.eventSequence,
        ]);
        for (const orderId of [num(event, 'makerOrderId'), num(event, 'takerOrderId')]) {
          const change = work.orderChange(orderId, timeMs);
          if ('filledLots' in change) {
            change.filledLots += quantityLots;
            change.filledQuoteAtoms += quoteAtoms;
            if (!terminalStatuses.has(change.status)) change.status = 'PARTIALLY_FILLED';
          } else {
            change.filledLotsDelta += quantityLots;
            change.filledQuoteAtomsDelta += quoteAtoms;
          }
        }
        return;
      }
      case EventType.OrderFilled:
        this.endOrder(work, num(event, 'orderId'), 'FILLED', null, timeMs);
        return;
      case EventType.OrderCanceled:
        this.endOrder(work, num(event, 'orderId'), 'CANCELED', num(event, 'reason'), timeMs);
        return;
      case EventType.OrderExpired:
        this.endOrder(work, num(event, 'orderId'), 'EXPIRED', num(event, 'reason'), timeMs);
        return;
      case EventType.OrderAmended: {
        const change = work.orderChange(num(event, 'orderId'), timeMs);
        change.quantityLots = num(event, 'quantityLots');
        return;
      }
      case EventType.BalanceChanged: {
        const accountId = num(event, 'accountId');
        const assetId = num(event, 'assetId');
        const key = balanceKey(accountId, assetId);
        const previous = overlay.get(key) ?? [0, 0];
        const balance: Balance = [num(event, 'availableAtoms'), num(event, 'heldAtoms')];
        overlay.set(key, balance);
        work.balances.set(key, { accountId, assetId, balance, eventSequence: event.eventSequence, timeMs });
        work.journal.push([
          event.eventSequence,
          event.commandSequence,
          accountId,
          assetId,
          balance[0],
          balance[1],
          balance[0] - previous[0],
          balance[1] - previous[1],
          timeMs,
        ]);
        return;
      }
      case EventType.Deposited:
      case EventType.WithdrawRequested: {
        const transferId = str(event, 'transferId');
        const deposit = event.type === 'Deposited';
        work.transfers.set(transferId, {
          transferId,
          kind: deposit ? 'DEPOSIT' : 'WITHDRAWAL',
          accountId: num(event, 'accountId'),
          assetId: num(event, 'assetId'),
          amountAtoms: num(event, 'amountAtoms'),
          status: deposit ? 'COMPLETED' : 'PENDING',
          createdAtMs: timeMs,
          updatedAtMs: timeMs,
          eventSequence: event.eventSequence,
          isNew: true,
        });
        return;
      }
      case EventType.WithdrawCompleted:
      case EventType.WithdrawCanceled: {
        const transferId = str(event, 'transferId');
        const status = event.type === 'WithdrawCompleted' ? 'COMPLETED' : 'CANCELED';
        const known = work.transfers.get(transferId);
        if (known) {
          known.status = status;
          known.updatedAtMs = timeMs;
          known.eventSequence = event.eventSequence;
        } else {
          work.transfers.set(transferId, {
            transferId,
            kind: 'WITHDRAWAL',
            accountId: num(event, 'accountId'),
            assetId: num(event, 'assetId'),
            amountAtoms: num(event, 'amountAtoms'),
            status,
            createdAtMs: timeMs,
            updatedAtMs: timeMs,
            eventSequence: event.eventSequence,
            isNew: false,
          });
        }
        return;
      }
      // Rare events are written before the batched rows, in order (markets refer to assets).
      case EventType.AssetAdded:
        work.statement('INSERT INTO assets (asset_id, code, scale, created_at_ms) VALUES ($1, $2, $3, $4) ON CONFLICT (asset_id) DO NOTHING', [
          num(event, 'assetId'),
          str(event, 'asset'),
          num(event, 'scale'),
          timeMs,
        ]);
        return;
      case EventType.MarketAdded: {
        const specText = str(event, 'spec');
        const spec = JSON.parse(specText) as { lotAtoms: number; quoteAtomsPerTickLot: number; makerFeeBps: number; takerFeeBps: number };
        const marketId = num(event, 'marketId');
        work.statement(
          `INSERT INTO markets (market_id, symbol, base_asset_id, quote_asset_id, status, lot_atoms, quote_atoms_per_tick_lot, maker_fee_bps, taker_fee_bps, spec, created_at_ms, updated_at_ms)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) ON CONFLICT (market_id) DO NOTHING`,
          [marketId, str(event, 'symbol'), num(event, 'baseAssetId'), num(event, 'quoteAssetId'), MarketStatus.Trading, spec.lotAtoms, spec.quoteAtomsPerTickLot, spec.makerFeeBps, spec.takerFeeBps, specText, timeMs],
        );
        newMarkets.set(marketId, spec.quoteAtomsPerTickLot);
        return;
      }
      case EventType.MarketHalted:
      case EventType.MarketResumed:
        work.statement('UPDATE markets SET status = $2, updated_at_ms = $3 WHERE market_id = $1', [
          num(event, 'marketId'),
          event.type === 'MarketHalted' ? MarketStatus.Halted : MarketStatus.Trading,
          timeMs,
        ]);
        return;
      case EventType.FeesSet:
        work.statement('UPDATE markets SET maker_fee_bps = $2, taker_fee_bps = $3, updated_at_ms = $4 WHERE market_id = $1', [
          num(event, 'marketId'),
          num(event, 'makerFeeBps'),
          num(event, 'takerFeeBps'),
          timeMs,
        ]);
        return;
      default:
        // Rejections, duplicates, book levels, STP defaults: nothing for the ledger.
        return;
    }
  }

  private endOrder(work: TransactionWork, orderId: number, status: OrderStatus, endReason: number | null, timeMs: number): void {
    const change = work.orderChange(orderId, timeMs);
    change.status = status;
    change.endReason = endReason;
  }

  /**
   * The statements that write what `collect` gathered. Orders, trades and journal rows are plain INSERTs (no
   * ON CONFLICT): the transaction holds the progress row's lock and applies only events
   * after it, so each of these rows is new, and a row that exists anyway (a state the
   * projection cannot have written) fails the transaction loudly instead of being skipped.
   */
  private flushStatements(work: TransactionWork): SqlStatement[] {
    const statements: SqlStatement[] = [];
    const add = (text: string, params: unknown[]): void => {
      statements.push({ text, params });
    };
    if (work.newOrders.size > 0) {
      const rows = [...work.newOrders.values()];
      const column = (key: keyof OrderRow): string => sqlIntegerArray(rows.map((row) => row[key] as number | null));
      const textColumn = (key: 'clientOrderId' | 'status'): string => sqlTextArray(rows.map((row) => row[key]));
      add(
        `INSERT INTO orders (order_id, account_id, market_id, client_order_id, side, order_type, time_in_force, price_ticks, quantity_lots,
                             quote_amount_atoms, filled_lots, filled_quote_atoms, status, stp_mode, end_reason, created_at_ms, updated_at_ms, event_sequence)
         SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::integer[], $4::text[], $5::smallint[], $6::smallint[], $7::smallint[], $8::bigint[], $9::bigint[],
                              $10::bigint[], $11::bigint[], $12::bigint[], $13::text[], $14::smallint[], $15::smallint[], $16::bigint[], $17::bigint[], $18::bigint[])`,
        [
          column('orderId'),
          column('accountId'),
          column('marketId'),
          textColumn('clientOrderId'),
          column('side'),
          column('orderType'),
          column('timeInForce'),
          column('priceTicks'),
          column('quantityLots'),
          column('quoteAmountAtoms'),
          column('filledLots'),
          column('filledQuoteAtoms'),
          textColumn('status'),
          column('stpMode'),
          column('endReason'),
          column('createdAtMs'),
          column('updatedAtMs'),
          column('eventSequence'),
        ],
      );
    }
    if (work.orderUpdates.size > 0) {
      const rows = [...work.orderUpdates.values()];
      const column = (key: keyof OrderUpdate): string => sqlIntegerArray(rows.map((row) => row[key] as number | null));
      add(
        `UPDATE orders AS o SET
           filled_lots = o.filled_lots + u.filled_lots_delta,
           filled_quote_atoms = o.filled_quote_atoms + u.filled_quote_atoms_delta,
           quantity_lots = COALESCE(u.quantity_lots, o.quantity_lots),
           status = CASE
             WHEN u.status IS NOT NULL THEN u.status
             WHEN o.status IN ('NEW', 'PARTIALLY_FILLED') AND o.filled_lots + u.filled_lots_delta > 0 THEN 'PARTIALLY_FILLED'
             ELSE o.status END,
           end_reason = COALESCE(u.end_reason, o.end_reason),
           updated_at_ms = u.updated_at_ms
         FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::smallint[], $7::bigint[])
           AS u(order_id, filled_lots_delta, filled_quote_atoms_delta, quantity_lots, status, end_reason, updated_at_ms)
         WHERE o.order_id = u.order_id`,
        [
          column('orderId'),
          column('filledLotsDelta'),
          column('filledQuoteAtomsDelta'),
          column('quantityLots'),
          sqlTextArray(rows.map((row) => row.status)),
          column('endReason'),
          column('updatedAtMs'),
        ],
      );
    }
    if (work.trades.length > 0) {
      const columns = work.trades[0]!.map((_, index) => sqlIntegerArray(work.trades.map((row) => row[index]!)));
      add(
        `INSERT INTO trades (trade_id, market_id, price_ticks, quantity_lots, quote_atoms, maker_order_id, taker_order_id, maker_account_id, taker_account_id,
                             taker_side, maker_fee_atoms, taker_fee_atoms, time_ms, event_sequence)
         SELECT * FROM unnest($1::bigint[], $2::integer[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[],
                              $10::smallint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[])`,
        columns,
      );
    }
    if (work.balances.size > 0) {
      const rows = [...work.balances.values()];
      add(
        `INSERT INTO balances (account_id, asset_id, available_atoms, held_atoms, event_sequence, updated_at_ms)
         SELECT * FROM unnest($1::bigint[], $2::integer[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[])
         ON CONFLICT (account_id, asset_id) DO UPDATE SET available_atoms = EXCLUDED.available_atoms, held_atoms = EXCLUDED.held_atoms,
           event_sequence = EXCLUDED.event_sequence, updated_at_ms = EXCLUDED.updated_at_ms`,
        [
          sqlIntegerArray(rows.map((row) => row.accountId)),
          sqlIntegerArray(rows.map((row) => row.assetId)),
          sqlIntegerArray(rows.map((row) => row.balance[0])),
          sqlIntegerArray(rows.map((row) => row.balance[1])),
          sqlIntegerArray(rows.map((row) => row.eventSequence)),
          sqlIntegerArray(rows.map((row) => row.timeMs)),
        ],
      );
      const columns = work.journal[0]!.map((_, index) => sqlIntegerArray(work.journal.map((row) => row[index]!)));
      add(
        `INSERT INTO balance_changes (event_sequence, command_sequence, account_id, asset_id, available_atoms, held_atoms, available_delta_atoms, held_delta_atoms, time_ms)
         SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::integer[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[])`,
        columns,
      );
    }
    if (work.transfers.size > 0) {
      const rows = [...work.transfers.values()];
      const created = rows.filter((row) => row.isNew);
      const updated = rows.filter((row) => !row.isNew);
      if (created.length > 0) {
        add(
          `INSERT INTO transfers (transfer_id, kind, account_id, asset_id, amount_atoms, status, created_at_ms, updated_at_ms, event_sequence)
           SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::integer[], $5::bigint[], $6::text[], $7::bigint[], $8::bigint[], $9::bigint[])
           ON CONFLICT (transfer_id) DO NOTHING`,
          [
            sqlTextArray(created.map((row) => row.transferId)),
            sqlTextArray(created.map((row) => row.kind)),
            sqlIntegerArray(created.map((row) => row.accountId)),
            sqlIntegerArray(created.map((row) => row.assetId)),
            sqlIntegerArray(created.map((row) => row.amountAtoms)),
            sqlTextArray(created.map((row) => row.status)),
            sqlIntegerArray(created.map((row) => row.createdAtMs)),
            sqlIntegerArray(created.map((row) => row.updatedAtMs)),
            sqlIntegerArray(created.map((row) => row.eventSequence)),
          ],
        );
      }
      if (updated.length > 0) {
        add(
          `UPDATE transfers AS t SET status = u.status, updated_at_ms = u.updated_at_ms, event_sequence = u.event_sequence
           FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) AS u(transfer_id, status, updated_at_ms, event_sequence)
           WHERE t.transfer_id = u.transfer_id`,
          [
            sqlTextArray(updated.map((row) => row.transferId)),
            sqlTextArray(updated.map((row) => row.status)),
            sqlIntegerArray(updated.map((row) => row.updatedAtMs)),
            sqlIntegerArray(updated.map((row) => row.eventSequence)),
          ],
        );
      }
    }
    return statements;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopCollecting?.();
    this.generation++;
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    await this.chain;
  }
}

/** Loads the projection's position, subscribes to the feed from there and starts projecting. */
export async function startLedgerProjection(deps: LedgerProjectionDeps): Promise<LedgerProjection> {
  const projection = new SqlLedgerProjection(deps.db, deps.feed, deps.logger, deps.consumer ?? ledgerConsumerName, deps.metrics ?? null);
  await projection.start();
  return projection;
}
