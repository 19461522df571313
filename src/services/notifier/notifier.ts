// The notifier role: for each batch of engine events it pushes the users' data stream
// messages on PubSub (`user.<accountId>`), writes their inbox notifications and webhook
// outbox rows in one transaction together with its progress (so a replay after a crash
// adds nothing twice), invalidates the cached inboxes, and wakes the webhook dispatcher.

import type { Logger } from 'pino';
import type { Cache, PubSub } from '../../ports/cache.ts';
import type { SqlDatabase } from '../../ports/sql.ts';
import type { EventBatch, EventFeed, EngineReads } from '../contracts.ts';
import { sqlInteger } from '../../adapters/sql/convert.ts';
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
}

export interface Notifier {
  appliedEventSequence(): number;
  waitFor(eventSequence: number, timeoutMs?: number): Promise<void>;
  /** One webhook pass over due outbox rows. */
  deliverDue(): Promise<DeliveryResult>;
  stop(): Promise<void>;
}

/** The progress row in `projection_state` (shared with the other projections). */
export const notifierConsumerName = 'notifier';

export async function startNotifier(deps: NotifierDeps): Promise<Notifier> {
  const logger = deps.logger.child({ component: 'notifier' });
  const clock = deps.clock ?? Date.now;
  const limits: WebhookLimits = { ...defaultWebhookLimits, ...deps.webhookLimits };
  const httpFetch: HttpFetch = deps.httpFetch ?? ((url, init) => fetch(url, init));
  const dispatcher = new WebhookDispatcher(deps.db, limits, httpFetch, clock, logger);
  const translator = new UserEventTranslator(deps.reads);

  const progress = await deps.db.query<{ last_event_sequence: string | number }>(
    'SELECT last_event_sequence FROM projection_state WHERE consumer = $1', [notifierConsumerName],
  );
  let applied = progress.rows[0] ? sqlInteger(progress.rows[0].last_event_sequence, 'notifier progress') : (deps.afterEventSequence ?? 0);
  let stopped = false;
  let retained: { first: number; last: number; translated: TranslatedBatch } | null = null;
  const waiters: { sequence: number; resolve: () => void }[] = [];

  /** Writes the batch's notifications and progress; returns the accounts notified and whether webhook rows were queued. */
  async function store(
    notifications: NotificationDraft[],
    batch: EventBatch,
    lastEventSequence: number,
    textOf: (payload: unknown) => string,
  ): Promise<{ accounts: Set<number>; webhooksQueued: boolean }> {
    const accounts = new Set<number>();
    let webhooksQueued = false;
    await deps.db.transaction(async (tx) => {
      if (notifications.length > 0) {
        const inserted = await tx.query<{ account_id: string | number; queued: string | number }>(
          `WITH input AS (
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::smallint[], $6::double precision[])
               AS t(account_id, kind, payload, event_sequence, part, time_ms)
           ), inserted AS (
             INSERT INTO notifications (account_id, kind, payload, event_sequence, part, created_at)
             SELECT account_id, kind, payload::jsonb, event_sequence, part, to_timestamp(time_ms / 1000) FROM input
             ON CONFLICT (account_id, event_sequence, part) DO NOTHING
             RETURNING id, account_id
           ), queued AS (
             INSERT INTO webhook_outbox (notification_id, next_attempt_at)
             SELECT inserted.id, to_timestamp($7::double precision / 1000)
               FROM inserted JOIN webhooks ON webhooks.account_id = inserted.account_id
             RETURNING notification_id
           )
           SELECT DISTINCT account_id, (SELECT count(*) FROM queued) AS queued FROM inserted`,
          [
            notifications.map((row) => row.accountId),
            notifications.map((row) => row.kind),
            notifications.map((row) => textOf(row.payload)),
            notifications.map((row) => row.eventSequence),
            notifications.map((row) => row.part),
            notifications.map((row) => row.timeMs),
            clock(),
          ],
        );
        for (const row of inserted.rows) {
          accounts.add(sqlInteger(row.account_id, 'account_id'));
          if (sqlInteger(row.queued, 'queued') > 0) webhooksQueued = true;
        }
      }
      await tx.query(
        `INSERT INTO projection_state (consumer, last_event_sequence, last_command_sequence, updated_at_ms)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (consumer) DO UPDATE SET last_event_sequence = excluded.last_event_sequence,
           last_command_sequence = excluded.last_command_sequence, updated_at_ms = excluded.updated_at_ms
         WHERE projection_state.last_event_sequence < excluded.last_event_sequence`,
        [notifierConsumerName, lastEventSequence, batch.lastCommandSequence, clock()],
      );
    });
    return { accounts, webhooksQueued };
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
    await Promise.all(messages.map((message) =>
      deps.pubsub.publish(`user.${message.accountId}`, textOf(message.payload))
        .catch((error) => logger.error({ err: error }, 'user stream publish failed'))));
    const { accounts, webhooksQueued } = await store(notifications, batch, lastEventSequence, textOf);
    applied = lastEventSequence;
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
    const run = queue.then(() => onBatch(batch));
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
      unsubscribe();
      if (poller) clearInterval(poller);
      await queue;
    },
  };
}
