// The order form's checks against exchangeInfo filters (web/src/trading/validate.ts) and
// the exact decimal helpers under them (web/src/lib/decimal.ts): tick and step multiples,
// limits, minimum notional, all without floating point.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareDecimal, divideDecimal, floorToStep, formatDecimal, isMultipleOf, parseDecimal, trimZeros } from '../../web/src/lib/decimal.ts';
import { validateOrder } from '../../web/src/trading/validate.ts';
import type { MarketInfo } from '../../web/src/state.ts';

const market: MarketInfo = {
  symbol: 'BTCUSDT',
  status: 'TRADING',
  baseAsset: 'BTC',
  quoteAsset: 'USDT',
  tickSize: '0.01000000',
  minPrice: '0.01000000',
  maxPrice: '1000000.00000000',
  stepSize: '0.00010000',
  minQty: '0.00010000',
  maxQty: '1000.00000000',
  marketMaxQty: '100.00000000',
  minNotional: '5.00000000',
  priceDecimals: 2,
  quantityDecimals: 4,
  orderTypes: ['LIMIT', 'LIMIT_MAKER', 'MARKET'],
};

test('decimal helpers are exact', () => {
  const value = parseDecimal('0.3')!;
  assert.equal(compareDecimal(value, parseDecimal('0.30')!), 0);
  assert.equal(isMultipleOf(parseDecimal('0.3')!, parseDecimal('0.1')!), true, '0.3 is 3 x 0.1 (floating point says otherwise)');
  assert.equal(isMultipleOf(parseDecimal('1.00015')!, parseDecimal('0.0001')!), false);
  assert.equal(formatDecimal(floorToStep(parseDecimal('1.23456')!, parseDecimal('0.001')!)), '1.234');
  assert.equal(formatDecimal(divideDecimal(parseDecimal('10')!, parseDecimal('3')!, 4)), '3.3333');
  assert.equal(formatDecimal(parseDecimal('2.5')!, 3), '2.500');
  assert.equal(parseDecimal('1e5'), null);
  assert.equal(parseDecimal('-1'), null);
  assert.equal(parseDecimal('0x10'), null);
  assert.equal(trimZeros('10'), '10');
  assert.equal(trimZeros('1.50000000'), '1.5');
  assert.equal(trimZeros('2.000'), '2');
});

test('orders are checked against the market filters before sending', () => {
  const ok = { side: 'BUY' as const, kind: 'LIMIT' as const, price: '30000.01', quantity: '0.0002' };
  assert.equal(validateOrder(ok, market), '');
  assert.match(validateOrder({ ...ok, price: '30000.001' }, market), /Price must be a multiple of 0\.01/);
  assert.match(validateOrder({ ...ok, quantity: '0.00015' }, market), /Amount must be a multiple of 0\.0001/);
  assert.match(validateOrder({ ...ok, quantity: '0' }, market), /greater than zero/);
  assert.match(validateOrder({ ...ok, quantity: '2000' }, market), /Maximum amount is 1000 BTC/);
  assert.match(validateOrder({ ...ok, price: '2000000' }, market), /Maximum price is 1000000/);
  assert.match(validateOrder({ ...ok, price: '10', quantity: '0.1' }, market), /at least 5 USDT/);
  assert.equal(validateOrder({ ...ok, price: '50', quantity: '0.1' }, market), '', 'exactly the minimum notional is allowed');
  assert.match(validateOrder({ ...ok, price: 'abc' }, market), /price greater than zero/);
  // Market orders: no price, their own maximum quantity.
  assert.equal(validateOrder({ side: 'SELL', kind: 'MARKET', price: '', quantity: '1' }, market), '');
  assert.match(validateOrder({ side: 'SELL', kind: 'MARKET', price: '', quantity: '500' }, market), /Maximum amount is 100 BTC/);
});
