// CancelOrder (by orderId and by clientOrderId), CancelAllOrders and AmendOrder: exact
// events, holds released, priority kept, and the single MATCH_UNKNOWN_ORDER answer for
// unknown, closed, other-market and other-account orders.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addAsset, addMarket, amendOrder, cancelAllOrders, cancelOrder, marketCommand } from '../../src/domain/command.ts';
import { CancelReason, CommandType, Side } from '../../src/domain/codes.ts';
import {
  balanceEvent as balance,
  btc,
  describeEngines,
  levelEvent as level,
  limit,
  market,
  standardHarness,
  standardSpec,
  startBtcAtoms as btc0,
  startUsdtAtoms as usdt0,
  usdt,
} from '../support/harness.ts';

const canceled = (orderId: number, accountId: number, remainingLots: number, reason: number = CancelReason.User) => ({
  type: 'OrderCanceled', orderId, accountId, marketId: market, remainingLots, reason,
});

describeEngines('cancel', (factory) => {
  test('by orderId: OrderCanceled, the level, the hold released', () => {
    const h = standardHarness(factory);
    h.run(limit(1, Side.Buy, 100, 5));
    assert.deepEqual(h.payloads(cancelOrder(1, market, 1)), [canceled(1, 1, 5), level(Side.Buy, 100, 0, 2, 0), balance(1, usdt, usdt0, 0)]);
    assert.equal(h.engine.order(1), null);
    assert.deepEqual(h.engine.openOrders(1, market), []);
  });

  test('by clientOrderId (orderId 0), after a partial fill', () => {
    const h = standardHarness(factory);
    h.run(limit(1, Side.Sell, 100, 5, { clientOrderId: 'my-order.1' }));
    h.run(limit(2, Side.Buy, 100, 2));
    assert.deepEqual(h.payloads(cancelOrder(1, market, 0, 'my-order.1')), [canceled(1, 1, 3), level(Side.Sell, 100, 0, 3, 0), balance(1, btc, btc0 - 2000, 0)]);
  });

  test('unknown, closed, another account\'s and another market\'s orders all get MATCH_UNKNOWN_ORDER', () => {
    const h = standardHarness(factory);
    h.run(addAsset('ETH', 8));
    h.run(addMarket({ ...standardSpec, symbol: 'ETHUSDT', baseAsset: 'ETH' }));
    h.run(limit(1, Side.Buy, 100, 5, { clientOrderId: 'a' })); // order 1
    h.run(limit(1, Side.Buy, 100, 5)); // order 2, canceled below
    h.run(cancelOrder(1, market, 2));
    h.expectRejected(cancelOrder(1, market, 99), 'MATCH_UNKNOWN_ORDER');
    h.expectRejected(cancelOrder(1, market, 2), 'MATCH_UNKNOWN_ORDER');
    const other = h.expectRejected(cancelOrder(2, market, 1), 'MATCH_UNKNOWN_ORDER');
    assert.deepEqual(
      { ...other, commandSequence: 0, eventSequence: 0, timestampMs: 0 },
      { type: 'OrderRejected', commandSequence: 0, eventSequence: 0, timestampMs: 0, orderId: 1, accountId: 2, marketId: market, reason: 401, commandType: CommandType.CancelOrder, clientOrderId: '' },
    );
    h.expectRejected(cancelOrder(2, market, 0, 'a'), 'MATCH_UNKNOWN_ORDER');
    h.expectRejected(cancelOrder(1, 2, 1), 'MATCH_UNKNOWN_ORDER');
    h.expectRejected(cancelOrder(1, market, 0, 'nope'), 'MATCH_UNKNOWN_ORDER');
    h.expectRejected(cancelOrder(1, market, 0, ''), 'MATCH_UNKNOWN_ORDER');
    h.expectRejected(cancelOrder(1, 9, 1), 'MARKET_UNKNOWN');
    h.expectRejected(cancelOrder(0, market, 1), 'VALIDATE_ACCOUNT_INVALID');
  });

  test('is allowed on a halted market', () => {
    const h = standardHarness(factory);
    h.run(limit(1, Side.Buy, 100, 5));
    h.run(marketCommand(CommandType.HaltMarket, market));
    assert.equal(h.payloads(cancelOrder(1, market, 1))[0]!.type, 'OrderCanceled');
  });
});

