// The web session API over real HTTP against a started embedded exchange: cookie flags,
// CSRF double-submit, sign-up/sign-in errors, the session's server-side signing key
// (hidden from the key list, revoked at sign-out), the admin bridge refusing non-admins,
// and the scrypt password format.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { hashPassword, verifyPassword } from '../../src/services/gateway/web-session.ts';
import { startServer, type StartedServer } from './support.ts';

class Browserish {
  cookies = new Map<string, string>();
  lastSetCookies: string[] = [];
  constructor(readonly base: string) {}

  async request(method: string, path: string, options: { body?: unknown; csrf?: boolean | string; headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { ...options.headers };
    if (this.cookies.size > 0) headers.cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    if (options.csrf !== false && method !== 'GET') headers['x-csrf-token'] = typeof options.csrf === 'string' ? options.csrf : (this.cookies.get('bourse_csrf') ?? '');
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(this.base + path, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
    this.lastSetCookies = response.headers.getSetCookie();
    for (const line of this.lastSetCookies) {
      const [pair] = line.split(';');
      const equals = pair!.indexOf('=');
      const name = pair!.slice(0, equals);
      const value = pair!.slice(equals + 1);
      if (/Max-Age=0/.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  }
}

describe('web session API', { timeout: 120_000 }, () => {
  let server: StartedServer;
  const password = 'a long enough password';

  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server?.stop();
  });

  const admin = async (path: string) => {
    const response = await fetch(server.url + path, { headers: { authorization: `Bearer ${server.adminToken}` } });
    return response.json() as Promise<unknown>;
  };

  test('cookies, CSRF and credentials', async () => {
    const client = new Browserish(server.url);
    assert.deepEqual((await client.request('GET', '/api/v1/web/session')).body, { user: null });
    const csrfCookie = client.lastSetCookies.find((line) => line.startsWith('bourse_csrf='))!;
    assert.match(csrfCookie, /SameSite=Strict/);
    assert.doesNotMatch(csrfCookie, /HttpOnly/, 'the page must read the CSRF token');

    const email = `csrf-${Date.now()}@example.com`;
    const noToken = await client.request('POST', '/api/v1/web/signup', { body: { email, password }, csrf: false });
    assert.equal(noToken.status, 403);
    const wrongToken = await client.request('POST', '/api/v1/web/signup', { body: { email, password }, csrf: 'x'.repeat(32) });
    assert.equal(wrongToken.status, 403);
    const short = await client.request('POST', '/api/v1/web/signup', { body: { email, password: 'short' } });
    assert.equal(short.status, 400);

    const created = await client.request('POST', '/api/v1/web/signup', { body: { email, password } });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    assert.equal(created.body.user.email, email);
    assert.equal(created.body.user.isAdmin, false);
    const sessionCookie = client.lastSetCookies.find((line) => line.startsWith('bourse_session='))!;
    assert.match(sessionCookie, /HttpOnly/);
    assert.match(sessionCookie, /SameSite=Strict/);
    assert.doesNotMatch(sessionCookie, /Secure/, 'plain HTTP on loopback: no Secure flag in auto mode');

    const duplicate = await new Browserish(server.url).request('GET', '/api/v1/web/session').then(async () => {
      const other = new Browserish(server.url);
      await other.request('GET', '/api/v1/web/session');
      return other.request('POST', '/api/v1/web/signup', { body: { email, password } });
    });
    assert.equal(duplicate.status, 409);

    // Mutations need the session's own CSRF token and a same-origin Origin.
    const order = { symbol: 'BTCUSDT', side: 'BUY', type: 'LIMIT', timeInForce: 'GTC', price: '100', quantity: '1' };
    assert.equal((await client.request('POST', '/api/v1/web/order', { body: order, csrf: false })).status, 403);
    const crossOrigin = await client.request('POST', '/api/v1/web/order', { body: order, headers: { origin: 'https://evil.example' } });
    assert.equal(crossOrigin.status, 403);
    const refused = await client.request('POST', '/api/v1/web/order', { body: order });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.code, -2010, 'reaches the engine through the Binance route: no funds');
    const injected = await client.request('POST', '/api/v1/web/order', { body: { ...order, timestamp: '1', signature: 'x' } });
    assert.equal(injected.status, 400);

    // The session's signing key is not in the user's key list; user keys are.
    assert.deepEqual((await client.request('GET', '/api/v1/web/api-keys')).body, { keys: [] });
    const made = await client.request('POST', '/api/v1/web/api-keys', { body: { permissions: ['read'] } });
    assert.equal(made.status, 200);
    assert.deepEqual(made.body.permissions, ['read']);
    const listed = (await client.request('GET', '/api/v1/web/api-keys')).body.keys as { apiKey: string; revoked: boolean }[];
    assert.deepEqual(listed.map((key) => key.apiKey), [made.body.apiKey]);
    assert.ok(!('secret' in listed[0]!) && !('secretKey' in listed[0]!), 'secrets are never listed');

    // Non-admins cannot use the admin bridge; the wrong token promotes nobody.
    assert.equal((await client.request('GET', '/api/v1/web/admin/markets')).status, 403);
    assert.equal((await client.request('POST', '/api/v1/web/admin-claim', { body: { token: 'wrong-token-value' } })).status, 403);
    assert.equal((await client.request('GET', '/api/v1/web/admin-system')).status, 403);

    // Sign out ends the session and revokes its signing key.
    const userId = created.body.user.userId as number;
    assert.equal((await client.request('POST', '/api/v1/web/signout')).status, 200);
    assert.equal((await client.request('GET', '/api/v1/web/account')).status, 401);
    const keys = (await admin(`/admin/v1/users/${userId}/api-keys`)) as { apiKey: string; revoked: boolean }[];
    const sessionKeys = keys.filter((key) => key.apiKey !== made.body.apiKey);
    assert.equal(sessionKeys.length, 1);
    assert.equal(sessionKeys[0]!.revoked, true);

    // Sign in: wrong password refused, right one accepted.
    await client.request('GET', '/api/v1/web/session');
    assert.equal((await client.request('POST', '/api/v1/web/signin', { body: { email, password: 'not the password' } })).status, 401);
    assert.equal((await client.request('POST', '/api/v1/web/signin', { body: { email: 'nobody@example.com', password } })).status, 401);
    const signedIn = await client.request('POST', '/api/v1/web/signin', { body: { email: email.toUpperCase(), password } });
    assert.equal(signedIn.status, 200);
    assert.equal((await client.request('GET', '/api/v1/web/account')).status, 200);

    // With the admin token the user becomes an admin, and the bridge opens.
    const claimed = await client.request('POST', '/api/v1/web/admin-claim', { body: { token: server.adminToken } });
    assert.equal(claimed.status, 200);
    const markets = await client.request('GET', '/api/v1/web/admin/markets');
    assert.equal(markets.status, 200);
    assert.ok((markets.body as { symbol: string }[]).some((market) => market.symbol === 'BTCUSDT'));
  });

  test('cookies are Secure behind a TLS-terminating proxy', async () => {
    const response = await fetch(`${server.url}/api/v1/web/session`, { headers: { 'x-forwarded-proto': 'https' } });
    const csrf = response.headers.getSetCookie().find((line) => line.startsWith('bourse_csrf='))!;
    assert.match(csrf, /; Secure/);
  });

  test('passwords are scrypt hashes with their parameters; admin API hashes verify too', async () => {
    const stored = await hashPassword('hunter2hunter2');
    assert.match(stored, /^scrypt\$15\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    assert.equal(await verifyPassword('hunter2hunter2', stored), true);
    assert.equal(await verifyPassword('hunter2hunter3', stored), false);
    assert.notEqual(await hashPassword('hunter2hunter2'), stored, 'salted');
    const { hashPassword: adminHash } = await import('../../src/services/gateway/admin.ts');
    assert.equal(await verifyPassword('from the admin api', adminHash('from the admin api')), true);
    assert.equal(await verifyPassword('something else', adminHash('from the admin api')), false);
  });
});
