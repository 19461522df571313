// The plain reference engine: docs/engine.md written as directly as possible, with
// plain arrays, linear scans and no cleverness, so that it is obviously right and the
// fast engine (src/engine/engine.ts) can be cross-checked against it. It is used only by
// tests. It keeps every invariant of the spec: held = open orders' holds + pending
// withdrawals, and per asset the balances add up to the supply.

import type { Command } from '../../src/domain/command.ts';
import { type EventBuffer, eventLayout } from '../../src/domain/events.ts';
import type { AssetSpec, MarketSpec } from '../../src/domain/market.ts';
import { feeBpsMax, assetScaleMax } from '../../src/domain/market.ts';
import { buyHoldAtoms, feeAtoms } from '../../src/domain/units.ts';
import {
  CancelReason,
  CommandType,
  EventType,
  ExpireReason,
  MarketStatus,
  OrderType,
  Reason,
  Side,
  StpMode,
  TimeInForce,
} from '../../src/domain/codes.ts';
import { canonicalStateHash } from '../../src/engine/state-hash.ts';
import {
  defaultEngineLimits,
  type AssetView,
  type BalanceView,
  type DepthView,
  type EngineCounters,
  type EngineLimits,
  type MarketView,
  type MatchingEngine,
  type OrderView,
} from '../../src/engine/types.ts';

/** The fee account: receives every fee, may withdraw, never trades or receives deposits. */
const feeAccountId = 0;
const clientOrderIdPattern = /^[A-Za-z0-9._:/-]{1,36}$/;
const transferIdPattern = /^[A-Za-z0-9._:-]{1,64}$/;
const assetCodePattern = /^[A-Z0-9]{1,12}$/;
const symbolPattern = /^[A-Z0-9]{2,20}$/;

interface ReferenceAsset {
  assetId: number;
  code: string;
  scale: number;
  supplyAtoms: number;
}

interface ReferenceMarket {
  marketId: number;
  spec: MarketSpec;
  baseAssetId: number;
  quoteAssetId: number;
  status: MarketStatus;
  updateId: number;
}

interface ReferenceBalance {
  accountId: number;
  assetId: number;
  availableAtoms: number;
  heldAtoms: number;
}

/** The parameters a retried PlaceOrder must repeat to be recognised as the same order. */
interface OrderRequest {
  marketId: number;
  side: number;
  orderType: number;
  timeInForce: number;
  priceTicks: number;
  quantityLots: number;
  quoteAmountAtoms: number;
}

interface ReferenceOrder {
  orderId: number;
  accountId: number;
  marketId: number;
  side: Side;
  orderType: OrderType;
  timeInForce: number;
  priceTicks: number;
  quantityLots: number;
  filledLots: number;
  filledQuoteAtoms: number;
  heldAtoms: number;
  stpMode: StpMode;
  clientOrderId: string;
  createdAtMs: number;
  updatedAtMs: number;
  /** Fees stored at acceptance: later SetFees affect only new orders. */
  makerFeeBps: number;
  takerFeeBps: number;
  /** MARKET by quote: the quote still to spend (buy) or to raise (sell). */
  quoteRemainingAtoms: number;
  request: OrderRequest;
}

/** A closed order whose clientOrderId is still remembered (global FIFO window). */
interface ClosedClientOrder {
  accountId: number;
  clientOrderId: string;
  orderId: number;
  request: OrderRequest;
}

interface ReferenceTransfer {
  transferId: string;
  kind: 'deposit' | 'withdrawal';
  accountId: number;
  assetId: number;
  amountAtoms: number;
  state: 'done' | 'pending' | 'completed' | 'canceled';
}

interface ReferenceState {
  limits: EngineLimits;
  lastCommandSequence: number;
  lastEventSequence: number;
  nextOrderId: number;
  nextTradeId: number;
  assets: ReferenceAsset[];
  markets: ReferenceMarket[];
  balances: ReferenceBalance[];
  stpDefaults: [number, StpMode][];
  /** Open orders of every market, in acceptance (orderId) order. */
  orders: ReferenceOrder[];
  closedClientOrders: ClosedClientOrder[];
  transfers: ReferenceTransfer[];
}

function isPositiveSafeInteger(value: number): boolean {
  return Number.isSafeInteger(value) && value > 0;
}

function isFeeBps(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= feeBpsMax;
}

function copyOrderView(order: ReferenceOrder): OrderView {
  return {
    orderId: order.orderId,
    accountId: order.accountId,
    marketId: order.marketId,
    side: order.side,
    orderType: order.orderType,
    timeInForce: order.timeInForce as TimeInForce,
    priceTicks: order.priceTicks,
    quantityLots: order.quantityLots,
    filledLots: order.filledLots,
    filledQuoteAtoms: order.filledQuoteAtoms,
    heldAtoms: order.heldAtoms,
    stpMode: order.stpMode,
    clientOrderId: order.clientOrderId,
    createdAtMs: order.createdAtMs,
    updatedAtMs: order.updatedAtMs,
  };
}

/** The order's still-open quantity (0 for MARKET by quote, which has no quantity). */
function remainingLots(order: ReferenceOrder): number {
  return order.quantityLots - order.filledLots;
}

function isMarketByQuote(order: ReferenceOrder): boolean {
  return order.orderType === OrderType.Market && order.request.quoteAmountAtoms !== 0;
}

/** Buy LIMIT / LIMIT_MAKER orders re-compute their hold from the formula after every change. */
function holdsByFormula(order: ReferenceOrder): boolean {
  return order.side === Side.Buy && order.orderType !== OrderType.Market;
}

export class ReferenceEngine implements MatchingEngine {
  private state: ReferenceState;
  private command: Command | null = null;
  private out: EventBuffer | null = null;
  /** (account, asset) pairs touched by the running command, in first-touch order. */
  private touched: ReferenceBalance[] = [];

  constructor(limits: EngineLimits = defaultEngineLimits) {
    this.state = {
      limits: { ...limits },
      lastCommandSequence: 0,
      lastEventSequence: 0,
      nextOrderId: 1,
      nextTradeId: 1,
      assets: [],
      markets: [],
      balances: [],
      stpDefaults: [],
      orders: [],
      closedClientOrders: [],
      transfers: [],
    };
  }

  // ---- Reads -------------------------------------------------------------------------

  limits(): EngineLimits {
    return { ...this.state.limits };
  }

