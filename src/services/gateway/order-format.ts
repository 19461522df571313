// Binance-shaped JSON for orders, fills, trades and balances, built from engine views,
// engine events or ledger rows. Field names, enum strings and decimal strings follow the
// Binance Spot REST reference; every number that is money is a decimal string.
import { ExpireReason, OrderType, Side, StpMode, TimeInForce } from '../../domain/codes.ts';
import type { EngineEvent } from '../../domain/events.ts';
import type { OrderRecord, OrderStatus, TradeRecord } from '../../ports/history.ts';
import type { OrderView } from '../../engine/types.ts';
import type { MarketUnits } from './market-units.ts';

export const sideNames: Record<number, string> = { [Side.Buy]: 'BUY', [Side.Sell]: 'SELL' };
export const orderTypeNames: Record<number, string> = { [OrderType.Limit]: 'LIMIT', [OrderType.Market]: 'MARKET', [OrderType.LimitMaker]: 'LIMIT_MAKER' };
export const timeInForceNames: Record<number, string> = { 0: 'GTC', [TimeInForce.GTC]: 'GTC', [TimeInForce.IOC]: 'IOC', [TimeInForce.FOK]: 'FOK' };
export const stpModeNames: Record<number, string> = {
  [StpMode.AccountDefault]: 'NONE',
  [StpMode.None]: 'NONE',
  [StpMode.ExpireTaker]: 'EXPIRE_TAKER',
  [StpMode.ExpireMaker]: 'EXPIRE_MAKER',
  [StpMode.ExpireBoth]: 'EXPIRE_BOTH',
};

/** Binance statuses we produce; EXPIRED_IN_MATCH is an order expired by self-trade prevention. */
export type ApiOrderStatus = OrderStatus | 'EXPIRED_IN_MATCH';

/** The fields every order answer is built from, whatever the source. */
export interface OrderState extends Omit<OrderRecord, 'accountId' | 'marketId' | 'status'> {
  status: ApiOrderStatus;
}

export function stateOfView(view: OrderView): OrderState {
  return {
    orderId: view.orderId,
    clientOrderId: view.clientOrderId,
    side: view.side,
    orderType: view.orderType,
    timeInForce: view.timeInForce,
    priceTicks: view.priceTicks,
    quantityLots: view.quantityLots,
    quoteAmountAtoms: 0,
    filledLots: view.filledLots,
    filledQuoteAtoms: view.filledQuoteAtoms,
    status: view.filledLots > 0 ? 'PARTIALLY_FILLED' : 'NEW',
    stpMode: view.stpMode,
    createdAtMs: view.createdAtMs,
    updatedAtMs: view.updatedAtMs,
  };
}

export function stateOfRecord(record: OrderRecord): OrderState {
  return { ...record, quoteAmountAtoms: record.quoteAmountAtoms ?? 0 };
}

/** GET order / openOrders / allOrders shape. */
export function formatOrder(units: MarketUnits, order: OrderState): Record<string, unknown> {
  const quantityLots = order.orderType === OrderType.Market && order.quantityLots === 0 ? order.filledLots : order.quantityLots;
  return {
    symbol: units.symbol,
    orderId: order.orderId,
    orderListId: -1,
    clientOrderId: order.clientOrderId,
    price: units.formatPrice(order.priceTicks),
    origQty: units.formatLots(quantityLots),
    executedQty: units.formatLots(order.filledLots),
    cummulativeQuoteQty: units.formatQuoteAtoms(order.filledQuoteAtoms),
    status: order.status,
    timeInForce: timeInForceNames[order.timeInForce] ?? 'GTC',
    type: orderTypeNames[order.orderType] ?? 'LIMIT',
    side: sideNames[order.side] ?? 'BUY',
    stopPrice: units.formatPrice(0),
    icebergQty: units.formatLots(0),
    time: order.createdAtMs,
    updateTime: order.updatedAtMs,
    isWorking: true,
    workingTime: order.createdAtMs,
    origQuoteOrderQty: units.formatQuoteAtoms(order.quoteAmountAtoms),
    selfTradePreventionMode: stpModeNames[order.stpMode] ?? 'NONE',
  };
}

