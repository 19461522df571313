// The notification inbox API: GET /api/v1/notifications (cached per user and query, the
// cache entry keyed by a per-user version that the notifier and mark-read change), POST
// /api/v1/notifications/read, and GET/PUT/DELETE /api/v1/notifications/webhook. Who the
// caller is comes from `authenticate`, supplied by the gateway (API key signature or web
// session), so this module holds no credentials logic.

import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Cache } from '../../ports/cache.ts';
import type { SqlDatabase } from '../../ports/sql.ts';
import { sqlInteger } from '../../adapters/sql/convert.ts';

export interface NotificationRouteDeps {
  db: SqlDatabase;
  cache: Cache;
  /**
   * The caller's accountId, or null when unauthenticated. May throw an error with
   * `statusCode`, `code` and `message` (a Binance-style error) to answer with it.
   */
  authenticate(request: FastifyRequest): Promise<number | null> | number | null;
}

export const notificationLimits = {
  inboxDefault: 50,
  inboxMax: 500,
  inboxCacheTtlMs: 60_000,
  markReadIdsMax: 500,
  webhookSecretLengthMin: 16,
  webhookSecretLengthMax: 128,
  webhookUrlLengthMax: 2048,
} as const;

export function inboxVersionKey(accountId: number): string {
  return `notifications:version:${accountId}`;
}

interface InboxRow {
  id: string | number;
  kind: string;
  payload: unknown;
  event_sequence: string | number;
  created_at: Date | string;
  read_at: Date | string | null;
}

class RequestError extends Error {
  constructor(readonly status: number, readonly code: number, message: string) {
    super(message);
  }
}

function parameters(request: FastifyRequest): Record<string, unknown> {
  const query = (request.query ?? {}) as Record<string, unknown>;
  const body = request.body && typeof request.body === 'object' && !Array.isArray(request.body) ? (request.body as Record<string, unknown>) : {};
  return { ...body, ...query };
}

function integerParameter(value: unknown, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text !== 'string' || !/^(0|[1-9][0-9]{0,15})$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new RequestError(400, -1100, `Illegal characters found in parameter '${name}'; legal range is '${min}' to '${max}'.`);
  }
  return Number(text);
}

function booleanParameter(value: unknown, name: string): boolean {
  if (value === undefined) return false;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new RequestError(400, -1130, `Data sent for parameter '${name}' is not valid.`);
}

function checkParameters(values: Record<string, unknown>, allowed: string[]): void {
  const names = Object.keys(values).filter((name) => name !== 'timestamp' && name !== 'recvWindow' && name !== 'signature');
  if (names.some((name) => Array.isArray(values[name]) && name !== 'ids')) throw new RequestError(400, -1101, 'Duplicate values for a parameter detected.');
  const unknown = names.filter((name) => !allowed.includes(name));
  if (unknown.length > 0) throw new RequestError(400, -1104, `Not all sent parameters were read; read '${names.length - unknown.length}' parameter(s) but was sent '${names.length}'.`);
}

