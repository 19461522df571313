// clientOrderId idempotency: a retry with the same parameters gets OrderDuplicate (the
// original orderId) and changes nothing; different parameters get
// RISK_DUPLICATE_CLIENT_ORDER_ID; closed orders stay known while in the window.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cancelOrder } from '../../src/domain/command.ts';
import { Side, StpMode, TimeInForce } from '../../src/domain/codes.ts';
import { defaultEngineLimits } from '../../src/engine/types.ts';
import { amendOrder } from '../../src/domain/command.ts';
import { describeEngines, limit, market, maskedStateHash, standardHarness } from '../support/harness.ts';

describeEngines('clientOrderId', (factory) => {
  test('same parameters while open: OrderDuplicate with the original orderId, nothing else', () => {
    const h = standardHarness(factory);
    h.run(limit(1, Side.Buy, 100, 5, { clientOrderId: 'buy-1' }));
    const before = maskedStateHash(h.engine);
    // The STP mode is not one of the compared parameters.
    assert.deepEqual(h.payloads(limit(1, Side.Buy, 100, 5, { clientOrderId: 'buy-1', stpMode: StpMode.ExpireBoth })), [
      { type: 'OrderDuplicate', orderId: 1, accountId: 1, marketId: market, clientOrderId: 'buy-1' },
    ]);
    assert.equal(maskedStateHash(h.engine), before);
    assert.equal(h.engine.counters().nextOrderId, 2);
  });

  test('different parameters: RISK_DUPLICATE_CLIENT_ORDER_ID; another account may reuse the id', () => {
    const h = standardHarness(factory);
    h.run(limit(1, Side.Buy, 100, 5, { clientOrderId: 'buy-1' }));
    h.expectRejected(limit(1, Side.Buy, 101, 5, { clientOrderId: 'buy-1' }), 'RISK_DUPLICATE_CLIENT_ORDER_ID');
    h.expectRejected(limit(1, Side.Buy, 100, 6, { clientOrderId: 'buy-1' }), 'RISK_DUPLICATE_CLIENT_ORDER_ID');
    h.expectRejected(limit(1, Side.Sell, 100, 5, { clientOrderId: 'buy-1' }), 'RISK_DUPLICATE_CLIENT_ORDER_ID');
    h.expectRejected(limit(1, Side.Buy, 100, 5, { clientOrderId: 'buy-1', timeInForce: TimeInForce.IOC }), 'RISK_DUPLICATE_CLIENT_ORDER_ID');
    const event = h.expectRejected(limit(1, Side.Buy, 100, 5, { clientOrderId: 'buy-1', marketId: 1, priceTicks: 99 }), 'RISK_DUPLICATE_CLIENT_ORDER_ID');
    assert.equal(event.clientOrderId, 'buy-1');
    assert.equal(h.payloads(limit(2, Side.Buy, 100, 5, { clientOrderId: 'buy-1' }))[0]!.type, 'OrderAccepted');
  });

  test('a closed order stays known in the window: canceled, filled, or expired at once', () => {
    const h = standardHarness(factory);
    h.run(limit(1, Side.Buy, 100, 5, { clientOrderId: 'c-1' }));
    h.run(cancelOrder(1, market, 1));
    assert.deepEqual(h.payloads(limit(1, Side.Buy, 100, 5, { clientOrderId: 'c-1' })), [
      { type: 'OrderDuplicate', orderId: 1, accountId: 1, marketId: market, clientOrderId: 'c-1' },
    ]);
    h.run(limit(1, Side.Buy, 100, 2, { clientOrderId: 'ioc-1', timeInForce: TimeInForce.IOC }));
    assert.equal(h.payloads(limit(1, Side.Buy, 100, 2, { clientOrderId: 'ioc-1', timeInForce: TimeInForce.IOC }))[0]!.type, 'OrderDuplicate');
    h.expectRejected(limit(1, Side.Buy, 100, 3, { clientOrderId: 'ioc-1' }), 'RISK_DUPLICATE_CLIENT_ORDER_ID');
  });

  test('a retry of the original request after an amend is still the same order', () => {
    const h = standardHarness(factory);
    h.run(limit(1, Side.Buy, 100, 5, { clientOrderId: 'amended' }));
    h.run(amendOrder(1, market, 1, 3));
    assert.equal(h.payloads(limit(1, Side.Buy, 100, 5, { clientOrderId: 'amended' }))[0]!.type, 'OrderDuplicate');
  });

  test('beyond the window the id is forgotten and may be used again', () => {
    const h = standardHarness(factory, {}, { ...defaultEngineLimits, clientOrderIdWindow: 2 });
    for (const id of ['a', 'b', 'c']) {
      h.run(limit(1, Side.Buy, 100, 2, { clientOrderId: id, timeInForce: TimeInForce.IOC }));
    }
    assert.equal(h.payloads(limit(1, Side.Buy, 100, 2, { clientOrderId: 'b', timeInForce: TimeInForce.IOC }))[0]!.type, 'OrderDuplicate');
    assert.equal(h.payloads(limit(1, Side.Buy, 100, 9, { clientOrderId: 'a' }))[0]!.type, 'OrderAccepted');
  });

  test('ids longer than 36 characters or with other characters are VALIDATE_ID_INVALID', () => {
    const h = standardHarness(factory);
    assert.equal(h.payloads(limit(1, Side.Buy, 100, 2, { clientOrderId: 'A-z_0.9:/x'.padEnd(36, 'q') }))[0]!.type, 'OrderAccepted');
    for (const id of ['x'.repeat(37), 'has space', 'é', 'semi;colon', 'star*']) {
      h.expectRejected(limit(1, Side.Buy, 100, 2, { clientOrderId: id }), 'VALIDATE_ID_INVALID');
    }
  });
});