/** DELETE order shape: the order after cancellation. */
export function formatCanceled(units: MarketUnits, order: OrderState, cancelClientOrderId: string, transactTimeMs: number): Record<string, unknown> {
  const quantityLots = order.quantityLots;
  return {
    symbol: units.symbol,
    origClientOrderId: order.clientOrderId,
    orderId: order.orderId,
    orderListId: -1,
    clientOrderId: cancelClientOrderId,
    transactTime: transactTimeMs,
    price: units.formatPrice(order.priceTicks),
    origQty: units.formatLots(quantityLots),
    executedQty: units.formatLots(order.filledLots),
    cummulativeQuoteQty: units.formatQuoteAtoms(order.filledQuoteAtoms),
    status: 'CANCELED',
    timeInForce: timeInForceNames[order.timeInForce] ?? 'GTC',
    type: orderTypeNames[order.orderType] ?? 'LIMIT',
    side: sideNames[order.side] ?? 'BUY',
    selfTradePreventionMode: stpModeNames[order.stpMode] ?? 'NONE',
  };
}

export interface Fill {
  price: string;
  qty: string;
  commission: string;
  commissionAsset: string;
  tradeId: number;
}

/** The taker order's state and fills after its PlaceOrder command, from the command's events. */
export function stateFromEvents(units: MarketUnits, accepted: EngineEvent, events: EngineEvent[]): { state: OrderState; fills: Fill[] } {
  const orderId = accepted.orderId as number;
  const fills: Fill[] = [];
  let filledLots = 0;
  let filledQuoteAtoms = 0;
  let status: ApiOrderStatus | null = null;
  for (const event of events) {
    if (event.type === 'TradeExecuted' && event.takerOrderId === orderId) {
      const lots = event.quantityLots as number;
      filledLots += lots;
      filledQuoteAtoms += units.notionalAtoms(event.priceTicks as number, lots);
      fills.push({
        price: units.formatPrice(event.priceTicks as number),
        qty: units.formatLots(lots),
        commission: units.formatQuoteAtoms(event.takerFeeAtoms as number),
        commissionAsset: units.spec.quoteAsset,
        tradeId: event.tradeId as number,
      });
    } else if (event.type === 'OrderFilled' && event.orderId === orderId) {
      status = 'FILLED';
    } else if (event.type === 'OrderExpired' && event.orderId === orderId) {
      status = event.reason === ExpireReason.SelfTradePrevention ? 'EXPIRED_IN_MATCH' : 'EXPIRED';
    }
  }
  const state: OrderState = {
    orderId,
    clientOrderId: accepted.clientOrderId as string,
    side: accepted.side as number,
    orderType: accepted.orderType as number,
    timeInForce: accepted.timeInForce as number,
    priceTicks: accepted.priceTicks as number,
    quantityLots: (accepted.quantityLots as number) || filledLots,
    quoteAmountAtoms: accepted.quoteAmountAtoms as number,
    filledLots,
    filledQuoteAtoms,
    status: status ?? (filledLots > 0 ? 'PARTIALLY_FILLED' : 'NEW'),
    stpMode: accepted.stpMode as number,
    createdAtMs: accepted.timestampMs,
    updatedAtMs: accepted.timestampMs,
  };
  return { state, fills };
}

export type ResponseType = 'ACK' | 'RESULT' | 'FULL';

const stringField = { type: 'string' } as const;
const numberField = { type: 'number' } as const;

/**
 * The JSON schema of formatNewOrder's three shapes (ACK is a prefix of RESULT, RESULT of
 * FULL), for Fastify's precompiled serializer on POST /api/v3/order. Its properties are
 * listed in the order formatNewOrder writes them and none is required, so the text is the
 * same as JSON.stringify's for every shape; keep the two in step (a test compares them).
 */
