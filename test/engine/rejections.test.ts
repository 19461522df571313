// Bad commands: each gets its specific reason (docs/engine.md's validation order) and leaves
// the state as it was: the canonical hash with the two sequence counters masked is
// unchanged, no order id or trade id is used (Harness.expectRejected checks all of it).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  addAsset,
  addMarket,
  Command,
  marketCommand,
  placeOrder,
  type PlaceOrderFields,
  setAccountStp,
  setFees,
} from '../../src/domain/command.ts';
import { CommandType, OrderType, Side, StpMode, TimeInForce } from '../../src/domain/codes.ts';
import { defaultEngineLimits } from '../../src/engine/types.ts';
import { describeEngines, type Harness, type ReasonName, limit, market, standardHarness, standardSpec } from '../support/harness.ts';

const buyLimit: PlaceOrderFields = { accountId: 1, marketId: market, side: Side.Buy, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC, priceTicks: 100, quantityLots: 5 };
const marketBuy: PlaceOrderFields = { accountId: 1, marketId: market, side: Side.Buy, orderType: OrderType.Market, quantityLots: 5 };

/** [what, order fields, expected reason]: one thing wrong each, against the standard market. */
const badOrders: [string, PlaceOrderFields, ReasonName][] = [
  ['the fee account trading', { ...buyLimit, accountId: 0 }, 'VALIDATE_ACCOUNT_INVALID'],
  ['a negative account', { ...buyLimit, accountId: -4 }, 'VALIDATE_ACCOUNT_INVALID'],
  ['a fractional account', { ...buyLimit, accountId: 1.5 }, 'VALIDATE_ACCOUNT_INVALID'],
  ['an unsafe account', { ...buyLimit, accountId: 2 ** 53 }, 'VALIDATE_ACCOUNT_INVALID'],
  ['side 0', { ...buyLimit, side: 0 as Side }, 'VALIDATE_ENUM_INVALID'],
  ['side 3', { ...buyLimit, side: 3 as Side }, 'VALIDATE_ENUM_INVALID'],
  ['order type 9', { ...buyLimit, orderType: 9 as OrderType }, 'VALIDATE_ENUM_INVALID'],
  ['time in force 4', { ...buyLimit, timeInForce: 4 as TimeInForce }, 'VALIDATE_ENUM_INVALID'],
  ['stp mode 5', { ...buyLimit, stpMode: 5 as StpMode }, 'VALIDATE_ENUM_INVALID'],
  ['LIMIT without a time in force', { ...buyLimit, timeInForce: 0 }, 'VALIDATE_PARAMETERS_CONFLICT'],
  ['MARKET with GTC', { ...marketBuy, timeInForce: TimeInForce.GTC }, 'VALIDATE_PARAMETERS_CONFLICT'],
  ['LIMIT_MAKER with IOC', { ...buyLimit, orderType: OrderType.LimitMaker, timeInForce: TimeInForce.IOC }, 'VALIDATE_PARAMETERS_CONFLICT'],
  ['an unknown market', { ...buyLimit, marketId: 2 }, 'MARKET_UNKNOWN'],
  ['market 0', { ...buyLimit, marketId: 0 }, 'MARKET_UNKNOWN'],
  ['a bad clientOrderId', { ...buyLimit, clientOrderId: 'no spaces' }, 'VALIDATE_ID_INVALID'],
  ['price 0', { ...buyLimit, priceTicks: 0 }, 'VALIDATE_PRICE_NOT_POSITIVE'],
  ['a negative price', { ...buyLimit, priceTicks: -100 }, 'VALIDATE_PRICE_NOT_POSITIVE'],
  ['a price off tick', { ...buyLimit, priceTicks: 100.5 }, 'VALIDATE_PRICE_OFF_TICK'],
  ['an infinite price', { ...buyLimit, priceTicks: Number.POSITIVE_INFINITY }, 'VALIDATE_PRICE_OFF_TICK'],
  ['an unsafe integer price', { ...buyLimit, priceTicks: 2 ** 53 + 2 }, 'VALIDATE_PRICE_UNSAFE'],
  ['a price above the maximum', { ...buyLimit, priceTicks: standardSpec.maxPriceTicks + 1 }, 'MARKET_PRICE_ABOVE_MAX'],
  ['a MARKET order with a price', { ...marketBuy, priceTicks: 100 }, 'VALIDATE_PARAMETERS_CONFLICT'],
  ['quantity 0', { ...buyLimit, quantityLots: 0 }, 'VALIDATE_QUANTITY_NOT_POSITIVE'],
  ['a negative quantity', { ...buyLimit, quantityLots: -5 }, 'VALIDATE_QUANTITY_NOT_POSITIVE'],
  ['a quantity off lot', { ...buyLimit, quantityLots: 2.5 }, 'VALIDATE_QUANTITY_OFF_LOT'],
  ['an unsafe integer quantity', { ...buyLimit, quantityLots: 2 ** 60 }, 'VALIDATE_QUANTITY_UNSAFE'],
  ['a quantity above the maximum', { ...buyLimit, quantityLots: standardSpec.maxQuantityLots + 1 }, 'MARKET_QUANTITY_ABOVE_MAX'],
  ['a MARKET quantity above the market maximum', { ...marketBuy, quantityLots: standardSpec.marketMaxQuantityLots + 1 }, 'MARKET_QUANTITY_ABOVE_MAX'],
  ['a LIMIT with a quote amount', { ...buyLimit, quoteAmountAtoms: 5000 }, 'VALIDATE_PARAMETERS_CONFLICT'],
  ['a MARKET with quantity and quote amount', { ...marketBuy, quoteAmountAtoms: 5000 }, 'VALIDATE_PARAMETERS_CONFLICT'],
  ['a MARKET with neither', { ...marketBuy, quantityLots: 0 }, 'VALIDATE_PARAMETERS_CONFLICT'],
  ['a negative quote amount', { ...marketBuy, quantityLots: 0, quoteAmountAtoms: -5000 }, 'VALIDATE_AMOUNT_INVALID'],
  ['a fractional quote amount', { ...marketBuy, quantityLots: 0, quoteAmountAtoms: 5000.5 }, 'VALIDATE_AMOUNT_INVALID'],
  ['an unsafe quote amount', { ...marketBuy, quantityLots: 0, quoteAmountAtoms: 2 ** 54 }, 'VALIDATE_AMOUNT_INVALID'],
  ['a notional below the minimum', { ...buyLimit, priceTicks: 99, quantityLots: 1 }, 'MARKET_NOTIONAL_BELOW_MIN'],
  ['a quote amount below the minimum notional', { ...marketBuy, quantityLots: 0, quoteAmountAtoms: standardSpec.minNotionalAtoms - 1 }, 'MARKET_NOTIONAL_BELOW_MIN'],
  ['more quote than the account has', { ...buyLimit, priceTicks: 1_000_000, quantityLots: 1000 }, 'RISK_INSUFFICIENT_FUNDS'],
  ['a sell without the base asset', { ...buyLimit, accountId: 5, side: Side.Sell }, 'RISK_INSUFFICIENT_FUNDS'],
  ['a market buy by quote beyond the balance', { ...marketBuy, quantityLots: 0, quoteAmountAtoms: 100_000_001 }, 'RISK_INSUFFICIENT_FUNDS'],
  ['an account with no funds at all', { ...buyLimit, accountId: 77 }, 'RISK_INSUFFICIENT_FUNDS'],
];

