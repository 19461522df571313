// Turns engine events into what one user sees: Binance user data stream messages
// (executionReport, outboundAccountPosition, balanceUpdate) and inbox notifications
// (order updates, fills, deposits, withdrawals). It keeps the open orders' cumulative
// fill state so every report carries Binance's cumulative fields; the state of an order
// is dropped once the order ends. Pure: no I/O, so replays give the same output.

import type { EngineEvent } from '../../domain/events.ts';
import type { MarketSpec } from '../../domain/market.ts';
import { CancelReason, ExpireReason, OrderType, Side, StpMode, TimeInForce } from '../../domain/codes.ts';
import { formatAssetAtoms, formatPrice, formatQuantity, formatQuoteAtoms, marketFormat, type MarketFormat } from '../../domain/market-format.ts';
import type { AssetView, MarketView, OrderView } from '../../engine/types.ts';

export interface UserMessage {
  accountId: number;
  /** Binance user data stream payload. */
  payload: Record<string, unknown>;
}

export type NotificationKind = 'order' | 'fill' | 'deposit' | 'withdrawal';

export interface NotificationDraft {
  accountId: number;
  kind: NotificationKind;
  eventSequence: number;
  part: number;
  timeMs: number;
  payload: Record<string, unknown>;
}

export interface TranslatedBatch {
  messages: UserMessage[];
  notifications: NotificationDraft[];
}

interface OrderState {
  orderId: number;
  accountId: number;
  marketId: number;
  side: number;
  orderType: number;
  timeInForce: number;
  priceTicks: number;
  quantityLots: number;
  quoteAmountAtoms: number;
  filledLots: number;
  filledQuoteAtoms: number;
  stpMode: number;
  clientOrderId: string;
  createdAtMs: number;
  workingTimeMs: number;
}

interface MarketInfo {
  symbol: string;
  format: MarketFormat;
  quoteAsset: string;
  quoteAtomsPerTickLot: number;
}

const sideNames: Record<number, string> = { [Side.Buy]: 'BUY', [Side.Sell]: 'SELL' };
const typeNames: Record<number, string> = { [OrderType.Limit]: 'LIMIT', [OrderType.Market]: 'MARKET', [OrderType.LimitMaker]: 'LIMIT_MAKER' };
const timeInForceNames: Record<number, string> = { [TimeInForce.GTC]: 'GTC', [TimeInForce.IOC]: 'IOC', [TimeInForce.FOK]: 'FOK' };
const stpNames: Record<number, string> = {
  [StpMode.None]: 'NONE', [StpMode.ExpireTaker]: 'EXPIRE_TAKER', [StpMode.ExpireMaker]: 'EXPIRE_MAKER', [StpMode.ExpireBoth]: 'EXPIRE_BOTH',
};

/** Our reasons for an expiry, as words for the notification. */
const expireReasonNames: Record<number, string> = {
  [ExpireReason.ImmediateRemainder]: 'IMMEDIATE_REMAINDER',
  [ExpireReason.FillOrKillUnfillable]: 'FILL_OR_KILL_UNFILLABLE',
  [ExpireReason.SelfTradePrevention]: 'SELF_TRADE_PREVENTION',
  [ExpireReason.NoLiquidity]: 'NO_LIQUIDITY',
};

export interface TranslatorReads {
  assets(): AssetView[];
  markets(): MarketView[];
  order(orderId: number): OrderView | null;
}

export class UserEventTranslator {
  private readonly orders = new Map<number, OrderState>();
  private readonly assets = new Map<number, { code: string; scale: number }>();
  private readonly markets = new Map<number, MarketInfo>();

  constructor(private readonly reads: TranslatorReads) {
    for (const asset of reads.assets()) this.assets.set(asset.assetId, { code: asset.code, scale: asset.scale });
    for (const market of reads.markets()) this.addMarket(market.marketId, market.spec);
  }

  /** Open orders tracked (bounded by the engine's open orders plus those of the batch). */
  trackedOrders(): number {
    return this.orders.size;
  }

