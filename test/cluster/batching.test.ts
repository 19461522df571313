// The per-turn batching of cluster mode, on the real services: the command bus sends the
// commands of one event-loop turn as one NATS request and gives each submitter its own
// answer (results, refusals, retries of commands that were not appended); Redis window
// counters of one turn travel in one script call yet answer exactly as consecutive calls;
// publishes of one turn keep their order; NATS connections coalesce their writes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from '../../src/cluster/processes.ts';
import { portOpen } from './services.ts';
import { connectNats, coalesceConnectionWrites, type NatsConnection } from '../../src/adapters/nats-connection.ts';
import { RedisCache, RedisPubSub, publishesPerCallMax, windowCountersPerCallMax } from '../../src/adapters/redis-cache.ts';
import { commandsPerRequestMax, NatsCommandBus, serveCommands } from '../../src/cluster/command-bus.ts';
import { placeOrder, type Command } from '../../src/domain/command.ts';
import { OrderType, Side, TimeInForce } from '../../src/domain/codes.ts';
import type { EngineEvent } from '../../src/domain/events.ts';
import { CommandTimeoutError, type CommandBus, type CommandResult } from '../../src/services/contracts.ts';
import { EngineOverloadedError } from '../../src/services/engine-host/engine-host.ts';
import { natsUrl, redisUrl, requireService, uniqueName } from './services.ts';

function order(accountId: number, clientOrderId: string): Command {
  return placeOrder({ accountId, marketId: 1, side: Side.Buy, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC, priceTicks: 100, quantityLots: 1, clientOrderId });
}

/**
 * A stand-in for the engine host: answers each command from its clientOrderId, so a test
 * can check that every submitter got its own answer. "overloaded-*" is refused, "once-*"
 * is refused as not appended the first time (the bus must send it again), the rest get a
 * result whose event names the order.
 */
class ScriptedBus implements CommandBus {
  sequence = 0;
  readonly seen: string[] = [];
  private readonly refusedOnce = new Set<string>();

  async submit(command: Command): Promise<CommandResult> {
    const clientOrderId = command.clientOrderId;
    this.seen.push(clientOrderId);
    if (clientOrderId.startsWith('overloaded-')) throw new EngineOverloadedError('queue full');
    if (clientOrderId.startsWith('once-') && !this.refusedOnce.has(clientOrderId)) {
      this.refusedOnce.add(clientOrderId);
      throw Object.assign(new Error('not the leader'), { name: 'NotLeaderError' });
    }
    const sequence = ++this.sequence;
    const event = {
      type: 'OrderRejected',
      commandSequence: sequence,
      eventSequence: sequence,
      timestampMs: 1_700_000_000_000,
      orderId: 0,
      accountId: command.accountId,
      marketId: command.marketId,
      reason: 0,
      commandType: command.type,
      clientOrderId,
    } as unknown as EngineEvent;
    return { sequence, events: [event] };
  }
}

describe('NatsCommandBus: one request per turn, one answer per command', () => {
  let connection: NatsConnection;
  before(async () => {
    await requireService('nats');
    connection = await connectNats(natsUrl, 'batching-test');
  });
  after(async () => connection?.drain());

  test('commands of one turn share requests; each submitter gets its own result or refusal', async () => {
    const subject = `bourse.${uniqueName('batch')}.submit`;
    const engine = new ScriptedBus();
    let requests = 0;
    const counter = connection.subscribe(subject, {
      callback: () => {
        requests++;
      },
    });
    const served = serveCommands(connection, subject, engine, 1000);
    const bus = new NatsCommandBus({ connection, subject, timeoutMsDefault: 3000 });
    try {
      await connection.flush();
      const count = commandsPerRequestMax * 2 + 10;
      const submitted = Array.from({ length: count }, (_, index) => {
        const name = index === 7 ? 'overloaded-7' : index === 11 ? 'once-11' : `plain-${index}`;
        return bus.submit(order(1 + (index % 3), name)).then(
          (result) => ({ name, result }),
          (error: Error) => ({ name, error }),
        );
      });
      const answers = await Promise.all(submitted);
      await bus.settled();
      for (const answer of answers) {
        if (answer.name === 'overloaded-7') {
          assert.ok('error' in answer && answer.error instanceof EngineOverloadedError, 'an overload refusal reaches its own submitter');
          continue;
        }
        assert.ok('result' in answer, `${answer.name} got a result`);
        assert.equal((answer.result.events[0] as { clientOrderId?: string }).clientOrderId, answer.name, 'the answer belongs to the command that was sent');
        assert.equal(answer.result.events[0]!.eventSequence, answer.result.sequence);
      }
      assert.equal(engine.seen.filter((name) => name === 'once-11').length, 2, 'a command refused before it was appended is sent again');
      // 3 full requests for the first turn, one more for the retried command.
      assert.ok(requests >= 3 && requests <= 5, `${requests} requests for ${count} commands`);
    } finally {
      await served.drain();
      counter.unsubscribe();
    }
  });

  test('without any engine the commands end as "status unknown" after their timeout, never hang', async () => {
    const bus = new NatsCommandBus({ connection, subject: `bourse.${uniqueName('nobody')}.submit` });
    const startedMs = performance.now();
    await assert.rejects(bus.submit(order(1, 'lonely'), 200), CommandTimeoutError);
    assert.ok(performance.now() - startedMs < 2000);
    await bus.settled();
  });

  test('the connection coalesces its writes (the client internals it relies on are present)', async () => {
    const other = await connectNats(natsUrl, 'batching-coalesce');
    try {
      assert.equal(coalesceConnectionWrites(other), true);
      const subject = uniqueName('coalesce');
      const received: string[] = [];
      const subscription = other.subscribe(subject, {
        callback: (_error, message) => {
          received.push(message.string());
        },
      });
      for (let index = 0; index < 500; index++) other.publish(subject, `m${index}`);
      await other.flush();
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(received, Array.from({ length: 500 }, (_, index) => `m${index}`));
      subscription.unsubscribe();
    } finally {
      await other.close();
    }
  });
});

