// The notifier over real adapters: engine events become inbox rows (served by the
// notification routes over real HTTP, cached and invalidated), and reach a user's webhook
// on a local HTTP receiver that fails twice before succeeding: retried with exponential
// backoff, signed with HMAC-SHA256, one row per event even when the events are replayed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { transfer } from '../../src/domain/command.ts';
import { CommandType } from '../../src/domain/codes.ts';
import { startNotifier, notifierConsumerName } from '../../src/services/notifier/index.ts';
import { createNotifierMetrics } from '../../src/adapters/metrics.ts';
import { startStack } from './stack.ts';
import { Side, limitOrder, marketOrder, testLogger } from './support.ts';

interface Received {
  atMs: number;
  body: string;
  headers: IncomingHttpHeaders;
  status: number;
}

test('notifications: inbox, cache invalidation, signed webhook with retries and backoff, replay idempotency', { timeout: 90_000 }, async () => {
  // The receiver fails the first two attempts of every delivery (500), then accepts it.
  const received: Received[] = [];
  const receiver = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => { body += chunk; });
    request.on('end', () => {
      const id = request.headers['x-bourse-delivery'];
      const status = received.filter((entry) => entry.headers['x-bourse-delivery'] === id).length < 2 ? 500 : 200;
      received.push({ atMs: Date.now(), body, headers: request.headers, status });
      response.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', () => resolve()));
  const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  const metrics = createNotifierMetrics({ processMetrics: false });
  const stack = await startStack({ notifier: { webhookLimits: { backoffBaseMs: 200, pollIntervalMs: 50 }, metrics } });
  try {
    const secret = 'a-webhook-secret-0123456789';
    const headers = { 'x-test-account': '2', 'content-type': 'application/json' };
    const unauthorized = await fetch(`${stack.url}/api/v1/notifications`);
    assert.equal(unauthorized.status, 401);
    assert.equal((await unauthorized.json() as { code: number }).code, -2015);
    // The setup deposits (two per account) are notified before the webhook exists.
    await stack.notifier.waitFor(stack.host.lastEventSequence());
    const badHook = await fetch(`${stack.url}/api/v1/notifications/webhook`, { method: 'PUT', headers, body: JSON.stringify({ url: 'ftp://x', secret }) });
    assert.equal(badHook.status, 400);
    const hook = await fetch(`${stack.url}/api/v1/notifications/webhook`, { method: 'PUT', headers, body: JSON.stringify({ url: receiverUrl, secret }) });
    assert.equal(hook.status, 200);

    // Account 2: a deposit, then an order that fills against account 1 (order + fill).
    await stack.submit(transfer(CommandType.Deposit, 'notify-deposit-1', 2, 'USDT', 500_000_000));
    await stack.submit(limitOrder(1, Side.Sell, 10_000, 2));
    await stack.submit(marketOrder(2, Side.Buy, 2));
    await stack.notifier.waitFor(stack.host.lastEventSequence());

    const first = await fetch(`${stack.url}/api/v1/notifications`, { headers });
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('x-data-source'), 'database');
    const inbox = (await first.json()) as { id: number; kind: string; eventSequence: number; readAt: number | null; payload: Record<string, unknown> }[];
    assert.deepEqual(inbox.map((row) => row.kind), ['fill', 'order', 'deposit', 'deposit', 'deposit'], 'newest first');
    assert.equal(inbox[2]!.payload.amount, '5.00000000');
    assert.equal(inbox[0]!.payload.X, 'FILLED');
    assert.equal(inbox[1]!.payload.x, 'NEW');
    const second = await fetch(`${stack.url}/api/v1/notifications`, { headers });
    assert.equal(second.headers.get('x-data-source'), 'cache');
    assert.deepEqual(await second.json(), inbox);
    const otherUser = (await (await fetch(`${stack.url}/api/v1/notifications`, { headers: { 'x-test-account': '1' } })).json()) as { kind: string }[];
    assert.deepEqual(otherUser.map((row) => row.kind), ['fill', 'order', 'deposit', 'deposit']);

    // A new notification invalidates the cached inbox.
    await stack.submit(transfer(CommandType.Deposit, 'notify-deposit-2', 2, 'BTC', 1_000));
    await stack.notifier.waitFor(stack.host.lastEventSequence());
    const third = await fetch(`${stack.url}/api/v1/notifications?limit=2`, { headers });
    assert.equal(third.headers.get('x-data-source'), 'database');
    const newest = (await third.json()) as { kind: string; payload: Record<string, unknown> }[];
    assert.equal(newest.length, 2);
    assert.deepEqual([newest[0]!.kind, newest[0]!.payload.asset, newest[0]!.payload.amount], ['deposit', 'BTC', '0.00001000']);

    // Mark read, then the unread view is empty.
    const marked = await fetch(`${stack.url}/api/v1/notifications/read`, { method: 'POST', headers, body: JSON.stringify({ all: true }) });
    assert.deepEqual(await marked.json(), { updated: 6 });
    const unread = await fetch(`${stack.url}/api/v1/notifications?unreadOnly=true`, { headers });
    assert.deepEqual(await unread.json(), []);
    const badLimit = await fetch(`${stack.url}/api/v1/notifications?limit=501`, { headers });
    assert.equal((await badLimit.json() as { code: number }).code, -1100);

    // Webhook: four notifications, each failing twice before it is accepted.
    const deadline = Date.now() + 30_000;
    const delivered = () => new Set(received.filter((entry) => entry.status === 200).map((entry) => entry.headers['x-bourse-delivery'])).size;
    while (delivered() < 4 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(delivered(), 4, `deliveries: ${received.map((entry) => `${entry.headers['x-bourse-delivery']}:${entry.status}`).join(' ')}`);
    for (const entry of received) {
      const expected = createHmac('sha256', secret).update(entry.body).digest('hex');
      assert.equal(entry.headers['x-bourse-signature'], expected, 'the signature verifies over the raw body');
      const body = JSON.parse(entry.body) as { deliveryId: string; accountId: number; eventSequence: number; kind: string };
      assert.equal(body.accountId, 2);
      assert.equal(entry.headers['x-bourse-delivery'], body.deliveryId);
    }
    // Retried deliveries repeat the exact bytes, and the waits grow (exponential backoff).
    const ids = new Set(received.map((entry) => entry.headers['x-bourse-delivery'] as string));
    assert.equal(ids.size, 4);
    for (const id of ids) {
      const attempts = received.filter((entry) => entry.headers['x-bourse-delivery'] === id);
      assert.deepEqual(attempts.map((attempt) => attempt.status), [500, 500, 200]);
      assert.ok(attempts.every((attempt) => attempt.body === attempts[0]!.body));
      const waits = [attempts[1]!.atMs - attempts[0]!.atMs, attempts[2]!.atMs - attempts[1]!.atMs];
      assert.ok(waits[0]! >= 190, `first retry after ${waits[0]} ms`);
      assert.ok(waits[1]! >= 390, `second retry after ${waits[1]} ms (doubled)`);
    }
    // The receiver answered; the outbox records it right after (poll until it has).
    const readOutbox = () => stack.db.query<{ attempts: number; delivered: boolean }>(
      'SELECT attempts, delivered_at IS NOT NULL AS delivered FROM webhook_outbox ORDER BY id',
    );
    let outbox = await readOutbox();
    while (!outbox.rows.every((row) => row.delivered) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      outbox = await readOutbox();
    }
    assert.equal(outbox.rows.length, 4);
    assert.ok(outbox.rows.every((row) => row.delivered));
    assert.equal(outbox.rows.reduce((sum, row) => sum + row.attempts, 0), received.length);
    // The metrics saw the same: every attempt by result, every inbox row, an empty outbox.
    const notificationRows = Number((await stack.db.query<{ count: string }>('SELECT count(*)::text AS count FROM notifications')).rows[0]!.count);
    assert.equal(metrics.webhookDeliveries.labels('failed').value, 8);
    assert.equal(metrics.webhookDeliveries.labels('delivered').value, 4);
    assert.equal(metrics.webhookDeliveries.labels('gave_up').value, 0);
    assert.equal(metrics.notifications.value, notificationRows);
    assert.match(await metrics.render(), /^bourse_notifier_outbox_pending 0$/m);

    // Replaying every event through a second notifier adds no rows and no deliveries.
    const countBefore = await stack.db.query<{ count: string }>('SELECT count(*)::text AS count FROM notifications');
    await stack.db.query('DELETE FROM projection_state WHERE consumer = $1', [notifierConsumerName]);
    const replay = await startNotifier({ feed: stack.host, db: stack.db, pubsub: stack.pubsub, reads: stack.host, logger: testLogger, timers: false, metrics });
    await replay.waitFor(stack.host.lastEventSequence());
    await replay.stop();
    const countAfter = await stack.db.query<{ count: string }>('SELECT count(*)::text AS count FROM notifications');
    assert.equal(countAfter.rows[0]!.count, countBefore.rows[0]!.count);
    const outboxAfter = await stack.db.query<{ count: string }>('SELECT count(*)::text AS count FROM webhook_outbox');
    assert.equal(outboxAfter.rows[0]!.count, '4');
    assert.equal(metrics.notifications.value, notificationRows, 'a replay inserts no row, so counts none');
  } finally {
    await stack.stop();
    await new Promise((resolve) => receiver.close(resolve));
  }
});