  private addMarket(marketId: number, spec: MarketSpec): void {
    const scales = [...this.assets.values()];
    const base = scales.find((asset) => asset.code === spec.baseAsset);
    const quote = scales.find((asset) => asset.code === spec.quoteAsset);
    if (!base || !quote) return;
    this.markets.set(marketId, { symbol: spec.symbol, format: marketFormat(spec, base.scale, quote.scale), quoteAsset: spec.quoteAsset,
      quoteAtomsPerTickLot: spec.quoteAtomsPerTickLot,
    });
  }

  private orderState(orderId: number): OrderState | null {
    const known = this.orders.get(orderId);
    if (known) return known;
    // An order accepted before we started: take what the engine knows now.
    const view = this.reads.order(orderId);
    if (!view) return null;
    const state: OrderState = {
      orderId, accountId: view.accountId, marketId: view.marketId, side: view.side, orderType: view.orderType,
      timeInForce: view.timeInForce, priceTicks: view.priceTicks, quantityLots: view.quantityLots, quoteAmountAtoms: 0,
      filledLots: view.filledLots, filledQuoteAtoms: view.filledQuoteAtoms, stpMode: view.stpMode,
      clientOrderId: view.clientOrderId, createdAtMs: view.createdAtMs, workingTimeMs: view.createdAtMs,
    };
    this.orders.set(orderId, state);
    return state;
  }

  private report(order: OrderState, event: EngineEvent, fields: {
    executionType: string; status: string; lastLots?: number; lastPriceTicks?: number; lastQuoteAtoms?: number;
    commissionAtoms?: number; tradeId?: number; isMaker?: boolean; onBook: boolean;
  }): Record<string, unknown> | null {
    const market = this.markets.get(order.marketId);
    if (!market) return null;
    const format = market.format;
    const isMarketOrder = order.orderType === OrderType.Market;
    const traded = fields.tradeId !== undefined;
    return {
      e: 'executionReport',
      E: event.timestampMs,
      s: market.symbol,
      c: order.clientOrderId,
      S: sideNames[order.side] ?? 'BUY',
      o: typeNames[order.orderType] ?? 'LIMIT',
      f: isMarketOrder ? 'GTC' : (timeInForceNames[order.timeInForce] ?? 'GTC'),
      q: formatQuantity(format, order.quantityLots),
      p: formatPrice(format, isMarketOrder ? 0 : order.priceTicks),
      P: formatPrice(format, 0),
      F: formatQuantity(format, 0),
      g: -1,
      C: fields.executionType === 'CANCELED' ? order.clientOrderId : '',
      x: fields.executionType,
      X: fields.status,
      r: 'NONE',
      i: order.orderId,
      l: formatQuantity(format, fields.lastLots ?? 0),
      z: formatQuantity(format, order.filledLots),
      L: formatPrice(format, fields.lastPriceTicks ?? 0),
      n: formatQuoteAtoms(format, fields.commissionAtoms ?? 0),
      N: traded ? market.quoteAsset : null,
      T: event.timestampMs,
      t: fields.tradeId ?? -1,
      I: event.eventSequence,
      w: fields.onBook,
      m: fields.isMaker ?? false,
      M: false,
      O: order.createdAtMs,
      Z: formatQuoteAtoms(format, order.filledQuoteAtoms),
      Y: formatQuoteAtoms(format, fields.lastQuoteAtoms ?? 0),
      Q: formatQuoteAtoms(format, order.quoteAmountAtoms),
      W: order.workingTimeMs,
      V: stpNames[order.stpMode] ?? 'NONE',
    };
  }

  private canRest(order: OrderState): boolean {
    return order.orderType === OrderType.LimitMaker || (order.orderType === OrderType.Limit && order.timeInForce === TimeInForce.GTC);
  }

