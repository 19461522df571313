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

/**
 * The balances one command changed for one account, in the order the assets were first
 * changed (an asset changed twice keeps its place and takes the later values), as the
 * message's `B` list. Reused from command to command: cleared, never reallocated.
 */
class PositionChanges {
  event: EngineEvent | null = null;
  readonly assetIds: number[] = [];
  readonly availableAtoms: number[] = [];
  readonly heldAtoms: number[] = [];

  set(assetId: number, availableAtoms: number, heldAtoms: number): void {
    let index = this.assetIds.indexOf(assetId);
    if (index < 0) {
      index = this.assetIds.length;
      this.assetIds.push(assetId);
    }
    this.availableAtoms[index] = availableAtoms;
    this.heldAtoms[index] = heldAtoms;
  }

  clear(): void {
    this.event = null;
    this.assetIds.length = 0;
    this.availableAtoms.length = 0;
    this.heldAtoms.length = 0;
  }
}

export class UserEventTranslator {
  /** Accounts whose balances the command being read changed, in the order they were first changed. */
  private readonly positionAccounts: number[] = [];
  private readonly positionsByAccount = new Map<number, PositionChanges>();
  /** Cleared PositionChanges kept for the next commands (at most the accounts of one command). */
  private readonly spentPositions: PositionChanges[] = [];

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

  /** Records one BalanceChanged of the command being read. */
  private changePosition(event: EngineEvent): void {
    const accountId = event.accountId as number;
    let changes = this.positionsByAccount.get(accountId);
    if (changes === undefined) {
      changes = this.spentPositions.pop() ?? new PositionChanges();
      this.positionsByAccount.set(accountId, changes);
      this.positionAccounts.push(accountId);
    }
    changes.event = event;
    changes.set(event.assetId as number, event.availableAtoms as number, event.heldAtoms as number);
  }

  /** Emits one outboundAccountPosition per account the command being read changed, and forgets them. */
  private flushPositions(messages: UserMessage[]): void {
    const accounts = this.positionAccounts;
    if (accounts.length === 0) return;
    for (let accountIndex = 0; accountIndex < accounts.length; accountIndex++) {
      const accountId = accounts[accountIndex]!;
      const changes = this.positionsByAccount.get(accountId)!;
      const list: { a: string; f: string; l: string }[] = new Array(changes.assetIds.length);
      for (let index = 0; index < changes.assetIds.length; index++) {
        const assetId = changes.assetIds[index]!;
        const asset = this.assets.get(assetId);
        const scale = asset?.scale ?? 0;
        list[index] = { a: asset?.code ?? String(assetId), f: formatAssetAtoms(changes.availableAtoms[index]!, scale), l: formatAssetAtoms(changes.heldAtoms[index]!, scale) };
      }
      const event = changes.event!;
      messages.push({ accountId, payload: { e: 'outboundAccountPosition', E: event.timestampMs, u: event.timestampMs, B: list } });
      changes.clear();
      this.spentPositions.push(changes);
    }
    accounts.length = 0;
    this.positionsByAccount.clear();
  }

  /** Forgets positions a translation that threw left behind (a batch's positions never leak into the next). */
  private discardPositions(): void {
    for (const accountId of this.positionAccounts) {
      const changes = this.positionsByAccount.get(accountId)!;
      changes.clear();
      this.spentPositions.push(changes);
    }
    this.positionAccounts.length = 0;
    this.positionsByAccount.clear();
  }

  translate(events: readonly EngineEvent[]): TranslatedBatch {
    const messages: UserMessage[] = [];
    const notifications: NotificationDraft[] = [];
    const emitOrder = (accountId: number, event: EngineEvent, report: Record<string, unknown> | null, kind: NotificationKind, part = 0) => {
      if (!report) return;
      messages.push({ accountId, payload: report });
      notifications.push({ accountId, kind, eventSequence: event.eventSequence, part, timeMs: event.timestampMs, payload: report });
    };
    // Balances changed by the command being read are flushed as one outboundAccountPosition
    // per account when the next command starts (and at the end of the batch).
    let positionCommand = -1;
    this.discardPositions();

    for (let index = 0; index < events.length; index++) {
      const event = events[index]!;
      if (event.commandSequence !== positionCommand) {
        this.flushPositions(messages);
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
          // The maker's report first (part 0), then the taker's (part 1).
          for (let part = 0; part < 2; part++) {
            const isMaker = part === 0;
            const orderId = (isMaker ? event.makerOrderId : event.takerOrderId) as number;
            const order = this.orderState(orderId);
            if (!order) continue;
            order.filledLots += lots;
            order.filledQuoteAtoms += quoteAtoms;
            const filled = this.fillsCompletely(events, index, orderId);
            if (filled) this.orders.delete(orderId);
            const report = this.report(order, event, {
              executionType: 'TRADE', status: filled ? 'FILLED' : 'PARTIALLY_FILLED', lastLots: lots, lastPriceTicks: priceTicks,
              lastQuoteAtoms: quoteAtoms, commissionAtoms: (isMaker ? event.makerFeeAtoms : event.takerFeeAtoms) as number,
              tradeId: event.tradeId as number, isMaker, onBook: !filled && (isMaker || this.canRest(order)),
            });
            emitOrder((isMaker ? event.makerAccountId : event.takerAccountId) as number, event, report, 'fill', part);
          }
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
        case 'BalanceChanged':
          this.changePosition(event);
          break;
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
    this.flushPositions(messages);
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
