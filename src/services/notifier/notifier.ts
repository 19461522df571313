// The notifier role: for each batch of engine events it pushes the users' data stream
// messages on PubSub (`user.<accountId>`), writes their inbox notifications and webhook
// outbox rows in one transaction together with its progress (so a replay after a crash
// adds nothing twice), invalidates the cached inboxes, and wakes the webhook dispatcher.

import type { Logger } from 'pino';
import type { Cache, PubSub } from '../../ports/cache.ts';
import type { SqlDatabase } from '../../ports/sql.ts';
import type { EventBatch, EventFeed, EngineReads } from '../contracts.ts';
import { sqlInteger, sqlIntegerArray, sqlTextArray } from '../../adapters/sql/convert.ts';
import { runStatementsInTransaction, type SqlStatement } from '../../adapters/sql/statements.ts';
import { UserEventTranslator, type NotificationDraft, type TranslatedBatch } from './user-events.ts';
import { WebhookDispatcher, defaultWebhookLimits, type DeliveryResult, type HttpFetch, type WebhookLimits } from './webhooks.ts';
import { inboxVersionKey } from './inbox.ts';

export interface NotifierDeps {
  feed: EventFeed;
  db: SqlDatabase;
  pubsub: PubSub;
  reads: EngineReads;
  logger: Logger;
  /** Inbox cache to invalidate on new notifications (optional: no cache, nothing to invalidate). */
  cache?: Cache;
  /** Webhook HTTP client (default: global fetch). */
  httpFetch?: HttpFetch;
  clock?: () => number;
  webhookLimits?: Partial<WebhookLimits>;
  /** Where to start when no progress is stored (default 0: every event of the log). */
  afterEventSequence?: number;
  /** Run the webhook poller (default true; tests call deliverDue). */
  timers?: boolean;
  /** The notifier's metrics (docs/metrics.md), when given. */
  metrics?: NotifierServiceMetrics;
}

/** The notifier's metric cells (structurally the NotifierMetrics of src/adapters/metrics.ts). */
export interface NotifierServiceMetrics {
  notifications: { inc(amount?: number): void };
  webhookDeliveries: { labels(result: string): { inc(amount?: number): void } };
  outboxPending: { set(rows: number): void };
  addCollector(collector: () => Promise<void>): () => void;
}

export interface Notifier {
  appliedEventSequence(): number;
  waitFor(eventSequence: number, timeoutMs?: number): Promise<void>;
  /** One webhook pass over due outbox rows. */
  deliverDue(): Promise<DeliveryResult>;
  stop(): Promise<void>;
}

/** Resolves once the current event loop turn (and the I/O it started) is done. */
function afterThisTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The progress row in `projection_state` (shared with the other projections). */
export const notifierConsumerName = 'notifier';