  translate(events: readonly EngineEvent[]): TranslatedBatch {
    const messages: UserMessage[] = [];
    const notifications: NotificationDraft[] = [];
    const emitOrder = (accountId: number, event: EngineEvent, report: Record<string, unknown> | null, kind: NotificationKind, part = 0) => {
      if (!report) return;
      messages.push({ accountId, payload: report });
      notifications.push({ accountId, kind, eventSequence: event.eventSequence, part, timeMs: event.timestampMs, payload: report });
    };
    // Balances changed by the command being read, flushed as one outboundAccountPosition per account.
    let positionCommand = -1;
    let positions = new Map<number, { event: EngineEvent; balances: Map<number, { available: number; held: number }> }>();
    const flushPositions = () => {
      for (const [accountId, { event, balances }] of positions) {
        const list = [...balances.entries()].map(([assetId, balance]) => {
          const asset = this.assets.get(assetId);
          const scale = asset?.scale ?? 0;
          return { a: asset?.code ?? String(assetId), f: formatAssetAtoms(balance.available, scale), l: formatAssetAtoms(balance.held, scale) };
        });
        messages.push({ accountId, payload: { e: 'outboundAccountPosition', E: event.timestampMs, u: event.timestampMs, B: list } });
      }
      positions = new Map();
    };

    for (let index = 0; index < events.length; index++) {
      const event = events[index]!;
      if (event.commandSequence !== positionCommand) {
        flushPositions();
        positionCommand = event.commandSequence;
      }
      switch (event.type) {
        case 'AssetAdded':
          this.assets.set(event.assetId as number, { code: event.asset as string, scale: event.scale as number });
          break;
        case 'MarketAdded':
          try {
            this.addMarket(event.marketId as number, JSON.parse(event.spec as string) as MarketSpec);
          } catch {
            // A malformed spec cannot come from the engine; the market is simply not reported.
          }
          break;
        case 'OrderAccepted': {
          const order: OrderState = {
            orderId: event.orderId as number, accountId: event.accountId as number, marketId: event.marketId as number,
            side: event.side as number, orderType: event.orderType as number, timeInForce: event.timeInForce as number,
            priceTicks: event.priceTicks as number, quantityLots: event.quantityLots as number,
            quoteAmountAtoms: event.quoteAmountAtoms as number, filledLots: 0, filledQuoteAtoms: 0,
            stpMode: event.stpMode as number, clientOrderId: event.clientOrderId as string,
            createdAtMs: event.timestampMs, workingTimeMs: event.timestampMs,
          };
          this.orders.set(order.orderId, order);
          emitOrder(order.accountId, event, this.report(order, event, { executionType: 'NEW', status: 'NEW', onBook: this.canRest(order) }), 'order');
          break;
        }
        case 'TradeExecuted': {
          const priceTicks = event.priceTicks as number;
          const lots = event.quantityLots as number;
          const quoteAtoms = priceTicks * lots * (this.markets.get(event.marketId as number)?.quoteAtomsPerTickLot ?? 0);
          const roles: [number, number, boolean, number][] = [
            [event.makerOrderId as number, event.makerAccountId as number, true, event.makerFeeAtoms as number],
            [event.takerOrderId as number, event.takerAccountId as number, false, event.takerFeeAtoms as number],
          ];
          roles.forEach(([orderId, accountId, isMaker, feeAtoms], part) => {
            const order = this.orderState(orderId);
            if (!order) return;
            order.filledLots += lots;
            order.filledQuoteAtoms += quoteAtoms;
            const filled = this.fillsCompletely(events, index, orderId);
            if (filled) this.orders.delete(orderId);
            const report = this.report(order, event, {
              executionType: 'TRADE', status: filled ? 'FILLED' : 'PARTIALLY_FILLED', lastLots: lots, lastPriceTicks: priceTicks,
              lastQuoteAtoms: quoteAtoms, commissionAtoms: feeAtoms, tradeId: event.tradeId as number, isMaker,
              onBook: !filled && (isMaker || this.canRest(order)),
            });
            emitOrder(accountId, event, report, 'fill', part);
          });
          break;
        }
        case 'OrderFilled':
          // Reported with its last trade (status FILLED); only the state is dropped here.
          this.orders.delete(event.orderId as number);
          break;
        case 'OrderCanceled':
        case 'OrderExpired': {
          const order = this.orderState(event.orderId as number);
          if (!order) break;
          this.orders.delete(order.orderId);
          const canceled = event.type === 'OrderCanceled';
          const selfTrade = !canceled && event.reason === ExpireReason.SelfTradePrevention;
          const report = this.report(order, event, {
            executionType: canceled ? 'CANCELED' : selfTrade ? 'TRADE_PREVENTION' : 'EXPIRED',
            status: canceled ? 'CANCELED' : selfTrade ? 'EXPIRED_IN_MATCH' : 'EXPIRED',
            onBook: false,
          });
          if (report) {
            report.r = canceled ? (event.reason === CancelReason.CancelAll ? 'CANCEL_ALL' : 'NONE') : (expireReasonNames[event.reason as number] ?? 'NONE');
          }
          emitOrder(order.accountId, event, report, 'order');
          break;
        }
        case 'OrderAmended': {
          const order = this.orderState(event.orderId as number);
          if (!order) break;
          order.quantityLots = event.quantityLots as number;
          const status = order.filledLots > 0 ? 'PARTIALLY_FILLED' : 'NEW';
          emitOrder(order.accountId, event, this.report(order, event, { executionType: 'REPLACED', status, onBook: true }), 'order');
          break;
        }
        case 'BalanceChanged': {
          const accountId = event.accountId as number;
          let entry = positions.get(accountId);
          if (!entry) {
            entry = { event, balances: new Map() };
            positions.set(accountId, entry);
          }
          entry.event = event;
          entry.balances.set(event.assetId as number, { available: event.availableAtoms as number, held: event.heldAtoms as number });
          break;
        }
        case 'Deposited':
        case 'WithdrawRequested':
        case 'WithdrawCompleted':
        case 'WithdrawCanceled':
          this.transfer(event, messages, notifications);
          break;
        default:
          break;
      }
    }
    flushPositions();
    return { messages, notifications };
  }

