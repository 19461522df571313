// The fast matching engine: the single writer of balances and order books. It applies one
// command at a time (validate -> hold funds -> match -> settle -> events), exactly as
// docs/engine.md specifies, and writes events into the caller's EventBuffer. It is pure
// and deterministic: no clock, randomness or I/O, so replaying the command log from a
// snapshot reproduces every event and the same stateHash().
//
// Layout, chosen for speed: orders (one Float64 and one Int32 block, field offsets in
// the NumberField / LinkField const enums below) and price levels live in typed-array
// pools and each book side in a sorted ladder with the best level last (book.ts);
// resting orders are found by orderId through a direct-mapped window over the newest ids
// backed by an open-addressing index (book.ts OrderIndex). Accounts are
// dense slots (small ids through an array), balances dense slots cached per account for
// its last market, and every order caches its owner's base and quote balance slots, so a
// fill does no lookup.
// Per-market state, idempotency records and the spec/limit checks live in records.ts.
// Snapshots use the framed binary format of snapshot-codec.ts (CRC-32 checked on restore).
// Invariants kept after every command: per asset, sum(available + held) = supply; every
// account's held = holds of its open orders + pending withdrawals; no book is crossed.

import type { Command } from '../domain/command.ts';
import * as codes from '../domain/codes.ts';
import type { EventBuffer } from '../domain/events.ts';
import { assetScaleMax, feeBpsMax, type MarketSpec } from '../domain/market.ts';
import * as units from '../domain/units.ts';
import * as book from './book.ts';
import * as records from './records.ts';
import { SnapshotError, SnapshotReader, SnapshotWriter } from './snapshot-codec.ts';
import { canonicalStateHash } from './state-hash.ts';
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
} from './types.ts';

// Imported values are bound to module constants once: the TypeScript loader may turn every
// read of an imported binding into a getter call, which costs more than the rest of a
// command on the hot path. Each enumeration keeps its type alias of the same name.
const CancelReason = codes.CancelReason;
const CommandType = codes.CommandType;
const EventType = codes.EventType;
type EventType = codes.EventType;
const ExpireReason = codes.ExpireReason;
const MarketStatus = codes.MarketStatus;
type MarketStatus = codes.MarketStatus;
const OrderType = codes.OrderType;
type OrderType = codes.OrderType;
const Reason = codes.Reason;
type Reason = codes.Reason;
const Side = codes.Side;
type Side = codes.Side;
const StpMode = codes.StpMode;
type StpMode = codes.StpMode;
const TimeInForce = codes.TimeInForce;
type TimeInForce = codes.TimeInForce;
const unitsBuyHoldAtoms = units.buyHoldAtoms;
/** units.buyHoldAtoms, without the fee arithmetic when the fee is zero. */
function buyHoldAtoms(priceTicks: number, quantityLots: number, quoteAtomsPerTickLot: number, feeBpsMax: number): number {
  return feeBpsMax === 0 ? priceTicks * quantityLots * quoteAtomsPerTickLot : unitsBuyHoldAtoms(priceTicks, quantityLots, quoteAtomsPerTickLot, feeBpsMax);
}
const feeAtoms = units.feeAtoms;
const TransferState = records.TransferState;
const TransferRecord = records.TransferRecord;
type TransferRecord = records.TransferRecord;
const ClientOrderRecord = records.ClientOrderRecord;
type ClientOrderRecord = records.ClientOrderRecord;
const MarketState = records.MarketState;
type MarketState = records.MarketState;
const growFloat64 = records.growFloat64;
const growInt32 = records.growInt32;
const growUint8 = records.growUint8;
const isPositiveSafeInteger = records.isPositiveSafeInteger;
const isFeeBps = records.isFeeBps;
const canonicalSpec = records.canonicalSpec;
const isValidMarketSpec = records.isValidMarketSpec;
const validateLimits = records.validateLimits;
type BookSide = book.BookSide;
const LevelPool = book.LevelPool;
const OrderPool = book.OrderPool;
const OrderIndex = book.OrderIndex;
const none = book.none;
const packKind = book.packKind;
const packFees = book.packFees;
// Order fields: offsets into the pool's Float64 block (NumberField) and Int32 block
// (LinkField), at slot x stride + field. A const enum compiles to literal numbers, so
// the optimiser folds every offset (module constants cost a load each); the check below
// keeps both in step with the layout book.ts declares.
const enum NumberField {
  stride = 8,
  orderId = 0,
  priceTicks = 1,
  quantityLots = 2,
  filledLots = 3,
  filledQuoteAtoms = 4,
  heldAtoms = 5,
  createdAtMs = 6,
  updatedAtMs = 7,
}
const enum LinkField {
  stride = 11,
  accountIndex = 0,
  marketIndex = 1,
  level = 2,
  previous = 3,
  next = 4,
  accountPrevious = 5,
  accountNext = 6,
  baseBalance = 7,
  quoteBalance = 8,
  kind = 9,
  feesBps = 10,
}
if (
  NumberField.stride !== book.orderNumberStride || LinkField.stride !== book.orderLinkStride ||
  NumberField.orderId !== book.OrderNumber.orderId ||
  NumberField.priceTicks !== book.OrderNumber.priceTicks ||
  NumberField.quantityLots !== book.OrderNumber.quantityLots ||
  NumberField.filledLots !== book.OrderNumber.filledLots ||
  NumberField.filledQuoteAtoms !== book.OrderNumber.filledQuoteAtoms ||
  NumberField.heldAtoms !== book.OrderNumber.heldAtoms ||
  NumberField.createdAtMs !== book.OrderNumber.createdAtMs ||
  NumberField.updatedAtMs !== book.OrderNumber.updatedAtMs ||
  LinkField.accountIndex !== book.OrderLink.accountIndex ||
  LinkField.marketIndex !== book.OrderLink.marketIndex ||
  LinkField.level !== book.OrderLink.level ||
  LinkField.previous !== book.OrderLink.previous ||
  LinkField.next !== book.OrderLink.next ||
  LinkField.accountPrevious !== book.OrderLink.accountPrevious ||
  LinkField.accountNext !== book.OrderLink.accountNext ||
  LinkField.baseBalance !== book.OrderLink.baseBalance ||
  LinkField.quoteBalance !== book.OrderLink.quoteBalance ||
  LinkField.kind !== book.OrderLink.kind ||
  LinkField.feesBps !== book.OrderLink.feesBps
) {
  throw new Error('engine.ts: NumberField / LinkField differ from the order layout in book.ts');
}
// The hot paths index by side instead of branching on it: MarketState.books[side - 1] is the
// side's book and books[2 - side] the opposite one; an order's hold balance is its link at
// baseBalance + 2 - side (quote for a buy, base for a sell), and so is the cached slot at
// accountCachedBalances[2 x account + 2 - side]; 3 - 2 x side is the side's sign (buy 1, sell -1).
if (Side.Buy !== 1 || Side.Sell !== 2 || LinkField.quoteBalance !== LinkField.baseBalance + 1) {
  throw new Error('engine.ts: side-indexed paths expect Side.Buy = 1, Side.Sell = 2 and quoteBalance after baseBalance');
}

/** An order's side, order type, time in force and STP mode, from its packed kind field (book.packKind). */
function kindSide(links: Int32Array, slot: number): number {
  return links[slot * LinkField.stride + LinkField.kind]! & 0xff;
}
function kindOrderType(links: Int32Array, slot: number): number {
  return (links[slot * LinkField.stride + LinkField.kind]! >> 8) & 0xff;
}
function kindTimeInForce(links: Int32Array, slot: number): number {
  return (links[slot * LinkField.stride + LinkField.kind]! >> 16) & 0xff;
}
function kindStpMode(links: Int32Array, slot: number): number {
  return links[slot * LinkField.stride + LinkField.kind]! >>> 24;
}
/** An order's maker and taker fees, from its packed feesBps field (book.packFees). */
function makerFeeBpsOf(links: Int32Array, slot: number): number {
  return links[slot * LinkField.stride + LinkField.feesBps]! & 0xffff;
}
function takerFeeBpsOf(links: Int32Array, slot: number): number {
  return links[slot * LinkField.stride + LinkField.feesBps]! >>> 16;
}

const clientOrderIdLengthMax = 36;
const clientOrderIdPattern = /^[A-Za-z0-9._:/-]+$/;
const transferIdLengthMax = 64;
const transferIdPattern = /^[A-Za-z0-9._:-]+$/;
const assetCodePattern = /^[A-Z0-9]{1,12}$/;
const symbolPattern = /^[A-Z0-9]{2,20}$/;
const feeAccountId = 0;
/** Dense tables start this big and double. */
const initialAccountCapacity = 64;
const initialBalanceCapacity = 256;
/** Touch stamps restart before they could overflow an Int32. */
const touchStampMax = 0x3fffffff;
/** AccountIds below this are found through a dense array (at most 4 MB); larger ones through a Map. */
const smallAccountIdLimit = 1 << 20;

/** What a taker buy pays for `lots` at one price: notional plus its taker fee. */
function buyCostAtoms(lots: number, tickLotAtoms: number, takerFeeBps: number): number {
  const notionalAtoms = lots * tickLotAtoms;
  return notionalAtoms + feeAtoms(notionalAtoms, takerFeeBps);
}

export class Engine implements MatchingEngine {
  private engineLimits: EngineLimits;
  private lastCommandSequence = 0;
  private lastEventSequence = 0;
  private nextOrderId = 1;
  private nextTradeId = 1;

  // Assets, indexed by assetId (slot 0 unused).
  private assetCodes: string[] = [''];
  private assetScales: number[] = [0];
  private assetSupplies: number[] = [0];
  private assetIdByCode = new Map<string, number>();

  // Markets, indexed by marketId (slot 0 unused).
  private marketList: (MarketState | undefined)[] = [undefined];
  private marketIdBySymbol = new Map<string, number>();

  // Accounts: dense index per accountId.
  private accountIndexById = new Map<number, number>();
  private accountCount = 0;
  private accountIds = new Float64Array(initialAccountCapacity);
  private accountStp = new Uint8Array(initialAccountCapacity);
  private accountOpenOrders = new Int32Array(initialAccountCapacity);
  private accountHead = new Int32Array(initialAccountCapacity).fill(none);
  private accountTail = new Int32Array(initialAccountCapacity).fill(none);
  /** Index + 1 of each small accountId (0 = unknown): one array read instead of a Map lookup. */
  private accountIndexBySmallId = new Int32Array(initialAccountCapacity);
  /**
   * The market whose balance slots each account last used (0 = none), and those slots: base
   * at 2 x account, quote at 2 x account + 1 (so a side's hold slot is at 2 x account + 2 - side).
   */
  private accountCachedMarket = new Int32Array(initialAccountCapacity);
  private accountCachedBalances = new Int32Array(initialAccountCapacity * 2);

  // Balances: one slot per (account, asset), key = accountIndex * balanceKeyStride + assetId.
  private balanceKeyStride: number;
  private balanceSlotByKey = new Map<number, number>();
  private balanceCount = 0;
  private balanceAccount = new Int32Array(initialBalanceCapacity);
  /** The owner's accountId of each balance slot, so BalanceChanged reads it in one load. */
  private balanceAccountId = new Float64Array(initialBalanceCapacity);
  private balanceAsset = new Int32Array(initialBalanceCapacity);
  private available = new Float64Array(initialBalanceCapacity);
  private held = new Float64Array(initialBalanceCapacity);
  private touchStamp = new Int32Array(initialBalanceCapacity);

  // Orders.
  private pool = new OrderPool();
  private levels = new LevelPool();
  /** Resting orders only: orderId -> pool slot. */
  private slotByOrderId = new OrderIndex(this.pool);

  // Idempotency.
  private transfers = new Map<string, TransferRecord>();
  private clientOrders = new Map<string, ClientOrderRecord>();
  /** Closed orders' clientOrderIds, oldest first (a ring of clientOrderIdWindow entries). */
  private clientWindow: (ClientOrderRecord | null)[];
  private clientWindowStart = 0;
  private clientWindowCount = 0;

  // Per-command state: the output buffer, stamps, and the (account, asset) pairs touched.
  private out: EventBuffer | null = null;
  private timestampMs = 0;
  private stamp = 0;
  /**
   * Balance slots touched by this command, in touch order. As long as the balance tables: a
   * command touches each slot at most once, so touch() needs no capacity check.
   */
  private touched = new Int32Array(initialBalanceCapacity);
  private touchedCount = 0;
  // Results of walkBook(), kept in fields so the walk allocates nothing.
  private walkLots = 0;
  private walkCostAtoms = 0;

  constructor(limits: EngineLimits = defaultEngineLimits) {
    this.engineLimits = validateLimits(limits);
    this.balanceKeyStride = this.engineLimits.assetsMax + 1;
    this.clientWindow = new Array<ClientOrderRecord | null>(this.engineLimits.clientOrderIdWindow).fill(null);
  }

