// The engine role on real NATS JetStream: a leader and a hot standby. Kill -9 the leader
// under load: the standby takes over, every acknowledged order is in the log exactly once,
// conservation holds, the event log equals a replay of the command log. Pause the leader
// (SIGSTOP) past its lease and resume it: it writes nothing after the takeover and exits.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { JetStreamLog } from '../../src/adapters/jetstream-log.ts';
import { placeOrder } from '../../src/domain/command.ts';
import { OrderType, Side, TimeInForce } from '../../src/domain/codes.ts';
import { CommandTimeoutError } from '../../src/services/contracts.ts';
import { exitCodeLeaseLost } from '../../src/cluster/role.ts';
import { EngineCluster, orderLoad, verifyLogs } from './engine-cluster.ts';
import { requireService } from './services.ts';

/** Takeover budget: lease TTL (1 s here) plus catch-up and start. */
const failoverMsMax = 4000;

describe('engine leader and standby on NATS', () => {
  const cluster = new EngineCluster(1000);

  before(async () => {
    await requireService('nats');
    await cluster.open();
  });

  after(async () => {
    await cluster.close();
  });

  test('kill -9 the leader under load: the standby takes over, nothing acknowledged is lost or doubled', async () => {
    await cluster.startEngine();
    const first = await cluster.leader();
    await cluster.startEngine();
    await cluster.seed();
    const load = orderLoad(cluster, 16);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const killedAtMs = Date.now();
    const acknowledgedBefore = load.acknowledged.length;
    await first.crash();
    // A probe sends a fresh order right after the kill: its answer marks the failover.
    let probeAckMs = 0;
    for (let attempt = 0; probeAckMs === 0 && attempt < 5; attempt++) {
      try {
        const result = await cluster.bus.submit(placeOrder({ accountId: 1, marketId: 1, side: Side.Buy, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC, priceTicks: 900, quantityLots: 1, clientOrderId: `probe-${attempt}` }), 3000);
        assert.ok(result.events.some((event) => event.type === 'OrderAccepted'));
        probeAckMs = Date.now();
      } catch (error) {
        if (!(error instanceof CommandTimeoutError)) throw error;
      }
    }
    const failoverMs = probeAckMs - killedAtMs;
    const second = await cluster.leader();
    assert.notEqual(second, first);
    // Clients whose requests died with the old leader time out (status unknown), retry, and go on.
    const deadline = Date.now() + 10_000;
    while (load.firstAckAfter(killedAtMs) === null && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    await new Promise((resolve) => setTimeout(resolve, 500));
    await load.stop();
    console.log(`# failover: ${failoverMs} ms; acknowledged ${acknowledgedBefore} before the kill, ${load.acknowledged.length} in all; ${load.unknown} answers "status unknown" (retried)`);
    assert.ok(probeAckMs > 0, 'the new leader accepts orders');
    assert.ok(failoverMs < failoverMsMax, `failover took ${failoverMs} ms`);
    assert.ok(load.firstAckAfter(killedAtMs) !== null, 'the load goes on through the new leader');
    const verified = await verifyLogs(cluster, load.acknowledged);
    const readiness = await second.readiness();
    assert.equal(readiness?.body.stateHash, verified.engine.stateHash(), 'the new leader equals a replay of the log');
  });

  test('SIGSTOP the leader past its lease, then SIGCONT: it appends nothing and exits', async () => {
    const standby = await cluster.startEngine();
    const paused = await cluster.leader();
    assert.notEqual(paused, standby);
    const load = orderLoad(cluster, 8);
    await new Promise((resolve) => setTimeout(resolve, 500));
    paused.signal('SIGSTOP');
    const next = await cluster.leader();
    assert.equal(next, standby);
    // Orders flow through the new leader while the old one sleeps. (Requests the paused
    // leader took before the takeover time out as "status unknown"; a probe makes sure the
    // new leader has written before the old one wakes up.)
    let probed = false;
    for (let attempt = 0; !probed && attempt < 10; attempt++) {
      try {
        await cluster.bus.submit(placeOrder({ accountId: 2, marketId: 1, side: Side.Sell, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC, priceTicks: 2000, quantityLots: 1, clientOrderId: `pause-probe-${attempt}` }), 2000);
        probed = true;
      } catch (error) {
        if (!(error instanceof CommandTimeoutError)) throw error;
      }
    }
    assert.ok(probed, 'the new leader accepts orders while the old one is paused');
    const takeoverTag = `${standby.options.name}/`;
    paused.signal('SIGCONT');
    const exit = await Promise.race([paused.exited, new Promise<null>((resolve) => setTimeout(() => resolve(null), 5000))]);
    assert.ok(exit, 'the resumed old leader exits');
    assert.equal(exit.code, exitCodeLeaseLost);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await load.stop();
    await verifyLogs(cluster, load.acknowledged);
    // Nothing in either log was written by the old leader after the new leader's first message.
    for (const stream of [cluster.settings.commandStream, cluster.settings.eventStream]) {
      const log = await JetStreamLog.open({ stream, connection: cluster.connection });
      const tags = await log.writerTags();
      await log.close();
      const takeover = tags.findIndex((tag) => tag.writer.startsWith(takeoverTag));
      assert.ok(takeover >= 0, `the new leader wrote to ${stream}`);
      const late = tags.slice(takeover).filter((tag) => tag.writer.startsWith(`${paused.options.name}/`));
      assert.deepEqual(late, [], `${stream}: no message from the paused leader after the takeover`);
    }
  });
});
