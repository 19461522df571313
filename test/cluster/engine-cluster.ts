// Test support for the engine role on real NATS: starts engine processes of a throw-away
// cluster (its own streams and lease bucket), drives them with orders over the NATS
// command bus, and checks the logs afterwards by replaying them into a fresh engine.
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { addAsset, addMarket, placeOrder, transfer } from '../../src/domain/command.ts';
import { CommandType, OrderType, Side, TimeInForce } from '../../src/domain/codes.ts';
import { decodeCommand } from '../../src/domain/codec.ts';
import { EventBuffer, decodeEvents, type EngineEvent } from '../../src/domain/events.ts';
import type { MarketSpec } from '../../src/domain/market.ts';
import { Engine } from '../../src/engine/engine.ts';
import { JetStreamLog } from '../../src/adapters/jetstream-log.ts';
import { NatsCommandBus } from '../../src/cluster/command-bus.ts';
import { decodeEventRecord } from '../../src/cluster/event-log.ts';
import { loadClusterSettings, type ClusterSettings } from '../../src/cluster/settings.ts';
import { freePort, RoleProcess } from '../../src/cluster/processes.ts';
import { CommandTimeoutError } from '../../src/services/contracts.ts';
import { natsUrl, uniqueName } from './services.ts';
import { standardSpec } from '../support/harness.ts';

/** The same BTCUSDT market as the engine tests use (test/support/harness.ts). */
export const testSpec: MarketSpec = standardSpec;
export const accountsCount = 8;

export class EngineCluster {
  readonly name = uniqueName('t').toLowerCase();
  readonly settings: ClusterSettings;
  readonly engines: RoleProcess[] = [];
  connection!: NatsConnection;
  bus!: NatsCommandBus;
  private counter = 0;

  constructor(readonly leaseTtlMs = 1000) {
    this.settings = loadClusterSettings({ BOURSE_CLUSTER: this.name, BOURSE_NATS_URL: natsUrl });
  }

  async open(): Promise<void> {
    this.connection = await connect({ servers: natsUrl });
    this.bus = new NatsCommandBus({ connection: this.connection, subject: this.settings.commandSubject, timeoutMsDefault: 3000 });
  }

  async startEngine(): Promise<RoleProcess> {
    const name = `engine-${++this.counter}`;
    const engine = new RoleProcess({
      role: 'engine',
      name,
      healthPort: await freePort(),
      env: { BOURSE_CLUSTER: this.name, BOURSE_NATS_URL: natsUrl, BOURSE_LEASE_TTL_MS: String(this.leaseTtlMs), BOURSE_COMMAND_TIMEOUT_MS: '3000', LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
    });
    this.engines.push(engine);
    await engine.waitReady();
    return engine;
  }

  /** The engine whose /readyz says leader, waiting up to `timeoutMs`. */
  async leader(timeoutMs = 10_000): Promise<RoleProcess> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      for (const engine of this.engines) {
        if (!engine.running) continue;
        const readiness = await engine.readiness();
        if (readiness?.body.state === 'leader') return engine;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error('no engine became the leader');
  }

  /** Assets, the market and funded accounts 1..accountsCount. */
  async seed(): Promise<void> {
    await this.bus.submit(addAsset('BTC', 8));
    await this.bus.submit(addAsset('USDT', 6));
    await this.bus.submit(addMarket(testSpec));
    for (let accountId = 1; accountId <= accountsCount; accountId++) {
      await this.bus.submit(transfer(CommandType.Deposit, `seed-btc-${accountId}`, accountId, 'BTC', 1_000_000_000));
      await this.bus.submit(transfer(CommandType.Deposit, `seed-usdt-${accountId}`, accountId, 'USDT', 10_000_000_000));
    }
  }

  async close(): Promise<void> {
    for (const engine of this.engines) await engine.stop(3000);
    const manager = await jetstreamManager(this.connection);
    for (const stream of [this.settings.commandStream, this.settings.eventStream, `KV_${this.settings.leaseBucket}`]) {
      await manager.streams.delete(stream).catch(() => false);
    }
    await this.connection.close();
  }
}

export interface AcknowledgedOrder {
  accountId: number;
  clientOrderId: string;
  orderId: number;
  sequence: number;
}

/**
 * Places crossing limit orders from `clients` concurrent loops until `stop()` is called. A
 * timed-out order is retried with the same clientOrderId (the engine answers the original
 * order, never a second one) until it gets an answer.
 */
export function orderLoad(cluster: EngineCluster, clients: number): { acknowledged: AcknowledgedOrder[]; readonly unknown: number; stop: () => Promise<void>; firstAckAfter: (timeMs: number) => number | null } {
  const acknowledged: AcknowledgedOrder[] = [];
  const ackTimes: { sentMs: number; ackMs: number }[] = [];
  let stopped = false;
  let unknown = 0;
  const loops = Array.from({ length: clients }, async (_, client) => {
    let index = 0;
    while (!stopped) {
      index++;
      const accountId = (client % accountsCount) + 1;
      const clientOrderId = `c${client}-${index}`;
      const side = (client + index) % 2 === 0 ? Side.Buy : Side.Sell;
      const priceTicks = 1000 + ((index * 7 + client) % 11) - 5;
      for (;;) {
        const command = placeOrder({ accountId, marketId: 1, side, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC, priceTicks, quantityLots: 1 + (index % 3), clientOrderId });
        const sentMs = Date.now();
        try {
          const result = await cluster.bus.submit(command, 3000);
          const accepted = result.events.find((event) => event.type === 'OrderAccepted' || event.type === 'OrderDuplicate');
          assert.ok(accepted, `order ${clientOrderId} got ${result.events.map((event) => event.type).join(',')}`);
          acknowledged.push({ accountId, clientOrderId, orderId: accepted.orderId as number, sequence: result.sequence });
          ackTimes.push({ sentMs, ackMs: Date.now() });
          break;
        } catch (error) {
          if (!(error instanceof CommandTimeoutError)) throw error;
          unknown++;
          if (stopped) return;
        }
      }
    }
  });
  return {
    acknowledged,
    get unknown() {
      return unknown;
    },
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
    },
    /** The first acknowledgement of an order sent at or after `timeMs`. */
    firstAckAfter: (timeMs: number) => {
      const later = ackTimes.filter((time) => time.sentMs >= timeMs).map((time) => time.ackMs);
      return later.length > 0 ? Math.min(...later) : null;
    },
  };
}

