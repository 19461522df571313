// Fees and holds: floor rounding, maker against taker bps, the fee account credited (and
// untouched when a fill's fees round to zero), fees changed while an order rests, and holds
// released to the atom.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommandType, Side } from '../../src/domain/codes.ts';
import { placeOrder, setFees, transfer } from '../../src/domain/command.ts';
import { OrderType } from '../../src/domain/codes.ts';
import { feeAtoms } from '../../src/domain/units.ts';
import {
  balanceEvent as balance,
  btc,
  describeEngines,
  limit,
  market,
  standardHarness,
  startBtcAtoms as btc0,
  startUsdtAtoms as usdt0,
  typesOf,
  usdt,
} from '../support/harness.ts';

test('feeAtoms floors exactly, even near the safe-integer limit', () => {
  assert.equal(feeAtoms(693, 15), 1);
  assert.equal(feeAtoms(693, 25), 1);
  assert.equal(feeAtoms(399, 25), 0);
  assert.equal(feeAtoms(9999, 1), 0);
  assert.equal(feeAtoms(10000, 1), 1);
  assert.equal(feeAtoms(Number.MAX_SAFE_INTEGER, 1000), 900719925474099);
});

describeEngines('fees', (factory) => {
  test('each fill computes floor(notional x bps / 10000) for the maker and the taker', () => {
    const h = standardHarness(factory, { quoteAtomsPerTickLot: 1, minNotionalAtoms: 1, makerFeeBps: 15, takerFeeBps: 25 });
    h.run(limit(2, Side.Sell, 99, 7));
    // Notional 693: maker 1.0395 -> 1, taker 1.7325 -> 1.
    const events = h.payloads(limit(1, Side.Buy, 99, 7));
    const trade = events.find((event) => event.type === 'TradeExecuted')!;
    assert.deepEqual([trade.makerFeeAtoms, trade.takerFeeAtoms], [1, 1]);
    assert.deepEqual(events.at(-1), balance(0, usdt, 2, 0));
    // The buyer (taker) paid 693 + 1; the seller (maker) received 693 - 1.
    assert.equal(h.engine.balance(1, usdt).availableAtoms, usdt0 - 694);
    assert.equal(h.engine.balance(2, usdt).availableAtoms, usdt0 + 692);
  });

  test('a fill whose fees both round to zero does not touch the fee account', () => {
    const h = standardHarness(factory, { quoteAtomsPerTickLot: 1, minNotionalAtoms: 1, makerFeeBps: 15, takerFeeBps: 25 });
    h.run(limit(2, Side.Sell, 133, 3));
    const events = h.payloads(limit(1, Side.Buy, 133, 3));
    const trade = events.find((event) => event.type === 'TradeExecuted')!;
    assert.deepEqual([trade.makerFeeAtoms, trade.takerFeeAtoms], [0, 0]);
    assert.equal(events.filter((event) => event.type === 'BalanceChanged' && event.accountId === 0).length, 0);
    assert.equal(h.engine.balance(0, usdt).availableAtoms, 0);
  });

  test('a buying maker pays the maker fee, a selling taker the taker fee', () => {
    const h = standardHarness(factory, { makerFeeBps: 7, takerFeeBps: 30 });
    h.run(limit(2, Side.Buy, 100, 10));
    h.run(limit(1, Side.Sell, 100, 10));
    // Notional 10000: maker 7, taker 30.
    assert.equal(h.engine.balance(2, usdt).availableAtoms, usdt0 - 10_007);
    assert.equal(h.engine.balance(2, usdt).heldAtoms, 0);
    assert.equal(h.engine.balance(2, btc).availableAtoms, btc0 + 10_000);
    assert.equal(h.engine.balance(1, usdt).availableAtoms, usdt0 + 9970);
    assert.equal(h.engine.balance(0, usdt).availableAtoms, 37);
  });

  test('fees changed while an order rests: the resting order keeps its fees and its hold', () => {
    const h = standardHarness(factory);
    h.run(limit(2, Side.Sell, 100, 10)); // maker at 10 bps
    h.run(limit(3, Side.Buy, 90, 10)); // holds 9000 + 18 (20 bps)
    assert.deepEqual(h.payloads(setFees(market, 50, 70)), [{ type: 'FeesSet', marketId: market, makerFeeBps: 50, takerFeeBps: 70 }]);
    assert.equal(h.engine.order(2)!.heldAtoms, 9018);
    assert.equal(h.engine.markets()[0]!.spec.takerFeeBps, 70);
    // A new buy holds with max(50, 70): 10000 + 70. It trades with the old maker: maker fee 10, taker 70.
    const events = h.payloads(limit(1, Side.Buy, 100, 10));
    const trade = events.find((event) => event.type === 'TradeExecuted')!;
    assert.deepEqual([trade.makerFeeAtoms, trade.takerFeeAtoms], [10, 70]);
    assert.equal(h.engine.balance(1, usdt).availableAtoms, usdt0 - 10_070);
    // The old buy, filled later as a maker, still pays 20 bps max hold and its 10 bps maker fee.
    h.run(limit(4, Side.Sell, 90, 10));
    assert.equal(h.engine.balance(3, usdt).availableAtoms, usdt0 - 9000 - 9);
    assert.equal(h.engine.balance(3, usdt).heldAtoms, 0);
  });
});