describeEngines('cancel all', (factory) => {
  test('cancels the account\'s orders in that market by orderId, then OrdersCanceledAll, then balances', () => {
    const h = standardHarness(factory);
    h.run(limit(1, Side.Buy, 99, 2)); // 1
    h.run(limit(1, Side.Sell, 105, 3)); // 2
    h.run(limit(2, Side.Buy, 99, 2)); // 3, account 2: stays
    h.run(limit(1, Side.Buy, 98, 2)); // 4
    assert.deepEqual(h.payloads(cancelAllOrders(1, market)), [
      canceled(1, 1, 2, CancelReason.CancelAll),
      level(Side.Buy, 99, 2, 5, 1),
      canceled(2, 1, 3, CancelReason.CancelAll),
      level(Side.Sell, 105, 0, 6, 0),
      canceled(4, 1, 2, CancelReason.CancelAll),
      level(Side.Buy, 98, 0, 7, 0),
      { type: 'OrdersCanceledAll', accountId: 1, marketId: market, count: 3 },
      balance(1, usdt, usdt0, 0),
      balance(1, btc, btc0, 0),
    ]);
    assert.deepEqual(h.engine.bookOrders(market, Side.Buy).map((order) => order.orderId), [3]);
    h.expectRejected(cancelAllOrders(1, market), 'MATCH_NO_OPEN_ORDERS');
    h.expectRejected(cancelAllOrders(1, 7), 'MARKET_UNKNOWN');
    h.expectRejected(cancelAllOrders(0, market), 'VALIDATE_ACCOUNT_INVALID');
  });
});

describeEngines('amend', (factory) => {
  test('reduces the quantity, releases the hold and keeps time priority', () => {
    const h = standardHarness(factory);
    h.run(limit(1, Side.Buy, 100, 5)); // 1
    h.run(limit(2, Side.Buy, 100, 5)); // 2
    // 3 lots @ 100 hold 3000 + 6.
    assert.deepEqual(h.payloads(amendOrder(1, market, 1, 3)), [
      { type: 'OrderAmended', orderId: 1, accountId: 1, marketId: market, quantityLots: 3, remainingLots: 3 },
      level(Side.Buy, 100, 8, 3, 2),
      balance(1, usdt, usdt0 - 3006, 3006),
    ]);
    assert.deepEqual(h.engine.bookOrders(market, Side.Buy).map((order) => [order.orderId, order.quantityLots]), [[1, 3], [2, 5]]);
    const trades = h.payloads(limit(3, Side.Sell, 100, 3)).filter((event) => event.type === 'TradeExecuted');
    assert.deepEqual(trades.map((event) => [event.makerOrderId, event.quantityLots]), [[1, 3]]);
  });

  test('a sell amended after a partial fill; by clientOrderId', () => {
    const h = standardHarness(factory);
    h.run(limit(1, Side.Sell, 100, 6, { clientOrderId: 'sell-1' }));
    h.run(limit(2, Side.Buy, 100, 2));
    assert.deepEqual(h.payloads(amendOrder(1, market, 0, 3, 'sell-1')), [
      { type: 'OrderAmended', orderId: 1, accountId: 1, marketId: market, quantityLots: 3, remainingLots: 1 },
      level(Side.Sell, 100, 1, 3, 1),
      balance(1, btc, btc0 - 6000 + 3000, 1000),
    ]);
    const order = h.engine.order(1)!;
    assert.deepEqual([order.quantityLots, order.filledLots, order.heldAtoms], [3, 2, 1000]);
  });

  test('the new quantity must be an integer above filled and below the current quantity', () => {
    const h = standardHarness(factory);
    h.run(limit(1, Side.Sell, 100, 6));
    h.run(limit(2, Side.Buy, 100, 2));
    for (const quantity of [6, 7, 2, 1, 0, -1, 2.5, Number.NaN]) h.expectRejected(amendOrder(1, market, 1, quantity), 'MATCH_AMEND_QUANTITY_INVALID');
    h.expectRejected(amendOrder(2, market, 1, 4), 'MATCH_UNKNOWN_ORDER');
    h.expectRejected(amendOrder(1, market, 2, 1), 'MATCH_UNKNOWN_ORDER');
    h.expectRejected(amendOrder(1, 5, 1, 4), 'MARKET_UNKNOWN');
  });
});
