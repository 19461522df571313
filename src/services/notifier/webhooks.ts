// Webhook delivery through the outbox: due rows are leased (so several notifier processes
// never send one row at the same time), POSTed to the user's URL with an HMAC-SHA256
// signature of the exact body, and marked delivered on a 2xx answer; otherwise retried
// with exponential backoff until the attempts run out. The body of a notification is the
// same bytes on every attempt, and carries a stable delivery id, so receivers can dedupe.

import { createHmac } from 'node:crypto';
import type { Logger } from 'pino';
import type { SqlDatabase } from '../../ports/sql.ts';

export interface WebhookLimits {
  /** Rows leased per pass. */
  batchMax: number;
  /** First retry delay; each further retry doubles it. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** After this many failed attempts the row is marked failed. */
  attemptsMax: number;
  requestTimeoutMs: number;
  /** How long a leased row is hidden from other workers while its request runs. */
  leaseMs: number;
  /** How often due rows are looked for. */
  pollIntervalMs: number;
  /** Bytes of an error kept in last_error. */
  errorTextMax: number;
}

export const defaultWebhookLimits: WebhookLimits = {
  batchMax: 64,
  backoffBaseMs: 1000,
  backoffMaxMs: 60 * 60 * 1000,
  attemptsMax: 12,
  requestTimeoutMs: 5000,
  leaseMs: 30_000,
  pollIntervalMs: 1000,
  errorTextMax: 500,
};

export type HttpFetch = (url: string, init: { method: string; headers: Record<string, string>; body: string; signal?: AbortSignal }) => Promise<{ status: number }>;

/** Header names and the signing rule, published for webhook receivers. */
export const webhookHeaders = {
  signature: 'X-Bourse-Signature',
  deliveryId: 'X-Bourse-Delivery',
  eventSequence: 'X-Bourse-Event-Sequence',
} as const;

/** Hex HMAC-SHA256 of the raw body with the user's webhook secret. */
export function signWebhookBody(secret: string, body: string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/** Delay before attempt number `attempts + 1`, after `attempts` failures. */
export function backoffMs(limits: WebhookLimits, attempts: number): number {
  return Math.min(limits.backoffMaxMs, limits.backoffBaseMs * 2 ** Math.max(0, attempts - 1));
}

interface DueRow {
  outbox_id: string | number;
  attempts: number;
  notification_id: string | number;
  account_id: string | number;
  kind: string;
  payload: unknown;
  event_sequence: string | number;
  part: number;
  created_at: Date | string;
  url: string;
  secret: string;
}

export interface DeliveryResult {
  delivered: number;
  failed: number;
}

export class WebhookDispatcher {
  private running: Promise<DeliveryResult> | null = null;

  constructor(
    private readonly db: SqlDatabase,
    private readonly limits: WebhookLimits,
    private readonly httpFetch: HttpFetch,
    private readonly clock: () => number,
    private readonly logger: Logger,
    /** Told the outcome of every attempt (the notifier counts them by result). */
    private readonly onAttempt: ((result: 'delivered' | 'failed' | 'gave_up') => void) | null = null,
  ) {}

  /** Delivers every due row once; concurrent calls share one pass. */
  deliverDue(): Promise<DeliveryResult> {
    if (this.running) return this.running;
    this.running = this.pass().finally(() => { this.running = null; });
    return this.running;
  }

  private async pass(): Promise<DeliveryResult> {
    const nowMs = this.clock();
    const leased = await this.db.query<DueRow>(
      `UPDATE webhook_outbox AS o SET next_attempt_at = to_timestamp($2::double precision / 1000)
         FROM notifications n, webhooks w
        WHERE o.id IN (
                SELECT id FROM webhook_outbox
                 WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= to_timestamp($1::double precision / 1000)
                 ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
          AND n.id = o.notification_id AND w.account_id = n.account_id
      RETURNING o.id AS outbox_id, o.attempts, n.id AS notification_id, n.account_id, n.kind, n.payload,
                n.event_sequence, n.part, n.created_at, w.url, w.secret`,
      [nowMs, nowMs + this.limits.leaseMs, this.limits.batchMax],
    );
    const result: DeliveryResult = { delivered: 0, failed: 0 };
    await Promise.all(leased.rows.map(async (row) => {
      const ok = await this.deliver(row);
      if (ok) result.delivered += 1;
      else result.failed += 1;
    }));
    return result;
  }

  private async deliver(row: DueRow): Promise<boolean> {
    const deliveryId = `${row.account_id}-${row.event_sequence}-${row.part}`;
    const payload = typeof row.payload === 'string' ? JSON.parse(row.payload) : row.payload;
    const body = JSON.stringify({
      id: Number(row.notification_id),
      deliveryId,
      accountId: Number(row.account_id),
      kind: row.kind,
      eventSequence: Number(row.event_sequence),
      createdAt: new Date(row.created_at).getTime(),
      payload,
    });
    let error: string | null = null;
    try {
      const response = await this.httpFetch(row.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [webhookHeaders.signature]: signWebhookBody(row.secret, body),
          [webhookHeaders.deliveryId]: deliveryId,
          [webhookHeaders.eventSequence]: String(row.event_sequence),
        },
        body,
        signal: AbortSignal.timeout(this.limits.requestTimeoutMs),
      });
      if (response.status < 200 || response.status > 299) error = `HTTP ${response.status}`;
    } catch (caught) {
      error = caught instanceof Error ? caught.message : String(caught);
    }
    const nowMs = this.clock();
    const attempts = row.attempts + 1;
    this.onAttempt?.(error === null ? 'delivered' : attempts >= this.limits.attemptsMax ? 'gave_up' : 'failed');
    if (error === null) {
      await this.db.query(
        'UPDATE webhook_outbox SET attempts = $2, delivered_at = to_timestamp($3::double precision / 1000), last_error = NULL WHERE id = $1',
        [row.outbox_id, attempts, nowMs],
      );
      return true;
    }
    const giveUp = attempts >= this.limits.attemptsMax;
    this.logger.warn({ deliveryId, attempts, error, giveUp }, 'webhook delivery failed');
    await this.db.query(
      `UPDATE webhook_outbox SET attempts = $2, last_error = $3,
              next_attempt_at = to_timestamp($4::double precision / 1000),
              failed_at = CASE WHEN $5::boolean THEN to_timestamp($6::double precision / 1000) ELSE NULL END
        WHERE id = $1`,
      [row.outbox_id, attempts, error.slice(0, this.limits.errorTextMax), nowMs + backoffMs(this.limits, attempts), giveUp, nowMs],
    );
    return false;
  }
}