  /** True when `orderId` gets OrderFilled later in the same command with no further trade of its own. */
  private fillsCompletely(events: readonly EngineEvent[], index: number, orderId: number): boolean {
    const commandSequence = events[index]!.commandSequence;
    for (let next = index + 1; next < events.length; next++) {
      const event = events[next]!;
      if (event.commandSequence !== commandSequence) return false;
      if (event.type === 'TradeExecuted' && (event.makerOrderId === orderId || event.takerOrderId === orderId)) return false;
      if (event.type === 'OrderFilled' && event.orderId === orderId) return true;
    }
    // The command may continue in the next batch: fall back to the order's own quantity.
    const order = this.orders.get(orderId);
    return order !== undefined && order.quantityLots > 0 && order.filledLots >= order.quantityLots;
  }

  private transfer(event: EngineEvent, messages: UserMessage[], notifications: NotificationDraft[]): void {
    const accountId = event.accountId as number;
    const asset = this.assets.get(event.assetId as number);
    const scale = asset?.scale ?? 0;
    const code = asset?.code ?? String(event.assetId);
    const amount = formatAssetAtoms(event.amountAtoms as number, scale);
    const statusByType: Record<string, string> = {
      Deposited: 'COMPLETED', WithdrawRequested: 'REQUESTED', WithdrawCompleted: 'COMPLETED', WithdrawCanceled: 'CANCELED',
    };
    const deposit = event.type === 'Deposited';
    if (deposit || event.type === 'WithdrawCompleted') {
      messages.push({
        accountId,
        payload: { e: 'balanceUpdate', E: event.timestampMs, a: code, d: deposit ? amount : `-${amount}`, T: event.timestampMs },
      });
    }
    notifications.push({
      accountId, kind: deposit ? 'deposit' : 'withdrawal', eventSequence: event.eventSequence, part: 0, timeMs: event.timestampMs,
      payload: { asset: code, amount, transferId: event.transferId, status: statusByType[event.type], time: event.timestampMs },
    });
  }
}

/** Binance STP mode name for an engine value (for other modules printing orders). */
export function stpModeName(mode: number): string {
  return stpNames[mode] ?? 'NONE';
}