  // ---------------------------------------------------------------- dispatch

  execute(command: Command, out: EventBuffer): void {
    this.out = out;
    this.timestampMs = command.timestampMs;
    // Each event of the command takes the next event sequence (EventBuffer numbers them in
    // the order they are begun); the counter catches up once, after the command.
    out.startCommand(command.sequence, command.timestampMs, this.lastEventSequence + 1);
    const eventsBefore = out.length;
    this.touchedCount = 0;
    if (++this.stamp === touchStampMax) {
      this.touchStamp.fill(0);
      this.stamp = 1;
    }
    switch (command.type) {
      case CommandType.PlaceOrder:
        this.placeOrder(command);
        break;
      case CommandType.CancelOrder:
        this.cancelOrder(command);
        break;
      case CommandType.CancelAllOrders:
        this.cancelAllOrders(command);
        break;
      case CommandType.AmendOrder:
        this.amendOrder(command);
        break;
      case CommandType.Deposit:
        this.deposit(command);
        break;
      case CommandType.WithdrawRequest:
        this.withdrawRequest(command);
        break;
      case CommandType.WithdrawComplete:
      case CommandType.WithdrawCancel:
        this.withdrawEnd(command);
        break;
      case CommandType.AddAsset:
        this.addAsset(command);
        break;
      case CommandType.AddMarket:
        this.addMarket(command);
        break;
      case CommandType.HaltMarket:
      case CommandType.ResumeMarket:
        this.haltOrResume(command);
        break;
      case CommandType.SetFees:
        this.setFees(command);
        break;
      case CommandType.SetAccountStp:
        this.setAccountStp(command);
        break;
      default:
        this.rejectCommand(command, Reason.VALIDATE_ENUM_INVALID);
    }
    this.emitBalanceChanges();
    this.lastEventSequence += out.length - eventsBefore;
    this.lastCommandSequence = command.sequence;
    this.out = null;
  }

  // ---------------------------------------------------------------- events

  // Every event starts with out.beginEvent() (its header comes from the group that
  // out.startCommand() opened in execute) and its payload fields are written straight into
  // out.slots at `at + field` (field order per eventLayout in src/domain/events.ts).
  // Doubles such as balances and timestamps never pass through a call, so nothing is boxed
  // per event. A record holds exactly its type's fields: the frequent events use
  // beginEventUnzeroed() and write each of their fields once, and no slot past the last.

  private rejectOrder(command: Command, reason: Reason): void {
    const out = this.out!;
    const at = out.beginEvent(EventType.OrderRejected);
    const slots = out.slots;
    slots[at] = command.type === CommandType.PlaceOrder ? 0 : command.orderId;
    slots[at + 1] = command.accountId;
    slots[at + 2] = command.marketId;
    slots[at + 3] = reason;
    slots[at + 4] = command.type;
    out.setString0(command.clientOrderId);
  }

  private rejectCommand(command: Command, reason: Reason): void {
    const out = this.out!;
    const at = out.beginEvent(EventType.CommandRejected);
    const slots = out.slots;
    slots[at] = command.type;
    slots[at + 1] = reason;
    slots[at + 2] = command.accountId;
    slots[at + 3] = command.marketId;
    if (command.transferId !== '') out.setString0(command.transferId);
  }

  private emitOrderEnd(type: EventType, slot: number, remainingLots: number, reason: number): void {
    const pool = this.pool;
    const out = this.out!;
    const at = out.beginEventUnzeroed(type);
    const slots = out.slots;
    slots[at] = pool.numbers[slot * NumberField.stride + NumberField.orderId]!;
    slots[at + 1] = this.accountIds[pool.links[slot * LinkField.stride + LinkField.accountIndex]!]!;
    slots[at + 2] = pool.links[slot * LinkField.stride + LinkField.marketIndex]!;
    // OrderFilled has three fields; OrderCanceled and OrderExpired add these two.
    if (type !== EventType.OrderFilled) {
      slots[at + 3] = remainingLots;
      slots[at + 4] = reason;
    }
  }

  private emitLevel(market: MarketState, side: number, level: number, priceTicks: number): void {
    const out = this.out!;
    const at = out.beginEventUnzeroed(EventType.BookLevelChanged);
    const slots = out.slots;
    slots[at] = market.marketId;
    slots[at + 1] = side;
    slots[at + 2] = priceTicks;
    slots[at + 3] = this.levels.quantityLots[level]!;
    slots[at + 4] = ++market.updateId;
    slots[at + 5] = this.levels.orderCount[level]!;
  }

  /** Emits BookLevelChanged for `level` and drops it from the ladder when it emptied. */
  private levelChanged(market: MarketState, side: number, level: number): void {
    const levels = this.levels;
    const priceTicks = levels.priceTicks[level]!;
    this.emitLevel(market, side, level, priceTicks);
    if (levels.orderCount[level] === 0) {
      market.books[side - 1]!.remove(priceTicks);
      levels.release(level);
    }
  }

  /** Records the first touch of `balance` in this command. Small, so V8 inlines it at every call. */
  private touch(balance: number): void {
    if (this.touchStamp[balance] === this.stamp) return;
    this.touchStamp[balance] = this.stamp;
    this.touched[this.touchedCount++] = balance;
  }

  private emitBalanceChanges(): void {
    const touched = this.touched;
    const touchedCount = this.touchedCount;
    const out = this.out!;
    // Fields are written straight into the slots: balances are doubles, which a call that
    // is not inlined would box on the heap.
    for (let index = 0; index < touchedCount; index++) {
      const balance = touched[index]!;
      const at = out.beginEventUnzeroed(EventType.BalanceChanged);
      const slots = out.slots;
      slots[at] = this.balanceAccountId[balance]!;
      slots[at + 1] = this.balanceAsset[balance]!;
      slots[at + 2] = this.available[balance]!;
      slots[at + 3] = this.held[balance]!;
    }
    this.touchedCount = 0;
  }

  // ---------------------------------------------------------------- accounts and balances

  /** The dense index of `accountId`, or `none` when the account was never seen. */
  private findAccount(accountId: number): number {
    if (accountId >= 0 && accountId < this.accountIndexBySmallId.length && Number.isInteger(accountId)) {
      return this.accountIndexBySmallId[accountId]! - 1;
    }
    const known = this.accountIndexById.get(accountId);
    return known === undefined ? none : known;
  }

  private accountIndexOrCreate(accountId: number): number {
    const known = this.findAccount(accountId);
    if (known !== none) return known;
    const index = this.accountCount++;
    if (index === this.accountIds.length) {
      const capacity = index * 2;
      this.accountIds = growFloat64(this.accountIds, capacity);
      this.accountStp = growUint8(this.accountStp, capacity);
      this.accountOpenOrders = growInt32(this.accountOpenOrders, capacity, 0);
      this.accountHead = growInt32(this.accountHead, capacity, none);
      this.accountTail = growInt32(this.accountTail, capacity, none);
      this.accountCachedMarket = growInt32(this.accountCachedMarket, capacity, 0);
      this.accountCachedBalances = growInt32(this.accountCachedBalances, capacity * 2, 0);
    }
    this.accountIds[index] = accountId;
    this.accountIndexById.set(accountId, index);
    if (Number.isInteger(accountId) && accountId >= 0 && accountId < smallAccountIdLimit) {
      if (accountId >= this.accountIndexBySmallId.length) {
        let capacity = this.accountIndexBySmallId.length * 2;
        while (capacity <= accountId) capacity *= 2;
        this.accountIndexBySmallId = growInt32(this.accountIndexBySmallId, Math.min(capacity, smallAccountIdLimit), 0);
      }
      this.accountIndexBySmallId[accountId] = index + 1;
    }
    return index;
  }

  /**
   * The account's balance slots in the market's base and quote assets, created when
   * missing, left in accountCachedBalances. Cached per account for its last market.
   */
  private marketBalances(accountIndex: number, market: MarketState): void {
    if (this.accountCachedMarket[accountIndex] !== market.marketId) {
      this.accountCachedBalances[accountIndex * 2] = this.balanceOrCreate(accountIndex, market.baseAssetId);
      this.accountCachedBalances[accountIndex * 2 + 1] = this.balanceOrCreate(accountIndex, market.quoteAssetId);
      this.accountCachedMarket[accountIndex] = market.marketId;
    }
  }

  /** The balance slot of (account index, asset), or `none` when it was never created. */
  private findBalance(accountIndex: number, assetId: number): number {
    if (accountIndex === none) return none;
    const slot = this.balanceSlotByKey.get(accountIndex * this.balanceKeyStride + assetId);
    return slot === undefined ? none : slot;
  }

  private balanceOrCreate(accountIndex: number, assetId: number): number {
    const key = accountIndex * this.balanceKeyStride + assetId;
    const known = this.balanceSlotByKey.get(key);
    if (known !== undefined) return known;
    const slot = this.balanceCount++;
    if (slot === this.available.length) {
      const capacity = slot * 2;
      const account = new Int32Array(capacity);
      account.set(this.balanceAccount);
      this.balanceAccount = account;
      this.balanceAccountId = growFloat64(this.balanceAccountId, capacity);
      this.touched = growInt32(this.touched, capacity, 0);
      const asset = new Int32Array(capacity);
      asset.set(this.balanceAsset);
      this.balanceAsset = asset;
      const available = new Float64Array(capacity);
      available.set(this.available);
      this.available = available;
      const held = new Float64Array(capacity);
      held.set(this.held);
      this.held = held;
      const stamps = new Int32Array(capacity);
      stamps.set(this.touchStamp);
      this.touchStamp = stamps;
    }
    this.balanceAccount[slot] = accountIndex;
    this.balanceAccountId[slot] = this.accountIds[accountIndex]!;
    this.balanceAsset[slot] = assetId;
    this.balanceSlotByKey.set(key, slot);
    return slot;
  }

  // ---------------------------------------------------------------- PlaceOrder

