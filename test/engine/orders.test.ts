// Order types, partial fills, price-time priority and fills at the maker's price, with the
// exact events docs/engine.md prescribes. Runs against every engine (test/support/engines.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { placeOrder } from '../../src/domain/command.ts';
import { OrderType, Side, StpMode, TimeInForce } from '../../src/domain/codes.ts';
import {
  balanceEvent as balance,
  btc,
  describeEngines,
  levelEvent as level,
  limit,
  market,
  standardHarness,
  startBtcAtoms as btc0,
  startUsdtAtoms as usdt0,
  timestampBaseMs,
  typesOf,
  usdt,
} from '../support/harness.ts';

function accepted(orderId: number, accountId: number, side: number, orderType: number, timeInForce: number, priceTicks: number, quantityLots: number, quoteAmountAtoms = 0, stpMode: number = StpMode.None, clientOrderId = '') {
  return { type: 'OrderAccepted', orderId, accountId, marketId: market, side, orderType, timeInForce, priceTicks, quantityLots, quoteAmountAtoms, stpMode, clientOrderId };
}

function trade(tradeId: number, makerOrderId: number, takerOrderId: number, makerAccountId: number, takerAccountId: number, priceTicks: number, quantityLots: number, makerFeeAtoms: number, takerFeeAtoms: number, takerSide: number) {
  return { type: 'TradeExecuted', tradeId, marketId: market, makerOrderId, takerOrderId, makerAccountId, takerAccountId, priceTicks, quantityLots, makerFeeAtoms, takerFeeAtoms, takerSide };
}

const filled = (orderId: number, accountId: number) => ({ type: 'OrderFilled', orderId, accountId, marketId: market });
const expired = (orderId: number, accountId: number, remainingLots: number, reason: number) => ({ type: 'OrderExpired', orderId, accountId, marketId: market, remainingLots, reason });

