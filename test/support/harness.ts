// Test helpers around one engine: stamps commands with a sequence and a timestamp the
// way the command log would, decodes the events, builds a standard market, and checks
// that a rejected command changed nothing but the two sequence counters.
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import {
  addAsset,
  addMarket,
  transfer,
  type Command,
  placeOrder,
  type PlaceOrderFields,
} from '../../src/domain/command.ts';
import { CommandType, EventType, OrderType, type Reason, reasonNames, Side, TimeInForce } from '../../src/domain/codes.ts';
import { decodeEvents, EventBuffer, type EngineEvent } from '../../src/domain/events.ts';
import type { MarketSpec } from '../../src/domain/market.ts';
import { canonicalStateHash } from '../../src/engine/state-hash.ts';
import type { EngineLimits, MatchingEngine } from '../../src/engine/types.ts';
import { defaultEngineLimits } from '../../src/engine/types.ts';
import { engineFactories, type EngineFactory } from './engines.ts';

/** Timestamps are `timestampBaseMs + sequence`, so tests can predict them. */
export const timestampBaseMs = 1_700_000_000_000;

/** Payload of an event: everything but the header (type stays). */
export type Payload = Record<string, string | number>;

export class Harness {
  readonly buffer = new EventBuffer(64);
  sequence = 0;

  constructor(readonly engine: MatchingEngine) {}

  /** Executes one command and returns its decoded events. */
  run(command: Command): EngineEvent[] {
    this.sequence += 1;
    command.sequence = this.sequence;
    command.timestampMs = timestampBaseMs + this.sequence;
    this.buffer.clear();
    this.engine.execute(command, this.buffer);
    return decodeEvents(this.buffer);
  }

  /** Executes one command and returns its events without the header fields. */
  payloads(command: Command): Payload[] {
    return this.run(command).map(payloadOf);
  }

  place(fields: PlaceOrderFields): Payload[] {
    return this.payloads(placeOrder(fields));
  }

  deposit(accountId: number, asset: string, amountAtoms: number, transferId = `d-${this.sequence + 1}`): Payload[] {
    return this.payloads(transfer(CommandType.Deposit, transferId, accountId, asset, amountAtoms));
  }

  /** Runs a command that must be rejected with `reasonName`, and checks it changed nothing. */
  expectRejected(command: Command, reasonName: ReasonName): EngineEvent {
    const before = maskedStateHash(this.engine);
    const countersBefore = this.engine.counters();
    const events = this.run(command);
    assert.equal(events.length, 1, `one event expected, got ${JSON.stringify(events)}`);
    const event = events[0]!;
    assert.ok(event.type === 'OrderRejected' || event.type === 'CommandRejected', `rejection expected, got ${event.type}`);
    assert.equal(reasonNames[event.reason as number], reasonName, `reason for ${JSON.stringify(event)}`);
    assert.equal(event.commandType, command.type);
    assert.equal(maskedStateHash(this.engine), before, 'a rejected command must not change the state');
    const countersAfter = this.engine.counters();
    assert.equal(countersAfter.nextOrderId, countersBefore.nextOrderId);
    assert.equal(countersAfter.nextTradeId, countersBefore.nextTradeId);
    assert.equal(countersAfter.lastEventSequence, countersBefore.lastEventSequence + 1);
    assert.equal(countersAfter.lastCommandSequence, command.sequence);
    return event;
  }
}

/** A rejection reason by name, e.g. 'RISK_INSUFFICIENT_FUNDS'. */
export type ReasonName = keyof typeof Reason;

export function payloadOf(event: EngineEvent): Payload {
  const { commandSequence: _sequence, eventSequence: _eventSequence, timestampMs: _timestamp, ...rest } = event;
  return rest;
}

/**
 * The canonical state hash with lastCommandSequence and lastEventSequence masked: every
 * command (even a rejected one) advances those two, and nothing else may change when a
 * command is rejected.
 */
export function maskedStateHash(engine: MatchingEngine): string {
  return canonicalStateHash({
    limits: () => engine.limits(),
    counters: () => ({ ...engine.counters(), lastCommandSequence: 0, lastEventSequence: 0 }),
    assets: () => engine.assets(),
    markets: () => engine.markets(),
    balances: () => engine.balances(),
    bookOrders: (marketId, side) => engine.bookOrders(marketId, side),
    stpDefault: (accountId) => engine.stpDefault(accountId),
  });
}

/**
 * The standard test market BTCUSDT (id 1): BTC is asset 1, USDT asset 2. One lot is 1000
 * base atoms, one tick x one lot is 10 quote atoms, so notional = price x lots x 10.
 * Maker fee 10 bps, taker 20 bps.
 */
export const standardSpec: MarketSpec = {
  symbol: 'BTCUSDT',
  baseAsset: 'BTC',
  quoteAsset: 'USDT',
  lotAtoms: 1000,
  quoteAtomsPerTickLot: 10,
  maxPriceTicks: 1_000_000,
  minQuantityLots: 1,
  maxQuantityLots: 1000,
  marketMaxQuantityLots: 500,
  minNotionalAtoms: 1000,
  makerFeeBps: 10,
  takerFeeBps: 20,
};

export const btc = 1;
export const usdt = 2;
export const market = 1;
/** Starting balances of accounts 1..4 in the standard setup. */
export const startBtcAtoms = 10_000_000;
export const startUsdtAtoms = 100_000_000;

/** A harness with BTC, USDT, BTCUSDT and accounts 1..4 funded. */
export function standardHarness(factory: EngineFactory, spec: Partial<MarketSpec> = {}, limits: EngineLimits = defaultEngineLimits): Harness {
  const harness = new Harness(factory.create(limits));
  assert.equal(harness.run(addAsset('BTC', 8))[0]!.type, 'AssetAdded');
  assert.equal(harness.run(addAsset('USDT', 6))[0]!.type, 'AssetAdded');
  assert.equal(harness.run(addMarket({ ...standardSpec, ...spec }))[0]!.type, 'MarketAdded');
  for (const accountId of [1, 2, 3, 4]) {
    harness.deposit(accountId, 'BTC', startBtcAtoms);
    harness.deposit(accountId, 'USDT', startUsdtAtoms);
  }
  return harness;
}

export function limit(accountId: number, side: Side, priceTicks: number, quantityLots: number, extra: Partial<PlaceOrderFields> = {}): Command {
  return placeOrder({ accountId, marketId: market, side, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC, priceTicks, quantityLots, ...extra });
}

export function balanceEvent(accountId: number, assetId: number, availableAtoms: number, heldAtoms: number): Payload {
  return { type: 'BalanceChanged', accountId, assetId, availableAtoms, heldAtoms };
}

export function levelEvent(side: Side, priceTicks: number, quantityLots: number, updateId: number, orderCount: number): Payload {
  return { type: 'BookLevelChanged', marketId: market, side, priceTicks, quantityLots, updateId, orderCount };
}

export function typesOf(events: readonly Record<string, unknown>[]): string[] {
  return events.map((event) => String(event.type));
}

/** Runs `body` once per engine inside a describe block named after it. */
export function describeEngines(title: string, body: (factory: EngineFactory) => void): void {
  for (const factory of engineFactories) describe(`${title} [${factory.name}]`, () => body(factory));
}

export { EventType, Side };