export async function startNotifier(deps: NotifierDeps): Promise<Notifier> {
  const logger = deps.logger.child({ component: 'notifier' });
  const clock = deps.clock ?? Date.now;
  const limits: WebhookLimits = { ...defaultWebhookLimits, ...deps.webhookLimits };
  const httpFetch: HttpFetch = deps.httpFetch ?? ((url, init) => fetch(url, init));
  const metrics = deps.metrics ?? null;
  const dispatcher = new WebhookDispatcher(deps.db, limits, httpFetch, clock, logger, metrics ? (result) => metrics.webhookDeliveries.labels(result).inc() : null);
  // Rows still to deliver (neither delivered nor given up), counted at scrape time.
  const stopCollecting = metrics?.addCollector(async () => {
    const pending = await deps.db.query<{ rows: string | number }>('SELECT count(*) AS rows FROM webhook_outbox WHERE delivered_at IS NULL AND failed_at IS NULL');
    metrics.outboxPending.set(sqlInteger(pending.rows[0]?.rows ?? 0, 'outbox rows'));
  });
  const translator = new UserEventTranslator(deps.reads);

  const progress = await deps.db.query<{ last_event_sequence: string | number }>(
    'SELECT last_event_sequence FROM projection_state WHERE consumer = $1', [notifierConsumerName],
  );
  let applied = progress.rows[0] ? sqlInteger(progress.rows[0].last_event_sequence, 'notifier progress') : (deps.afterEventSequence ?? 0);
  let stopped = false;
  let retained: { first: number; last: number; translated: TranslatedBatch } | null = null;
  const waiters: { sequence: number; resolve: () => void }[] = [];
  const logPublishFailure = (error: unknown): void => logger.error({ err: error }, 'user stream publish failed');

  /** Writes the batch's notifications and progress; returns the accounts notified and whether webhook rows were queued. */
  async function store(
    notifications: NotificationDraft[],
    batch: EventBatch,
    lastEventSequence: number,
    textOf: (payload: unknown) => string,
  ): Promise<{ accounts: Set<number>; webhooksQueued: boolean; notified: number }> {
    const accounts = new Set<number>();
    let webhooksQueued = false;
    let notified = 0;
    // The whole transaction goes to the database as one statement list (one round trip to
    // the PGlite thread). Only the rows of users with a webhook need their ids back (for the
    // outbox); the others go in with a plain INSERT, which costs the database far less per
    // row than RETURNING into a join. Each statement picks its rows by looking up the batch's
    // webhooks once (an uncorrelated subquery, so the rows keep their order and thus their
    // ids' order), in the same transaction. The unique key still makes a replay insert nothing.
    // Most batches notify no account with a webhook: the lock statement then returns no row,
    // and one unfiltered INSERT takes every row while the webhook statements do not run at
    // all (each would cost the database the parsing of the whole batch again).
    const statements: SqlStatement[] = [];
    const plainIndexes: number[] = [];
    let hookedIndex = -1;
    if (notifications.length > 0) {
      const columns = [
        sqlIntegerArray(notifications.map((row) => row.accountId)),
        sqlTextArray(notifications.map((row) => row.kind)),
        // One newline-separated text rather than a text[]: JSON text has no raw newline,
        // and this spares quoting every '"' of every payload as an array element.
        notifications.map((row) => textOf(row.payload)).join('\n'),
        sqlIntegerArray(notifications.map((row) => row.eventSequence)),
        sqlIntegerArray(notifications.map((row) => row.part)),
        sqlIntegerArray(notifications.map((row) => row.timeMs)),
      ];
      // Lock the batch's webhooks (against deletion; an update of url or secret still
      // passes) so both inserts below see the same accounts as hooked even on a server
      // where each statement reads anew: a row then goes through exactly one of them. A
      // webhook created in between only finds its rows written already (DO NOTHING).
      const lockIndex = statements.length;
      statements.push({ text: 'SELECT 1 FROM webhooks WHERE account_id = ANY($1::bigint[]) FOR KEY SHARE', params: [columns[0]] });
      const insertText = `INSERT INTO notifications (account_id, kind, payload, event_sequence, part, created_at)
               SELECT account_id, kind, payload::json, event_sequence, part, to_timestamp(time_ms / 1000)
                 FROM unnest($1::bigint[], $2::text[], string_to_array($3::text, E'\\n'), $4::bigint[], $5::smallint[], $6::double precision[])
                   AS t(account_id, kind, payload, event_sequence, part, time_ms)`;
      // No webhook among the batch's accounts when the lock ran: every row goes in here. (A
      // webhook created since then gets the rows of later batches, as if created a moment later.)
      plainIndexes.push(statements.length);
      statements.push({
        text: `${insertText}
               ON CONFLICT (account_id, event_sequence, part) DO NOTHING`,
        params: columns,
        runIf: { statementIndex: lockIndex, returnedRows: false },
      });
      plainIndexes.push(statements.length);
      statements.push({
        text: `${insertText}
                WHERE t.account_id <> ALL (ARRAY(SELECT account_id FROM webhooks WHERE account_id = ANY($1::bigint[])))
               ON CONFLICT (account_id, event_sequence, part) DO NOTHING`,
        params: columns,
        runIf: { statementIndex: lockIndex, returnedRows: true },
      });
      hookedIndex = statements.length;
      statements.push({
        text: `WITH input AS (
                 SELECT * FROM unnest($1::bigint[], $2::text[], string_to_array($3::text, E'\\n'), $4::bigint[], $5::smallint[], $6::double precision[])
                   AS t(account_id, kind, payload, event_sequence, part, time_ms)
                  WHERE t.account_id = ANY (ARRAY(SELECT account_id FROM webhooks WHERE account_id = ANY($1::bigint[])))
               ), inserted AS (
                 INSERT INTO notifications (account_id, kind, payload, event_sequence, part, created_at)
                 SELECT account_id, kind, payload::json, event_sequence, part, to_timestamp(time_ms / 1000) FROM input
                 ON CONFLICT (account_id, event_sequence, part) DO NOTHING
                 RETURNING id, account_id
               ), queued AS (
                 INSERT INTO webhook_outbox (notification_id, next_attempt_at)
                 SELECT inserted.id, to_timestamp($7::double precision / 1000)
                   FROM inserted JOIN webhooks ON webhooks.account_id = inserted.account_id
                 RETURNING notification_id
               )
               SELECT DISTINCT account_id, (SELECT count(*) FROM queued) AS queued, (SELECT count(*) FROM inserted) AS notified FROM inserted`,
        params: [...columns, clock()],
        runIf: { statementIndex: lockIndex, returnedRows: true },
      });
    }
    statements.push({
      text: `INSERT INTO projection_state (consumer, last_event_sequence, last_command_sequence, updated_at_ms)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (consumer) DO UPDATE SET last_event_sequence = excluded.last_event_sequence,
               last_command_sequence = excluded.last_command_sequence, updated_at_ms = excluded.updated_at_ms
             WHERE projection_state.last_event_sequence < excluded.last_event_sequence`,
      params: [notifierConsumerName, lastEventSequence, batch.lastCommandSequence, clock()],
    });
    const outcome = await runStatementsInTransaction(deps.db, statements);
    if (!outcome.committed) throw new Error('notifier: a statement without a row count guard reported a mismatch');
    for (const plainIndex of plainIndexes) {
      // The row count says how many were new (a replay finds them all written already); the
      // accounts whose inbox may have changed include, harmlessly, those with a webhook.
      const inserted = outcome.results[plainIndex]!;
      if (inserted.rowCount > 0) {
        notified += inserted.rowCount;
        for (const row of notifications) accounts.add(row.accountId);
      }
    }
    if (hookedIndex >= 0) {
      const inserted = outcome.results[hookedIndex]!.rows as { account_id: string | number; queued: string | number; notified: string | number }[];
      for (const row of inserted) {
        accounts.add(sqlInteger(row.account_id, 'account_id'));
        if (sqlInteger(row.queued, 'queued') > 0) webhooksQueued = true;
      }
      if (inserted.length > 0) notified += sqlInteger(inserted[0]!.notified, 'notified');
    }
    return { accounts, webhooksQueued, notified };
  }

  async function onBatch(batch: EventBatch): Promise<void> {
    if (stopped) return;
    const events = batch.events.filter((event) => event.eventSequence > applied);
    if (events.length === 0) return;
    const lastEventSequence = events[events.length - 1]!.eventSequence;
    // The translator keeps order state, so a batch retried after a failed write must reuse
    // its first translation rather than count its fills twice.
    const firstEventSequence = events[0]!.eventSequence;
    if (!retained || retained.first !== firstEventSequence || retained.last !== lastEventSequence) {
      retained = { first: firstEventSequence, last: lastEventSequence, translated: translator.translate(events) };
    }
    const { messages, notifications } = retained.translated;
    // An execution report is both a stream message and an inbox payload: encode it once.
    const texts = new Map<unknown, string>();
    const textOf = (payload: unknown): string => {
      let text = texts.get(payload);
      if (text === undefined) {
        text = JSON.stringify(payload);
        texts.set(payload, text);
      }
      return text;
    };
    // Stream first (lowest latency), then the durable inbox; a crash in between replays
    // the batch, which re-sends stream messages (at least once) but adds no rows.
    const published: Promise<void>[] = new Array(messages.length);
    for (let index = 0; index < messages.length; index++) {
      const message = messages[index]!;
      published[index] = deps.pubsub.publish(`user.${message.accountId}`, textOf(message.payload)).catch(logPublishFailure);
    }
    await Promise.all(published);
    const { accounts, webhooksQueued, notified } = await store(notifications, batch, lastEventSequence, textOf);
    applied = lastEventSequence;
    // Rows a replay finds already written are not counted again.
    if (notified > 0) metrics?.notifications.inc(notified);
    if (deps.cache && accounts.size > 0) {
      await Promise.all([...accounts].map((accountId) => deps.cache!.set(inboxVersionKey(accountId), `e${lastEventSequence}`)));
    }
    // Only new outbox rows need an immediate pass; retries are the poller's.
    if (webhooksQueued) void dispatcher.deliverDue().catch((error) => logger.error({ err: error }, 'webhook pass failed'));
    for (let index = waiters.length - 1; index >= 0; index--) {
      if (waiters[index]!.sequence <= applied) waiters.splice(index, 1)[0]!.resolve();
    }
  }

  let queue: Promise<void> = Promise.resolve();
  const unsubscribe = deps.feed.subscribe(applied, (batch) => {
    // The feed delivers right after the engine executed the batch, on the thread that
    // answers the orders: start after this turn, so those answers are written first.
    const run = queue.then(afterThisTurn).then(() => onBatch(batch));
    // A failed batch is not acknowledged (progress unchanged): the feed's next delivery or
    // a restart replays it, and the unique keys make that harmless.
    queue = run.catch((error) => logger.error({ err: error }, 'notifier batch failed'));
    return run;
  });

  let poller: NodeJS.Timeout | null = null;
  if (deps.timers !== false) {
    poller = setInterval(() => {
      if (!stopped) dispatcher.deliverDue().catch((error) => logger.error({ err: error }, 'webhook pass failed'));
    }, limits.pollIntervalMs);
    poller.unref();
  }

  return {
    appliedEventSequence: () => applied,
    waitFor(eventSequence: number, timeoutMs = 10_000): Promise<void> {
      if (applied >= eventSequence) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`notifier did not reach event ${eventSequence} (at ${applied})`)), timeoutMs);
        waiters.push({ sequence: eventSequence, resolve: () => { clearTimeout(timer); resolve(); } });
      });
    },
    deliverDue: () => dispatcher.deliverDue(),
    async stop(): Promise<void> {
      stopped = true;
      stopCollecting?.();
      unsubscribe();
      if (poller) clearInterval(poller);
      await queue;
    },
  };
}
