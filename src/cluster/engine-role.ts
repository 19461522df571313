// The engine role of cluster mode: every engine process starts as a hot standby (an
// EngineFollower executing the command log) and competes for the lease in NATS KV. The
// winner takes over: it catches up with the command log, publishes the events the old
// leader may not have published, starts the EngineHost from its follower's state and
// serves command requests. Two fences keep a deposed leader from writing: every append is
// refused once the local lease is not trusted any more, and every append names the log's
// expected last sequence, which the new leader's first append moves on. A leader that
// loses its lease exits (the launcher or Kubernetes restarts it as a standby).
import type { Subscription } from '@nats-io/nats-core';
import { decodeCommand, encodeCommand } from '../domain/codec.ts';
import { Engine } from '../engine/engine.ts';
import { LogFencedError, type AppendResult, type LogRecord, type RecordLog } from '../ports/log.ts';
import { EngineHost, type EngineSnapshotStore, type SnapshotInfo } from '../services/engine-host/engine-host.ts';
import { JetStreamLog } from '../adapters/jetstream-log.ts';
import { NatsLease } from '../adapters/nats-lease.ts';
import { connectNats } from '../adapters/nats-connection.ts';
import { collectEmbeddedState, engineBatchObserver, instrumentRecordLog } from '../adapters/metrics.ts';
import type { MatchingEngine } from '../engine/types.ts';
import { serveCommands } from './command-bus.ts';
import { EngineFollower } from './engine-follower.ts';
import { EventLogPublisher } from './event-log.ts';
import { exitCodeLeaseLost, type RoleContext, type RoleHandle } from './role.ts';

/** Events appended per call while a new leader publishes what the old one left out. */
const takeoverEventsPerAppendMax = 4096;

/** A RecordLog whose appends are refused unless the lease is held (first fence). */
export class LeaseGuardedLog implements RecordLog {
  constructor(
    private readonly inner: RecordLog,
    private readonly leaseHeld: () => boolean,
  ) {}

  append(payloads: Uint8Array[], expectedLastSequence?: number): Promise<AppendResult> {
    if (!this.leaseHeld()) return Promise.reject(new LogFencedError('this engine no longer holds the leader lease'));
    return this.inner.append(payloads, expectedLastSequence);
  }

  read(fromSequence: number, limit: number): Promise<LogRecord[]> {
    return this.inner.read(fromSequence, limit);
  }

  lastSequence(): Promise<number> {
    return this.inner.lastSequence();
  }