  private placeOrder(command: Command): void {
    // 1. Account.
    const accountId = command.accountId;
    if (!(Number.isSafeInteger(accountId) && accountId > 0)) return this.rejectOrder(command, Reason.VALIDATE_ACCOUNT_INVALID);
    // 2. Enumerations, then the combinations they allow.
    const side = command.side;
    const orderType = command.orderType;
    const timeInForce = command.timeInForce;
    const stpMode = command.stpMode;
    // (side === Buy) === (side === Sell) holds exactly when the side is neither (it cannot be
    // both), and is computed without a branch on which side it is (the flow makes that unpredictable).
    if (
      (side === Side.Buy) === (side === Side.Sell) ||
      (orderType !== OrderType.Limit && orderType !== OrderType.Market && orderType !== OrderType.LimitMaker) ||
      (timeInForce !== 0 && timeInForce !== TimeInForce.GTC && timeInForce !== TimeInForce.IOC && timeInForce !== TimeInForce.FOK) ||
      (stpMode !== StpMode.AccountDefault && stpMode !== StpMode.None && stpMode !== StpMode.ExpireTaker &&
        stpMode !== StpMode.ExpireMaker && stpMode !== StpMode.ExpireBoth)
    ) {
      return this.rejectOrder(command, Reason.VALIDATE_ENUM_INVALID);
    }
    const isLimit = orderType !== OrderType.Market;
    if (orderType === OrderType.Limit ? timeInForce === 0 : timeInForce !== 0) {
      return this.rejectOrder(command, Reason.VALIDATE_PARAMETERS_CONFLICT);
    }
    // 3. Market.
    const market = this.marketList[command.marketId];
    if (market === undefined) return this.rejectOrder(command, Reason.MARKET_UNKNOWN);
    if (market.status !== MarketStatus.Trading) return this.rejectOrder(command, Reason.MARKET_HALTED);
    // 4. clientOrderId: format, then idempotency against open and recently closed orders.
    const clientOrderId = command.clientOrderId;
    if (clientOrderId !== '') {
      if (typeof clientOrderId !== 'string' || clientOrderId.length > clientOrderIdLengthMax || !clientOrderIdPattern.test(clientOrderId)) {
        return this.rejectOrder(command, Reason.VALIDATE_ID_INVALID);
      }
      const record = this.clientOrders.get(`${accountId}|${clientOrderId}`);
      if (record !== undefined) {
        if (
          record.side === side && record.orderType === orderType && record.timeInForce === timeInForce &&
          record.priceTicks === command.priceTicks && record.quantityLots === command.quantityLots &&
          record.quoteAmountAtoms === command.quoteAmountAtoms && record.marketId === command.marketId
        ) {
          const out = this.out!;
          const at = out.beginEvent(EventType.OrderDuplicate);
          const slots = out.slots;
          slots[at] = record.orderId;
          slots[at + 1] = accountId;
          slots[at + 2] = command.marketId;
          out.setString0(clientOrderId);
          return;
        }
        return this.rejectOrder(command, Reason.RISK_DUPLICATE_CLIENT_ORDER_ID);
      }
    }
    // 5. Price.
    const priceTicks = command.priceTicks;
    if (isLimit) {
      if (priceTicks <= 0) return this.rejectOrder(command, Reason.VALIDATE_PRICE_NOT_POSITIVE);
      if (!Number.isInteger(priceTicks)) return this.rejectOrder(command, Reason.VALIDATE_PRICE_OFF_TICK);
      if (!Number.isSafeInteger(priceTicks)) return this.rejectOrder(command, Reason.VALIDATE_PRICE_UNSAFE);
      if (priceTicks > market.maxPriceTicks) return this.rejectOrder(command, Reason.MARKET_PRICE_ABOVE_MAX);
    } else if (priceTicks !== 0) {
      return this.rejectOrder(command, Reason.VALIDATE_PARAMETERS_CONFLICT);
    }
    // 6. Quantity or quote amount.
    const quantityLots = command.quantityLots;
    const quoteAmountAtoms = command.quoteAmountAtoms;
    const byQuote = !isLimit && quoteAmountAtoms !== 0;
    if (isLimit ? quoteAmountAtoms !== 0 : (quantityLots !== 0) === (quoteAmountAtoms !== 0)) {
      return this.rejectOrder(command, Reason.VALIDATE_PARAMETERS_CONFLICT);
    }
    if (byQuote) {
      if (!isPositiveSafeInteger(quoteAmountAtoms)) return this.rejectOrder(command, Reason.VALIDATE_AMOUNT_INVALID);
    } else {
      if (quantityLots <= 0) return this.rejectOrder(command, Reason.VALIDATE_QUANTITY_NOT_POSITIVE);
      if (!Number.isInteger(quantityLots)) return this.rejectOrder(command, Reason.VALIDATE_QUANTITY_OFF_LOT);
      if (!Number.isSafeInteger(quantityLots)) return this.rejectOrder(command, Reason.VALIDATE_QUANTITY_UNSAFE);
      if (quantityLots < market.minQuantityLots) return this.rejectOrder(command, Reason.MARKET_QUANTITY_BELOW_MIN);
      if (quantityLots > (isLimit ? market.maxQuantityLots : market.marketMaxQuantityLots)) {
        return this.rejectOrder(command, Reason.MARKET_QUANTITY_ABOVE_MAX);
      }
    }
    // 7. Minimum notional (market orders by quantity have no price to check).
    const quoteAtomsPerTickLot = market.quoteAtomsPerTickLot;
    if (isLimit ? priceTicks * quantityLots * quoteAtomsPerTickLot < market.minNotionalAtoms : byQuote && quoteAmountAtoms < market.minNotionalAtoms) {
      return this.rejectOrder(command, Reason.MARKET_NOTIONAL_BELOW_MIN);
    }
    // 8. LIMIT_MAKER must not cross any resting order (the account's own included).
    // The opposite book's keys are its sign x price, so sign x priceTicks + (its best key) >= 0
    // says the order would cross: a buy at or above the best ask, a sell at or below the best bid.
    const sign = 3 - 2 * side;
    const opposite = market.books[2 - side]!;
    const crosses = opposite.count > 0 && sign * priceTicks + opposite.keys[opposite.count - 1]! >= 0;
    if (orderType === OrderType.LimitMaker && crosses) return this.rejectOrder(command, Reason.MATCH_WOULD_CROSS);
    // 9. Open orders limit, for orders that could rest.
    const accountIndex = this.findAccount(accountId);
    const couldRest = orderType === OrderType.LimitMaker || (orderType === OrderType.Limit && timeInForce === TimeInForce.GTC);
    if (couldRest && accountIndex !== none && this.accountOpenOrders[accountIndex]! >= this.engineLimits.openOrdersPerAccountMax) {
      return this.rejectOrder(command, Reason.RISK_TOO_MANY_OPEN_ORDERS);
    }
    // 10. The hold, against the available balance of the hold asset.
    let resolvedStp = stpMode;
    if (resolvedStp === StpMode.AccountDefault) {
      resolvedStp = accountIndex === none || this.accountStp[accountIndex] === 0 ? StpMode.None : (this.accountStp[accountIndex] as StpMode);
    }
    const makerFeeBps = market.makerFeeBps;
    const takerFeeBps = market.takerFeeBps;
    let holdAtoms: number;
    if (isLimit) {
      // Both sides' holds are computed and the side's one is kept by arithmetic (buying is 1
      // for a buy, 0 for a sell): both are exact integers, so the result is exactly one of them.
      const buying = 2 - side;
      const buyHold = buyHoldAtoms(priceTicks, quantityLots, quoteAtomsPerTickLot, makerFeeBps > takerFeeBps ? makerFeeBps : takerFeeBps);
      holdAtoms = buying * buyHold + (1 - buying) * (quantityLots * market.lotAtoms);
    } else if (side === Side.Buy) {
      if (byQuote) holdAtoms = quoteAmountAtoms;
      else {
        this.walkBook(market.asks, 1, Infinity, accountIndex, resolvedStp, quantityLots, 0, takerFeeBps, market);
        holdAtoms = this.walkCostAtoms;
      }
    } else if (byQuote) {
      this.walkBook(market.bids, -1, Infinity, accountIndex, resolvedStp, market.marketMaxQuantityLots, quoteAmountAtoms, 0, market);
      holdAtoms = this.walkLots * market.lotAtoms;
    } else {
      holdAtoms = quantityLots * market.lotAtoms;
    }
    // The hold balance's slot first, then one read: a value merged from a typed-array read
    // and a call result would be boxed on the heap for every order.
    let holdBalance: number;
    if (accountIndex !== none && this.accountCachedMarket[accountIndex] === market.marketId) {
      holdBalance = this.accountCachedBalances[accountIndex * 2 + 2 - side]!;
    } else {
      holdBalance = this.findBalance(accountIndex, side === Side.Buy ? market.quoteAssetId : market.baseAssetId);
    }
    const availableAtoms = holdBalance === none ? 0 : this.available[holdBalance]!;
    if (holdAtoms > availableAtoms) return this.rejectOrder(command, Reason.RISK_INSUFFICIENT_FUNDS);

    // Accepted: take an orderId, record the order and hold its funds.
    const ownerIndex = accountIndex === none ? this.accountIndexOrCreate(accountId) : accountIndex;
    // Fast path for the most common command: a LIMIT_MAKER (step 8 made sure it does not
    // cross) or a GTC limit that does not cross rests at once, in one pass.
    if (couldRest && !crosses) return this.acceptResting(command, market, resolvedStp, holdAtoms, ownerIndex);
    const taker = this.acceptOrder(command, market, resolvedStp, holdAtoms, ownerIndex);
    if (timeInForce === TimeInForce.FOK) {
      this.walkBook(opposite, sign, sign * priceTicks, ownerIndex, resolvedStp, quantityLots, 0, takerFeeBps, market);
      if (this.walkLots < quantityLots) {
        this.emitOrderEnd(EventType.OrderExpired, taker, quantityLots, ExpireReason.FillOrKillUnfillable);
        return this.closeOrder(taker);
      }
    }
    const stoppedBySelfTrade = this.matchTaker(taker, market, byQuote, quoteAmountAtoms);
    this.finishTaker(taker, market, byQuote, stoppedBySelfTrade);
  }

  /** Creates the order slot, emits OrderAccepted and moves the hold from available to held. */
  private acceptOrder(command: Command, market: MarketState, stpMode: number, holdAtoms: number, accountIndex: number): number {
    const pool = this.pool;
    const slot = pool.allocate();
    const orderId = this.nextOrderId++;
    const side = command.side;
    pool.numbers[slot * NumberField.stride + NumberField.orderId] = orderId;
    pool.links[slot * LinkField.stride + LinkField.accountIndex] = accountIndex;
    pool.links[slot * LinkField.stride + LinkField.marketIndex] = market.marketId;
    pool.links[slot * LinkField.stride + LinkField.kind] = packKind(side, command.orderType, command.timeInForce, stpMode);
    pool.links[slot * LinkField.stride + LinkField.feesBps] = packFees(market.makerFeeBps, market.takerFeeBps);
    pool.numbers[slot * NumberField.stride + NumberField.priceTicks] = command.priceTicks;
    pool.numbers[slot * NumberField.stride + NumberField.quantityLots] = command.quantityLots;
    pool.numbers[slot * NumberField.stride + NumberField.filledLots] = 0;
    pool.numbers[slot * NumberField.stride + NumberField.filledQuoteAtoms] = 0;
    pool.numbers[slot * NumberField.stride + NumberField.heldAtoms] = holdAtoms;
    pool.numbers[slot * NumberField.stride + NumberField.createdAtMs] = this.timestampMs;
    pool.numbers[slot * NumberField.stride + NumberField.updatedAtMs] = this.timestampMs;
    pool.links[slot * LinkField.stride + LinkField.level] = none;
    pool.links[slot * LinkField.stride + LinkField.previous] = none;
    pool.links[slot * LinkField.stride + LinkField.next] = none;
    pool.links[slot * LinkField.stride + LinkField.accountPrevious] = none;
    pool.links[slot * LinkField.stride + LinkField.accountNext] = none;
    this.marketBalances(accountIndex, market);
    const baseBalance = this.accountCachedBalances[accountIndex * 2]!;
    const quoteBalance = this.accountCachedBalances[accountIndex * 2 + 1]!;
    pool.links[slot * LinkField.stride + LinkField.baseBalance] = baseBalance;
    pool.links[slot * LinkField.stride + LinkField.quoteBalance] = quoteBalance;
    // A free slot's clientOrderId is already '' (OrderPool.release), so only a real one is stored.
    if (command.clientOrderId !== '') {
      pool.clientOrderId[slot] = command.clientOrderId;
      const key = `${command.accountId}|${command.clientOrderId}`;
      this.clientOrders.set(
        key,
        new ClientOrderRecord(key, orderId, command.accountId, command.marketId, side, command.orderType, command.timeInForce,
          command.priceTicks, command.quantityLots, command.quoteAmountAtoms),
      );
    }
    const out = this.out!;
    const at = out.beginEventUnzeroed(EventType.OrderAccepted);
    const slots = out.slots;
    slots[at] = orderId;
    slots[at + 1] = command.accountId;
    slots[at + 2] = market.marketId;
    slots[at + 3] = side;
    slots[at + 4] = command.orderType;
    slots[at + 5] = command.timeInForce;
    slots[at + 6] = command.priceTicks;
    slots[at + 7] = command.quantityLots;
    slots[at + 8] = command.quoteAmountAtoms;
    slots[at + 9] = stpMode;
    // An empty clientOrderId is left as the column's null (read as '' by every decoder).
    if (command.clientOrderId !== '') out.setString0(command.clientOrderId);
    const holdBalance = this.accountCachedBalances[accountIndex * 2 + 2 - side]!;
    this.available[holdBalance] -= holdAtoms;
    this.held[holdBalance] += holdAtoms;
    this.touch(holdBalance);
    return slot;
  }

