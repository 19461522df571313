// POST /api/v3/order answers through a serializer compiled from newOrderResponseSchema: for
// every response type (ACK, RESULT, FULL with and without fills) its text must be exactly
// JSON.stringify of formatNewOrder's object.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import type { MarketView, AssetView } from '../../engine/types.ts';
import { MarketStatus } from '../../domain/codes.ts';
import { MarketUnits } from './market-units.ts';
import { formatNewOrder, newOrderResponseSchema, type Fill, type OrderState, type ResponseType } from './order-format.ts';

const market = {
  marketId: 1, baseAssetId: 1, quoteAssetId: 2, status: MarketStatus.Trading, updateId: 0,
  spec: {
    symbol: 'BTCUSDT', baseAsset: 'BTC', quoteAsset: 'USDT', lotAtoms: 10_000, quoteAtomsPerTickLot: 1, maxPriceTicks: 100_000_000,
    minQuantityLots: 1, maxQuantityLots: 10_000_000, marketMaxQuantityLots: 1_000_000, minNotionalAtoms: 1, makerFeeBps: 10, takerFeeBps: 10,
  },
} as MarketView;
const units = new MarketUnits(market, { assetId: 1, code: 'BTC', scale: 8, supplyAtoms: 0 } as AssetView, { assetId: 2, code: 'USDT', scale: 6, supplyAtoms: 0 } as AssetView);

test('the compiled new-order serializer writes the same text as JSON.stringify for every shape', async () => {
  const app = Fastify();
  const bodies = new Map<string, Record<string, unknown>>();
  app.post('/order/:name', { schema: { response: { 200: newOrderResponseSchema } } }, async (request) => bodies.get((request.params as { name: string }).name));
  const state: OrderState = {
    orderId: 123_456, clientOrderId: 'client-\u00e9"\\/1', side: 1, orderType: 1, timeInForce: 1, priceTicks: 6_000_000, quantityLots: 3,
    quoteAmountAtoms: 0, filledLots: 2, filledQuoteAtoms: 12_000_000, status: 'PARTIALLY_FILLED', stpMode: 0, createdAtMs: 1_795_326_563_438, updatedAtMs: 1_795_326_563_438,
  };
  const fills: Fill[] = [
    { price: '60000.00000000', qty: '0.00010000', commission: '0.00600000', commissionAsset: 'USDT', tradeId: 7 },
    { price: '60000.01000000', qty: '0.00010000', commission: '0.00600001', commissionAsset: 'USDT', tradeId: 8 },
  ];
  const cases: [string, ResponseType, Fill[]][] = [['ack', 'ACK', []], ['result', 'RESULT', []], ['full', 'FULL', fills], ['full-empty', 'FULL', []]];
  for (const [name, type, orderFills] of cases) bodies.set(name, formatNewOrder(units, state, orderFills, type, 1_795_326_563_999));
  try {
    for (const [name] of cases) {
      const response = await app.inject({ method: 'POST', url: `/order/${name}` });
      assert.equal(response.statusCode, 200);
      assert.equal(response.body, JSON.stringify(bodies.get(name)), name);
    }
  } finally {
    await app.close();
  }
});
