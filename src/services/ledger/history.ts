// History reads over the ledger projection (PGlite, PostgreSQL or its read replica):
// allOrders, order lookups, public trades and myTrades, all oldest first as Binance
// returns them. Rows come back with BIGINT as strings; every number is converted exactly.

import type { CandleBucket, HistoryQuery, HistoryReads, OrderRecord, OrderStatus, TradeCandle, TradeRecord } from '../../ports/history.ts';
import type { SqlExecutor } from '../../ports/sql.ts';
import { sqlInteger } from '../../adapters/sql/convert.ts';
import { ledgerConsumerName } from './projection.ts';

/** Upper bound on any history page, whatever the caller passes (endpoints check their own maximum first). */
export const historyRowsMax = 5000;

type Row = Record<string, unknown>;

const orderColumns = `order_id, account_id, market_id, client_order_id, side, order_type, time_in_force, price_ticks, quantity_lots, quote_amount_atoms,
  filled_lots, filled_quote_atoms, status, stp_mode, created_at_ms, updated_at_ms`;
const tradeColumns = `trade_id, market_id, price_ticks, quantity_lots, quote_atoms, maker_order_id, taker_order_id, maker_account_id, taker_account_id,
  taker_side, maker_fee_atoms, taker_fee_atoms, time_ms`;

function toOrder(row: Row): OrderRecord {
  return {
    orderId: sqlInteger(row.order_id),
    accountId: sqlInteger(row.account_id),
    marketId: sqlInteger(row.market_id),
    clientOrderId: String(row.client_order_id),
    side: sqlInteger(row.side),
    orderType: sqlInteger(row.order_type),
    timeInForce: sqlInteger(row.time_in_force),
    priceTicks: sqlInteger(row.price_ticks),
    quantityLots: sqlInteger(row.quantity_lots),
    quoteAmountAtoms: sqlInteger(row.quote_amount_atoms),
    filledLots: sqlInteger(row.filled_lots),
    filledQuoteAtoms: sqlInteger(row.filled_quote_atoms),
    status: row.status as OrderStatus,
    stpMode: sqlInteger(row.stp_mode),
    createdAtMs: sqlInteger(row.created_at_ms),
    updatedAtMs: sqlInteger(row.updated_at_ms),
  };
}

function toTrade(row: Row): TradeRecord {
  return {
    tradeId: sqlInteger(row.trade_id),
    marketId: sqlInteger(row.market_id),
    priceTicks: sqlInteger(row.price_ticks),
    quantityLots: sqlInteger(row.quantity_lots),
    quoteAtoms: sqlInteger(row.quote_atoms),
    makerOrderId: sqlInteger(row.maker_order_id),
    takerOrderId: sqlInteger(row.taker_order_id),
    makerAccountId: sqlInteger(row.maker_account_id),
    takerAccountId: sqlInteger(row.taker_account_id),
    takerSide: sqlInteger(row.taker_side),
    makerFeeAtoms: sqlInteger(row.maker_fee_atoms),
    takerFeeAtoms: sqlInteger(row.taker_fee_atoms),
    timeMs: sqlInteger(row.time_ms),
  };
}

/**
 * Builds the paging part of a history query. With `fromId` or `startTimeMs` the page runs
 * forward from there; otherwise it is the most recent `limit` rows (read newest first and
 * reversed by the caller), which is what Binance does for allOrders, trades and myTrades.
 */
function page(query: HistoryQuery, idColumn: string, timeColumn: string, params: unknown[]): { where: string; order: string; newestFirst: boolean } {
  const conditions: string[] = [];
  if (query.fromId !== undefined) {
    params.push(query.fromId);
    conditions.push(`${idColumn} >= $${params.length}`);
  }
  if (query.startTimeMs !== undefined) {
    params.push(query.startTimeMs);
    conditions.push(`${timeColumn} >= $${params.length}`);
  }
  if (query.endTimeMs !== undefined) {
    params.push(query.endTimeMs);
    conditions.push(`${timeColumn} <= $${params.length}`);
  }
  const newestFirst = query.fromId === undefined && query.startTimeMs === undefined;
  params.push(Math.max(0, Math.min(Math.floor(query.limit), historyRowsMax)));
  return {
    where: conditions.map((condition) => ` AND ${condition}`).join(''),
    order: `ORDER BY ${idColumn} ${newestFirst ? 'DESC' : 'ASC'} LIMIT $${params.length}`,
    newestFirst,
  };
}

/**
 * The bucket a trade falls into, in SQL: integer division for fixed lengths (BIGINT
 * arithmetic, exact), date_trunc in UTC for calendar months.
 */
function bucketExpression(bucket: CandleBucket, parameterIndex: number): string {
  if (bucket === 'month') {
    return "(extract(epoch FROM date_trunc('month', to_timestamp(time_ms / 1000.0) AT TIME ZONE 'UTC')) * 1000)::BIGINT";
  }
  return `((time_ms - $${parameterIndex + 1}::BIGINT) / $${parameterIndex}::BIGINT) * $${parameterIndex}::BIGINT + $${parameterIndex + 1}::BIGINT`;
}

