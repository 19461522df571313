// The contract every matching engine implements: the fast one in this folder and the
// plain reference engine the tests cross-check it against. Execution is synchronous and
// deterministic: the same commands in the same order give the same events and the same
// stateHash(), on any machine, after any snapshot/restore.

import type { Command } from '../domain/command.ts';
import type { EventBuffer } from '../domain/events.ts';
import type { MarketSpec } from '../domain/market.ts';
import type { MarketStatus, OrderType, Side, StpMode, TimeInForce } from '../domain/codes.ts';

/** Named limits checked where data enters the engine. Part of the snapshot. */
export interface EngineLimits {
  assetsMax: number;
  marketsMax: number;
  /** Open orders one account may have across all markets. */
  openOrdersPerAccountMax: number;
  /** Closed orders whose clientOrderId is remembered for idempotent retries (global FIFO). */
  clientOrderIdWindow: number;
  /** Levels per side kept ready for depth(): deeper levels are still matched, never lost. */
  depthLevelsMax: number;
}

export const defaultEngineLimits: EngineLimits = {
  assetsMax: 1024,
  marketsMax: 1024,
  openOrdersPerAccountMax: 10_000,
  clientOrderIdWindow: 100_000,
  depthLevelsMax: 5000,
};

export interface AssetView {
  assetId: number;
  code: string;
  scale: number;
  /** Deposits minus completed withdrawals: what all balances of the asset must add up to. */
  supplyAtoms: number;
}

export interface MarketView {
  marketId: number;
  spec: MarketSpec;
  baseAssetId: number;
  quoteAssetId: number;
  status: MarketStatus;
  /** Increases by one on every BookLevelChanged of this market. */
  updateId: number;
}

export interface BalanceView {
  accountId: number;
  assetId: number;
  availableAtoms: number;
  heldAtoms: number;
}

export interface OrderView {
  orderId: number;
  accountId: number;
  marketId: number;
  side: Side;
  orderType: OrderType;
  timeInForce: TimeInForce;
  priceTicks: number;
  /** Original quantity (after amendments: the amended total). */
  quantityLots: number;
  filledLots: number;
  /** Sum of fill notionals in quote atoms (Binance cummulativeQuoteQty). */
  filledQuoteAtoms: number;
  /** What the order still holds, in its hold asset (quote for buys, base for sells). */
  heldAtoms: number;
  stpMode: StpMode;
  clientOrderId: string;
  createdAtMs: number;
  updatedAtMs: number;
}

export interface DepthView {
  marketId: number;
  updateId: number;
  /** [priceTicks, quantityLots] best first. */
  bids: [number, number][];
  asks: [number, number][];
}

export interface EngineCounters {
  lastCommandSequence: number;
  lastEventSequence: number;
  nextOrderId: number;
  nextTradeId: number;
}

/** Read access to the whole state, for projections, hashes and invariant checks. */
export interface EngineStateView {
  limits(): EngineLimits;
  counters(): EngineCounters;
  assets(): AssetView[];
  markets(): MarketView[];
  /** Every (account, asset) pair that has ever been touched, any order. */
  balances(): BalanceView[];
  /** Resting orders of one side of one market, in priority order (best price, then time). */
  bookOrders(marketId: number, side: Side): OrderView[];
  stpDefault(accountId: number): StpMode;
}

export interface MatchingEngine extends EngineStateView {
  /** Applies one command and appends its events to `out`. Never throws for bad input. */
  execute(command: Command, out: EventBuffer): void;
  depth(marketId: number, levelsMax: number): DepthView;
  order(orderId: number): OrderView | null;
  openOrders(accountId: number, marketId: number): OrderView[];
  balance(accountId: number, assetId: number): BalanceView;
  marketIdOf(symbol: string): number;
  assetIdOf(code: string): number;
  snapshot(): Uint8Array;
  restore(bytes: Uint8Array): void;
  stateHash(): string;
}