  /**
   * acceptOrder followed by restOrder in one pass, for an order that rests without meeting
   * any maker (a GTC limit that does not cross, or a LIMIT_MAKER): the same effects and
   * events (OrderAccepted, then BookLevelChanged; the hold balance touched), but the
   * order's record is written once with its final links and nothing is read back from it.
   */
  private acceptResting(command: Command, market: MarketState, stpMode: number, holdAtoms: number, accountIndex: number): void {
    const pool = this.pool;
    const slot = pool.allocate();
    const orderId = this.nextOrderId++;
    const side = command.side;
    const orderType = command.orderType;
    const timeInForce = command.timeInForce;
    const priceTicks = command.priceTicks;
    const quantityLots = command.quantityLots;
    const clientOrderId = command.clientOrderId;
    this.marketBalances(accountIndex, market);
    const cached = accountIndex * 2;
    const baseBalance = this.accountCachedBalances[cached]!;
    const quoteBalance = this.accountCachedBalances[cached + 1]!;
    // OrderAccepted is begun before BookLevelChanged: events take sequences in that order.
    const out = this.out!;
    const at = out.beginEventUnzeroed(EventType.OrderAccepted);
    const slots = out.slots;
    slots[at] = orderId;
    slots[at + 1] = command.accountId;
    slots[at + 2] = market.marketId;
    slots[at + 3] = side;
    slots[at + 4] = orderType;
    slots[at + 5] = timeInForce;
    slots[at + 6] = priceTicks;
    slots[at + 7] = quantityLots;
    slots[at + 8] = command.quoteAmountAtoms;
    slots[at + 9] = stpMode;
    if (clientOrderId !== '') {
      out.setString0(clientOrderId);
      pool.clientOrderId[slot] = clientOrderId;
      const key = `${command.accountId}|${clientOrderId}`;
      this.clientOrders.set(
        key,
        new ClientOrderRecord(key, orderId, command.accountId, command.marketId, side, orderType, timeInForce,
          priceTicks, quantityLots, command.quoteAmountAtoms),
      );
    }
    const holdBalance = this.accountCachedBalances[cached + 2 - side]!;
    this.available[holdBalance] -= holdAtoms;
    this.held[holdBalance] += holdAtoms;
    this.touch(holdBalance);
    // The back of its price level and of its owner's open orders (orderId order: it is the newest).
    const levels = this.levels;
    const level = market.books[side - 1]!.findOrInsert(priceTicks, levels);
    const tail = levels.tail[level]!;
    const accountTail = this.accountTail[accountIndex]!;
    const numbers = pool.numbers;
    const links = pool.links;
    const number = slot * NumberField.stride;
    numbers[number + NumberField.orderId] = orderId;
    numbers[number + NumberField.priceTicks] = priceTicks;
    numbers[number + NumberField.quantityLots] = quantityLots;
    numbers[number + NumberField.filledLots] = 0;
    numbers[number + NumberField.filledQuoteAtoms] = 0;
    numbers[number + NumberField.heldAtoms] = holdAtoms;
    numbers[number + NumberField.createdAtMs] = this.timestampMs;
    numbers[number + NumberField.updatedAtMs] = this.timestampMs;
    const link = slot * LinkField.stride;
    links[link + LinkField.accountIndex] = accountIndex;
    links[link + LinkField.marketIndex] = market.marketId;
    links[link + LinkField.level] = level;
    links[link + LinkField.previous] = tail;
    links[link + LinkField.next] = none;
    links[link + LinkField.accountPrevious] = accountTail;
    links[link + LinkField.accountNext] = none;
    links[link + LinkField.baseBalance] = baseBalance;
    links[link + LinkField.quoteBalance] = quoteBalance;
    links[link + LinkField.kind] = packKind(side, orderType, timeInForce, stpMode);
    links[link + LinkField.feesBps] = packFees(market.makerFeeBps, market.takerFeeBps);
    if (tail === none) levels.head[level] = slot;
    else links[tail * LinkField.stride + LinkField.next] = slot;
    levels.tail[level] = slot;
    levels.orderCount[level]++;
    levels.quantityLots[level] += quantityLots;
    if (accountTail === none) this.accountHead[accountIndex] = slot;
    else links[accountTail * LinkField.stride + LinkField.accountNext] = slot;
    this.accountTail[accountIndex] = slot;
    this.accountOpenOrders[accountIndex]++;
    this.slotByOrderId.set(orderId, slot);
    this.emitLevel(market, side, level, priceTicks);
  }

  /**
   * Walks the opposite side as a taker would match, without changing anything: honours
   * the price limit (`limitKey` = sign x limit price, Infinity for market orders) and STP
   * (None counts own orders, ExpireMaker skips them, ExpireTaker/ExpireBoth stop at the
   * first). With `quoteTarget` > 0 it is a MARKET SELL by quote amount. Results land in
   * walkLots and walkCostAtoms (sum of notional + taker fee over the fills).
   */
  private walkBook(
    book: BookSide, sign: number, limitKey: number, accountIndex: number, stpMode: number,
    lotsWanted: number, quoteTarget: number, takerFeeBps: number, market: MarketState,
  ): void {
    const pool = this.pool;
    const levels = this.levels;
    const quoteAtomsPerTickLot = market.quoteAtomsPerTickLot;
    let lots = 0;
    let costAtoms = 0;
    let target = quoteTarget;
    walk: for (let index = book.count - 1; index >= 0; index--) {
      const level = book.levels[index]!;
      const priceTicks = levels.priceTicks[level]!;
      if (sign * priceTicks > limitKey) break;
      // A maker stays the one met until the walk has taken all its lots (a quote-amount
      // order may take it in more than one fill).
      let makerTakenLots = 0;
      let maker = levels.head[level]!;
      while (maker !== none) {
        if (stpMode !== StpMode.None && pool.links[maker * LinkField.stride + LinkField.accountIndex] === accountIndex) {
          if (stpMode !== StpMode.ExpireMaker) break walk;
          maker = pool.links[maker * LinkField.stride + LinkField.next]!;
          continue;
        }
        const makerRemaining = pool.numbers[maker * NumberField.stride + NumberField.quantityLots]! - pool.numbers[maker * NumberField.stride + NumberField.filledLots]! - makerTakenLots;
        let fillLots: number;
        if (quoteTarget > 0) {
          const tickLotAtoms = priceTicks * quoteAtomsPerTickLot;
          fillLots = Math.min(makerRemaining, Math.floor(target / tickLotAtoms), lotsWanted - lots);
          if (fillLots <= 0) break walk;
          target -= fillLots * tickLotAtoms;
        } else {
          fillLots = makerRemaining < lotsWanted - lots ? makerRemaining : lotsWanted - lots;
          const notionalAtoms = priceTicks * fillLots * quoteAtomsPerTickLot;
          costAtoms += takerFeeBps === 0 ? notionalAtoms : notionalAtoms + feeAtoms(notionalAtoms, takerFeeBps);
        }
        lots += fillLots;
        if (lots === lotsWanted || (quoteTarget > 0 && target === 0)) break walk;
        if (fillLots === makerRemaining) {
          maker = pool.links[maker * LinkField.stride + LinkField.next]!;
          makerTakenLots = 0;
        } else {
          makerTakenLots += fillLots;
        }
      }
    }
    this.walkLots = lots;
    this.walkCostAtoms = costAtoms;
  }

  /**
   * Matches the taker in `slot` against the opposite side, best first. Returns true when
   * self-trade prevention stopped it. Quantity orders stop when filled; quote-amount
   * market orders stop when the next fill would be zero lots or the amount is spent.
   */
  private matchTaker(taker: number, market: MarketState, byQuote: boolean, quoteAmountAtoms: number): boolean {
    const pool = this.pool;
    const levels = this.levels;
    const takerSide = kindSide(pool.links, taker);
    const book = market.books[2 - takerSide]!;
    const sign = 3 - 2 * takerSide;
    const limitKey = kindOrderType(pool.links, taker) === OrderType.Market ? Infinity : sign * pool.numbers[taker * NumberField.stride + NumberField.priceTicks]!;
    const takerAccount = pool.links[taker * LinkField.stride + LinkField.accountIndex]!;
    const stpMode = kindStpMode(pool.links, taker);
    const quoteAtomsPerTickLot = market.quoteAtomsPerTickLot;
    const takerFeeBps = takerFeeBpsOf(pool.links, taker);
    // Lots the taker may still take, and (by quote) the quote atoms it may still spend or target.
    let remainingLots = byQuote ? market.marketMaxQuantityLots : pool.numbers[taker * NumberField.stride + NumberField.quantityLots]!;
    let quoteLeft = quoteAmountAtoms;
    while (book.count > 0) {
      const level = book.levels[book.count - 1]!;
      const priceTicks = levels.priceTicks[level]!;
      if (sign * priceTicks > limitKey) return false;
      let maker = levels.head[level]!;
      while (maker !== none) {
        const nextMaker = pool.links[maker * LinkField.stride + LinkField.next]!;
        if (stpMode !== StpMode.None && pool.links[maker * LinkField.stride + LinkField.accountIndex] === takerAccount) {
          if (stpMode === StpMode.ExpireTaker) return true;
          this.expireMaker(maker, market);
          if (stpMode === StpMode.ExpireBoth) return true;
          maker = nextMaker;
          continue;
        }
        const makerRemaining = pool.numbers[maker * NumberField.stride + NumberField.quantityLots]! - pool.numbers[maker * NumberField.stride + NumberField.filledLots]!;
        let fillLots: number;
        if (!byQuote) {
          fillLots = makerRemaining < remainingLots ? makerRemaining : remainingLots;
        } else {
          const tickLotAtoms = priceTicks * quoteAtomsPerTickLot;
          const lotsMax = makerRemaining < remainingLots ? makerRemaining : remainingLots;
          if (takerSide === Side.Buy) {
            fillLots = this.affordableLots(lotsMax, tickLotAtoms, quoteLeft, takerFeeBps);
            if (fillLots === 0) return false;
            const notionalAtoms = fillLots * tickLotAtoms;
            quoteLeft -= notionalAtoms + feeAtoms(notionalAtoms, takerFeeBps);
          } else {
            fillLots = Math.min(lotsMax, Math.floor(quoteLeft / tickLotAtoms));
            if (fillLots === 0) return false;
            quoteLeft -= fillLots * tickLotAtoms;
          }
        }
        this.fill(maker, taker, level, priceTicks, fillLots, market);
        remainingLots -= fillLots;
        if (remainingLots === 0 || (byQuote && quoteLeft === 0)) return false;
        // A maker left partly filled stays the best: meet it again rather than skip to later
        // makers. By quote, the next q there is 0 (the order stops) or, for a buy, one more lot
        // that fee rounding makes affordable (fix from the engine tests).
        if (fillLots < makerRemaining) continue;
        maker = nextMaker;
      }
    }
    return false;
  }

  /** Largest q <= lotsMax with q*c + fee(q*c) <= budget (the cost is monotone in q). */
  private affordableLots(lotsMax: number, tickLotAtoms: number, budgetAtoms: number, takerFeeBps: number): number {
    let high = Math.min(lotsMax, Math.floor(budgetAtoms / tickLotAtoms));
    if (high <= 0) return 0;
    if (buyCostAtoms(high, tickLotAtoms, takerFeeBps) <= budgetAtoms) return high;
    let low = 0;
    // Invariant: cost(low) <= budget < cost(high).
    while (high - low > 1) {
      const middle = Math.floor((low + high) / 2);
      if (buyCostAtoms(middle, tickLotAtoms, takerFeeBps) <= budgetAtoms) low = middle;
      else high = middle;
    }
    return low;
  }

  /**
   * One fill of `fillLots` at the maker's price: moves the assets, pays fees into the fee
   * account, emits TradeExecuted, OrderFilled for a finished maker and BookLevelChanged.
   * Touch order: maker base, maker quote, taker base, taker quote, fee quote.
   */
  private fill(maker: number, taker: number, level: number, priceTicks: number, fillLots: number, market: MarketState): void {
    const pool = this.pool;
    const available = this.available;
    const held = this.held;
    const quoteAtomsPerTickLot = market.quoteAtomsPerTickLot;
    const notionalAtoms = priceTicks * fillLots * quoteAtomsPerTickLot;
    // Fee-free markets (common in benchmarks and promotions) skip the fee arithmetic.
    const makerFeeBps = makerFeeBpsOf(pool.links, maker);
    const takerFeeBps = takerFeeBpsOf(pool.links, taker);
    const makerFee = makerFeeBps === 0 ? 0 : feeAtoms(notionalAtoms, makerFeeBps);
    const takerFee = takerFeeBps === 0 ? 0 : feeAtoms(notionalAtoms, takerFeeBps);
    const baseAtoms = fillLots * market.lotAtoms;
    const makerBase = pool.links[maker * LinkField.stride + LinkField.baseBalance]!;
    const makerQuote = pool.links[maker * LinkField.stride + LinkField.quoteBalance]!;
    const takerBase = pool.links[taker * LinkField.stride + LinkField.baseBalance]!;
    const takerQuote = pool.links[taker * LinkField.stride + LinkField.quoteBalance]!;
    const makerFilled = pool.numbers[maker * NumberField.stride + NumberField.filledLots]! + fillLots;
    const takerFilled = pool.numbers[taker * NumberField.stride + NumberField.filledLots]! + fillLots;
    pool.numbers[maker * NumberField.stride + NumberField.filledLots] = makerFilled;
    pool.numbers[taker * NumberField.stride + NumberField.filledLots] = takerFilled;
    pool.numbers[maker * NumberField.stride + NumberField.filledQuoteAtoms] += notionalAtoms;
    pool.numbers[taker * NumberField.stride + NumberField.filledQuoteAtoms] += notionalAtoms;
    pool.numbers[maker * NumberField.stride + NumberField.updatedAtMs] = this.timestampMs;
    pool.numbers[taker * NumberField.stride + NumberField.updatedAtMs] = this.timestampMs;
    const takerSide = kindSide(pool.links, taker);
    if (takerSide === Side.Buy) {
      // The maker sells base out of its hold and receives quote less its fee.
      held[makerBase] -= baseAtoms;
      pool.numbers[maker * NumberField.stride + NumberField.heldAtoms] -= baseAtoms;
      available[makerQuote] += notionalAtoms - makerFee;
      available[takerBase] += baseAtoms;
      this.payBuy(taker, takerQuote, notionalAtoms + takerFee, market);
    } else {
      available[makerBase] += baseAtoms;
      this.payBuy(maker, makerQuote, notionalAtoms + makerFee, market);
      held[takerBase] -= baseAtoms;
      pool.numbers[taker * NumberField.stride + NumberField.heldAtoms] -= baseAtoms;
      available[takerQuote] += notionalAtoms - takerFee;
    }
    this.touch(makerBase);
    this.touch(makerQuote);
    this.touch(takerBase);
    this.touch(takerQuote);
    const feeTotal = makerFee + takerFee;
    if (feeTotal > 0) {
      let feeBalance = market.feeQuoteBalance;
      if (feeBalance === none) {
        feeBalance = this.balanceOrCreate(this.accountIndexOrCreate(feeAccountId), market.quoteAssetId);
        market.feeQuoteBalance = feeBalance;
      }
      available[feeBalance] += feeTotal;
      this.touch(feeBalance);
    }
    const out = this.out!;
    const at = out.beginEventUnzeroed(EventType.TradeExecuted);
    const slots = out.slots;
    slots[at] = this.nextTradeId++;
    slots[at + 1] = market.marketId;
    slots[at + 2] = pool.numbers[maker * NumberField.stride + NumberField.orderId]!;
    slots[at + 3] = pool.numbers[taker * NumberField.stride + NumberField.orderId]!;
    slots[at + 4] = this.accountIds[pool.links[maker * LinkField.stride + LinkField.accountIndex]!]!;
    slots[at + 5] = this.accountIds[pool.links[taker * LinkField.stride + LinkField.accountIndex]!]!;
    slots[at + 6] = priceTicks;
    slots[at + 7] = fillLots;
    slots[at + 8] = makerFee;
    slots[at + 9] = takerFee;
    slots[at + 10] = takerSide;
    this.levels.quantityLots[level] -= fillLots;
    if (makerFilled === pool.numbers[maker * NumberField.stride + NumberField.quantityLots]) this.closeFilledMaker(maker, level);
    // The maker is on the other side of the taker (its slot may be free by now).
    this.levelChanged(market, 3 - takerSide, level);
  }