function withResting(h: Harness): Harness {
  // A resting ask so that a MARKET BUY by quantity has something to pay for.
  h.run(limit(2, Side.Sell, 100, 5));
  return h;
}

describeEngines('rejected orders', (factory) => {
  for (const [what, fields, reason] of badOrders) {
    test(`${what}: ${reason}`, () => {
      const h = withResting(standardHarness(factory));
      const event = h.expectRejected(placeOrder(fields), reason);
      assert.deepEqual(
        [event.type, event.orderId, event.accountId, event.marketId, event.commandType],
        ['OrderRejected', 0, fields.accountId, fields.marketId, CommandType.PlaceOrder],
      );
    });
  }

  test('the first failing check wins (account before market before price before quantity)', () => {
    const h = withResting(standardHarness(factory));
    h.expectRejected(placeOrder({ ...buyLimit, accountId: 0, marketId: 9, priceTicks: -1 }), 'VALIDATE_ACCOUNT_INVALID');
    h.expectRejected(placeOrder({ ...buyLimit, side: 7 as Side, marketId: 9 }), 'VALIDATE_ENUM_INVALID');
    h.expectRejected(placeOrder({ ...buyLimit, marketId: 9, priceTicks: -1 }), 'MARKET_UNKNOWN');
    h.expectRejected(placeOrder({ ...buyLimit, priceTicks: -1, quantityLots: -1 }), 'VALIDATE_PRICE_NOT_POSITIVE');
    h.expectRejected(placeOrder({ ...buyLimit, quantityLots: 0, priceTicks: 1 }), 'VALIDATE_QUANTITY_NOT_POSITIVE');
  });

  test('a halted market rejects orders; it trades again once resumed', () => {
    const h = withResting(standardHarness(factory));
    assert.deepEqual(h.payloads(marketCommand(CommandType.HaltMarket, market)), [{ type: 'MarketHalted', marketId: market }]);
    assert.deepEqual(h.payloads(marketCommand(CommandType.HaltMarket, market)), [{ type: 'MarketHalted', marketId: market }]);
    h.expectRejected(placeOrder(buyLimit), 'MARKET_HALTED');
    h.expectRejected(placeOrder(marketBuy), 'MARKET_HALTED');
    assert.deepEqual(h.payloads(marketCommand(CommandType.ResumeMarket, market)), [{ type: 'MarketResumed', marketId: market }]);
    assert.equal(h.payloads(placeOrder(buyLimit))[0]!.type, 'OrderAccepted');
  });

  test('open orders per account are limited for orders that could rest', () => {
    const h = standardHarness(factory, {}, { ...defaultEngineLimits, openOrdersPerAccountMax: 2 });
    h.run(limit(1, Side.Buy, 90, 2));
    h.run(limit(1, Side.Buy, 91, 2));
    h.expectRejected(limit(1, Side.Buy, 92, 2), 'RISK_TOO_MANY_OPEN_ORDERS');
    h.expectRejected(placeOrder({ ...buyLimit, orderType: OrderType.LimitMaker, timeInForce: 0, priceTicks: 92 }), 'RISK_TOO_MANY_OPEN_ORDERS');
    // IOC cannot rest, so it is allowed.
    assert.equal(h.payloads(limit(1, Side.Buy, 92, 2, { timeInForce: TimeInForce.IOC }))[0]!.type, 'OrderAccepted');
    assert.equal(h.payloads(limit(2, Side.Buy, 92, 2))[0]!.type, 'OrderAccepted');
  });
});