describeEngines('limit orders', (factory) => {
  test('a GTC buy rests, holding notional plus the larger fee, with exact headers', () => {
    const h = standardHarness(factory);
    const events = h.run(limit(1, Side.Buy, 100, 5));
    // Setup was 11 commands and 19 events; notional 100 x 5 x 10 = 5000, fee at max(10, 20) bps = 10.
    assert.deepEqual(events.map((event) => [event.commandSequence, event.eventSequence, event.timestampMs]), [
      [12, 20, timestampBaseMs + 12], [12, 21, timestampBaseMs + 12], [12, 22, timestampBaseMs + 12],
    ]);
    assert.equal(h.payloads(limit(1, Side.Buy, 100, 1)).length, 3);
    const order = h.engine.order(1)!;
    assert.deepEqual(
      { ...order },
      {
        orderId: 1, accountId: 1, marketId: market, side: Side.Buy, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC,
        priceTicks: 100, quantityLots: 5, filledLots: 0, filledQuoteAtoms: 0, heldAtoms: 5010, stpMode: StpMode.None,
        clientOrderId: '', createdAtMs: timestampBaseMs + 12, updatedAtMs: timestampBaseMs + 12,
      },
    );
    assert.deepEqual(h.engine.balance(1, usdt), { accountId: 1, assetId: usdt, availableAtoms: usdt0 - 5010 - 1002, heldAtoms: 5010 + 1002 });
    const h2 = standardHarness(factory);
    assert.deepEqual(h2.payloads(limit(1, Side.Buy, 100, 5)), [
      accepted(1, 1, Side.Buy, OrderType.Limit, TimeInForce.GTC, 100, 5),
      level(Side.Buy, 100, 5, 1, 1),
      balance(1, usdt, usdt0 - 5010, 5010),
    ]);
  });

  test('a crossing buy fills in full at the maker price and pays each side its fee', () => {
    const h = standardHarness(factory);
    assert.deepEqual(h.payloads(limit(2, Side.Sell, 100, 5)), [
      accepted(1, 2, Side.Sell, OrderType.Limit, TimeInForce.GTC, 100, 5),
      level(Side.Sell, 100, 5, 1, 1),
      balance(2, btc, btc0 - 5000, 5000),
    ]);
    // Taker holds 105 x 5 x 10 = 5250 + 10 fee; fills at 100: notional 5000, maker fee 5, taker fee 10.
    assert.deepEqual(h.payloads(limit(1, Side.Buy, 105, 5)), [
      accepted(2, 1, Side.Buy, OrderType.Limit, TimeInForce.GTC, 105, 5),
      trade(1, 1, 2, 2, 1, 100, 5, 5, 10, Side.Buy),
      filled(1, 2),
      level(Side.Sell, 100, 0, 2, 0),
      filled(2, 1),
      balance(1, usdt, usdt0 - 5010, 0),
      balance(2, btc, btc0 - 5000, 0),
      balance(2, usdt, usdt0 + 4995, 0),
      balance(1, btc, btc0 + 5000, 0),
      balance(0, usdt, 15, 0),
    ]);
    assert.equal(h.engine.bookOrders(market, Side.Sell).length, 0);
    assert.equal(h.engine.bookOrders(market, Side.Buy).length, 0);
  });

  test('a partly filled buy rests with its hold reset to the formula for the remainder', () => {
    const h = standardHarness(factory);
    h.run(limit(2, Side.Sell, 100, 3));
    // Hold 101 x 5 x 10 = 5050 + 10 = 5060; after 3 lots the remainder of 2 holds 2020 + 4 = 2024;
    // the fill cost 3000 + 6, and 30 goes back to available.
    assert.deepEqual(h.payloads(limit(1, Side.Buy, 101, 5)), [
      accepted(2, 1, Side.Buy, OrderType.Limit, TimeInForce.GTC, 101, 5),
      trade(1, 1, 2, 2, 1, 100, 3, 3, 6, Side.Buy),
      filled(1, 2),
      level(Side.Sell, 100, 0, 2, 0),
      level(Side.Buy, 101, 2, 3, 1),
      balance(1, usdt, usdt0 - 5030, 2024),
      balance(2, btc, btc0 - 3000, 0),
      balance(2, usdt, usdt0 + 2997, 0),
      balance(1, btc, btc0 + 3000, 0),
      balance(0, usdt, 9, 0),
    ]);
    const order = h.engine.order(2)!;
    assert.equal(order.filledLots, 3);
    assert.equal(order.filledQuoteAtoms, 3000);
    assert.equal(order.heldAtoms, 2024);
  });

  test('makers fill in price-time priority, each at its own price', () => {
    const h = standardHarness(factory);
    h.run(limit(2, Side.Sell, 101, 2)); // order 1
    h.run(limit(3, Side.Sell, 100, 2)); // order 2
    h.run(limit(4, Side.Sell, 100, 2)); // order 3
    h.run(limit(2, Side.Sell, 102, 2)); // order 4
    const events = h.payloads(limit(1, Side.Buy, 101, 5));
    const trades = events.filter((event) => event.type === 'TradeExecuted');
    assert.deepEqual(trades.map((event) => [event.makerOrderId, event.priceTicks, event.quantityLots]), [[2, 100, 2], [3, 100, 2], [1, 101, 1]]);
    assert.deepEqual(typesOf(events).slice(0, 10), [
      'OrderAccepted', 'TradeExecuted', 'OrderFilled', 'BookLevelChanged', 'TradeExecuted', 'OrderFilled', 'BookLevelChanged',
      'TradeExecuted', 'BookLevelChanged', 'OrderFilled',
    ]);
    assert.deepEqual(h.engine.bookOrders(market, Side.Sell).map((order) => [order.orderId, order.quantityLots - order.filledLots]), [[1, 1], [4, 2]]);
    assert.deepEqual(h.engine.depth(market, 10).asks, [[101, 1], [102, 2]]);
  });

  test('IOC: the remainder expires as ImmediateRemainder and its hold returns', () => {
    const h = standardHarness(factory);
    h.run(limit(2, Side.Sell, 100, 2));
    assert.deepEqual(h.payloads(limit(1, Side.Buy, 100, 5, { timeInForce: TimeInForce.IOC })), [
      accepted(2, 1, Side.Buy, OrderType.Limit, TimeInForce.IOC, 100, 5),
      trade(1, 1, 2, 2, 1, 100, 2, 2, 4, Side.Buy),
      filled(1, 2),
      level(Side.Sell, 100, 0, 2, 0),
      expired(2, 1, 3, 1),
      balance(1, usdt, usdt0 - 2004, 0),
      balance(2, btc, btc0 - 2000, 0),
      balance(2, usdt, usdt0 + 1998, 0),
      balance(1, btc, btc0 + 2000, 0),
      balance(0, usdt, 6, 0),
    ]);
    assert.equal(h.engine.bookOrders(market, Side.Buy).length, 0);
  });

  test('FOK: unfillable within its price expires without trading; fillable fills in full', () => {
    const h = standardHarness(factory);
    h.run(limit(2, Side.Sell, 100, 2));
    h.run(limit(2, Side.Sell, 102, 2));
    assert.deepEqual(h.payloads(limit(1, Side.Buy, 101, 3, { timeInForce: TimeInForce.FOK })), [
      accepted(3, 1, Side.Buy, OrderType.Limit, TimeInForce.FOK, 101, 3),
      expired(3, 1, 3, 2),
      balance(1, usdt, usdt0, 0),
    ]);
    assert.equal(h.engine.bookOrders(market, Side.Sell).length, 2);
    const events = h.payloads(limit(1, Side.Buy, 102, 3, { timeInForce: TimeInForce.FOK }));
    assert.deepEqual(typesOf(events).slice(0, 8), [
      'OrderAccepted', 'TradeExecuted', 'OrderFilled', 'BookLevelChanged', 'TradeExecuted', 'BookLevelChanged', 'OrderFilled', 'BalanceChanged',
    ]);
    assert.equal(h.engine.balance(1, btc).availableAtoms, btc0 + 3000);
  });

  test('LIMIT_MAKER rests with timeInForce 0 and is rejected when it would cross, own orders included', () => {
    const h = standardHarness(factory);
    assert.deepEqual(h.payloads(placeOrder({ accountId: 2, marketId: market, side: Side.Sell, orderType: OrderType.LimitMaker, priceTicks: 110, quantityLots: 4 })), [
      accepted(1, 2, Side.Sell, OrderType.LimitMaker, 0, 110, 4),
      level(Side.Sell, 110, 4, 1, 1),
      balance(2, btc, btc0 - 4000, 4000),
    ]);
    h.expectRejected(placeOrder({ accountId: 1, marketId: market, side: Side.Buy, orderType: OrderType.LimitMaker, priceTicks: 110, quantityLots: 1 }), 'MATCH_WOULD_CROSS');
    h.expectRejected(placeOrder({ accountId: 2, marketId: market, side: Side.Buy, orderType: OrderType.LimitMaker, priceTicks: 111, quantityLots: 1 }), 'MATCH_WOULD_CROSS');
    assert.equal(h.payloads(placeOrder({ accountId: 1, marketId: market, side: Side.Buy, orderType: OrderType.LimitMaker, priceTicks: 109, quantityLots: 1 }))[0]!.type, 'OrderAccepted');
    h.expectRejected(placeOrder({ accountId: 3, marketId: market, side: Side.Sell, orderType: OrderType.LimitMaker, priceTicks: 109, quantityLots: 1 }), 'MATCH_WOULD_CROSS');
  });
});