export class SqlHistoryReads implements HistoryReads {
  constructor(
    private readonly db: SqlExecutor,
    private readonly consumer: string = ledgerConsumerName,
  ) {}

  async orders(accountId: number, marketId: number, query: HistoryQuery): Promise<OrderRecord[]> {
    const params: unknown[] = [accountId, marketId];
    const paging = page(query, 'order_id', 'created_at_ms', params);
    const result = await this.db.query<Row>(`SELECT ${orderColumns} FROM orders WHERE account_id = $1 AND market_id = $2${paging.where} ${paging.order}`, params);
    const rows = result.rows.map(toOrder);
    return paging.newestFirst ? rows.reverse() : rows;
  }

  async orderById(accountId: number, orderId: number): Promise<OrderRecord | null> {
    const result = await this.db.query<Row>(`SELECT ${orderColumns} FROM orders WHERE order_id = $1 AND account_id = $2`, [orderId, accountId]);
    return result.rows[0] ? toOrder(result.rows[0]) : null;
  }

  async orderByClientOrderId(accountId: number, marketId: number, clientOrderId: string): Promise<OrderRecord | null> {
    // A clientOrderId may be reused once the engine's window forgot it: the newest wins.
    const result = await this.db.query<Row>(
      `SELECT ${orderColumns} FROM orders WHERE account_id = $1 AND market_id = $2 AND client_order_id = $3 ORDER BY order_id DESC LIMIT 1`,
      [accountId, marketId, clientOrderId],
    );
    return result.rows[0] ? toOrder(result.rows[0]) : null;
  }

  async trades(marketId: number, query: HistoryQuery): Promise<TradeRecord[]> {
    const params: unknown[] = [marketId];
    const paging = page(query, 'trade_id', 'time_ms', params);
    const result = await this.db.query<Row>(`SELECT ${tradeColumns} FROM trades WHERE market_id = $1${paging.where} ${paging.order}`, params);
    const rows = result.rows.map(toTrade);
    return paging.newestFirst ? rows.reverse() : rows;
  }

  async accountTrades(accountId: number, marketId: number, query: HistoryQuery): Promise<TradeRecord[]> {
    const params: unknown[] = [accountId, marketId];
    const paging = page(query, 'trade_id', 'time_ms', params);
    const result = await this.db.query<Row>(
      `SELECT ${tradeColumns} FROM trades WHERE market_id = $2 AND (maker_account_id = $1 OR taker_account_id = $1)${paging.where} ${paging.order}`,
      params,
    );
    const rows = result.rows.map(toTrade);
    return paging.newestFirst ? rows.reverse() : rows;
  }

  async candles(marketId: number, bucket: CandleBucket, startTimeMs: number, endTimeMs: number, limit: number): Promise<TradeCandle[]> {
    const params: unknown[] = [marketId, startTimeMs, endTimeMs, Math.min(limit, historyRowsMax)];
    if (bucket !== 'month') params.push(bucket.lengthMs, bucket.offsetMs);
    const result = await this.db.query<Row>(
      `SELECT bucket AS open_time_ms,
         (array_agg(price_ticks ORDER BY trade_id))[1] AS open_ticks,
         max(price_ticks) AS high_ticks, min(price_ticks) AS low_ticks,
         (array_agg(price_ticks ORDER BY trade_id DESC))[1] AS close_ticks,
         sum(quantity_lots) AS volume_lots, sum(quote_atoms) AS quote_atoms, count(*) AS trade_count,
         min(trade_id) AS first_trade_id, max(trade_id) AS last_trade_id,
         coalesce(sum(quantity_lots) FILTER (WHERE taker_side = 1), 0) AS taker_buy_lots,
         coalesce(sum(quote_atoms) FILTER (WHERE taker_side = 1), 0) AS taker_buy_quote_atoms
       FROM (SELECT trade_id, price_ticks, quantity_lots, quote_atoms, taker_side, ${bucketExpression(bucket, 5)} AS bucket
             FROM trades WHERE market_id = $1 AND time_ms >= $2 AND time_ms <= $3) AS bucketed
       GROUP BY bucket ORDER BY bucket LIMIT $4`,
      params,
    );
    return result.rows.map((row) => ({
      openTimeMs: sqlInteger(row.open_time_ms),
      openTicks: sqlInteger(row.open_ticks),
      highTicks: sqlInteger(row.high_ticks),
      lowTicks: sqlInteger(row.low_ticks),
      closeTicks: sqlInteger(row.close_ticks),
      volumeLots: sqlInteger(row.volume_lots),
      quoteAtoms: sqlInteger(row.quote_atoms),
      tradeCount: sqlInteger(row.trade_count),
      firstTradeId: sqlInteger(row.first_trade_id),
      lastTradeId: sqlInteger(row.last_trade_id),
      takerBuyLots: sqlInteger(row.taker_buy_lots),
      takerBuyQuoteAtoms: sqlInteger(row.taker_buy_quote_atoms),
    }));
  }

  async projectedEventSequence(): Promise<number> {
    const result = await this.db.query<Row>('SELECT last_event_sequence FROM projection_state WHERE consumer = $1', [this.consumer]);
    return result.rows[0] ? sqlInteger(result.rows[0].last_event_sequence) : 0;
  }
}