  /**
   * A maker filled in full: OrderFilled, then out of its level (at its head: makers fill in
   * FIFO order) and its owner's list, any hold left returned and the slot freed. The same
   * as emitOrderEnd, unlinkResting and closeOrder, with each field loaded once.
   */
  private closeFilledMaker(maker: number, level: number): void {
    const pool = this.pool;
    const levels = this.levels;
    const numbers = pool.numbers;
    const links = pool.links;
    const number = maker * NumberField.stride;
    const link = maker * LinkField.stride;
    const account = links[link + LinkField.accountIndex]!;
    const orderId = numbers[number + NumberField.orderId]!;
    const out = this.out!;
    const at = out.beginEventUnzeroed(EventType.OrderFilled);
    const slots = out.slots;
    slots[at] = orderId;
    slots[at + 1] = this.accountIds[account]!;
    slots[at + 2] = links[link + LinkField.marketIndex]!;
    const previous = links[link + LinkField.previous]!;
    const next = links[link + LinkField.next]!;
    if (previous === none) levels.head[level] = next;
    else links[previous * LinkField.stride + LinkField.next] = next;
    if (next === none) levels.tail[level] = previous;
    else links[next * LinkField.stride + LinkField.previous] = previous;
    levels.orderCount[level]--;
    const accountPrevious = links[link + LinkField.accountPrevious]!;
    const accountNext = links[link + LinkField.accountNext]!;
    if (accountPrevious === none) this.accountHead[account] = accountNext;
    else links[accountPrevious * LinkField.stride + LinkField.accountNext] = accountNext;
    if (accountNext === none) this.accountTail[account] = accountPrevious;
    else links[accountNext * LinkField.stride + LinkField.accountPrevious] = accountPrevious;
    this.accountOpenOrders[account]--;
    this.slotByOrderId.delete(orderId);
    // A filled order's hold is normally 0 already; closeOrder returns whatever is left.
    this.closeOrder(maker);
  }

  /**
   * Pays `costAtoms` (notional + fee) for a buy order from its hold. A limit buy's hold is
   * first reset to the formula for its new remaining quantity and the difference beyond
   * the cost is released; a market buy's hold was sized for exactly what it consumes.
   */
  private payBuy(slot: number, quoteBalance: number, costAtoms: number, market: MarketState): void {
    const pool = this.pool;
    if (kindOrderType(pool.links, slot) === OrderType.Market) {
      this.held[quoteBalance] -= costAtoms;
      pool.numbers[slot * NumberField.stride + NumberField.heldAtoms] -= costAtoms;
      return;
    }
    const makerFeeBps = makerFeeBpsOf(pool.links, slot);
    const takerFeeBps = takerFeeBpsOf(pool.links, slot);
    const newHoldAtoms = buyHoldAtoms(
      pool.numbers[slot * NumberField.stride + NumberField.priceTicks]!, pool.numbers[slot * NumberField.stride + NumberField.quantityLots]! - pool.numbers[slot * NumberField.stride + NumberField.filledLots]!, market.quoteAtomsPerTickLot,
      makerFeeBps > takerFeeBps ? makerFeeBps : takerFeeBps,
    );
    const releasedAtoms = pool.numbers[slot * NumberField.stride + NumberField.heldAtoms]! - newHoldAtoms;
    pool.numbers[slot * NumberField.stride + NumberField.heldAtoms] = newHoldAtoms;
    this.held[quoteBalance] -= releasedAtoms;
    this.available[quoteBalance] += releasedAtoms - costAtoms;
  }

  /** Self-trade prevention removed a resting order: OrderExpired, its hold back, BookLevelChanged. */
  private expireMaker(maker: number, market: MarketState): void {
    const pool = this.pool;
    const level = pool.links[maker * LinkField.stride + LinkField.level]!;
    const remainingLots = pool.numbers[maker * NumberField.stride + NumberField.quantityLots]! - pool.numbers[maker * NumberField.stride + NumberField.filledLots]!;
    this.emitOrderEnd(EventType.OrderExpired, maker, remainingLots, ExpireReason.SelfTradePrevention);
    const side = kindSide(pool.links, maker);
    // docs/engine.md: an STP-expired maker touches (maker, its hold asset). (Fix from the engine tests.)
    this.touch(pool.links[maker * LinkField.stride + LinkField.baseBalance + 2 - side]!);
    this.levels.quantityLots[level] -= remainingLots;
    this.unlinkResting(maker, level);
    this.closeOrder(maker);
    this.levelChanged(market, side, level);
  }

  /** The taker's end: filled, rested (GTC limit) or expired with the reason that ended it. */
  private finishTaker(taker: number, market: MarketState, byQuote: boolean, stoppedBySelfTrade: boolean): void {
    const pool = this.pool;
    const remainingLots = byQuote ? 0 : pool.numbers[taker * NumberField.stride + NumberField.quantityLots]! - pool.numbers[taker * NumberField.stride + NumberField.filledLots]!;
    if (!byQuote && remainingLots === 0) {
      this.emitOrderEnd(EventType.OrderFilled, taker, 0, 0);
      return this.closeOrder(taker);
    }
    const orderType = kindOrderType(pool.links, taker);
    if (stoppedBySelfTrade) {
      this.emitOrderEnd(EventType.OrderExpired, taker, remainingLots, ExpireReason.SelfTradePrevention);
      return this.closeOrder(taker);
    }
    if (orderType === OrderType.Market) {
      this.emitOrderEnd(EventType.OrderExpired, taker, remainingLots, ExpireReason.NoLiquidity);
      return this.closeOrder(taker);
    }
    if (kindTimeInForce(pool.links, taker) !== TimeInForce.GTC) {
      this.emitOrderEnd(EventType.OrderExpired, taker, remainingLots, ExpireReason.ImmediateRemainder);
      return this.closeOrder(taker);
    }
    this.restOrder(taker, market);
  }

  /** Puts the order at the back of its price level and into its owner's open orders. */
  private restOrder(slot: number, market: MarketState): void {
    const pool = this.pool;
    const levels = this.levels;
    const side = kindSide(pool.links, slot);
    const priceTicks = pool.numbers[slot * NumberField.stride + NumberField.priceTicks]!;
    const level = market.books[side - 1]!.findOrInsert(priceTicks, levels);
    const tail = levels.tail[level]!;
    pool.links[slot * LinkField.stride + LinkField.level] = level;
    pool.links[slot * LinkField.stride + LinkField.previous] = tail;
    pool.links[slot * LinkField.stride + LinkField.next] = none;
    if (tail === none) levels.head[level] = slot;
    else pool.links[tail * LinkField.stride + LinkField.next] = slot;
    levels.tail[level] = slot;
    levels.orderCount[level]++;
    levels.quantityLots[level] += pool.numbers[slot * NumberField.stride + NumberField.quantityLots]! - pool.numbers[slot * NumberField.stride + NumberField.filledLots]!;
    // Orders rest in the command that accepted them, so appending keeps orderId order.
    const account = pool.links[slot * LinkField.stride + LinkField.accountIndex]!;
    const accountTail = this.accountTail[account]!;
    pool.links[slot * LinkField.stride + LinkField.accountPrevious] = accountTail;
    pool.links[slot * LinkField.stride + LinkField.accountNext] = none;
    if (accountTail === none) this.accountHead[account] = slot;
    else pool.links[accountTail * LinkField.stride + LinkField.accountNext] = slot;
    this.accountTail[account] = slot;
    this.accountOpenOrders[account]++;
    this.slotByOrderId.set(pool.numbers[slot * NumberField.stride + NumberField.orderId]!, slot);
    this.emitLevel(market, side, level, priceTicks);
  }

  /** Takes a resting order out of its level and its owner's list (level totals are the caller's). */
  private unlinkResting(slot: number, level: number): void {
    const pool = this.pool;
    const levels = this.levels;
    const previous = pool.links[slot * LinkField.stride + LinkField.previous]!;
    const next = pool.links[slot * LinkField.stride + LinkField.next]!;
    if (previous === none) levels.head[level] = next;
    else pool.links[previous * LinkField.stride + LinkField.next] = next;
    if (next === none) levels.tail[level] = previous;
    else pool.links[next * LinkField.stride + LinkField.previous] = previous;
    levels.orderCount[level]--;
    const account = pool.links[slot * LinkField.stride + LinkField.accountIndex]!;
    const accountPrevious = pool.links[slot * LinkField.stride + LinkField.accountPrevious]!;
    const accountNext = pool.links[slot * LinkField.stride + LinkField.accountNext]!;
    if (accountPrevious === none) this.accountHead[account] = accountNext;
    else pool.links[accountPrevious * LinkField.stride + LinkField.accountNext] = accountNext;
    if (accountNext === none) this.accountTail[account] = accountPrevious;
    else pool.links[accountNext * LinkField.stride + LinkField.accountPrevious] = accountPrevious;
    this.accountOpenOrders[account]--;
    this.slotByOrderId.delete(pool.numbers[slot * NumberField.stride + NumberField.orderId]!);
    pool.links[slot * LinkField.stride + LinkField.level] = none;
  }

  /** An order ended: its remaining hold returns to available and its clientOrderId enters the window. */
  private closeOrder(slot: number): void {
    const pool = this.pool;
    const holdAtoms = pool.numbers[slot * NumberField.stride + NumberField.heldAtoms]!;
    if (holdAtoms !== 0) {
      const holdBalance = pool.links[slot * LinkField.stride + LinkField.baseBalance + 2 - kindSide(pool.links, slot)]!;
      this.held[holdBalance] -= holdAtoms;
      this.available[holdBalance] += holdAtoms;
      pool.numbers[slot * NumberField.stride + NumberField.heldAtoms] = 0;
    }
    const clientOrderId = pool.clientOrderId[slot]!;
    if (clientOrderId !== '') {
      const record = this.clientOrders.get(`${this.accountIds[pool.links[slot * LinkField.stride + LinkField.accountIndex]!]}|${clientOrderId}`);
      if (record !== undefined && record.orderId === pool.numbers[slot * NumberField.stride + NumberField.orderId]) this.rememberClosed(record);
    }
    pool.release(slot);
  }

  /** Appends a closed order's record to the window, forgetting the oldest when it is full. */
  private rememberClosed(record: ClientOrderRecord): void {
    record.open = false;
    const window = this.clientWindow;
    const capacity = window.length;
    if (this.clientWindowCount === capacity) {
      const oldest = window[this.clientWindowStart]!;
      if (this.clientOrders.get(oldest.key) === oldest) this.clientOrders.delete(oldest.key);
      window[this.clientWindowStart] = null;
      this.clientWindowStart = (this.clientWindowStart + 1) % capacity;
      this.clientWindowCount--;
    }
    window[(this.clientWindowStart + this.clientWindowCount) % capacity] = record;
    this.clientWindowCount++;
  }

  // ---------------------------------------------------------------- cancel, cancel-all, amend