/** A private nats-server on its own port (the shared one is never restarted). */
async function startPrivateNats(port: number): Promise<ChildProcess> {
  const child = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const deadline = Date.now() + 5000;
  while (!(await portOpen('127.0.0.1', port, 200))) {
    if (Date.now() > deadline) throw new Error('private nats-server did not start');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return child;
}

async function stopPrivateNats(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

describe('write coalescing across a NATS restart', () => {
  test('a connection still delivers, in order, through the transport it creates on reconnect', async () => {
    const port = await freePort();
    let server = await startPrivateNats(port);
    const connection = await connectNats(`nats://127.0.0.1:${port}`, 'batching-reconnect');
    try {
      const received: string[] = [];
      connection.subscribe('restart', {
        callback: (_error, message) => {
          received.push(message.string());
        },
      });
      await connection.flush();
      await stopPrivateNats(server);
      server = await startPrivateNats(port);
      const deadline = Date.now() + 10_000;
      for (;;) {
        try {
          await connection.flush();
          break;
        } catch (error) {
          if (Date.now() > deadline) throw error;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      for (let index = 0; index < 100; index++) connection.publish('restart', `r${index}`);
      await connection.flush();
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(received, Array.from({ length: 100 }, (_, index) => `r${index}`));
    } finally {
      await connection.close().catch(() => undefined);
      await stopPrivateNats(server);
    }
  });
});

describe('Redis batching per turn', () => {
  let cache: RedisCache;
  let pubsub: RedisPubSub;
  const prefix = `bourse:${uniqueName('batch')}:`;
  before(async () => {
    await requireService('redis');
    cache = await RedisCache.open({ url: redisUrl, keyPrefix: prefix });
    pubsub = await RedisPubSub.open({ url: redisUrl, keyPrefix: prefix });
  });
  after(async () => {
    await cache?.deleteByPrefix('');
    await cache?.close();
    await pubsub?.close();
  });

  test('window counters of one turn answer exactly as consecutive calls would', async () => {
    const calls: { key: string; amount: number }[] = [];
    for (let index = 0; index < windowCountersPerCallMax * 2 + 5; index++) calls.push({ key: index % 5 === 0 ? 'shared' : `own-${index}`, amount: 1 + (index % 4) });
    const values = await Promise.all(calls.map((call) => cache.countInWindow(call.key, call.amount, 60_000)));
    const expected = new Map<string, number>();
    calls.forEach((call, index) => {
      const total = (expected.get(call.key) ?? 0) + call.amount;
      expected.set(call.key, total);
      assert.equal(values[index], total, `call ${index} on ${call.key}`);
    });
    assert.equal(await cache.countInWindow('shared', 1, 60_000), expected.get('shared')! + 1, 'the next turn continues from the stored total');
  });

  test('messages published in one turn arrive in publish order', async () => {
    const received: string[] = [];
    const unsubscribe = await pubsub.subscribe('ordered', (message) => received.push(message));
    const count = publishesPerCallMax * 2 + 3;
    await Promise.all(Array.from({ length: count }, (_, index) => pubsub.publish('ordered', `p${index}`)));
    const deadline = Date.now() + 2000;
    while (received.length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(received, Array.from({ length: count }, (_, index) => `p${index}`));
    await unsubscribe();
  });
});