export const newOrderResponseSchema = {
  type: 'object',
  properties: {
    symbol: stringField,
    orderId: numberField,
    orderListId: numberField,
    clientOrderId: stringField,
    transactTime: numberField,
    price: stringField,
    origQty: stringField,
    executedQty: stringField,
    origQuoteOrderQty: stringField,
    cummulativeQuoteQty: stringField,
    status: stringField,
    timeInForce: stringField,
    type: stringField,
    side: stringField,
    workingTime: numberField,
    selfTradePreventionMode: stringField,
    fills: {
      type: 'array',
      items: {
        type: 'object',
        properties: { price: stringField, qty: stringField, commission: stringField, commissionAsset: stringField, tradeId: numberField },
      },
    },
  },
} as const;

export function formatNewOrder(units: MarketUnits, state: OrderState, fills: Fill[], responseType: ResponseType, transactTimeMs: number): Record<string, unknown> {
  if (responseType === 'ACK') return { symbol: units.symbol, orderId: state.orderId, orderListId: -1, clientOrderId: state.clientOrderId, transactTime: transactTimeMs };
  // Built as one literal (no spreads): this runs once per placed order. Field order is Binance's.
  const result: Record<string, unknown> = {
    symbol: units.symbol,
    orderId: state.orderId,
    orderListId: -1,
    clientOrderId: state.clientOrderId,
    transactTime: transactTimeMs,
    price: units.formatPrice(state.priceTicks),
    origQty: units.formatLots(state.quantityLots),
    executedQty: units.formatLots(state.filledLots),
    origQuoteOrderQty: units.formatQuoteAtoms(state.quoteAmountAtoms),
    cummulativeQuoteQty: units.formatQuoteAtoms(state.filledQuoteAtoms),
    status: state.status,
    timeInForce: timeInForceNames[state.timeInForce] ?? 'GTC',
    type: orderTypeNames[state.orderType] ?? 'LIMIT',
    side: sideNames[state.side] ?? 'BUY',
    workingTime: state.createdAtMs,
    selfTradePreventionMode: stpModeNames[state.stpMode] ?? 'NONE',
  };
  if (responseType === 'FULL') result.fills = fills;
  return result;
}

/** myTrades rows for one account (two rows when the account was both maker and taker). */
export function formatAccountTrades(units: MarketUnits, accountId: number, trade: TradeRecord): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  const base = {
    symbol: units.symbol,
    id: trade.tradeId,
    orderListId: -1,
    price: units.formatPrice(trade.priceTicks),
    qty: units.formatLots(trade.quantityLots),
    quoteQty: units.formatQuoteAtoms(trade.quoteAtoms),
    commissionAsset: units.spec.quoteAsset,
    time: trade.timeMs,
    isBestMatch: true,
  };
  if (trade.makerAccountId === accountId) {
    rows.push({ ...base, orderId: trade.makerOrderId, commission: units.formatQuoteAtoms(trade.makerFeeAtoms), isBuyer: trade.takerSide === Side.Sell, isMaker: true });
  }
  if (trade.takerAccountId === accountId) {
    rows.push({ ...base, orderId: trade.takerOrderId, commission: units.formatQuoteAtoms(trade.takerFeeAtoms), isBuyer: trade.takerSide === Side.Buy, isMaker: false });
  }
  return rows;
}

/** Fills of one order from ledger trades (for a duplicate submit answered like the original). */
export function fillsOfOrder(units: MarketUnits, orderId: number, trades: TradeRecord[]): Fill[] {
  return trades
    .filter((trade) => trade.takerOrderId === orderId)
    .map((trade) => ({
      price: units.formatPrice(trade.priceTicks),
      qty: units.formatLots(trade.quantityLots),
      commission: units.formatQuoteAtoms(trade.takerFeeAtoms),
      commissionAsset: units.spec.quoteAsset,
      tradeId: trade.tradeId,
    }));
}
