// The canonical state hash shared by every engine implementation. It is computed from
// the EngineStateView only (never from internal layout), so two engines with equal
// state print equal hashes whatever data structures they use.

import { Fnv64 } from '../lib/hash.ts';
import { Side } from '../domain/codes.ts';
import type { EngineStateView, OrderView } from './types.ts';

function orderLine(order: OrderView): string {
  return [
    order.orderId, order.accountId, order.side, order.orderType, order.timeInForce, order.priceTicks,
    order.quantityLots, order.filledLots, order.filledQuoteAtoms, order.heldAtoms, order.stpMode,
    order.clientOrderId, order.createdAtMs, order.updatedAtMs,
  ].join(',');
}

export function canonicalStateHash(view: EngineStateView): string {
  const hash = new Fnv64();
  const counters = view.counters();
  hash.update(`counters:${counters.lastCommandSequence},${counters.lastEventSequence},${counters.nextOrderId},${counters.nextTradeId}\n`);
  for (const asset of view.assets()) hash.update(`asset:${asset.assetId},${asset.code},${asset.scale},${asset.supplyAtoms}\n`);
  const balances = view
    .balances()
    .filter((balance) => balance.availableAtoms !== 0 || balance.heldAtoms !== 0)
    .sort((a, b) => a.accountId - b.accountId || a.assetId - b.assetId);
  for (const balance of balances) {
    hash.update(`balance:${balance.accountId},${balance.assetId},${balance.availableAtoms},${balance.heldAtoms}\n`);
  }
  for (const market of view.markets()) {
    const spec = market.spec;
    hash.update(
      `market:${market.marketId},${spec.symbol},${market.status},${market.updateId},${spec.makerFeeBps},${spec.takerFeeBps}\n`,
    );
    for (const side of [Side.Buy, Side.Sell] as const) {
      for (const order of view.bookOrders(market.marketId, side)) hash.update(`order:${orderLine(order)}\n`);
    }
  }
  return hash.digestHex();
}
