// Snapshots and state hashes: restore rebuilds an engine that hashes the same and then
// behaves identically (events, ids), the limits travel with the snapshot, and the hash
// depends on state only, not on which engine holds it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cancelOrder, placeOrder, setAccountStp, transfer } from '../../src/domain/command.ts';
import { CommandType, OrderType, Side, StpMode, TimeInForce } from '../../src/domain/codes.ts';
import { defaultEngineLimits } from '../../src/engine/types.ts';
import { engineFactories } from '../support/engines.ts';
import { describeEngines, Harness, limit, market, standardHarness } from '../support/harness.ts';
import type { Command } from '../../src/domain/command.ts';

const limits = { ...defaultEngineLimits, clientOrderIdWindow: 3, openOrdersPerAccountMax: 5 };

function scenario(): Command[] {
  return [
    limit(1, Side.Buy, 100, 5, { clientOrderId: 'a' }),
    limit(2, Side.Sell, 101, 3),
    limit(3, Side.Sell, 100, 2, { clientOrderId: 'b' }),
    setAccountStp(4, StpMode.ExpireMaker),
    limit(4, Side.Buy, 99, 4),
    transfer(CommandType.WithdrawRequest, 'w-1', 2, 'USDT', 777),
    cancelOrder(1, market, 0, 'a'),
  ];
}

function after(): Command[] {
  return [
    limit(1, Side.Buy, 100, 5, { clientOrderId: 'a' }), // a duplicate if the window survived
    limit(4, Side.Sell, 99, 4), // trades or STP-expires against its own order
    placeOrder({ accountId: 1, marketId: market, side: Side.Buy, orderType: OrderType.Market, quantityLots: 2 }),
    limit(2, Side.Buy, 90, 1, { timeInForce: TimeInForce.GTC, quantityLots: 2 }),
    transfer(CommandType.WithdrawComplete, 'w-1'),
  ];
}

describeEngines('snapshot and restore', (factory) => {
  test('a restored engine hashes the same and produces the same events and ids', () => {
    const original = standardHarness(factory, {}, limits);
    for (const command of scenario()) original.run(command);
    const bytes = original.engine.snapshot();
    const restored = new Harness(factory.create());
    restored.engine.restore(bytes);
    restored.sequence = original.sequence;
    assert.equal(restored.engine.stateHash(), original.engine.stateHash());
    assert.deepEqual(restored.engine.limits(), limits);
    assert.deepEqual(restored.engine.counters(), original.engine.counters());
    assert.equal(restored.engine.stpDefault(4), StpMode.ExpireMaker);
    for (const command of after()) {
      const copy = Object.assign(Object.create(Object.getPrototypeOf(command) as object) as Command, command);
      assert.deepEqual(restored.run(copy), original.run(command));
    }
    assert.equal(restored.engine.stateHash(), original.engine.stateHash());
    assert.deepEqual(restored.engine.depth(market, 10), original.engine.depth(market, 10));
    assert.deepEqual(restored.engine.openOrders(4, market), original.engine.openOrders(4, market));
  });

  test('the state hash changes with the state', () => {
    const h = standardHarness(factory);
    const before = h.engine.stateHash();
    h.run(limit(1, Side.Buy, 100, 5));
    assert.notEqual(h.engine.stateHash(), before);
  });
});

test('every engine reaches the same state hash on the same commands', () => {
  const hashes = engineFactories.map((factory) => {
    const h = standardHarness(factory, {}, limits);
    for (const command of [...scenario(), ...after()]) h.run(command);
    return h.engine.stateHash();
  });
  assert.ok(hashes.length >= 1);
  for (const hash of hashes) assert.equal(hash, hashes[0]);
});
