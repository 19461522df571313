// Self-trade prevention: each mode, the account default against a per-order override, and
// how STP shapes the pre-trade walks of FOK and MARKET BUY by quantity.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { placeOrder, setAccountStp } from '../../src/domain/command.ts';
import { ExpireReason, OrderType, Side, StpMode, TimeInForce } from '../../src/domain/codes.ts';
import {
  balanceEvent as balance,
  btc,
  describeEngines,
  type Harness,
  levelEvent as level,
  limit,
  market,
  standardHarness,
  startBtcAtoms as btc0,
  startUsdtAtoms as usdt0,
  typesOf,
  usdt,
} from '../support/harness.ts';
import type { EngineFactory } from '../support/engines.ts';

/** Account 1 rests 2 lots @ 100 (order 1), then account 2 rests 2 lots @ 100 (order 2). */
function ownOrderFirst(factory: EngineFactory): Harness {
  const h = standardHarness(factory);
  h.run(limit(1, Side.Sell, 100, 2));
  h.run(limit(2, Side.Sell, 100, 2));
  return h;
}

const stpExpired = (orderId: number, accountId: number, remainingLots: number) => ({
  type: 'OrderExpired', orderId, accountId, marketId: market, remainingLots, reason: ExpireReason.SelfTradePrevention,
});

