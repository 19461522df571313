// The engine's records and checks that live off the hot path's code: per-market state,
// transfer and clientOrderId records, table growth helpers, and the validation of market
// specs and engine limits. Split from engine.ts (which keeps the command paths) so each file
// stays within the tidy check's length limit; engine.ts is their only user.

import * as codes from '../domain/codes.ts';
import { feeBpsMax, type MarketSpec } from '../domain/market.ts';
import { BookSide, none } from './book.ts';
import type { EngineLimits } from './types.ts';

/** The largest assetsMax the balance key layout supports. */
const assetsMaxCeiling = 65535;

/** Transfer states, recorded per transferId for idempotency. */
export const TransferState = { Deposited: 1, Pending: 2, Completed: 3, Canceled: 4 } as const;

/** What a transferId was used for, so a retry can be recognised (or refused). */
export class TransferRecord {
  constructor(
    readonly kind: number,
    readonly accountId: number,
    readonly asset: string,
    readonly assetId: number,
    readonly amountAtoms: number,
    public state: number,
  ) {}
}

/** A clientOrderId's original PlaceOrder parameters, kept while the order is open and in the window after. */
export class ClientOrderRecord {
  open = true;
  constructor(
    readonly key: string,
    readonly orderId: number,
    readonly accountId: number,
    readonly marketId: number,
    readonly side: number,
    readonly orderType: number,
    readonly timeInForce: number,
    readonly priceTicks: number,
    readonly quantityLots: number,
    readonly quoteAmountAtoms: number,
  ) {}
}

/** One market: its spec as plain numbers for the hot path, and its two book sides. */
export class MarketState {
  status: number = codes.MarketStatus.Trading;
  updateId = 0;
  /** The fee account's quote balance slot, resolved on the first fee. */
  feeQuoteBalance = none;
  readonly bids = new BookSide(1);
  readonly asks = new BookSide(-1);
  /**
   * The two book sides indexed by side - 1 (Side.Buy = 1: bids, Side.Sell = 2: asks), so the
   * hot paths pick a side's book, or the opposite one (index 2 - side), by arithmetic on the
   * side instead of a branch that the order flow makes unpredictable.
   */
  readonly books: readonly BookSide[] = [this.bids, this.asks];
  readonly lotAtoms: number;
  readonly quoteAtomsPerTickLot: number;
  readonly maxPriceTicks: number;
  readonly minQuantityLots: number;
  readonly maxQuantityLots: number;
  readonly marketMaxQuantityLots: number;
  readonly minNotionalAtoms: number;
  makerFeeBps: number;
  takerFeeBps: number;

  constructor(
    readonly marketId: number,
    readonly spec: MarketSpec,
    readonly baseAssetId: number,
    readonly quoteAssetId: number,
  ) {
    this.lotAtoms = spec.lotAtoms;
    this.quoteAtomsPerTickLot = spec.quoteAtomsPerTickLot;
    this.maxPriceTicks = spec.maxPriceTicks;
    this.minQuantityLots = spec.minQuantityLots;
    this.maxQuantityLots = spec.maxQuantityLots;
    this.marketMaxQuantityLots = spec.marketMaxQuantityLots;
    this.minNotionalAtoms = spec.minNotionalAtoms;
    this.makerFeeBps = spec.makerFeeBps;
    this.takerFeeBps = spec.takerFeeBps;
  }
}

export function growFloat64(array: Float64Array, capacity: number): Float64Array<ArrayBuffer> {
  const grown = new Float64Array(capacity);
  grown.set(array);
  return grown;
}

export function growInt32(array: Int32Array, capacity: number, fillValue: number): Int32Array<ArrayBuffer> {
  const grown = new Int32Array(capacity);
  if (fillValue !== 0) grown.fill(fillValue, array.length);
  grown.set(array);
  return grown;
}

export function growUint8(array: Uint8Array, capacity: number): Uint8Array<ArrayBuffer> {
  const grown = new Uint8Array(capacity);
  grown.set(array);
  return grown;
}

export function isPositiveSafeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

export function isFeeBps(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= feeBpsMax;
}

/** A copy of the spec with keys in MarketSpec declaration order (the MarketAdded JSON). */
export function canonicalSpec(spec: MarketSpec): MarketSpec {
  return {
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
}

export function isValidMarketSpec(spec: MarketSpec): boolean {
  const numbers = [
    spec.lotAtoms, spec.quoteAtomsPerTickLot, spec.maxPriceTicks, spec.minQuantityLots,
    spec.maxQuantityLots, spec.marketMaxQuantityLots, spec.minNotionalAtoms,
  ];
  if (!numbers.every(isPositiveSafeInteger)) return false;
  if (!isFeeBps(spec.makerFeeBps) || !isFeeBps(spec.takerFeeBps)) return false;
  if (spec.minQuantityLots > spec.maxQuantityLots) return false;
  // Every notional and hold in the market must be an exact integer.
  const quantityMax = Math.max(spec.maxQuantityLots, spec.marketMaxQuantityLots);
  return Number.isSafeInteger(spec.maxPriceTicks * quantityMax * spec.quoteAtomsPerTickLot * 2);
}

export function validateLimits(limits: EngineLimits): EngineLimits {
  const copy: EngineLimits = {
    assetsMax: limits.assetsMax,
    marketsMax: limits.marketsMax,
    openOrdersPerAccountMax: limits.openOrdersPerAccountMax,
    clientOrderIdWindow: limits.clientOrderIdWindow,
    depthLevelsMax: limits.depthLevelsMax,
  };
  for (const [name, value] of Object.entries(copy)) {
    if (!isPositiveSafeInteger(value) || value > 0x3fffffff) throw new RangeError(`engine limit ${name} must be a positive integer below 2^30: ${value}`);
  }
  // Balance keys are accountIndex x (assetsMax + 1) + assetId: keep them far from 2^53.
  if (copy.assetsMax > assetsMaxCeiling) throw new RangeError(`engine limit assetsMax must be at most ${assetsMaxCeiling}`);
  return copy;
}