describeEngines('rejected administration', (factory) => {
  test('assets, markets, fees and STP defaults with bad input', () => {
    const h = standardHarness(factory);
    h.expectRejected(addAsset('BTC', 8), 'MARKET_ASSET_EXISTS');
    for (const [code, scale] of [['btc', 8], ['', 8], ['TOOLONGASSET1', 8], ['ETH', 19], ['ETH', -1], ['ETH', 1.5]] as const) {
      h.expectRejected(addAsset(code, scale), 'MARKET_SPEC_INVALID');
    }
    h.expectRejected(addMarket(standardSpec), 'MARKET_EXISTS');
    h.expectRejected(addMarket({ ...standardSpec, symbol: 'BTCEUR', quoteAsset: 'EUR' }), 'MARKET_ASSET_UNKNOWN');
    h.expectRejected(addMarket({ ...standardSpec, symbol: 'BTCBTC', quoteAsset: 'BTC' }), 'MARKET_SPEC_INVALID');
    h.expectRejected(addMarket({ ...standardSpec, symbol: 'b' }), 'MARKET_SPEC_INVALID');
    h.expectRejected(addMarket({ ...standardSpec, symbol: 'USDTBTC', lotAtoms: 0 }), 'MARKET_SPEC_INVALID');
    h.expectRejected(addMarket({ ...standardSpec, symbol: 'USDTBTC', minQuantityLots: 1001 }), 'MARKET_SPEC_INVALID');
    h.expectRejected(addMarket({ ...standardSpec, symbol: 'USDTBTC', makerFeeBps: 1001 }), 'MARKET_SPEC_INVALID');
    h.expectRejected(addMarket({ ...standardSpec, symbol: 'USDTBTC', maxPriceTicks: 2 ** 40, quoteAtomsPerTickLot: 2 ** 10 }), 'MARKET_SPEC_INVALID');
    h.expectRejected(setFees(market, 1001, 0), 'MARKET_SPEC_INVALID');
    h.expectRejected(setFees(market, 0, -1), 'MARKET_SPEC_INVALID');
    h.expectRejected(setFees(market, 2.5, 0), 'MARKET_SPEC_INVALID');
    h.expectRejected(setFees(3, 1, 1), 'MARKET_UNKNOWN');
    h.expectRejected(marketCommand(CommandType.HaltMarket, 3), 'MARKET_UNKNOWN');
    h.expectRejected(marketCommand(CommandType.ResumeMarket, 3), 'MARKET_UNKNOWN');
    h.expectRejected(setAccountStp(1, StpMode.AccountDefault), 'VALIDATE_ENUM_INVALID');
    h.expectRejected(setAccountStp(1, 5 as StpMode), 'VALIDATE_ENUM_INVALID');
    h.expectRejected(setAccountStp(0, StpMode.ExpireBoth), 'VALIDATE_ACCOUNT_INVALID');
  });

  test('an unknown command type is VALIDATE_ENUM_INVALID', () => {
    const h = standardHarness(factory);
    h.expectRejected(new Command(99 as CommandType), 'VALIDATE_ENUM_INVALID');
  });

  test('the market and asset limits', () => {
    const h = standardHarness(factory, {}, { ...defaultEngineLimits, marketsMax: 1, assetsMax: 3 });
    assert.equal(h.payloads(addAsset('ETH', 8))[0]!.type, 'AssetAdded');
    h.expectRejected(addAsset('SOL', 8), 'MARKET_LIMIT_REACHED');
    h.expectRejected(addMarket({ ...standardSpec, symbol: 'ETHUSDT', baseAsset: 'ETH' }), 'MARKET_LIMIT_REACHED');
  });
});