  /** The resting order a Cancel/Amend names, or `none` (missing, closed, other market or account). */
  private targetOrder(command: Command): number {
    let slot: number;
    if (command.orderId !== 0) {
      slot = this.slotByOrderId.get(command.orderId);
    } else {
      if (command.clientOrderId === '') return none;
      const record = this.clientOrders.get(`${command.accountId}|${command.clientOrderId}`);
      if (record === undefined || !record.open) return none;
      slot = this.slotByOrderId.get(record.orderId);
    }
    if (slot === none) return none;
    const pool = this.pool;
    if (pool.links[slot * LinkField.stride + LinkField.marketIndex] !== command.marketId || this.accountIds[pool.links[slot * LinkField.stride + LinkField.accountIndex]!] !== command.accountId) return none;
    return slot;
  }

  private cancelOrder(command: Command): void {
    if (!(Number.isSafeInteger(command.accountId) && command.accountId > 0)) return this.rejectOrder(command, Reason.VALIDATE_ACCOUNT_INVALID);
    const market = this.marketList[command.marketId];
    if (market === undefined) return this.rejectOrder(command, Reason.MARKET_UNKNOWN);
    const slot = this.targetOrder(command);
    if (slot === none) return this.rejectOrder(command, Reason.MATCH_UNKNOWN_ORDER);
    this.cancelResting(slot, market, CancelReason.User);
  }

  /**
   * OrderCanceled, hold released, BookLevelChanged: emitOrderEnd, unlinkResting and
   * closeOrder in one pass, so each field of the order is loaded once and the cancel path
   * makes no calls V8 would not inline.
   */
  private cancelResting(slot: number, market: MarketState, reason: number): void {
    const pool = this.pool;
    const levels = this.levels;
    const numbers = pool.numbers;
    const links = pool.links;
    const number = slot * NumberField.stride;
    const link = slot * LinkField.stride;
    const level = links[link + LinkField.level]!;
    const side = links[link + LinkField.kind]! & 0xff;
    const account = links[link + LinkField.accountIndex]!;
    const orderId = numbers[number + NumberField.orderId]!;
    const remainingLots = numbers[number + NumberField.quantityLots]! - numbers[number + NumberField.filledLots]!;
    const out = this.out!;
    const at = out.beginEventUnzeroed(EventType.OrderCanceled);
    const slots = out.slots;
    slots[at] = orderId;
    slots[at + 1] = this.accountIds[account]!;
    slots[at + 2] = links[link + LinkField.marketIndex]!;
    slots[at + 3] = remainingLots;
    slots[at + 4] = reason;
    const holdBalance = links[link + LinkField.baseBalance + 2 - side]!;
    this.touch(holdBalance);
    // Out of its level's FIFO list.
    const previous = links[link + LinkField.previous]!;
    const next = links[link + LinkField.next]!;
    if (previous === none) levels.head[level] = next;
    else links[previous * LinkField.stride + LinkField.next] = next;
    if (next === none) levels.tail[level] = previous;
    else links[next * LinkField.stride + LinkField.previous] = previous;
    levels.orderCount[level]--;
    levels.quantityLots[level] -= remainingLots;
    // Out of its owner's open orders.
    const accountPrevious = links[link + LinkField.accountPrevious]!;
    const accountNext = links[link + LinkField.accountNext]!;
    if (accountPrevious === none) this.accountHead[account] = accountNext;
    else links[accountPrevious * LinkField.stride + LinkField.accountNext] = accountNext;
    if (accountNext === none) this.accountTail[account] = accountPrevious;
    else links[accountNext * LinkField.stride + LinkField.accountPrevious] = accountPrevious;
    this.accountOpenOrders[account]--;
    this.slotByOrderId.delete(orderId);
    // Its hold returns to available; its clientOrderId enters the window (closeOrder).
    const holdAtoms = numbers[number + NumberField.heldAtoms]!;
    if (holdAtoms !== 0) {
      this.held[holdBalance] -= holdAtoms;
      this.available[holdBalance] += holdAtoms;
      numbers[number + NumberField.heldAtoms] = 0;
    }
    const clientOrderId = pool.clientOrderId[slot]!;
    if (clientOrderId !== '') {
      const record = this.clientOrders.get(`${this.accountIds[account]}|${clientOrderId}`);
      if (record !== undefined && record.orderId === orderId) this.rememberClosed(record);
    }
    pool.release(slot);
    this.levelChanged(market, side, level);
  }

  private cancelAllOrders(command: Command): void {
    const accountId = command.accountId;
    if (!(Number.isSafeInteger(accountId) && accountId > 0)) return this.rejectOrder(command, Reason.VALIDATE_ACCOUNT_INVALID);
    const market = this.marketList[command.marketId];
    if (market === undefined) return this.rejectOrder(command, Reason.MARKET_UNKNOWN);
    const accountIndex = this.findAccount(accountId);
    const pool = this.pool;
    let count = 0;
    if (accountIndex !== none) {
      // The account list is in orderId order; the next link is read before the slot is freed.
      let slot = this.accountHead[accountIndex]!;
      while (slot !== none) {
        const next = pool.links[slot * LinkField.stride + LinkField.accountNext]!;
        if (pool.links[slot * LinkField.stride + LinkField.marketIndex] === market.marketId) {
          this.cancelResting(slot, market, CancelReason.CancelAll);
          count++;
        }
        slot = next;
      }
    }
    if (count === 0) return this.rejectOrder(command, Reason.MATCH_NO_OPEN_ORDERS);
    const out = this.out!;
    const at = out.beginEvent(EventType.OrdersCanceledAll);
    const slots = out.slots;
    slots[at] = accountId;
    slots[at + 1] = market.marketId;
    slots[at + 2] = count;
  }

  private amendOrder(command: Command): void {
    if (!(Number.isSafeInteger(command.accountId) && command.accountId > 0)) return this.rejectOrder(command, Reason.VALIDATE_ACCOUNT_INVALID);
    const market = this.marketList[command.marketId];
    if (market === undefined) return this.rejectOrder(command, Reason.MARKET_UNKNOWN);
    const slot = this.targetOrder(command);
    if (slot === none) return this.rejectOrder(command, Reason.MATCH_UNKNOWN_ORDER);
    const pool = this.pool;
    const newQuantityLots = command.quantityLots;
    const oldQuantityLots = pool.numbers[slot * NumberField.stride + NumberField.quantityLots]!;
    const filledLots = pool.numbers[slot * NumberField.stride + NumberField.filledLots]!;
    if (!Number.isInteger(newQuantityLots) || !(newQuantityLots > filledLots && newQuantityLots < oldQuantityLots)) {
      return this.rejectOrder(command, Reason.MATCH_AMEND_QUANTITY_INVALID);
    }
    const side = kindSide(pool.links, slot);
    const level = pool.links[slot * LinkField.stride + LinkField.level]!;
    const remainingLots = newQuantityLots - filledLots;
    let holdBalance: number;
    let newHoldAtoms: number;
    if (side === Side.Buy) {
      holdBalance = pool.links[slot * LinkField.stride + LinkField.quoteBalance]!;
      const makerFeeBps = makerFeeBpsOf(pool.links, slot);
      const takerFeeBps = takerFeeBpsOf(pool.links, slot);
      newHoldAtoms = buyHoldAtoms(pool.numbers[slot * NumberField.stride + NumberField.priceTicks]!, remainingLots, market.quoteAtomsPerTickLot, makerFeeBps > takerFeeBps ? makerFeeBps : takerFeeBps);
    } else {
      holdBalance = pool.links[slot * LinkField.stride + LinkField.baseBalance]!;
      newHoldAtoms = remainingLots * market.lotAtoms;
    }
    const releasedAtoms = pool.numbers[slot * NumberField.stride + NumberField.heldAtoms]! - newHoldAtoms;
    pool.numbers[slot * NumberField.stride + NumberField.heldAtoms] = newHoldAtoms;
    this.held[holdBalance] -= releasedAtoms;
    this.available[holdBalance] += releasedAtoms;
    pool.numbers[slot * NumberField.stride + NumberField.quantityLots] = newQuantityLots;
    pool.numbers[slot * NumberField.stride + NumberField.updatedAtMs] = this.timestampMs;
    this.levels.quantityLots[level] -= oldQuantityLots - newQuantityLots;
    const out = this.out!;
    const at = out.beginEvent(EventType.OrderAmended);
    const slots = out.slots;
    slots[at] = pool.numbers[slot * NumberField.stride + NumberField.orderId]!;
    slots[at + 1] = command.accountId;
    slots[at + 2] = market.marketId;
    slots[at + 3] = newQuantityLots;
    slots[at + 4] = remainingLots;
    this.emitLevel(market, side, level, pool.numbers[slot * NumberField.stride + NumberField.priceTicks]!);
    this.touch(holdBalance);
  }

  // ---------------------------------------------------------------- transfers

  private isValidTransferId(transferId: unknown): boolean {
    return typeof transferId === 'string' && transferId.length >= 1 && transferId.length <= transferIdLengthMax && transferIdPattern.test(transferId);
  }

  /**
   * Deposit and WithdrawRequest share their checks: transferId format, account, then a
   * known transferId (duplicate or conflict), then asset and amount.
   * Returns the asset id, or 0 after emitting a rejection or duplicate.
   */
  private checkTransferRequest(command: Command, minAccountId: number): number {
    if (!this.isValidTransferId(command.transferId)) {
      this.rejectCommand(command, Reason.VALIDATE_ID_INVALID);
      return 0;
    }
    if (!(Number.isSafeInteger(command.accountId) && command.accountId >= minAccountId)) {
      this.rejectCommand(command, Reason.VALIDATE_ACCOUNT_INVALID);
      return 0;
    }
    const known = this.transfers.get(command.transferId);
    if (known !== undefined) {
      if (known.kind === command.type && known.accountId === command.accountId && known.asset === command.asset && known.amountAtoms === command.amountAtoms) {
        this.emitCommandDuplicate(command);
      } else {
        this.rejectCommand(command, Reason.TRANSFER_ID_CONFLICT);
      }
      return 0;
    }
    const assetId = this.assetIdByCode.get(command.asset);
    if (assetId === undefined) {
      this.rejectCommand(command, Reason.MARKET_ASSET_UNKNOWN);
      return 0;
    }
    if (!isPositiveSafeInteger(command.amountAtoms)) {
      this.rejectCommand(command, Reason.VALIDATE_AMOUNT_INVALID);
      return 0;
    }
    return assetId;
  }

  private emitCommandDuplicate(command: Command): void {
    const out = this.out!;
    const at = out.beginEvent(EventType.CommandDuplicate);
    const slots = out.slots;
    slots[at] = command.type;
    slots[at + 1] = command.accountId;
    out.setString0(command.transferId);
  }

  private emitTransfer(type: EventType, record: TransferRecord, transferId: string): void {
    const out = this.out!;
    const at = out.beginEvent(type);
    const slots = out.slots;
    slots[at] = record.accountId;
    slots[at + 1] = record.assetId;
    slots[at + 2] = record.amountAtoms;
    out.setString0(transferId);
  }

  private deposit(command: Command): void {
    const assetId = this.checkTransferRequest(command, 1);
    if (assetId === 0) return;
    const amountAtoms = command.amountAtoms;
    if (this.assetSupplies[assetId]! + amountAtoms > Number.MAX_SAFE_INTEGER) return this.rejectCommand(command, Reason.RISK_BALANCE_OVERFLOW);
    const record = new TransferRecord(CommandType.Deposit, command.accountId, command.asset, assetId, amountAtoms, TransferState.Deposited);
    this.transfers.set(command.transferId, record);
    this.assetSupplies[assetId] += amountAtoms;
    const balance = this.balanceOrCreate(this.accountIndexOrCreate(command.accountId), assetId);
    this.available[balance] += amountAtoms;
    this.emitTransfer(EventType.Deposited, record, command.transferId);
    this.touch(balance);
  }

  private withdrawRequest(command: Command): void {
    const assetId = this.checkTransferRequest(command, 0);
    if (assetId === 0) return;
    const amountAtoms = command.amountAtoms;
    const balance = this.findBalance(this.findAccount(command.accountId), assetId);
    if (balance === none || this.available[balance]! < amountAtoms) return this.rejectCommand(command, Reason.RISK_INSUFFICIENT_FUNDS);
    const record = new TransferRecord(CommandType.WithdrawRequest, command.accountId, command.asset, assetId, amountAtoms, TransferState.Pending);
    this.transfers.set(command.transferId, record);
    this.available[balance] -= amountAtoms;
    this.held[balance] += amountAtoms;
    this.emitTransfer(EventType.WithdrawRequested, record, command.transferId);
    this.touch(balance);
  }