export function registerNotificationRoutes(app: FastifyInstance, deps: NotificationRouteDeps): void {
  async function caller(request: FastifyRequest): Promise<number> {
    const accountId = await deps.authenticate(request);
    if (accountId === null || accountId === undefined) throw new RequestError(401, -2015, 'Invalid API-key, IP, or permissions for action.');
    return accountId;
  }

  function fail(reply: FastifyReply, error: unknown): FastifyReply {
    if (error instanceof RequestError) return reply.code(error.status).send({ code: error.code, msg: error.message });
    const shaped = error as { statusCode?: unknown; code?: unknown; message?: unknown };
    if (typeof shaped?.statusCode === 'number' && typeof shaped.code === 'number') {
      return reply.code(shaped.statusCode).send({ code: shaped.code, msg: String(shaped.message ?? '') });
    }
    throw error;
  }

  async function bumpVersion(accountId: number): Promise<void> {
    await deps.cache.set(inboxVersionKey(accountId), `r${randomUUID()}`);
  }

  app.get('/api/v1/notifications', async (request, reply) => {
    try {
      const accountId = await caller(request);
      const values = parameters(request);
      checkParameters(values, ['limit', 'beforeId', 'unreadOnly']);
      const limit = integerParameter(values.limit, 'limit', 1, notificationLimits.inboxMax) ?? notificationLimits.inboxDefault;
      const beforeId = integerParameter(values.beforeId, 'beforeId', 1, Number.MAX_SAFE_INTEGER);
      const unreadOnly = booleanParameter(values.unreadOnly, 'unreadOnly');
      const version = (await deps.cache.get(inboxVersionKey(accountId))) ?? 'v0';
      const key = `notifications:inbox:${accountId}:${version}:${limit}:${beforeId ?? ''}:${unreadOnly}`;
      const hit = await deps.cache.get(key);
      if (hit !== null) {
        return reply.header('X-Data-Source', 'cache').header('content-type', 'application/json; charset=utf-8').send(hit);
      }
      const result = await deps.db.query<InboxRow>(
        `SELECT id, kind, payload, event_sequence, created_at, read_at FROM notifications
          WHERE account_id = $1 AND ($2::bigint IS NULL OR id < $2) AND (NOT $3::boolean OR read_at IS NULL)
          ORDER BY id DESC LIMIT $4`,
        [accountId, beforeId ?? null, unreadOnly, limit],
      );
      const body = JSON.stringify(result.rows.map((row) => ({
        id: sqlInteger(row.id, 'id'),
        kind: row.kind,
        eventSequence: sqlInteger(row.event_sequence, 'event_sequence'),
        createdAt: new Date(row.created_at).getTime(),
        readAt: row.read_at === null ? null : new Date(row.read_at).getTime(),
        payload: typeof row.payload === 'string' ? JSON.parse(row.payload) : row.payload,
      })));
      await deps.cache.set(key, body, notificationLimits.inboxCacheTtlMs);
      return reply.header('X-Data-Source', 'database').header('content-type', 'application/json; charset=utf-8').send(body);
    } catch (error) {
      return fail(reply, error);
    }
  });

  app.post('/api/v1/notifications/read', async (request, reply) => {
    try {
      const accountId = await caller(request);
      const values = parameters(request);
      checkParameters(values, ['ids', 'all']);
      const all = booleanParameter(values.all, 'all');
      let ids: number[] = [];
      if (!all) {
        let list: unknown = values.ids;
        if (typeof list === 'string') {
          try {
            list = JSON.parse(list);
          } catch {
            list = null;
          }
        }
        if (!Array.isArray(list) || list.length === 0 || list.length > notificationLimits.markReadIdsMax ||
          !list.every((id) => Number.isSafeInteger(id) && (id as number) > 0)) {
          throw new RequestError(400, -1102, "Param 'ids' or 'all' must be sent, but both were empty/null!");
        }
        ids = list as number[];
      }
      const result = await deps.db.query(
        `UPDATE notifications SET read_at = now()
          WHERE account_id = $1 AND read_at IS NULL AND ($2::boolean OR id = ANY($3::bigint[]))`,
        [accountId, all, ids],
      );
      await bumpVersion(accountId);
      return reply.send({ updated: result.rowCount });
    } catch (error) {
      return fail(reply, error);
    }
  });

  app.get('/api/v1/notifications/webhook', async (request, reply) => {
    try {
      const accountId = await caller(request);
      const result = await deps.db.query<{ url: string }>('SELECT url FROM webhooks WHERE account_id = $1', [accountId]);
      return reply.send({ url: result.rows[0]?.url ?? null });
    } catch (error) {
      return fail(reply, error);
    }
  });

  app.put('/api/v1/notifications/webhook', async (request, reply) => {
    try {
      const accountId = await caller(request);
      const values = parameters(request);
      checkParameters(values, ['url', 'secret']);
      const url = values.url;
      const secret = values.secret;
      let parsed: URL | null = null;
      try {
        parsed = typeof url === 'string' && url.length <= notificationLimits.webhookUrlLengthMax ? new URL(url) : null;
      } catch {
        parsed = null;
      }
      if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
        throw new RequestError(400, -1130, "Data sent for parameter 'url' is not valid.");
      }
      if (typeof secret !== 'string' || secret.length < notificationLimits.webhookSecretLengthMin ||
        secret.length > notificationLimits.webhookSecretLengthMax || !/^[\x21-\x7e]+$/.test(secret)) {
        throw new RequestError(400, -1130, "Data sent for parameter 'secret' is not valid.");
      }
      await deps.db.query(
        `INSERT INTO webhooks (account_id, url, secret, updated_at) VALUES ($1, $2, $3, now())
         ON CONFLICT (account_id) DO UPDATE SET url = excluded.url, secret = excluded.secret, updated_at = now()`,
        [accountId, url, secret],
      );
      return reply.send({ url });
    } catch (error) {
      return fail(reply, error);
    }
  });

  app.delete('/api/v1/notifications/webhook', async (request, reply) => {
    try {
      const accountId = await caller(request);
      await deps.db.query('DELETE FROM webhooks WHERE account_id = $1', [accountId]);
      return reply.send({});
    } catch (error) {
      return fail(reply, error);
    }
  });
}
