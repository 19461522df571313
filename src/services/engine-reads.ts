// Reads of the engine's state shared by every process that runs an engine: the engine
// host (embedded mode, cluster leader) and the cluster's followers (standby, gateways,
// consumers). One implementation, so every role answers a read the same way.

import type { AssetView, BalanceView, DepthView, MarketView, MatchingEngine, OrderView } from '../engine/types.ts';
import type { EngineReads } from './contracts.ts';

export interface SolvencyRow {
  asset: string;
  assetId: number;
  /** Deposits minus completed withdrawals. */
  supplyAtoms: number;
  /** Sum over every account (fee account included) of available + held. */
  balancesAtoms: number;
  heldAtoms: number;
  balanced: boolean;
}

export class EngineStateReads implements EngineReads {
  protected marketsBySymbol = new Map<string, MarketView>();

  constructor(readonly engine: MatchingEngine) {
    this.refreshMarkets();
  }

  /** Call after a command batch that added or changed markets. */
  protected refreshMarkets(): void {
    const map = new Map<string, MarketView>();
    for (const market of this.engine.markets()) map.set(market.spec.symbol, market);
    this.marketsBySymbol = map;
  }

  assets(): AssetView[] {
    return this.engine.assets();
  }

  markets(): MarketView[] {
    return this.engine.markets();
  }

  /** Spec and status of a market; its updateId may be stale (use depth() for that). */
  marketBySymbol(symbol: string): MarketView | null {
    return this.marketsBySymbol.get(symbol) ?? null;
  }

  depth(marketId: number, levelsMax: number): DepthView {
    return this.engine.depth(marketId, levelsMax);
  }

  order(orderId: number): OrderView | null {
    return this.engine.order(orderId);
  }

  openOrders(accountId: number, marketId: number | null): OrderView[] {
    if (marketId !== null) return this.engine.openOrders(accountId, marketId);
    const orders: OrderView[] = [];
    for (const market of this.marketsBySymbol.values()) orders.push(...this.engine.openOrders(accountId, market.marketId));
    return orders.sort((a, b) => a.orderId - b.orderId);
  }

  balances(accountId: number): BalanceView[] {
    return this.engine.assets().map((asset) => this.engine.balance(accountId, asset.assetId));
  }

  lastCommandSequence(): number {
    return this.engine.counters().lastCommandSequence;
  }

  stateHash(): string {
    return this.engine.stateHash();
  }

  /** Per asset: the sum over every account of available + held, against deposits - withdrawals. */
  solvency(): SolvencyRow[] {
    const totals = new Map<number, { total: number; held: number }>();
    for (const balance of this.engine.balances()) {
      const entry = totals.get(balance.assetId) ?? { total: 0, held: 0 };
      entry.total += balance.availableAtoms + balance.heldAtoms;
      entry.held += balance.heldAtoms;
      totals.set(balance.assetId, entry);
    }
    return this.engine.assets().map((asset) => {
      const entry = totals.get(asset.assetId) ?? { total: 0, held: 0 };
      return {
        asset: asset.code,
        assetId: asset.assetId,
        supplyAtoms: asset.supplyAtoms,
        balancesAtoms: entry.total,
        heldAtoms: entry.held,
        balanced: entry.total === asset.supplyAtoms,
      };
    });
  }
}