  follow(fromSequence: number, onRecords: (records: LogRecord[]) => Promise<void> | void, batchMax?: number): () => void {
    return this.inner.follow(fromSequence, onRecords, batchMax);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** Offers the follower's state as the only snapshot, so the host starts where the follower is. */
function followerSnapshot(engine: MatchingEngine): EngineSnapshotStore {
  const counters = engine.counters();
  const info: SnapshotInfo = { commandSequence: counters.lastCommandSequence, eventSequence: counters.lastEventSequence };
  const bytes = engine.snapshot();
  return {
    save: async () => undefined,
    list: async () => [info],
    load: async () => bytes,
  };
}

export interface EngineRoleOptions {
  commandTimeoutMs: number;
  createEngine?: () => MatchingEngine;
}

export async function startEngineRole(context: RoleContext<'engine'>, options: EngineRoleOptions): Promise<RoleHandle> {
  const { settings, logger, metrics } = context;
  const createEngine = options.createEngine ?? (() => new Engine());
  const connection = await connectNats(settings.natsUrl, `bourse-engine-${settings.instance}`);
  const commandLog = instrumentRecordLog(await JetStreamLog.open({ stream: settings.commandStream, connection, replicas: settings.jetStreamReplicas }), metrics, 'command');
  const eventLog = instrumentRecordLog(await JetStreamLog.open({ stream: settings.eventStream, connection, replicas: settings.jetStreamReplicas }), metrics, 'event');
  const lease = await NatsLease.open({ bucket: settings.leaseBucket, holderId: settings.instance, ttlMs: settings.leaseTtlMs, connection });
  const follower = new EngineFollower(createEngine(), commandLog, logger.child({ component: 'follower' }));
  await follower.start();
  logger.info({ lastCommandSequence: follower.lastCommandSequence() }, 'standby caught up with the command log');

  let state: 'standby' | 'taking-over' | 'leader' | 'stopping' = 'standby';
  let host: EngineHost | null = null;
  let publisher: EventLogPublisher | null = null;
  let subscription: Subscription | null = null;
  let unsubscribeFeed: (() => void) | null = null;
  let takeoverMs = 0;
  const abort = new AbortController();
  // Metrics read at scrape time (docs/metrics.md): sequences, log lag, leadership, solvency.
  collectEmbeddedState(metrics, {
    engine: {
      lastCommandSequence: () => (host ? host.lastCommandSequence() : follower.lastCommandSequence()),
      lastEventSequence: () => (host ? host.lastEventSequence() : follower.lastEventSequence()),
      solvency: () => host?.solvency() ?? [],
    },
    commandLog,
    leader: () => state === 'leader',
  });

  const takeOver = async (): Promise<void> => {
    const startedMs = performance.now();
    state = 'taking-over';
    const writerTag = `${settings.instance}/term-${lease.currentTerm()}`;
    commandLog.setWriterTag(writerTag);
    eventLog.setWriterTag(writerTag);
    const guarded = new LeaseGuardedLog(commandLog, () => lease.isHeld());
    // 1. Execute every command already in the log (the old leader's last batches included).
    const tail = await commandLog.lastSequence();
    await follower.waitFor(tail);
    follower.stop();
    // 2. Publish the events the old leader executed but did not get into the event log.
    const eventTail = await eventLog.lastSequence();
    publisher = new EventLogPublisher(new LeaseGuardedLog(eventLog, () => lease.isHeld()), eventTail, (error) => {
      context.exit(exitCodeLeaseLost, `event log append failed: ${error.message}`);
    });
    const missing = follower.retainedEventsAfter(eventTail);
    for (let index = 0; index < missing.length; index += takeoverEventsPerAppendMax) {
      await publisher.publish(missing.slice(index, index + takeoverEventsPerAppendMax));
    }
    await publisher.flush();
    // 3. Start the host from the follower's state; it replays anything appended since.
    host = await EngineHost.start({
      createEngine,
      commandLog: guarded,
      codec: { encode: encodeCommand, decode: decodeCommand },
      snapshots: followerSnapshot(follower.engine),
      commandTimeoutMs: options.commandTimeoutMs,
      logger: logger.child({ component: 'engine-host' }),
      onBatchExecuted: engineBatchObserver(metrics),
    });
    const activePublisher = publisher;
    unsubscribeFeed = host.subscribe(activePublisher.queuedThrough(), (batch) => activePublisher.publish(batch.events));
    // 4. Take command requests.
    subscription = serveCommands(connection, settings.commandSubject, host, options.commandTimeoutMs);
    state = 'leader';
    takeoverMs = performance.now() - startedMs;
    logger.info({ term: lease.currentTerm(), lastCommandSequence: host.lastCommandSequence(), takeoverMs: Math.round(takeoverMs) }, 'engine is the leader');
  };

  lease.onLost((reason) => {
    // Stop taking commands at once; appends are already refused by the guard.
    subscription?.unsubscribe();
    subscription = null;
    if (state !== 'stopping') context.exit(exitCodeLeaseLost, `lease lost: ${reason}`);
  });

  void (async () => {
    const acquired = await lease.acquire(abort.signal);
    if (!acquired || (state as string) === 'stopping') return;
    try {
      await takeOver();
    } catch (error) {
      logger.fatal({ err: error }, 'takeover failed');
      context.exit(1, `takeover failed: ${(error as Error).message}`);
    }
  })();

  return {
    ready: () => state === 'leader' || state === 'standby',
    status: () => ({
      state,
      term: lease.currentTerm(),
      lastCommandSequence: host ? host.lastCommandSequence() : follower.lastCommandSequence(),
      lastEventSequence: host ? host.lastEventSequence() : follower.lastEventSequence(),
      stateHash: host ? host.stateHash() : follower.stateHash(),
      takeoverMs: Math.round(takeoverMs),
    }),
    stop: async () => {
      const wasLeader = state === 'leader';
      state = 'stopping';
      abort.abort();
      // Stop taking requests, let queued commands become durable and executed, publish
      // their events, then hand the lease over at once so a standby need not wait for it.
      if (subscription) await subscription.drain().catch(() => undefined);
      if (host) await host.stop();
      unsubscribeFeed?.();
      if (publisher && wasLeader) await publisher.flush().catch(() => undefined);
      follower.stop();
      await lease.close();
      await commandLog.close();
      await eventLog.close();
      await connection.drain().catch(() => undefined);
    },
  };
}
