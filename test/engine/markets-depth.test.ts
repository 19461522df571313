// Administration events (AssetAdded, MarketAdded with the spec JSON in declaration order,
// fees) and market data: depth aggregated per level best first, limited to the levels asked
// for, and updateId increasing by one per BookLevelChanged of its market.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addAsset, addMarket, cancelOrder } from '../../src/domain/command.ts';
import { MarketStatus, Side } from '../../src/domain/codes.ts';
import type { MarketSpec } from '../../src/domain/market.ts';
import { Harness, describeEngines, limit, market, standardHarness, standardSpec } from '../support/harness.ts';

describeEngines('assets and markets', (factory) => {
  test('AssetAdded and MarketAdded carry ids in order and the spec as JSON', () => {
    const h = new Harness(factory.create());
    assert.deepEqual(h.payloads(addAsset('BTC', 8)), [{ type: 'AssetAdded', assetId: 1, scale: 8, asset: 'BTC' }]);
    assert.deepEqual(h.payloads(addAsset('USDT', 6)), [{ type: 'AssetAdded', assetId: 2, scale: 6, asset: 'USDT' }]);
    // Extra keys in the given object do not reach the JSON; the keys follow MarketSpec's order.
    const given = { ...Object.fromEntries(Object.entries(standardSpec).reverse()), extra: 'ignored' } as unknown as MarketSpec;
    assert.deepEqual(h.payloads(addMarket(given)), [
      {
        type: 'MarketAdded', marketId: 1, baseAssetId: 1, quoteAssetId: 2, symbol: 'BTCUSDT',
        spec: '{"symbol":"BTCUSDT","baseAsset":"BTC","quoteAsset":"USDT","lotAtoms":1000,"quoteAtomsPerTickLot":10,"maxPriceTicks":1000000,"minQuantityLots":1,"maxQuantityLots":1000,"marketMaxQuantityLots":500,"minNotionalAtoms":1000,"makerFeeBps":10,"takerFeeBps":20}',
      },
    ]);
    assert.equal(h.engine.marketIdOf('BTCUSDT'), 1);
    assert.equal(h.engine.marketIdOf('ETHUSDT'), 0);
    assert.equal(h.engine.assetIdOf('USDT'), 2);
    assert.equal(h.engine.assetIdOf('ETH'), 0);
    const [view] = h.engine.markets();
    assert.deepEqual(
      { ...view, spec: { ...view!.spec } },
      { marketId: 1, spec: { ...standardSpec }, baseAssetId: 1, quoteAssetId: 2, status: MarketStatus.Trading, updateId: 0 },
    );
    assert.deepEqual(h.engine.assets(), [
      { assetId: 1, code: 'BTC', scale: 8, supplyAtoms: 0 },
      { assetId: 2, code: 'USDT', scale: 6, supplyAtoms: 0 },
    ]);
  });
});

describeEngines('depth', (factory) => {
  test('levels are aggregated best first and updateId counts BookLevelChanged', () => {
    const h = standardHarness(factory);
    h.run(limit(1, Side.Buy, 100, 2));
    h.run(limit(2, Side.Buy, 100, 3));
    h.run(limit(1, Side.Buy, 98, 4));
    h.run(limit(3, Side.Sell, 105, 1, { quantityLots: 2 }));
    h.run(limit(3, Side.Sell, 103, 6));
    assert.deepEqual(h.engine.depth(market, 10), { marketId: market, updateId: 5, bids: [[100, 5], [98, 4]], asks: [[103, 6], [105, 2]] });
    assert.deepEqual(h.engine.depth(market, 1), { marketId: market, updateId: 5, bids: [[100, 5]], asks: [[103, 6]] });
    // A sell crossing two bid levels: one BookLevelChanged per level touched.
    const events = h.payloads(limit(4, Side.Sell, 98, 6));
    assert.deepEqual(
      events.filter((event) => event.type === 'BookLevelChanged').map((event) => [event.side, event.priceTicks, event.quantityLots, event.updateId, event.orderCount]),
      [[Side.Buy, 100, 3, 6, 1], [Side.Buy, 100, 0, 7, 0], [Side.Buy, 98, 3, 8, 1]],
    );
    assert.deepEqual(h.engine.depth(market, 10), { marketId: market, updateId: 8, bids: [[98, 3]], asks: [[103, 6], [105, 2]] });
    h.run(cancelOrder(3, market, 5));
    assert.deepEqual(h.engine.depth(market, 10).asks, [[105, 2]]);
    assert.equal(h.engine.markets()[0]!.updateId, 9);
  });

  test('more levels than depthLevelsMax are still matched, and appear as the better ones go', () => {
    const h = standardHarness(factory, {}, { ...factory.create().limits(), depthLevelsMax: 2 });
    for (const price of [110, 111, 112, 113, 114, 115]) h.run(limit(2, Side.Sell, price, 2));
    assert.deepEqual(h.engine.depth(market, 2).asks, [[110, 2], [111, 2]]);
    const trades = h.payloads(limit(1, Side.Buy, 113, 7)).filter((event) => event.type === 'TradeExecuted');
    assert.deepEqual(trades.map((event) => [event.priceTicks, event.quantityLots]), [[110, 2], [111, 2], [112, 2], [113, 1]]);
    assert.deepEqual(h.engine.depth(market, 2).asks, [[113, 1], [114, 2]]);
  });
});