describeEngines('holds', (factory) => {
  test('a buy filled below its limit returns the difference to the atom', () => {
    const h = standardHarness(factory);
    h.run(limit(2, Side.Sell, 90, 3));
    h.run(limit(3, Side.Sell, 95, 3));
    h.run(limit(1, Side.Buy, 120, 6, { timeInForce: 2 }));
    // Paid 2700 + 5 and 2850 + 5 (20 bps floors); nothing else is held.
    assert.deepEqual(h.engine.balance(1, usdt), { accountId: 1, assetId: usdt, availableAtoms: usdt0 - 2705 - 2855, heldAtoms: 0 });
    assert.deepEqual(h.engine.balance(1, btc), { accountId: 1, assetId: btc, availableAtoms: btc0 + 6000, heldAtoms: 0 });
  });

  test('a buy may use its whole balance; one atom more is RISK_INSUFFICIENT_FUNDS', () => {
    const h = standardHarness(factory);
    h.run(transfer(CommandType.Deposit, 'small', 5, 'USDT', 1002));
    h.expectRejected(limit(5, Side.Buy, 100, 1, { priceTicks: 101 }), 'RISK_INSUFFICIENT_FUNDS');
    assert.deepEqual(typesOf(h.payloads(limit(5, Side.Buy, 100, 1))), ['OrderAccepted', 'BookLevelChanged', 'BalanceChanged']);
    assert.deepEqual(h.engine.balance(5, usdt), { accountId: 5, assetId: usdt, availableAtoms: 0, heldAtoms: 1002 });
  });

  test('a sell holds base lots x lotAtoms; MARKET BUY by quote holds the amount; the fee account can withdraw fees', () => {
    const h = standardHarness(factory);
    assert.deepEqual(h.payloads(limit(1, Side.Sell, 100, 4)).at(-1), balance(1, btc, btc0 - 4000, 4000));
    h.run(placeOrder({ accountId: 2, marketId: market, side: Side.Buy, orderType: OrderType.Market, quoteAmountAtoms: 2500 }));
    // 2 lots @ 100 cost 2004; the remaining 496 of the 2500 hold comes back.
    assert.deepEqual(h.engine.balance(2, usdt), { accountId: 2, assetId: usdt, availableAtoms: usdt0 - 2004, heldAtoms: 0 });
    const fees = h.engine.balance(0, usdt).availableAtoms;
    assert.equal(fees, 2 + 4);
    assert.deepEqual(h.payloads(transfer(CommandType.WithdrawRequest, 'fees-1', 0, 'USDT', fees)), [
      { type: 'WithdrawRequested', accountId: 0, assetId: usdt, amountAtoms: fees, transferId: 'fees-1' },
      balance(0, usdt, 0, fees),
    ]);
  });

  test('holds and fees stay exact at the largest notional a market spec allows', () => {
    // maxPriceTicks x maxQuantityLots x quoteAtomsPerTickLot x 2 must be a safe integer: here 2 x 10^15.
    const h = standardHarness(factory, { maxPriceTicks: 1_000_000_000, maxQuantityLots: 1000, marketMaxQuantityLots: 1000, quoteAtomsPerTickLot: 1000, makerFeeBps: 999, takerFeeBps: 1000 });
    h.run(transfer(CommandType.Deposit, 'big-usdt', 5, 'USDT', 1_100_000_000_000_000));
    h.run(transfer(CommandType.Deposit, 'big-btc', 6, 'BTC', 1_000_000));
    const notional = 1_000_000_000 * 1000 * 1000;
    const events = h.payloads(limit(5, Side.Buy, 1_000_000_000, 1000));
    assert.deepEqual(events.at(-1), balance(5, usdt, 1_100_000_000_000_000 - notional - notional / 10, notional + notional / 10));
    h.run(limit(6, Side.Sell, 1_000_000_000, 1000));
    // Maker (the buy) pays 999 bps, taker (the sell) 1000 bps.
    assert.deepEqual(h.engine.balance(5, usdt), { accountId: 5, assetId: usdt, availableAtoms: 1_100_000_000_000_000 - notional - notional * 999 / 10_000, heldAtoms: 0 });
    assert.deepEqual(h.engine.balance(6, usdt), { accountId: 6, assetId: usdt, availableAtoms: notional - notional / 10, heldAtoms: 0 });
    assert.equal(h.engine.balance(0, usdt).availableAtoms, notional * 1999 / 10_000);
  });
});