  /** WithdrawComplete and WithdrawCancel: only the transferId matters. */
  private withdrawEnd(command: Command): void {
    const transferId = command.transferId;
    if (!this.isValidTransferId(transferId)) return this.rejectCommand(command, Reason.VALIDATE_ID_INVALID);
    const record = this.transfers.get(transferId);
    if (record === undefined) return this.rejectCommand(command, Reason.TRANSFER_UNKNOWN);
    const completing = command.type === CommandType.WithdrawComplete;
    const endState = completing ? TransferState.Completed : TransferState.Canceled;
    if (record.state === endState) return this.emitCommandDuplicate(command);
    if (record.state !== TransferState.Pending) return this.rejectCommand(command, Reason.TRANSFER_NOT_PENDING);
    record.state = endState;
    const balance = this.balanceOrCreate(this.accountIndexOrCreate(record.accountId), record.assetId);
    this.held[balance] -= record.amountAtoms;
    if (completing) this.assetSupplies[record.assetId] -= record.amountAtoms;
    else this.available[balance] += record.amountAtoms;
    this.emitTransfer(completing ? EventType.WithdrawCompleted : EventType.WithdrawCanceled, record, transferId);
    this.touch(balance);
  }

  // ---------------------------------------------------------------- assets, markets, fees, STP

  private addAsset(command: Command): void {
    const spec = command.assetSpec;
    if (
      spec === null || typeof spec.code !== 'string' || !assetCodePattern.test(spec.code) ||
      !Number.isInteger(spec.scale) || spec.scale < 0 || spec.scale > assetScaleMax
    ) {
      return this.rejectCommand(command, Reason.MARKET_SPEC_INVALID);
    }
    if (this.assetIdByCode.has(spec.code)) return this.rejectCommand(command, Reason.MARKET_ASSET_EXISTS);
    if (this.assetCodes.length - 1 >= this.engineLimits.assetsMax) return this.rejectCommand(command, Reason.MARKET_LIMIT_REACHED);
    const assetId = this.assetCodes.length;
    this.assetCodes.push(spec.code);
    this.assetScales.push(spec.scale);
    this.assetSupplies.push(0);
    this.assetIdByCode.set(spec.code, assetId);
    const out = this.out!;
    const at = out.beginEvent(EventType.AssetAdded);
    const slots = out.slots;
    slots[at] = assetId;
    slots[at + 1] = spec.scale;
    out.setString0(spec.code);
  }

  private addMarket(command: Command): void {
    const given = command.market;
    if (given === null || typeof given !== 'object' || typeof given.symbol !== 'string' || !symbolPattern.test(given.symbol)) {
      return this.rejectCommand(command, Reason.MARKET_SPEC_INVALID);
    }
    const spec = canonicalSpec(given);
    const baseAssetId = this.assetIdByCode.get(spec.baseAsset);
    const quoteAssetId = this.assetIdByCode.get(spec.quoteAsset);
    if (baseAssetId === undefined || quoteAssetId === undefined) return this.rejectCommand(command, Reason.MARKET_ASSET_UNKNOWN);
    if (baseAssetId === quoteAssetId || !isValidMarketSpec(spec)) return this.rejectCommand(command, Reason.MARKET_SPEC_INVALID);
    if (this.marketIdBySymbol.has(spec.symbol)) return this.rejectCommand(command, Reason.MARKET_EXISTS);
    if (this.marketList.length - 1 >= this.engineLimits.marketsMax) return this.rejectCommand(command, Reason.MARKET_LIMIT_REACHED);
    const marketId = this.marketList.length;
    this.marketList.push(new MarketState(marketId, spec, baseAssetId, quoteAssetId));
    this.marketIdBySymbol.set(spec.symbol, marketId);
    const out = this.out!;
    const at = out.beginEvent(EventType.MarketAdded);
    const slots = out.slots;
    slots[at] = marketId;
    slots[at + 1] = baseAssetId;
    slots[at + 2] = quoteAssetId;
    out.setString0(spec.symbol);
    out.setString1(JSON.stringify(spec));
  }

  private haltOrResume(command: Command): void {
    const market = this.marketList[command.marketId];
    if (market === undefined) return this.rejectCommand(command, Reason.MARKET_UNKNOWN);
    const halting = command.type === CommandType.HaltMarket;
    market.status = halting ? MarketStatus.Halted : MarketStatus.Trading;
    const out = this.out!;
    const at = out.beginEvent(halting ? EventType.MarketHalted : EventType.MarketResumed);
    const slots = out.slots;
    slots[at] = market.marketId;
  }

  private setFees(command: Command): void {
    const market = this.marketList[command.marketId];
    if (market === undefined) return this.rejectCommand(command, Reason.MARKET_UNKNOWN);
    if (!isFeeBps(command.makerFeeBps) || !isFeeBps(command.takerFeeBps)) return this.rejectCommand(command, Reason.MARKET_SPEC_INVALID);
    market.makerFeeBps = command.makerFeeBps;
    market.takerFeeBps = command.takerFeeBps;
    market.spec.makerFeeBps = command.makerFeeBps;
    market.spec.takerFeeBps = command.takerFeeBps;
    const out = this.out!;
    const at = out.beginEvent(EventType.FeesSet);
    const slots = out.slots;
    slots[at] = market.marketId;
    slots[at + 1] = command.makerFeeBps;
    slots[at + 2] = command.takerFeeBps;
  }

  private setAccountStp(command: Command): void {
    if (!(Number.isSafeInteger(command.accountId) && command.accountId > 0)) return this.rejectCommand(command, Reason.VALIDATE_ACCOUNT_INVALID);
    const mode = command.stpMode;
    if (mode !== StpMode.None && mode !== StpMode.ExpireTaker && mode !== StpMode.ExpireMaker && mode !== StpMode.ExpireBoth) {
      return this.rejectCommand(command, Reason.VALIDATE_ENUM_INVALID);
    }
    this.accountStp[this.accountIndexOrCreate(command.accountId)] = mode;
    const out = this.out!;
    const at = out.beginEvent(EventType.AccountStpSet);
    const slots = out.slots;
    slots[at] = command.accountId;
    slots[at + 1] = mode;
  }

  // ---------------------------------------------------------------- read access

  limits(): EngineLimits {
    return { ...this.engineLimits };
  }

  counters(): EngineCounters {
    return {
      lastCommandSequence: this.lastCommandSequence,
      lastEventSequence: this.lastEventSequence,
      nextOrderId: this.nextOrderId,
      nextTradeId: this.nextTradeId,
    };
  }

  assets(): AssetView[] {
    const views: AssetView[] = [];
    for (let assetId = 1; assetId < this.assetCodes.length; assetId++) {
      views.push({ assetId, code: this.assetCodes[assetId]!, scale: this.assetScales[assetId]!, supplyAtoms: this.assetSupplies[assetId]! });
    }
    return views;
  }

  private marketView(market: MarketState): MarketView {
    return {
      marketId: market.marketId,
      spec: { ...market.spec },
      baseAssetId: market.baseAssetId,
      quoteAssetId: market.quoteAssetId,
      status: market.status as MarketStatus,
      updateId: market.updateId,
    };
  }

  markets(): MarketView[] {
    const views: MarketView[] = [];
    for (const market of this.marketList) if (market !== undefined) views.push(this.marketView(market));
    return views;
  }

  balances(): BalanceView[] {
    const views: BalanceView[] = [];
    for (let slot = 0; slot < this.balanceCount; slot++) {
      views.push({
        accountId: this.accountIds[this.balanceAccount[slot]!]!,
        assetId: this.balanceAsset[slot]!,
        availableAtoms: this.available[slot]!,
        heldAtoms: this.held[slot]!,
      });
    }
    return views;
  }

  private orderView(slot: number): OrderView {
    const pool = this.pool;
    return {
      orderId: pool.numbers[slot * NumberField.stride + NumberField.orderId]!,
      accountId: this.accountIds[pool.links[slot * LinkField.stride + LinkField.accountIndex]!]!,
      marketId: pool.links[slot * LinkField.stride + LinkField.marketIndex]!,
      side: kindSide(pool.links, slot) as Side,
      orderType: kindOrderType(pool.links, slot) as OrderType,
      timeInForce: kindTimeInForce(pool.links, slot) as TimeInForce,
      priceTicks: pool.numbers[slot * NumberField.stride + NumberField.priceTicks]!,
      quantityLots: pool.numbers[slot * NumberField.stride + NumberField.quantityLots]!,
      filledLots: pool.numbers[slot * NumberField.stride + NumberField.filledLots]!,
      filledQuoteAtoms: pool.numbers[slot * NumberField.stride + NumberField.filledQuoteAtoms]!,
      heldAtoms: pool.numbers[slot * NumberField.stride + NumberField.heldAtoms]!,
      stpMode: kindStpMode(pool.links, slot) as StpMode,
      clientOrderId: pool.clientOrderId[slot]!,
      createdAtMs: pool.numbers[slot * NumberField.stride + NumberField.createdAtMs]!,
      updatedAtMs: pool.numbers[slot * NumberField.stride + NumberField.updatedAtMs]!,
    };
  }

  /** Pool slots of one side's resting orders in priority order. */
  private bookSlots(market: MarketState, side: number): number[] {
    const book = side === Side.Buy ? market.bids : market.asks;
    const slots: number[] = [];
    for (let index = book.count - 1; index >= 0; index--) {
      for (let slot = this.levels.head[book.levels[index]!]!; slot !== none; slot = this.pool.links[slot * LinkField.stride + LinkField.next]!) slots.push(slot);
    }
    return slots;
  }

  bookOrders(marketId: number, side: Side): OrderView[] {
    const market = this.marketList[marketId];
    if (market === undefined) return [];
    return this.bookSlots(market, side).map((slot) => this.orderView(slot));
  }

  stpDefault(accountId: number): StpMode {
    const index = this.findAccount(accountId);
    const mode = index === none ? 0 : this.accountStp[index]!;
    return (mode === 0 ? StpMode.None : mode) as StpMode;
  }

  depth(marketId: number, levelsMax: number): DepthView {
    const market = this.marketList[marketId];
    const view: DepthView = { marketId, updateId: market === undefined ? 0 : market.updateId, bids: [], asks: [] };
    if (market === undefined) return view;
    const wanted = Math.max(0, Math.min(Math.floor(levelsMax), this.engineLimits.depthLevelsMax));
    const levels = this.levels;
    for (const [book, rows] of [[market.bids, view.bids], [market.asks, view.asks]] as const) {
      const last = Math.max(0, book.count - wanted);
      for (let index = book.count - 1; index >= last; index--) {
        const level = book.levels[index]!;
        rows.push([levels.priceTicks[level]!, levels.quantityLots[level]!]);
      }
    }
    return view;
  }

  order(orderId: number): OrderView | null {
    const slot = this.slotByOrderId.get(orderId);
    return slot === none ? null : this.orderView(slot);
  }

  openOrders(accountId: number, marketId: number): OrderView[] {
    const index = this.findAccount(accountId);
    const views: OrderView[] = [];
    if (index === none) return views;
    for (let slot = this.accountHead[index]!; slot !== none; slot = this.pool.links[slot * LinkField.stride + LinkField.accountNext]!) {
      if (this.pool.links[slot * LinkField.stride + LinkField.marketIndex] === marketId) views.push(this.orderView(slot));
    }
    return views;
  }

  balance(accountId: number, assetId: number): BalanceView {
    const slot = this.findBalance(this.findAccount(accountId), assetId);
    return {
      accountId,
      assetId,
      availableAtoms: slot === none ? 0 : this.available[slot]!,
      heldAtoms: slot === none ? 0 : this.held[slot]!,
    };
  }

  marketIdOf(symbol: string): number {
    return this.marketIdBySymbol.get(symbol) ?? 0;
  }

  assetIdOf(code: string): number {
    return this.assetIdByCode.get(code) ?? 0;
  }

  stateHash(): string {
    return canonicalStateHash(this);
  }

  /** Open orders (all markets), resting orders only: used by tests and benchmarks. */
  openOrderCount(): number {
    return this.slotByOrderId.size;
  }

  // ---------------------------------------------------------------- snapshot and restore

