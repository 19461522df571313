// Shared setup for the stream, market data and notifier tests: a real engine host (fast
// engine, in-memory command log) with BTCUSDT funded for accounts 1..4, the in-memory cache
// and pub/sub, and small helpers to place orders and read PubSub channels.

import assert from 'node:assert/strict';
import { addAsset, addMarket, placeOrder, transfer, type PlaceOrderFields } from '../../src/domain/command.ts';
import { CommandType, OrderType, Side, TimeInForce } from '../../src/domain/codes.ts';
import type { MarketSpec } from '../../src/domain/market.ts';
import { decodeCommand, encodeCommand } from '../../src/domain/codec.ts';
import { Engine } from '../../src/engine/engine.ts';
import { EngineHost } from '../../src/services/engine-host/engine-host.ts';
import { MemoryLog } from '../../src/adapters/memory-log.ts';
import { MemoryBus, MemoryCache, MemoryPubSub } from '../../src/adapters/memory-cache.ts';
import { createLogger } from '../../src/adapters/logger.ts';
import type { CommandResult } from '../../src/services/contracts.ts';

/** BTC (scale 8) / USDT (scale 8): one lot 0.00001 BTC, one tick 0.01 USDT. */
export const testSpec: MarketSpec = {
  symbol: 'BTCUSDT',
  baseAsset: 'BTC',
  quoteAsset: 'USDT',
  lotAtoms: 1000,
  quoteAtomsPerTickLot: 10,
  maxPriceTicks: 100_000_000,
  minQuantityLots: 1,
  maxQuantityLots: 1_000_000,
  marketMaxQuantityLots: 1_000_000,
  minNotionalAtoms: 1,
  makerFeeBps: 10,
  takerFeeBps: 20,
};

export const testLogger = createLogger('test');

export interface Pipeline {
  host: EngineHost;
  cache: MemoryCache;
  pubsub: MemoryPubSub;
  bus: MemoryBus;
  submit(command: Parameters<EngineHost['submit']>[0]): Promise<CommandResult>;
  close(): Promise<void>;
}

export interface PipelineOptions {
  clock?: () => number;
  accounts?: number[];
}

export async function startPipeline(options: PipelineOptions = {}): Promise<Pipeline> {
  const host = await EngineHost.start({
    createEngine: () => new Engine(),
    commandLog: new MemoryLog(),
    codec: { encode: encodeCommand, decode: decodeCommand },
    ...(options.clock ? { clock: options.clock } : {}),
    logger: testLogger,
  });
  const bus = new MemoryBus();
  const cache = new MemoryCache(options.clock ? { now: options.clock } : {});
  const pubsub = new MemoryPubSub(bus, testLogger);
  const submit = (command: Parameters<EngineHost['submit']>[0]) => host.submit(command);
  await submit(addAsset('BTC', 8));
  await submit(addAsset('USDT', 8));
  const added = await submit(addMarket(testSpec));
  assert.equal(added.events[0]!.type, 'MarketAdded');
  for (const accountId of options.accounts ?? [1, 2, 3, 4]) {
    await submit(transfer(CommandType.Deposit, `btc-${accountId}`, accountId, 'BTC', 1_000_000_000_000));
    await submit(transfer(CommandType.Deposit, `usdt-${accountId}`, accountId, 'USDT', 1_000_000_000_000_000));
  }
  return {
    host, cache, pubsub, bus, submit,
    async close() {
      await host.stop();
      await pubsub.close();
      await cache.close();
    },
  };
}

export function limitOrder(accountId: number, side: Side, priceTicks: number, quantityLots: number, extra: Partial<PlaceOrderFields> = {}) {
  return placeOrder({ accountId, marketId: 1, side, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC, priceTicks, quantityLots, ...extra });
}

export function marketOrder(accountId: number, side: Side, quantityLots: number) {
  return placeOrder({ accountId, marketId: 1, side, orderType: OrderType.Market, quantityLots });
}

/** Collects every message of PubSub channels, parsed. */
export async function record(pubsub: MemoryPubSub, channels: string[]): Promise<{ messages: Map<string, unknown[]>; stop(): Promise<void> }> {
  const messages = new Map<string, unknown[]>();
  const stops: (() => Promise<void>)[] = [];
  for (const channel of channels) {
    messages.set(channel, []);
    stops.push(await pubsub.subscribe(channel, (text) => messages.get(channel)!.push(JSON.parse(text))));
  }
  return { messages, stop: async () => { for (const stop of stops) await stop(); } };
}

/** Lets queued microtasks and timers of zero delay run (MemoryPubSub delivers after the stack). */
export function settle(delayMs = 5): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, delayMs));
}

export { Side, OrderType, TimeInForce };