  counters(): EngineCounters {
    return {
      lastCommandSequence: this.state.lastCommandSequence,
      lastEventSequence: this.state.lastEventSequence,
      nextOrderId: this.state.nextOrderId,
      nextTradeId: this.state.nextTradeId,
    };
  }

  assets(): AssetView[] {
    return this.state.assets.map((asset) => ({ ...asset }));
  }

  markets(): MarketView[] {
    return this.state.markets.map((market) => ({ ...market, spec: { ...market.spec } }));
  }

  balances(): BalanceView[] {
    return this.state.balances.map((balance) => ({ ...balance }));
  }

  bookOrders(marketId: number, side: Side): OrderView[] {
    return this.sortedBook(marketId, side).map(copyOrderView);
  }

  stpDefault(accountId: number): StpMode {
    const entry = this.state.stpDefaults.find(([account]) => account === accountId);
    return entry ? entry[1] : StpMode.None;
  }

  depth(marketId: number, levelsMax: number): DepthView {
    const market = this.findMarket(marketId);
    const levelCount = Math.max(0, Math.min(levelsMax, this.state.limits.depthLevelsMax));
    const levels = (side: Side): [number, number][] => {
      const result: [number, number][] = [];
      for (const order of this.sortedBook(marketId, side)) {
        const last = result[result.length - 1];
        if (last && last[0] === order.priceTicks) last[1] += remainingLots(order);
        else result.push([order.priceTicks, remainingLots(order)]);
      }
      return result.slice(0, levelCount);
    };
    return { marketId, updateId: market ? market.updateId : 0, bids: levels(Side.Buy), asks: levels(Side.Sell) };
  }

  order(orderId: number): OrderView | null {
    const order = this.state.orders.find((candidate) => candidate.orderId === orderId);
    return order ? copyOrderView(order) : null;
  }

  openOrders(accountId: number, marketId: number): OrderView[] {
    return this.state.orders
      .filter((order) => order.accountId === accountId && order.marketId === marketId)
      .map(copyOrderView);
  }

  balance(accountId: number, assetId: number): BalanceView {
    const balance = this.findBalance(accountId, assetId);
    return balance ? { ...balance } : { accountId, assetId, availableAtoms: 0, heldAtoms: 0 };
  }

  marketIdOf(symbol: string): number {
    return this.state.markets.find((market) => market.spec.symbol === symbol)?.marketId ?? 0;
  }

  assetIdOf(code: string): number {
    return this.findAssetByCode(code)?.assetId ?? 0;
  }

  snapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify(this.state));
  }

  restore(bytes: Uint8Array): void {
    this.state = JSON.parse(new TextDecoder().decode(bytes)) as ReferenceState;
  }

  stateHash(): string {
    return canonicalStateHash(this);
  }

  // ---- Execution ---------------------------------------------------------------------

  execute(command: Command, out: EventBuffer): void {
    this.command = command;
    this.out = out;
    this.touched = [];
    this.state.lastCommandSequence = command.sequence;
    switch (command.type) {
      case CommandType.AddAsset: return this.addAsset(command);
      case CommandType.AddMarket: return this.addMarket(command);
      case CommandType.HaltMarket: return this.setMarketStatus(command, MarketStatus.Halted);
      case CommandType.ResumeMarket: return this.setMarketStatus(command, MarketStatus.Trading);
      case CommandType.SetFees: return this.setFees(command);
      case CommandType.Deposit: return this.deposit(command);
      case CommandType.WithdrawRequest: return this.withdrawRequest(command);
      case CommandType.WithdrawComplete: return this.withdrawEnd(command, 'completed');
      case CommandType.WithdrawCancel: return this.withdrawEnd(command, 'canceled');
      case CommandType.PlaceOrder: return this.placeOrder(command);
      case CommandType.CancelOrder: return this.cancelOrder(command);
      case CommandType.CancelAllOrders: return this.cancelAllOrders(command);
      case CommandType.AmendOrder: return this.amendOrder(command);
      case CommandType.SetAccountStp: return this.setAccountStp(command);
      default: return this.rejectCommand(Reason.VALIDATE_ENUM_INVALID);
    }
  }

  // ---- Administration ----------------------------------------------------------------

  private addAsset(command: Command): void {
    const spec: AssetSpec | null = command.assetSpec;
    if (
      spec === null ||
      typeof spec.code !== 'string' ||
      !assetCodePattern.test(spec.code) ||
      !Number.isInteger(spec.scale) ||
      spec.scale < 0 ||
      spec.scale > assetScaleMax
    ) {
      return this.rejectCommand(Reason.MARKET_SPEC_INVALID);
    }
    if (this.findAssetByCode(spec.code)) return this.rejectCommand(Reason.MARKET_ASSET_EXISTS);
    if (this.state.assets.length >= this.state.limits.assetsMax) return this.rejectCommand(Reason.MARKET_LIMIT_REACHED);
    const asset: ReferenceAsset = { assetId: this.state.assets.length + 1, code: spec.code, scale: spec.scale, supplyAtoms: 0 };
    this.state.assets.push(asset);
    this.emit(EventType.AssetAdded, { assetId: asset.assetId, scale: asset.scale }, asset.code);
  }

  private addMarket(command: Command): void {
    const spec = command.market;
    if (spec === null || typeof spec.symbol !== 'string' || !symbolPattern.test(spec.symbol)) {
      return this.rejectCommand(Reason.MARKET_SPEC_INVALID);
    }
    const base = this.findAssetByCode(spec.baseAsset);
    const quote = this.findAssetByCode(spec.quoteAsset);
    if (!base || !quote) return this.rejectCommand(Reason.MARKET_ASSET_UNKNOWN);
    const positiveNumbers = [
      spec.lotAtoms, spec.quoteAtomsPerTickLot, spec.maxPriceTicks, spec.minQuantityLots,
      spec.maxQuantityLots, spec.marketMaxQuantityLots, spec.minNotionalAtoms,
    ];
    const largestNotionalTwice =
      spec.maxPriceTicks * Math.max(spec.maxQuantityLots, spec.marketMaxQuantityLots) * spec.quoteAtomsPerTickLot * 2;
    if (
      base === quote ||
      !positiveNumbers.every(isPositiveSafeInteger) ||
      !isFeeBps(spec.makerFeeBps) ||
      !isFeeBps(spec.takerFeeBps) ||
      spec.minQuantityLots > spec.maxQuantityLots ||
      !Number.isSafeInteger(largestNotionalTwice)
    ) {
      return this.rejectCommand(Reason.MARKET_SPEC_INVALID);
    }
    if (this.state.markets.some((market) => market.spec.symbol === spec.symbol)) return this.rejectCommand(Reason.MARKET_EXISTS);
    if (this.state.markets.length >= this.state.limits.marketsMax) return this.rejectCommand(Reason.MARKET_LIMIT_REACHED);
    // The stored spec keeps exactly the MarketSpec keys, in declaration order.
    const stored: MarketSpec = {
      symbol: spec.symbol,
      baseAsset: spec.baseAsset,
      quoteAsset: spec.quoteAsset,
      lotAtoms: spec.lotAtoms,
      quoteAtomsPerTickLot: spec.quoteAtomsPerTickLot,
      maxPriceTicks: spec.maxPriceTicks,
      minQuantityLots: spec.minQuantityLots,
      maxQuantityLots: spec.maxQuantityLots,
      marketMaxQuantityLots: spec.marketMaxQuantityLots,
      minNotionalAtoms: spec.minNotionalAtoms,
      makerFeeBps: spec.makerFeeBps,
      takerFeeBps: spec.takerFeeBps,
    };
    const market: ReferenceMarket = {
      marketId: this.state.markets.length + 1,
      spec: stored,
      baseAssetId: base.assetId,
      quoteAssetId: quote.assetId,
      status: MarketStatus.Trading,
      updateId: 0,
    };
    this.state.markets.push(market);
    this.emit(
      EventType.MarketAdded,
      { marketId: market.marketId, baseAssetId: base.assetId, quoteAssetId: quote.assetId },
      stored.symbol,
      JSON.stringify(stored),
    );
  }

  private setMarketStatus(command: Command, status: MarketStatus): void {
    const market = this.findMarket(command.marketId);
    if (!market) return this.rejectCommand(Reason.MARKET_UNKNOWN);
    market.status = status;
    this.emit(status === MarketStatus.Halted ? EventType.MarketHalted : EventType.MarketResumed, { marketId: market.marketId });
  }

  private setFees(command: Command): void {
    const market = this.findMarket(command.marketId);
    if (!market) return this.rejectCommand(Reason.MARKET_UNKNOWN);
    if (!isFeeBps(command.makerFeeBps) || !isFeeBps(command.takerFeeBps)) return this.rejectCommand(Reason.MARKET_SPEC_INVALID);
    market.spec.makerFeeBps = command.makerFeeBps;
    market.spec.takerFeeBps = command.takerFeeBps;
    this.emit(EventType.FeesSet, { marketId: market.marketId, makerFeeBps: command.makerFeeBps, takerFeeBps: command.takerFeeBps });
  }

  private setAccountStp(command: Command): void {
    if (!isPositiveSafeInteger(command.accountId)) return this.rejectCommand(Reason.VALIDATE_ACCOUNT_INVALID);
    const mode = command.stpMode;
    if (!(mode === StpMode.None || mode === StpMode.ExpireTaker || mode === StpMode.ExpireMaker || mode === StpMode.ExpireBoth)) {
      return this.rejectCommand(Reason.VALIDATE_ENUM_INVALID);
    }
    const entry = this.state.stpDefaults.find(([account]) => account === command.accountId);
    if (entry) entry[1] = mode;
    else this.state.stpDefaults.push([command.accountId, mode]);
    this.emit(EventType.AccountStpSet, { accountId: command.accountId, stpMode: mode });
  }

  // ---- Transfers ---------------------------------------------------------------------

  private deposit(command: Command): void {
    // Order of checks (the spec leaves it open): transferId, account, a known transferId
    // (duplicate or conflict), asset, amount, then the balance itself.
    if (!transferIdPattern.test(command.transferId)) return this.rejectCommand(Reason.VALIDATE_ID_INVALID);
    if (!isPositiveSafeInteger(command.accountId)) return this.rejectCommand(Reason.VALIDATE_ACCOUNT_INVALID);
    if (this.isKnownTransfer(command, 'deposit')) return;
    const asset = this.findAssetByCode(command.asset);
    if (!asset) return this.rejectCommand(Reason.MARKET_ASSET_UNKNOWN);
    if (!isPositiveSafeInteger(command.amountAtoms)) return this.rejectCommand(Reason.VALIDATE_AMOUNT_INVALID);
    if (asset.supplyAtoms + command.amountAtoms > Number.MAX_SAFE_INTEGER) return this.rejectCommand(Reason.RISK_BALANCE_OVERFLOW);
    asset.supplyAtoms += command.amountAtoms;
    const balance = this.touch(command.accountId, asset.assetId);
    balance.availableAtoms += command.amountAtoms;
    this.state.transfers.push({
      transferId: command.transferId, kind: 'deposit', accountId: command.accountId, assetId: asset.assetId,
      amountAtoms: command.amountAtoms, state: 'done',
    });
    this.emit(EventType.Deposited, { accountId: command.accountId, assetId: asset.assetId, amountAtoms: command.amountAtoms }, command.transferId);
    this.emitBalances();
  }

  private withdrawRequest(command: Command): void {
    if (!transferIdPattern.test(command.transferId)) return this.rejectCommand(Reason.VALIDATE_ID_INVALID);
    if (!Number.isSafeInteger(command.accountId) || command.accountId < 0) return this.rejectCommand(Reason.VALIDATE_ACCOUNT_INVALID);
    if (this.isKnownTransfer(command, 'withdrawal')) return;
    const asset = this.findAssetByCode(command.asset);
    if (!asset) return this.rejectCommand(Reason.MARKET_ASSET_UNKNOWN);
    if (!isPositiveSafeInteger(command.amountAtoms)) return this.rejectCommand(Reason.VALIDATE_AMOUNT_INVALID);
    const available = this.findBalance(command.accountId, asset.assetId)?.availableAtoms ?? 0;
    if (command.amountAtoms > available) return this.rejectCommand(Reason.RISK_INSUFFICIENT_FUNDS);
    const balance = this.touch(command.accountId, asset.assetId);
    balance.availableAtoms -= command.amountAtoms;
    balance.heldAtoms += command.amountAtoms;
    this.state.transfers.push({
      transferId: command.transferId, kind: 'withdrawal', accountId: command.accountId, assetId: asset.assetId,
      amountAtoms: command.amountAtoms, state: 'pending',
    });
    this.emit(
      EventType.WithdrawRequested,
      { accountId: command.accountId, assetId: asset.assetId, amountAtoms: command.amountAtoms },
      command.transferId,
    );
    this.emitBalances();
  }

  /**
   * A Deposit or WithdrawRequest whose transferId is already known: the same request again
   * is a CommandDuplicate, anything different a TRANSFER_ID_CONFLICT. Returns true when it
   * answered the command.
   */
  private isKnownTransfer(command: Command, kind: ReferenceTransfer['kind']): boolean {
    const known = this.state.transfers.find((transfer) => transfer.transferId === command.transferId);
    if (!known) return false;
    const assetId = this.findAssetByCode(command.asset)?.assetId;
    if (known.kind === kind && known.accountId === command.accountId && known.assetId === assetId && known.amountAtoms === command.amountAtoms) {
      this.emit(EventType.CommandDuplicate, { commandType: command.type, accountId: command.accountId }, command.transferId);
    } else {
      this.rejectCommand(Reason.TRANSFER_ID_CONFLICT);
    }
    return true;
  }

  private withdrawEnd(command: Command, endState: 'completed' | 'canceled'): void {
    if (!transferIdPattern.test(command.transferId)) return this.rejectCommand(Reason.VALIDATE_ID_INVALID);
    const transfer = this.state.transfers.find((candidate) => candidate.transferId === command.transferId);
    if (!transfer) return this.rejectCommand(Reason.TRANSFER_UNKNOWN);
    if (transfer.kind === 'withdrawal' && transfer.state === endState) {
      // CommandDuplicate echoes the command's accountId (only the transferId matters here).
      this.emit(EventType.CommandDuplicate, { commandType: command.type, accountId: command.accountId }, command.transferId);
      return;
    }
    if (transfer.state !== 'pending') return this.rejectCommand(Reason.TRANSFER_NOT_PENDING);
    transfer.state = endState;
    const balance = this.touch(transfer.accountId, transfer.assetId);
    balance.heldAtoms -= transfer.amountAtoms;
    if (endState === 'completed') {
      this.findAsset(transfer.assetId)!.supplyAtoms -= transfer.amountAtoms;
    } else {
      balance.availableAtoms += transfer.amountAtoms;
    }
    this.emit(
      endState === 'completed' ? EventType.WithdrawCompleted : EventType.WithdrawCanceled,
      { accountId: transfer.accountId, assetId: transfer.assetId, amountAtoms: transfer.amountAtoms },
      transfer.transferId,
    );
    this.emitBalances();
  }

  // ---- Orders: placement -------------------------------------------------------------

  private placeOrder(command: Command): void {
    const reject = (reason: Reason): void => this.rejectOrder(command, reason, 0);
    // 1. The account: positive (0 is the fee account, which never trades).
    if (!isPositiveSafeInteger(command.accountId)) return reject(Reason.VALIDATE_ACCOUNT_INVALID);
    // 2. Enumerations, then the order type / time in force combination.
    const side = command.side as number;
    const orderType = command.orderType as number;
    const timeInForce = command.timeInForce as number;
    const stpMode = command.stpMode as number;
    if (
      !(side === Side.Buy || side === Side.Sell) ||
      !(orderType === OrderType.Limit || orderType === OrderType.Market || orderType === OrderType.LimitMaker) ||
      !(timeInForce === 0 || timeInForce === TimeInForce.GTC || timeInForce === TimeInForce.IOC || timeInForce === TimeInForce.FOK) ||
      !(Number.isInteger(stpMode) && stpMode >= StpMode.AccountDefault && stpMode <= StpMode.ExpireBoth)
    ) {
      return reject(Reason.VALIDATE_ENUM_INVALID);
    }
    if (orderType === OrderType.Limit ? timeInForce === 0 : timeInForce !== 0) return reject(Reason.VALIDATE_PARAMETERS_CONFLICT);
    // 3. The market.
    const market = this.findMarket(command.marketId);
    if (!market) return reject(Reason.MARKET_UNKNOWN);
    if (market.status === MarketStatus.Halted) return reject(Reason.MARKET_HALTED);
    const spec = market.spec;
    const request: OrderRequest = {
      marketId: command.marketId, side, orderType, timeInForce, priceTicks: command.priceTicks,
      quantityLots: command.quantityLots, quoteAmountAtoms: command.quoteAmountAtoms,
    };
    // 4. The clientOrderId: format, then idempotency.
    if (command.clientOrderId !== '') {
      if (!clientOrderIdPattern.test(command.clientOrderId)) return reject(Reason.VALIDATE_ID_INVALID);
      const known = this.findClientOrder(command.accountId, command.clientOrderId);
      if (known) {
        if (!sameRequest(known.request, request)) return reject(Reason.RISK_DUPLICATE_CLIENT_ORDER_ID);
        this.emit(
          EventType.OrderDuplicate,
          { orderId: known.orderId, accountId: command.accountId, marketId: known.request.marketId },
          command.clientOrderId,
        );
        return;
      }
    }
    // 5. The price.
    const price = command.priceTicks;
    if (orderType === OrderType.Market) {
      if (price !== 0) return reject(Reason.VALIDATE_PARAMETERS_CONFLICT);
    } else {
      if (!(price > 0)) return reject(Reason.VALIDATE_PRICE_NOT_POSITIVE);
      if (!Number.isInteger(price)) return reject(Reason.VALIDATE_PRICE_OFF_TICK);
      if (!Number.isSafeInteger(price)) return reject(Reason.VALIDATE_PRICE_UNSAFE);
      if (price > spec.maxPriceTicks) return reject(Reason.MARKET_PRICE_ABOVE_MAX);
    }
    // 6. The quantity or the quote amount.
    const quantity = command.quantityLots;
    const quoteAmount = command.quoteAmountAtoms;
    const quantityReason = (maxLots: number): Reason | null => {
      if (!(quantity > 0)) return Reason.VALIDATE_QUANTITY_NOT_POSITIVE;
      if (!Number.isInteger(quantity)) return Reason.VALIDATE_QUANTITY_OFF_LOT;
      if (!Number.isSafeInteger(quantity)) return Reason.VALIDATE_QUANTITY_UNSAFE;
      if (quantity < spec.minQuantityLots) return Reason.MARKET_QUANTITY_BELOW_MIN;
      if (quantity > maxLots) return Reason.MARKET_QUANTITY_ABOVE_MAX;
      return null;
    };
    if (orderType !== OrderType.Market) {
      if (quoteAmount !== 0) return reject(Reason.VALIDATE_PARAMETERS_CONFLICT);
      const reason = quantityReason(spec.maxQuantityLots);
      if (reason !== null) return reject(reason);
    } else {
      if ((quantity !== 0) === (quoteAmount !== 0)) return reject(Reason.VALIDATE_PARAMETERS_CONFLICT);
      if (quantity !== 0) {
        const reason = quantityReason(spec.marketMaxQuantityLots);
        if (reason !== null) return reject(reason);
      } else if (!isPositiveSafeInteger(quoteAmount)) {
        return reject(Reason.VALIDATE_AMOUNT_INVALID);
      }
    }
    // 7. Minimum notional (market orders by quantity have no price to check).
    if (orderType !== OrderType.Market && price * quantity * spec.quoteAtomsPerTickLot < spec.minNotionalAtoms) {
      return reject(Reason.MARKET_NOTIONAL_BELOW_MIN);
    }
    if (orderType === OrderType.Market && quoteAmount !== 0 && quoteAmount < spec.minNotionalAtoms) {
      return reject(Reason.MARKET_NOTIONAL_BELOW_MIN);
    }
    // 8. A LIMIT_MAKER must not cross any resting order, the account's own included.
    if (orderType === OrderType.LimitMaker) {
      const best = this.sortedBook(market.marketId, side === Side.Buy ? Side.Sell : Side.Buy)[0];
      if (best && (side === Side.Buy ? price >= best.priceTicks : price <= best.priceTicks)) return reject(Reason.MATCH_WOULD_CROSS);
    }
    // 9. Open orders per account, for orders that could rest.
    const couldRest = orderType === OrderType.LimitMaker || (orderType === OrderType.Limit && timeInForce === TimeInForce.GTC);
    if (couldRest) {
      const openCount = this.state.orders.filter((order) => order.accountId === command.accountId).length;
      if (openCount >= this.state.limits.openOrdersPerAccountMax) return reject(Reason.RISK_TOO_MANY_OPEN_ORDERS);
    }
    // 10. The hold.
    const resolvedStp = (stpMode === StpMode.AccountDefault ? this.stpDefault(command.accountId) : stpMode) as StpMode;
    const taker: ReferenceOrder = {
      orderId: 0,
      accountId: command.accountId,
      marketId: market.marketId,
      side: side as Side,
      orderType: orderType as OrderType,
      timeInForce,
      priceTicks: price,
      quantityLots: quantity,
      filledLots: 0,
      filledQuoteAtoms: 0,
      heldAtoms: 0,
      stpMode: resolvedStp,
      clientOrderId: command.clientOrderId,
      createdAtMs: command.timestampMs,
      updatedAtMs: command.timestampMs,
      makerFeeBps: spec.makerFeeBps,
      takerFeeBps: spec.takerFeeBps,
      quoteRemainingAtoms: quoteAmount,
      request,
    };
    const holdAssetId = this.holdAssetId(taker);
    const hold = this.initialHold(taker, market);
    const available = this.findBalance(command.accountId, holdAssetId)?.availableAtoms ?? 0;
    if (hold > available) return reject(Reason.RISK_INSUFFICIENT_FUNDS);

    // Accepted: take the id, hold the funds.
    taker.orderId = this.state.nextOrderId++;
    this.emit(
      EventType.OrderAccepted,
      {
        orderId: taker.orderId, accountId: taker.accountId, marketId: taker.marketId, side, orderType, timeInForce,
        priceTicks: price, quantityLots: quantity, quoteAmountAtoms: quoteAmount, stpMode: resolvedStp,
      },
      taker.clientOrderId,
    );
    const holdBalance = this.touch(taker.accountId, holdAssetId);
    holdBalance.availableAtoms -= hold;
    holdBalance.heldAtoms += hold;
    taker.heldAtoms = hold;

    if (timeInForce === TimeInForce.FOK && this.walk(taker, market).filledLots < quantity) {
      return this.endTaker(taker, 'fill-or-kill');
    }
    const stoppedBySelfTrade = this.match(taker, market);
    this.endTaker(taker, stoppedBySelfTrade ? 'self-trade' : 'matched');
  }

  private holdAssetId(order: ReferenceOrder): number {
    const market = this.findMarket(order.marketId)!;
    return order.side === Side.Buy ? market.quoteAssetId : market.baseAssetId;
  }

  /** What the order must hold at acceptance (docs/engine.md, Holds). */
  private initialHold(order: ReferenceOrder, market: ReferenceMarket): number {
    const spec = market.spec;
    if (order.orderType !== OrderType.Market) {
      if (order.side === Side.Sell) return order.quantityLots * spec.lotAtoms;
      return buyHoldAtoms(order.priceTicks, order.quantityLots, spec.quoteAtomsPerTickLot, Math.max(order.makerFeeBps, order.takerFeeBps));
    }
    if (order.side === Side.Sell && !isMarketByQuote(order)) return order.quantityLots * spec.lotAtoms;
    if (order.side === Side.Buy && isMarketByQuote(order)) return order.request.quoteAmountAtoms;
    // MARKET BUY by quantity and MARKET SELL by quote hold exactly what they would consume.
    const walk = this.walk(order, market);
    return order.side === Side.Buy ? walk.quoteSpentAtoms : walk.filledLots * spec.lotAtoms;
  }

  /** True when a taker at its limit may trade with a maker at `makerPriceTicks`. */
  private crosses(taker: ReferenceOrder, makerPriceTicks: number): boolean {
    if (taker.orderType === OrderType.Market) return true;
    return taker.side === Side.Buy ? makerPriceTicks <= taker.priceTicks : makerPriceTicks >= taker.priceTicks;
  }

  /**
   * Lots the taker would take from a maker with `makerRemainingLots` at `makerPriceTicks`,
   * given what it has filled so far (0 stops the order).
   */
  private fillLots(taker: ReferenceOrder, market: ReferenceMarket, makerPriceTicks: number, makerRemainingLots: number): number {
    const spec = market.spec;
    if (!isMarketByQuote(taker)) return Math.min(remainingLots(taker), makerRemainingLots);
    const lotCostAtoms = makerPriceTicks * spec.quoteAtomsPerTickLot;
    const capLots = Math.min(makerRemainingLots, spec.marketMaxQuantityLots - taker.filledLots);
    if (taker.side === Side.Sell) return Math.max(0, Math.min(capLots, Math.floor(taker.quoteRemainingAtoms / lotCostAtoms)));
    // Buy by quote: the largest q with q*c + fee(q*c) within the remaining quote (binary search).
    const costOf = (lots: number): number => lots * lotCostAtoms + feeAtoms(lots * lotCostAtoms, taker.takerFeeBps);
    let low = 0;
    let high = Math.max(0, Math.min(capLots, Math.floor(taker.quoteRemainingAtoms / lotCostAtoms)));
    while (low < high) {
      const middle = Math.ceil((low + high) / 2);
      if (costOf(middle) <= taker.quoteRemainingAtoms) low = middle;
      else high = middle - 1;
    }
    return low;
  }

  /**
   * Whether the taker stops before meeting any more makers: a quantity order when filled,
   * a quote-amount market order when its amount is spent exactly or it reached
   * marketMaxQuantityLots (so it meets, and STP-expires, no further resting orders).
   */
  private takerDone(taker: ReferenceOrder): boolean {
    if (!isMarketByQuote(taker)) return remainingLots(taker) === 0;
    const market = this.findMarket(taker.marketId)!;
    return taker.quoteRemainingAtoms === 0 || taker.filledLots === market.spec.marketMaxQuantityLots;
  }

  /**
   * Walks the book as the taker would match, without changing anything: STP None counts
   * own orders, ExpireMaker skips them, ExpireTaker / ExpireBoth stop at the first one.
   */
  private walk(order: ReferenceOrder, market: ReferenceMarket): { filledLots: number; quoteSpentAtoms: number } {
    const probe: ReferenceOrder = { ...order };
    let quoteSpentAtoms = 0;
    const makers = this.sortedBook(market.marketId, order.side === Side.Buy ? Side.Sell : Side.Buy);
    // The maker at `index` stays the best until the walk has taken all its lots.
    let index = 0;
    let makerTakenLots = 0;
    while (index < makers.length) {
      const maker = makers[index]!;
      if (this.takerDone(probe) || !this.crosses(probe, maker.priceTicks)) break;
      if (maker.accountId === probe.accountId && probe.stpMode !== StpMode.None) {
        if (probe.stpMode !== StpMode.ExpireMaker) break;
        index += 1;
        continue;
      }
      const makerRemaining = remainingLots(maker) - makerTakenLots;
      const lots = this.fillLots(probe, market, maker.priceTicks, makerRemaining);
      if (lots === 0) break;
      const notional = maker.priceTicks * lots * market.spec.quoteAtomsPerTickLot;
      const takerFee = feeAtoms(notional, probe.takerFeeBps);
      probe.filledLots += lots;
      probe.quoteRemainingAtoms -= order.side === Side.Buy ? notional + takerFee : notional;
      quoteSpentAtoms += notional + takerFee;
      makerTakenLots += lots;
      if (makerTakenLots === remainingLots(maker)) {
        index += 1;
        makerTakenLots = 0;
      }
    }
    return { filledLots: probe.filledLots, quoteSpentAtoms };
  }

  /** Matches the taker against the book. Returns true when self-trade prevention stopped it. */
  private match(taker: ReferenceOrder, market: ReferenceMarket): boolean {
    const makers = this.sortedBook(market.marketId, taker.side === Side.Buy ? Side.Sell : Side.Buy);
    // The maker at `index` stays the best until it is filled or expired.
    let index = 0;
    while (index < makers.length) {
      const maker = makers[index]!;
      if (this.takerDone(taker) || !this.crosses(taker, maker.priceTicks)) return false;
      if (maker.accountId === taker.accountId && taker.stpMode !== StpMode.None) {
        if (taker.stpMode === StpMode.ExpireTaker) return true;
        this.expireMaker(maker);
        if (taker.stpMode === StpMode.ExpireBoth) return true;
        index += 1;
        continue;
      }
      const lots = this.fillLots(taker, market, maker.priceTicks, remainingLots(maker));
      if (lots === 0) return false;
      this.fill(taker, maker, market, lots);
      if (remainingLots(maker) === 0) index += 1;
    }
    return false;
  }

  private expireMaker(maker: ReferenceOrder): void {
    this.emit(EventType.OrderExpired, {
      orderId: maker.orderId, accountId: maker.accountId, marketId: maker.marketId,
      remainingLots: remainingLots(maker), reason: ExpireReason.SelfTradePrevention,
    });
    this.closeOrder(maker);
    this.emitLevel(maker.marketId, maker.side, maker.priceTicks);
  }

  private fill(taker: ReferenceOrder, maker: ReferenceOrder, market: ReferenceMarket, lots: number): void {
    const spec = market.spec;
    const priceTicks = maker.priceTicks;
    const notional = priceTicks * lots * spec.quoteAtomsPerTickLot;
    const baseAtoms = lots * spec.lotAtoms;
    const makerFee = feeAtoms(notional, maker.makerFeeBps);
    const takerFee = feeAtoms(notional, taker.takerFeeBps);
    this.emit(EventType.TradeExecuted, {
      tradeId: this.state.nextTradeId++, marketId: market.marketId, makerOrderId: maker.orderId, takerOrderId: taker.orderId,
      makerAccountId: maker.accountId, takerAccountId: taker.accountId, priceTicks, quantityLots: lots,
      makerFeeAtoms: makerFee, takerFeeAtoms: takerFee, takerSide: taker.side,
    });
    for (const order of [maker, taker]) {
      order.filledLots += lots;
      order.filledQuoteAtoms += notional;
      order.updatedAtMs = this.command!.timestampMs;
    }
    if (isMarketByQuote(taker)) taker.quoteRemainingAtoms -= taker.side === Side.Buy ? notional + takerFee : notional;

    this.touch(maker.accountId, market.baseAssetId);
    this.touch(maker.accountId, market.quoteAssetId);
    this.touch(taker.accountId, market.baseAssetId);
    this.touch(taker.accountId, market.quoteAssetId);
    const buyer = taker.side === Side.Buy ? taker : maker;
    const seller = taker.side === Side.Buy ? maker : taker;
    const buyerFee = buyer === taker ? takerFee : makerFee;
    const sellerFee = seller === taker ? takerFee : makerFee;
    // The buyer pays notional + fee from its hold and receives the base.
    this.payFromHold(buyer, notional + buyerFee, market);
    this.touch(buyer.accountId, market.baseAssetId).availableAtoms += baseAtoms;
    // The seller pays the base from its hold and receives notional - fee.
    this.payFromHold(seller, baseAtoms, market);
    this.touch(seller.accountId, market.quoteAssetId).availableAtoms += notional - sellerFee;
    if (makerFee + takerFee > 0) this.touch(feeAccountId, market.quoteAssetId).availableAtoms += makerFee + takerFee;

    if (remainingLots(maker) === 0) {
      this.emit(EventType.OrderFilled, { orderId: maker.orderId, accountId: maker.accountId, marketId: maker.marketId });
      this.closeOrder(maker);
    }
    this.emitLevel(maker.marketId, maker.side, maker.priceTicks);
  }

  /**
   * Pays `costAtoms` out of the order's hold. A buy LIMIT / LIMIT_MAKER first resets its
   * hold to the formula for its new remaining quantity and releases the difference.
   */
  private payFromHold(order: ReferenceOrder, costAtoms: number, market: ReferenceMarket): void {
    const balance = this.touch(order.accountId, this.holdAssetId(order));
    if (holdsByFormula(order)) {
      const newHold = buyHoldAtoms(
        order.priceTicks, remainingLots(order), market.spec.quoteAtomsPerTickLot, Math.max(order.makerFeeBps, order.takerFeeBps),
      );
      const releasedAtoms = order.heldAtoms - newHold - costAtoms;
      if (releasedAtoms < 0) throw new Error(`reference engine: order ${order.orderId} hold does not cover its fill`);
      balance.heldAtoms -= order.heldAtoms - newHold;
      balance.availableAtoms += releasedAtoms;
      order.heldAtoms = newHold;
    } else {
      if (costAtoms > order.heldAtoms) throw new Error(`reference engine: order ${order.orderId} hold does not cover its fill`);
      balance.heldAtoms -= costAtoms;
      order.heldAtoms -= costAtoms;
    }
  }

  private endTaker(taker: ReferenceOrder, outcome: 'fill-or-kill' | 'self-trade' | 'matched'): void {
    const expire = (reason: ExpireReason): void => {
      this.emit(EventType.OrderExpired, {
        orderId: taker.orderId, accountId: taker.accountId, marketId: taker.marketId,
        remainingLots: isMarketByQuote(taker) ? 0 : remainingLots(taker), reason,
      });
      this.closeOrder(taker);
    };
    if (!isMarketByQuote(taker) && remainingLots(taker) === 0) {
      this.emit(EventType.OrderFilled, { orderId: taker.orderId, accountId: taker.accountId, marketId: taker.marketId });
      this.closeOrder(taker);
    } else if (outcome === 'fill-or-kill') {
      expire(ExpireReason.FillOrKillUnfillable);
    } else if (outcome === 'self-trade') {
      expire(ExpireReason.SelfTradePrevention);
    } else if (taker.orderType === OrderType.LimitMaker || (taker.orderType === OrderType.Limit && taker.timeInForce === TimeInForce.GTC)) {
      this.state.orders.push(taker);
      this.emitLevel(taker.marketId, taker.side, taker.priceTicks);
    } else if (taker.orderType === OrderType.Market) {
      expire(ExpireReason.NoLiquidity);
    } else {
      expire(ExpireReason.ImmediateRemainder);
    }
    this.emitBalances();
  }

  /** Ends an order: off the book, its hold back to available, its clientOrderId remembered. */
  private closeOrder(order: ReferenceOrder): void {
    const index = this.state.orders.indexOf(order);
    if (index >= 0) this.state.orders.splice(index, 1);
    const balance = this.touch(order.accountId, this.holdAssetId(order));
    balance.heldAtoms -= order.heldAtoms;
    balance.availableAtoms += order.heldAtoms;
    order.heldAtoms = 0;
    if (order.clientOrderId !== '') {
      const window = this.state.closedClientOrders;
      window.push({ accountId: order.accountId, clientOrderId: order.clientOrderId, orderId: order.orderId, request: order.request });
      while (window.length > this.state.limits.clientOrderIdWindow) window.shift();
    }
  }

  // ---- Orders: cancel, cancel-all, amend --------------------------------------------

  /** Finds the open order a Cancel/Amend names, or null (unknown, closed, elsewhere, not theirs). */
  private targetOrder(command: Command): ReferenceOrder | null {
    const order =
      command.orderId !== 0
        ? this.state.orders.find((candidate) => candidate.orderId === command.orderId)
        : command.clientOrderId === ''
          ? undefined
          : this.state.orders.find(
              (candidate) => candidate.accountId === command.accountId && candidate.clientOrderId === command.clientOrderId,
            );
    if (!order || order.accountId !== command.accountId || order.marketId !== command.marketId) return null;
    return order;
  }

  private cancelOrder(command: Command): void {
    const reject = (reason: Reason): void => this.rejectOrder(command, reason, command.orderId);
    if (!isPositiveSafeInteger(command.accountId)) return reject(Reason.VALIDATE_ACCOUNT_INVALID);
    if (!this.findMarket(command.marketId)) return reject(Reason.MARKET_UNKNOWN);
    const order = this.targetOrder(command);
    if (!order) return reject(Reason.MATCH_UNKNOWN_ORDER);
    this.emit(EventType.OrderCanceled, {
      orderId: order.orderId, accountId: order.accountId, marketId: order.marketId,
      remainingLots: remainingLots(order), reason: CancelReason.User,
    });
    this.closeOrder(order);
    this.emitLevel(order.marketId, order.side, order.priceTicks);
    this.emitBalances();
  }

  private cancelAllOrders(command: Command): void {
    const reject = (reason: Reason): void => this.rejectOrder(command, reason, command.orderId);
    if (!isPositiveSafeInteger(command.accountId)) return reject(Reason.VALIDATE_ACCOUNT_INVALID);
    if (!this.findMarket(command.marketId)) return reject(Reason.MARKET_UNKNOWN);
    const orders = this.state.orders
      .filter((order) => order.accountId === command.accountId && order.marketId === command.marketId)
      .sort((a, b) => a.orderId - b.orderId);
    if (orders.length === 0) return reject(Reason.MATCH_NO_OPEN_ORDERS);
    for (const order of orders) {
      this.emit(EventType.OrderCanceled, {
        orderId: order.orderId, accountId: order.accountId, marketId: order.marketId,
        remainingLots: remainingLots(order), reason: CancelReason.CancelAll,
      });
      this.closeOrder(order);
      this.emitLevel(order.marketId, order.side, order.priceTicks);
    }
    this.emit(EventType.OrdersCanceledAll, { accountId: command.accountId, marketId: command.marketId, count: orders.length });
    this.emitBalances();
  }

  private amendOrder(command: Command): void {
    const reject = (reason: Reason): void => this.rejectOrder(command, reason, command.orderId);
    if (!isPositiveSafeInteger(command.accountId)) return reject(Reason.VALIDATE_ACCOUNT_INVALID);
    const market = this.findMarket(command.marketId);
    if (!market) return reject(Reason.MARKET_UNKNOWN);
    const order = this.targetOrder(command);
    if (!order) return reject(Reason.MATCH_UNKNOWN_ORDER);
    const newQuantity = command.quantityLots;
    if (!(Number.isInteger(newQuantity) && newQuantity > order.filledLots && newQuantity < order.quantityLots)) {
      return reject(Reason.MATCH_AMEND_QUANTITY_INVALID);
    }
    order.quantityLots = newQuantity;
    order.updatedAtMs = command.timestampMs;
    const newHold = holdsByFormula(order)
      ? buyHoldAtoms(order.priceTicks, remainingLots(order), market.spec.quoteAtomsPerTickLot, Math.max(order.makerFeeBps, order.takerFeeBps))
      : remainingLots(order) * market.spec.lotAtoms;
    const balance = this.touch(order.accountId, this.holdAssetId(order));
    balance.heldAtoms -= order.heldAtoms - newHold;
    balance.availableAtoms += order.heldAtoms - newHold;
    order.heldAtoms = newHold;
    this.emit(EventType.OrderAmended, {
      orderId: order.orderId, accountId: order.accountId, marketId: order.marketId,
      quantityLots: newQuantity, remainingLots: remainingLots(order),
    });
    this.emitLevel(order.marketId, order.side, order.priceTicks);
    this.emitBalances();
  }

  // ---- Helpers -----------------------------------------------------------------------

  private findAsset(assetId: number): ReferenceAsset | undefined {
    return this.state.assets.find((asset) => asset.assetId === assetId);
  }

  private findAssetByCode(code: string): ReferenceAsset | undefined {
    return this.state.assets.find((asset) => asset.code === code);
  }

  private findMarket(marketId: number): ReferenceMarket | undefined {
    return this.state.markets.find((market) => market.marketId === marketId);
  }

  private findBalance(accountId: number, assetId: number): ReferenceBalance | undefined {
    return this.state.balances.find((balance) => balance.accountId === accountId && balance.assetId === assetId);
  }

  /** Open order or remembered closed order of this account with this clientOrderId. */
  private findClientOrder(accountId: number, clientOrderId: string): { orderId: number; request: OrderRequest } | undefined {
    return (
      this.state.orders.find((order) => order.accountId === accountId && order.clientOrderId === clientOrderId) ??
      this.state.closedClientOrders.find((entry) => entry.accountId === accountId && entry.clientOrderId === clientOrderId)
    );
  }

  /** Resting orders of one side in priority order: best price first, then acceptance order. */
  private sortedBook(marketId: number, side: Side): ReferenceOrder[] {
    return this.state.orders
      .filter((order) => order.marketId === marketId && order.side === side)
      .sort((a, b) => (side === Side.Buy ? b.priceTicks - a.priceTicks : a.priceTicks - b.priceTicks) || a.orderId - b.orderId);
  }

  /** Marks an (account, asset) pair as touched by this command and returns its balance. */
  private touch(accountId: number, assetId: number): ReferenceBalance {
    let balance = this.findBalance(accountId, assetId);
    if (!balance) {
      balance = { accountId, assetId, availableAtoms: 0, heldAtoms: 0 };
      this.state.balances.push(balance);
    }
    if (!this.touched.includes(balance)) this.touched.push(balance);
    return balance;
  }

  private emit(type: EventType, fields: Record<string, number>, string0?: string, string1?: string): void {
    const command = this.command!;
    const out = this.out!;
    out.begin(type, command.sequence, ++this.state.lastEventSequence, command.timestampMs);
    const layout = eventLayout[type];
    for (const name of Object.keys(fields)) {
      if (!layout.fields.includes(name)) throw new Error(`reference engine: event ${type} has no field ${name}`);
    }
    layout.fields.forEach((name, index) => out.set(index, fields[name] ?? 0));
    if (layout.s0 !== undefined) out.setString0(string0 ?? '');
    if (layout.s1 !== undefined) out.setString1(string1 ?? '');
  }

  private emitLevel(marketId: number, side: Side, priceTicks: number): void {
    const market = this.findMarket(marketId)!;
    const level = this.state.orders.filter(
      (order) => order.marketId === marketId && order.side === side && order.priceTicks === priceTicks,
    );
    market.updateId += 1;
    this.emit(EventType.BookLevelChanged, {
      marketId, side, priceTicks,
      quantityLots: level.reduce((sum, order) => sum + remainingLots(order), 0),
      updateId: market.updateId, orderCount: level.length,
    });
  }

  private emitBalances(): void {
    for (const balance of this.touched) {
      this.emit(EventType.BalanceChanged, {
        accountId: balance.accountId, assetId: balance.assetId, availableAtoms: balance.availableAtoms, heldAtoms: balance.heldAtoms,
      });
    }
    this.touched = [];
  }

  private rejectOrder(command: Command, reason: Reason, orderId: number): void {
    this.emit(
      EventType.OrderRejected,
      { orderId, accountId: command.accountId, marketId: command.marketId, reason, commandType: command.type },
      command.clientOrderId,
    );
  }

  private rejectCommand(reason: Reason): void {
    const command = this.command!;
    this.emit(
      EventType.CommandRejected,
      { commandType: command.type, reason, accountId: command.accountId, marketId: command.marketId },
      command.transferId,
    );
  }
}

function sameRequest(a: OrderRequest, b: OrderRequest): boolean {
  return (
    a.marketId === b.marketId && a.side === b.side && a.orderType === b.orderType && a.timeInForce === b.timeInForce &&
    a.priceTicks === b.priceTicks && a.quantityLots === b.quantityLots && a.quoteAmountAtoms === b.quoteAmountAtoms
  );
}