  snapshot(): Uint8Array {
    const writer = new SnapshotWriter();
    const limits = this.engineLimits;
    for (const value of [limits.assetsMax, limits.marketsMax, limits.openOrdersPerAccountMax, limits.clientOrderIdWindow, limits.depthLevelsMax]) writer.number(value);
    for (const value of [this.lastCommandSequence, this.lastEventSequence, this.nextOrderId, this.nextTradeId]) writer.number(value);
    writer.number(this.assetCodes.length - 1);
    for (let assetId = 1; assetId < this.assetCodes.length; assetId++) {
      writer.string(this.assetCodes[assetId]!);
      writer.number(this.assetScales[assetId]!);
      writer.number(this.assetSupplies[assetId]!);
    }
    writer.number(this.marketList.length - 1);
    for (let marketId = 1; marketId < this.marketList.length; marketId++) {
      const market = this.marketList[marketId]!;
      writer.string(JSON.stringify(market.spec));
      writer.number(market.status);
      writer.number(market.updateId);
    }
    // Accounts (with their STP default), in index order so balances can refer to them.
    writer.number(this.accountCount);
    for (let index = 0; index < this.accountCount; index++) {
      writer.number(this.accountIds[index]!);
      writer.number(this.accountStp[index]!);
    }
    writer.number(this.balanceCount);
    for (let slot = 0; slot < this.balanceCount; slot++) {
      writer.number(this.balanceAccount[slot]!);
      writer.number(this.balanceAsset[slot]!);
      writer.number(this.available[slot]!);
      writer.number(this.held[slot]!);
    }
    // Open orders per market and side, in priority order.
    const pool = this.pool;
    for (let marketId = 1; marketId < this.marketList.length; marketId++) {
      for (const side of [Side.Buy, Side.Sell]) {
        const slots = this.bookSlots(this.marketList[marketId]!, side);
        writer.number(slots.length);
        for (const slot of slots) {
          // Field order must match restoreOrder().
          writer.number(pool.numbers[slot * NumberField.stride + NumberField.orderId]!);
          writer.number(this.accountIds[pool.links[slot * LinkField.stride + LinkField.accountIndex]!]!);
          writer.number(kindOrderType(pool.links, slot));
          writer.number(kindTimeInForce(pool.links, slot));
          writer.number(kindStpMode(pool.links, slot));
          writer.number(makerFeeBpsOf(pool.links, slot));
          writer.number(takerFeeBpsOf(pool.links, slot));
          writer.number(pool.numbers[slot * NumberField.stride + NumberField.priceTicks]!);
          writer.number(pool.numbers[slot * NumberField.stride + NumberField.quantityLots]!);
          writer.number(pool.numbers[slot * NumberField.stride + NumberField.filledLots]!);
          writer.number(pool.numbers[slot * NumberField.stride + NumberField.filledQuoteAtoms]!);
          writer.number(pool.numbers[slot * NumberField.stride + NumberField.heldAtoms]!);
          writer.number(pool.numbers[slot * NumberField.stride + NumberField.createdAtMs]!);
          writer.number(pool.numbers[slot * NumberField.stride + NumberField.updatedAtMs]!);
          writer.string(pool.clientOrderId[slot]!);
        }
      }
    }
    // clientOrderId records: open orders' first, then the closed window oldest first.
    const writeRecord = (record: ClientOrderRecord): void => {
      writer.string(record.key);
      for (const value of [
        record.orderId, record.accountId, record.marketId, record.side, record.orderType, record.timeInForce,
        record.priceTicks, record.quantityLots, record.quoteAmountAtoms,
      ]) {
        writer.number(value);
      }
    };
    const openRecords = [...this.clientOrders.values()].filter((record) => record.open);
    writer.number(openRecords.length);
    openRecords.forEach(writeRecord);
    writer.number(this.clientWindowCount);
    for (let offset = 0; offset < this.clientWindowCount; offset++) {
      const record = this.clientWindow[(this.clientWindowStart + offset) % this.clientWindow.length]!;
      writer.number(this.clientOrders.get(record.key) === record ? 1 : 0);
      writeRecord(record);
    }
    writer.number(this.transfers.size);
    for (const [transferId, record] of this.transfers) {
      writer.string(transferId);
      writer.number(record.kind);
      writer.number(record.accountId);
      writer.string(record.asset);
      writer.number(record.assetId);
      writer.number(record.amountAtoms);
      writer.number(record.state);
    }
    return writer.finish();
  }

  /** Replaces this engine's whole state with the snapshot's. Throws SnapshotError on a corrupt snapshot. */
  restore(bytes: Uint8Array): void {
    const reader = new SnapshotReader(bytes);
    const limits: EngineLimits = {
      assetsMax: reader.integer('assetsMax', 1),
      marketsMax: reader.integer('marketsMax', 1),
      openOrdersPerAccountMax: reader.integer('openOrdersPerAccountMax', 1),
      clientOrderIdWindow: reader.integer('clientOrderIdWindow', 1),
      depthLevelsMax: reader.integer('depthLevelsMax', 1),
    };
    const fresh = new Engine(limits);
    fresh.lastCommandSequence = reader.integer('lastCommandSequence');
    fresh.lastEventSequence = reader.integer('lastEventSequence');
    fresh.nextOrderId = reader.integer('nextOrderId', 1);
    fresh.nextTradeId = reader.integer('nextTradeId', 1);
    const assetCount = reader.integer('asset count', 0, limits.assetsMax);
    for (let index = 0; index < assetCount; index++) {
      const code = reader.string();
      fresh.assetCodes.push(code);
      fresh.assetScales.push(reader.integer('asset scale', 0, assetScaleMax));
      fresh.assetSupplies.push(reader.integer('asset supply'));
      fresh.assetIdByCode.set(code, index + 1);
    }
    const marketCount = reader.integer('market count', 0, limits.marketsMax);
    for (let index = 0; index < marketCount; index++) {
      let spec: MarketSpec;
      try {
        spec = JSON.parse(reader.string()) as MarketSpec;
      } catch {
        throw new SnapshotError('snapshot corrupt: market spec is not JSON');
      }
      const baseAssetId = fresh.assetIdByCode.get(spec.baseAsset);
      const quoteAssetId = fresh.assetIdByCode.get(spec.quoteAsset);
      if (baseAssetId === undefined || quoteAssetId === undefined || !isValidMarketSpec(spec)) throw new SnapshotError('snapshot corrupt: invalid market spec');
      const market = new MarketState(index + 1, spec, baseAssetId, quoteAssetId);
      market.status = reader.integer('market status', MarketStatus.Trading, MarketStatus.Halted);
      market.updateId = reader.integer('market updateId');
      fresh.marketList.push(market);
      fresh.marketIdBySymbol.set(spec.symbol, index + 1);
    }
    const accountCount = reader.integer('account count');
    for (let index = 0; index < accountCount; index++) {
      const accountIndex = fresh.accountIndexOrCreate(reader.integer('accountId'));
      fresh.accountStp[accountIndex] = reader.integer('account STP', 0, StpMode.ExpireBoth);
    }
    const balanceCount = reader.integer('balance count');
    for (let index = 0; index < balanceCount; index++) {
      const slot = fresh.balanceOrCreate(reader.integer('balance account', 0, accountCount - 1), reader.integer('balance asset', 1, assetCount));
      fresh.available[slot] = reader.integer('available');
      fresh.held[slot] = reader.integer('held');
    }
    const restingSlots: number[] = [];
    for (let marketId = 1; marketId <= marketCount; marketId++) {
      const market = fresh.marketList[marketId]!;
      for (const side of [Side.Buy, Side.Sell]) {
        const count = reader.integer('order count');
        const sideSlots: number[] = [];
        for (let index = 0; index < count; index++) sideSlots.push(fresh.restoreOrder(reader, market, side));
        for (let index = count - 1; index >= 0; index--) fresh.linkRestored(sideSlots[index]!, market, side);
        for (const slot of sideSlots) restingSlots.push(slot);
      }
    }
    // Owner lists are in orderId order, which differs from priority order: rebuild them sorted.
    const pool = fresh.pool;
    restingSlots.sort((a, b) => pool.numbers[a * NumberField.stride + NumberField.orderId]! - pool.numbers[b * NumberField.stride + NumberField.orderId]!);
    for (const slot of restingSlots) {
      const account = pool.links[slot * LinkField.stride + LinkField.accountIndex]!;
      const tail = fresh.accountTail[account]!;
      pool.links[slot * LinkField.stride + LinkField.accountPrevious] = tail;
      if (tail === none) fresh.accountHead[account] = slot;
      else pool.links[tail * LinkField.stride + LinkField.accountNext] = slot;
      fresh.accountTail[account] = slot;
      fresh.accountOpenOrders[account]++;
    }
    const readRecord = (): ClientOrderRecord =>
      new ClientOrderRecord(
        reader.string(), reader.integer('record orderId'), reader.integer('record accountId'), reader.number(), reader.number(),
        reader.number(), reader.number(), reader.number(), reader.number(), reader.number(),
      );
    const openCount = reader.integer('open record count');
    for (let index = 0; index < openCount; index++) {
      const record = readRecord();
      fresh.clientOrders.set(record.key, record);
    }
    const windowCount = reader.integer('window count', 0, limits.clientOrderIdWindow);
    for (let index = 0; index < windowCount; index++) {
      const current = reader.integer('window flag', 0, 1) === 1;
      const record = readRecord();
      record.open = false;
      fresh.clientWindow[index] = record;
      if (current) fresh.clientOrders.set(record.key, record);
    }
    fresh.clientWindowCount = windowCount;
    const transferCount = reader.integer('transfer count');
    for (let index = 0; index < transferCount; index++) {
      const transferId = reader.string();
      const record = new TransferRecord(
        reader.integer('transfer kind'), reader.integer('transfer account'), reader.string(), reader.integer('transfer asset'),
        reader.integer('transfer amount'), reader.integer('transfer state', TransferState.Deposited, TransferState.Canceled),
      );
      fresh.transfers.set(transferId, record);
    }
    reader.done();
    Object.assign(this, fresh);
  }

  /**
   * Puts a restored order at the front of its level. Callers go from the worst order to
   * the best, so FIFO order is kept and every new level lands at the ladder's best end
   * (no shifting, however many levels the book has).
   */
  private linkRestored(slot: number, market: MarketState, side: number): void {
    const pool = this.pool;
    const levels = this.levels;
    const level = (side === Side.Buy ? market.bids : market.asks).findOrInsert(pool.numbers[slot * NumberField.stride + NumberField.priceTicks]!, levels);
    const head = levels.head[level]!;
    pool.links[slot * LinkField.stride + LinkField.level] = level;
    pool.links[slot * LinkField.stride + LinkField.previous] = none;
    pool.links[slot * LinkField.stride + LinkField.next] = head;
    if (head === none) levels.tail[level] = slot;
    else pool.links[head * LinkField.stride + LinkField.previous] = slot;
    levels.head[level] = slot;
    levels.orderCount[level]++;
    levels.quantityLots[level] += pool.numbers[slot * NumberField.stride + NumberField.quantityLots]! - pool.numbers[slot * NumberField.stride + NumberField.filledLots]!;
  }

  /** Rebuilds one resting order's fields from a snapshot (linkRestored puts it in the book). */
  private restoreOrder(reader: SnapshotReader, market: MarketState, side: number): number {
    const pool = this.pool;
    const slot = pool.allocate();
    const orderId = reader.integer('orderId', 1);
    const accountIndex = this.findAccount(reader.integer('order accountId', 1));
    if (accountIndex === none) throw new SnapshotError('snapshot corrupt: order of an unknown account');
    pool.numbers[slot * NumberField.stride + NumberField.orderId] = orderId;
    pool.links[slot * LinkField.stride + LinkField.accountIndex] = accountIndex;
    pool.links[slot * LinkField.stride + LinkField.marketIndex] = market.marketId;
    const orderType = reader.integer('orderType', OrderType.Limit, OrderType.LimitMaker);
    const timeInForce = reader.integer('timeInForce', 0, TimeInForce.FOK);
    const stpMode = reader.integer('stpMode', StpMode.None, StpMode.ExpireBoth);
    pool.links[slot * LinkField.stride + LinkField.kind] = packKind(side, orderType, timeInForce, stpMode);
    const makerFeeBps = reader.integer('makerFeeBps', 0, feeBpsMax);
    pool.links[slot * LinkField.stride + LinkField.feesBps] = packFees(makerFeeBps, reader.integer('takerFeeBps', 0, feeBpsMax));
    pool.numbers[slot * NumberField.stride + NumberField.priceTicks] = reader.integer('priceTicks', 1);
    pool.numbers[slot * NumberField.stride + NumberField.quantityLots] = reader.integer('quantityLots', 1);
    pool.numbers[slot * NumberField.stride + NumberField.filledLots] = reader.integer('filledLots');
    pool.numbers[slot * NumberField.stride + NumberField.filledQuoteAtoms] = reader.integer('filledQuoteAtoms');
    pool.numbers[slot * NumberField.stride + NumberField.heldAtoms] = reader.integer('heldAtoms');
    pool.numbers[slot * NumberField.stride + NumberField.createdAtMs] = reader.number();
    pool.numbers[slot * NumberField.stride + NumberField.updatedAtMs] = reader.number();
    pool.clientOrderId[slot] = reader.string();
    if (pool.numbers[slot * NumberField.stride + NumberField.filledLots]! >= pool.numbers[slot * NumberField.stride + NumberField.quantityLots]!) throw new SnapshotError('snapshot corrupt: resting order already filled');
    pool.links[slot * LinkField.stride + LinkField.baseBalance] = this.balanceOrCreate(accountIndex, market.baseAssetId);
    pool.links[slot * LinkField.stride + LinkField.quoteBalance] = this.balanceOrCreate(accountIndex, market.quoteAssetId);
    pool.links[slot * LinkField.stride + LinkField.accountPrevious] = none;
    pool.links[slot * LinkField.stride + LinkField.accountNext] = none;
    if (this.slotByOrderId.get(orderId) !== none) throw new SnapshotError(`snapshot corrupt: order ${orderId} appears twice`);
    this.slotByOrderId.set(orderId, slot);
    return slot;
  }
}