describeEngines('market orders', (factory) => {
  test('MARKET BUY by quantity holds exactly what its walk costs and sweeps levels', () => {
    const h = standardHarness(factory);
    h.run(limit(2, Side.Sell, 100, 2));
    h.run(limit(3, Side.Sell, 101, 3));
    // Walk: 2 @ 100 = 2000 + 4 fee, 2 @ 101 = 2020 + 4 fee: hold 4028.
    assert.deepEqual(h.payloads(placeOrder({ accountId: 1, marketId: market, side: Side.Buy, orderType: OrderType.Market, quantityLots: 4 })), [
      accepted(3, 1, Side.Buy, OrderType.Market, 0, 0, 4),
      trade(1, 1, 3, 2, 1, 100, 2, 2, 4, Side.Buy),
      filled(1, 2),
      level(Side.Sell, 100, 0, 3, 0),
      trade(2, 2, 3, 3, 1, 101, 2, 2, 4, Side.Buy),
      level(Side.Sell, 101, 1, 4, 1),
      filled(3, 1),
      balance(1, usdt, usdt0 - 4028, 0),
      balance(2, btc, btc0 - 2000, 0),
      balance(2, usdt, usdt0 + 1998, 0),
      balance(1, btc, btc0 + 4000, 0),
      balance(0, usdt, 12, 0),
      balance(3, btc, btc0 - 3000, 1000),
      balance(3, usdt, usdt0 + 2018, 0),
    ]);
  });

  test('MARKET by quantity with too little liquidity expires NoLiquidity; on an empty book at once', () => {
    const h = standardHarness(factory);
    assert.deepEqual(h.payloads(placeOrder({ accountId: 1, marketId: market, side: Side.Buy, orderType: OrderType.Market, quantityLots: 4 })), [
      accepted(1, 1, Side.Buy, OrderType.Market, 0, 0, 4),
      expired(1, 1, 4, 4),
      balance(1, usdt, usdt0, 0),
    ]);
    h.run(limit(2, Side.Buy, 100, 2));
    // The maker holds 2000 + 4; it pays 2000 + 2 (maker fee) and 2 comes back.
    assert.deepEqual(h.payloads(placeOrder({ accountId: 1, marketId: market, side: Side.Sell, orderType: OrderType.Market, quantityLots: 3 })), [
      accepted(3, 1, Side.Sell, OrderType.Market, 0, 0, 3),
      trade(1, 2, 3, 2, 1, 100, 2, 2, 4, Side.Sell),
      filled(2, 2),
      level(Side.Buy, 100, 0, 2, 0),
      expired(3, 1, 1, 4),
      balance(1, btc, btc0 - 2000, 0),
      balance(2, btc, btc0 + 2000, 0),
      balance(2, usdt, usdt0 - 2002, 0),
      balance(1, usdt, usdt0 + 1996, 0),
      balance(0, usdt, 6, 0),
    ]);
  });

  test('MARKET BUY by quote amount takes the largest affordable quantity per maker and always expires', () => {
    const h = standardHarness(factory);
    h.run(limit(2, Side.Sell, 100, 2));
    h.run(limit(3, Side.Sell, 101, 5));
    // 5000 quote: 2 @ 100 cost 2004, then floor(2996 / 1010) = 2 @ 101 cost 2024; 972 left < 1010.
    assert.deepEqual(h.payloads(placeOrder({ accountId: 1, marketId: market, side: Side.Buy, orderType: OrderType.Market, quoteAmountAtoms: 5000 })), [
      accepted(3, 1, Side.Buy, OrderType.Market, 0, 0, 0, 5000),
      trade(1, 1, 3, 2, 1, 100, 2, 2, 4, Side.Buy),
      filled(1, 2),
      level(Side.Sell, 100, 0, 3, 0),
      trade(2, 2, 3, 3, 1, 101, 2, 2, 4, Side.Buy),
      level(Side.Sell, 101, 3, 4, 1),
      expired(3, 1, 0, 4),
      balance(1, usdt, usdt0 - 4028, 0),
      balance(2, btc, btc0 - 2000, 0),
      balance(2, usdt, usdt0 + 1998, 0),
      balance(1, btc, btc0 + 4000, 0),
      balance(0, usdt, 12, 0),
      balance(3, btc, btc0 - 5000, 3000),
      balance(3, usdt, usdt0 + 2018, 0),
    ]);
  });

  test('MARKET BUY by quote: fee rounding can make one more lot affordable at the same maker', () => {
    // qatl 1, taker fee 33 bps: 11 lots @ 595 cost 6545 + 21; 12 lots would cost 7140 + 23 > 7162;
    // with 596 left, one more lot costs 595 + 1 = 596. The maker stays the best, so it is met again.
    const h = standardHarness(factory, { quoteAtomsPerTickLot: 1, takerFeeBps: 33, makerFeeBps: 0, minNotionalAtoms: 1 });
    h.run(limit(2, Side.Sell, 595, 15));
    h.run(limit(3, Side.Sell, 595, 15));
    const events = h.payloads(placeOrder({ accountId: 1, marketId: market, side: Side.Buy, orderType: OrderType.Market, quoteAmountAtoms: 7162 }));
    const trades = events.filter((event) => event.type === 'TradeExecuted');
    assert.deepEqual(trades.map((event) => [event.makerOrderId, event.quantityLots, event.takerFeeAtoms]), [[1, 11, 21], [1, 1, 1]]);
    assert.equal(h.engine.balance(1, usdt).availableAtoms, usdt0 - 7162);
  });

  test('MARKET SELL by quote amount sells floor(target / price) lots and holds exactly those', () => {
    const h = standardHarness(factory);
    h.run(limit(2, Side.Buy, 100, 3));
    // Target 2500: 2 lots @ 100 (2000), 500 left < 1000. The maker's hold goes 3006 -> 1002, paying 2002.
    assert.deepEqual(h.payloads(placeOrder({ accountId: 1, marketId: market, side: Side.Sell, orderType: OrderType.Market, quoteAmountAtoms: 2500 })), [
      accepted(2, 1, Side.Sell, OrderType.Market, 0, 0, 0, 2500),
      trade(1, 1, 2, 2, 1, 100, 2, 2, 4, Side.Sell),
      level(Side.Buy, 100, 1, 2, 1),
      expired(2, 1, 0, 4),
      balance(1, btc, btc0 - 2000, 0),
      balance(2, btc, btc0 + 2000, 0),
      balance(2, usdt, usdt0 - 3004, 1002),
      balance(1, usdt, usdt0 + 1996, 0),
      balance(0, usdt, 6, 0),
    ]);
  });

  test('MARKET by quote is capped at marketMaxQuantityLots', () => {
    const h = standardHarness(factory, { marketMaxQuantityLots: 3 });
    h.run(limit(2, Side.Sell, 100, 10));
    const events = h.payloads(placeOrder({ accountId: 1, marketId: market, side: Side.Buy, orderType: OrderType.Market, quoteAmountAtoms: 50_000 }));
    assert.deepEqual(events.filter((event) => event.type === 'TradeExecuted').map((event) => event.quantityLots), [3]);
    assert.deepEqual(events.find((event) => event.type === 'OrderExpired'), expired(2, 1, 0, 4));
  });
});