describeEngines('self-trade prevention', (factory) => {
  test('None (the default): the account trades with itself', () => {
    const h = ownOrderFirst(factory);
    const events = h.payloads(limit(1, Side.Buy, 100, 4));
    assert.equal(events[0]!.stpMode, StpMode.None);
    const trades = events.filter((event) => event.type === 'TradeExecuted');
    assert.deepEqual(trades.map((event) => [event.makerOrderId, event.makerAccountId, event.takerAccountId]), [[1, 1, 1], [2, 2, 1]]);
  });

  test('ExpireTaker: the taker expires at its own order and the book is untouched', () => {
    const h = ownOrderFirst(factory);
    assert.deepEqual(h.payloads(limit(1, Side.Buy, 100, 4, { stpMode: StpMode.ExpireTaker })), [
      { type: 'OrderAccepted', orderId: 3, accountId: 1, marketId: market, side: Side.Buy, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC, priceTicks: 100, quantityLots: 4, quoteAmountAtoms: 0, stpMode: StpMode.ExpireTaker, clientOrderId: '' },
      stpExpired(3, 1, 4),
      balance(1, usdt, usdt0, 0),
    ]);
    assert.deepEqual(h.engine.bookOrders(market, Side.Sell).map((order) => order.orderId), [1, 2]);
  });

  test('ExpireMaker: the own maker expires, matching goes on, the remainder rests', () => {
    const h = ownOrderFirst(factory);
    // The taker holds 4008; 2 lots @ 100 cost 2004 and the remainder of 2 holds 2004.
    assert.deepEqual(h.payloads(limit(1, Side.Buy, 100, 4, { stpMode: StpMode.ExpireMaker })), [
      { type: 'OrderAccepted', orderId: 3, accountId: 1, marketId: market, side: Side.Buy, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC, priceTicks: 100, quantityLots: 4, quoteAmountAtoms: 0, stpMode: StpMode.ExpireMaker, clientOrderId: '' },
      stpExpired(1, 1, 2),
      level(Side.Sell, 100, 2, 3, 1),
      { type: 'TradeExecuted', tradeId: 1, marketId: market, makerOrderId: 2, takerOrderId: 3, makerAccountId: 2, takerAccountId: 1, priceTicks: 100, quantityLots: 2, makerFeeAtoms: 2, takerFeeAtoms: 4, takerSide: Side.Buy },
      { type: 'OrderFilled', orderId: 2, accountId: 2, marketId: market },
      level(Side.Sell, 100, 0, 4, 0),
      level(Side.Buy, 100, 2, 5, 1),
      balance(1, usdt, usdt0 - 4008, 2004),
      balance(1, btc, btc0 + 2000, 0),
      balance(2, btc, btc0 - 2000, 0),
      balance(2, usdt, usdt0 + 1998, 0),
      balance(0, usdt, 6, 0),
    ]);
  });

  test('ExpireBoth: the own maker expires, then the taker', () => {
    const h = ownOrderFirst(factory);
    assert.deepEqual(h.payloads(limit(1, Side.Buy, 100, 4, { stpMode: StpMode.ExpireBoth })).slice(1), [
      stpExpired(1, 1, 2),
      level(Side.Sell, 100, 2, 3, 1),
      stpExpired(3, 1, 4),
      balance(1, usdt, usdt0, 0),
      balance(1, btc, btc0, 0),
    ]);
    assert.deepEqual(h.engine.bookOrders(market, Side.Sell).map((order) => order.orderId), [2]);
  });

  test('the account default applies to AccountDefault orders; a per-order mode overrides it', () => {
    const h = ownOrderFirst(factory);
    assert.deepEqual(h.payloads(setAccountStp(1, StpMode.ExpireTaker)), [{ type: 'AccountStpSet', accountId: 1, stpMode: StpMode.ExpireTaker }]);
    assert.equal(h.engine.stpDefault(1), StpMode.ExpireTaker);
    const byDefault = h.payloads(limit(1, Side.Buy, 100, 1));
    assert.equal(byDefault[0]!.stpMode, StpMode.ExpireTaker);
    assert.deepEqual(byDefault[1], stpExpired(3, 1, 1));
    const overridden = h.payloads(limit(1, Side.Buy, 100, 1, { stpMode: StpMode.None }));
    assert.equal(overridden[0]!.stpMode, StpMode.None);
    assert.equal(overridden[1]!.type, 'TradeExecuted');
    assert.equal(overridden[1]!.makerAccountId, 1);
  });

  test('a resting order keeps the mode resolved at acceptance', () => {
    const h = standardHarness(factory);
    h.run(limit(1, Side.Buy, 90, 2));
    h.run(setAccountStp(1, StpMode.ExpireBoth));
    assert.equal(h.engine.order(1)!.stpMode, StpMode.None);
    // The taker's mode decides: the new default applies to the incoming sell.
    const events = h.payloads(limit(1, Side.Sell, 90, 2));
    assert.equal(events[0]!.stpMode, StpMode.ExpireBoth);
    assert.deepEqual(typesOf(events), ['OrderAccepted', 'OrderExpired', 'BookLevelChanged', 'OrderExpired', 'BalanceChanged', 'BalanceChanged']);
    assert.deepEqual(events[1], stpExpired(1, 1, 2));
    assert.deepEqual(events[3], stpExpired(2, 1, 2));
  });

  test('FOK walks with ExpireMaker skipping own orders: too little left, it expires and no maker expires', () => {
    const h = ownOrderFirst(factory);
    assert.deepEqual(typesOf(h.payloads(limit(1, Side.Buy, 100, 3, { timeInForce: TimeInForce.FOK, stpMode: StpMode.ExpireMaker }))), [
      'OrderAccepted', 'OrderExpired', 'BalanceChanged',
    ]);
    assert.deepEqual(h.engine.bookOrders(market, Side.Sell).map((order) => order.orderId), [1, 2]);
    const events = h.payloads(limit(1, Side.Buy, 100, 2, { timeInForce: TimeInForce.FOK, stpMode: StpMode.ExpireMaker }));
    assert.deepEqual(typesOf(events).slice(0, 6), ['OrderAccepted', 'OrderExpired', 'BookLevelChanged', 'TradeExecuted', 'OrderFilled', 'BookLevelChanged']);
  });

  test('MARKET BUY by quantity with ExpireTaker holds only what trades before its own order', () => {
    const h = standardHarness(factory);
    h.run(limit(2, Side.Sell, 99, 2));
    h.run(limit(1, Side.Sell, 100, 2));
    h.run(limit(3, Side.Sell, 101, 2));
    // 2 lots @ 99 = 1980 + floor(3.96) = 1983 is all it can take.
    const events = h.payloads(placeOrder({ accountId: 1, marketId: market, side: Side.Buy, orderType: OrderType.Market, quantityLots: 5, stpMode: StpMode.ExpireTaker }));
    assert.deepEqual(typesOf(events), ['OrderAccepted', 'TradeExecuted', 'OrderFilled', 'BookLevelChanged', 'OrderExpired', 'BalanceChanged', 'BalanceChanged', 'BalanceChanged', 'BalanceChanged', 'BalanceChanged']);
    assert.deepEqual(events[4], stpExpired(4, 1, 3));
    assert.deepEqual(events[5], balance(1, usdt, usdt0 - 1983, 0));
  });
});