/** Replays the command log into a fresh engine; checks the event log equals the replay's events. */
export async function verifyLogs(cluster: EngineCluster, acknowledged: AcknowledgedOrder[]): Promise<{ engine: Engine; commands: number; events: number }> {
  const commandLog = await JetStreamLog.open({ stream: cluster.settings.commandStream, connection: cluster.connection });
  const eventLog = await JetStreamLog.open({ stream: cluster.settings.eventStream, connection: cluster.connection });
  const engine = new Engine();
  const out = new EventBuffer(4096);
  const replayed: EngineEvent[] = [];
  const accepted = new Map<string, number>();
  const last = await commandLog.lastSequence();
  for (let next = 1; next <= last; ) {
    const records = await commandLog.read(next, 4096);
    for (const record of records) {
      assert.equal(record.sequence, next, 'command log has no gaps');
      const command = decodeCommand(record.payload);
      command.sequence = record.sequence;
      out.clear();
      engine.execute(command, out);
      for (const event of decodeEvents(out)) {
        replayed.push(event);
        if (event.type === 'OrderAccepted') {
          const key = `${event.accountId}/${event.clientOrderId}`;
          accepted.set(key, (accepted.get(key) ?? 0) + 1);
        }
      }
      next++;
    }
  }
  // Every acknowledged order is in the log exactly once, under the id it was answered with.
  for (const order of acknowledged) {
    assert.equal(accepted.get(`${order.accountId}/${order.clientOrderId}`), 1, `acknowledged order ${order.clientOrderId} accepted exactly once`);
  }
  // Conservation, per asset.
  const totals = new Map<number, number>();
  for (const balance of engine.balances()) totals.set(balance.assetId, (totals.get(balance.assetId) ?? 0) + balance.availableAtoms + balance.heldAtoms);
  for (const asset of engine.assets()) assert.equal(totals.get(asset.assetId) ?? 0, asset.supplyAtoms, `conservation of ${asset.code}`);
  // The event log is exactly the replay's events (once the leader has published them all).
  const deadline = Date.now() + 10_000;
  while ((await eventLog.lastSequence()) < replayed.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(await eventLog.lastSequence(), replayed.length, 'event log holds every event once');
  for (let next = 1; next <= replayed.length; ) {
    const records = await eventLog.read(next, 4096);
    for (const record of records) {
      const event = decodeEventRecord(record);
      assert.deepEqual(event, replayed[record.sequence - 1], `event ${record.sequence} equals the replay`);
      next++;
    }
  }
  await commandLog.close();
  await eventLog.close();
  return { engine, commands: last, events: replayed.length };
}
