// The web UI's account API under /api/v1/web: sign up, sign in, sign out and the session
// (scrypt password hashes, an HttpOnly SameSite=Strict session cookie, CSRF double-submit
// on every mutating request), API key management, and session-authenticated equivalents
// of the Binance endpoints the UI trades with. Those equivalents hold no trading logic of
// their own: each session owns a server-side API key (never sent to the browser) and its
// requests are signed with it and passed through the very /api/v3 routes every API client
// uses, so the same validation, rate limits, idempotency and error codes apply. Admin
// screens reach /admin/v1 the same way, through a bridge that adds the admin token only
// for users marked is_admin; the raw token never reaches the browser.
import { createHash, createHmac, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import type { Cache } from '../../ports/cache.ts';
import type { SqlDatabase } from '../../ports/sql.ts';
import type { EngineReads } from '../contracts.ts';
import type { CommonMetrics } from '../../adapters/metrics.ts';
import { createLogger } from '../../adapters/logger.ts';
import { AccountError, type ApiPermission, type SqlAccountStore, type UserRecord } from './accounts.ts';
import { ApiError } from './errors.ts';
import { summarizeSystem, type SystemSummary } from './web/system-summary.ts';

const logger = createLogger('web-session');

// ---- Named limits -------------------------------------------------------------------------

/** Absolute lifetime of a session; the user signs in again after it. */
export const sessionLifetimeMs = 7 * 24 * 60 * 60 * 1000;
export const passwordLengthMin = 10;
/** Longer passwords are refused: scrypt's cost must not be chosen by the client. */
export const passwordLengthMax = 256;
/** Sign-in (and admin-claim) attempts per email and per client address in one window. */
export const signInAttemptsPerWindowMax = 10;
export const signInAttemptsPerAddressMax = 50;
export const signInWindowMs = 15 * 60 * 1000;
/** Sign-ups per client address in one window. */
export const signUpsPerAddressMax = 20;
/** JSON bodies of the web API (orders, forms) are small. */
export const webBodyBytesMax = 16 * 1024;
/** Fields in one forwarded request: more is refused before anything is signed. */
export const forwardedParametersMax = 32;
/** Unread notifications counted for the badge; beyond it the UI shows "500+". */
export const unreadCountedMax = 500;
/** Sessions whose last signing timestamp is remembered (monotonic timestamps per key). */
export const signingClocksMax = 100_000;

/** scrypt with N = 2^15, r = 8, p = 1: 32 MiB and tens of milliseconds per hash. */
export const scryptCostLog2 = 15;
export const scryptBlockSize = 8;
export const scryptParallelization = 1;
const scryptKeyBytes = 32;
const scryptSaltBytes = 16;
const scryptMemoryBytesMax = 64 * 1024 * 1024;

export const sessionCookieName = 'bourse_session';
export const csrfCookieName = 'bourse_csrf';
export const csrfHeaderName = 'x-csrf-token';
const sessionTokenBytes = 32;
const csrfTokenBytes = 24;
const sessionKeyPermissions: ApiPermission[] = ['read', 'trade'];

// ---- Errors of the web API (Binance-style {code, msg}) ---------------------------------------

export const webErrors = {
  signedOut: () => new ApiError(401, -1002, 'You are not signed in.'),
  csrf: () => new ApiError(403, -1002, 'Missing or wrong CSRF token; reload the page and try again.'),
  crossOrigin: () => new ApiError(403, -1002, 'Cross-origin request refused.'),
  notAdmin: () => new ApiError(403, -1002, 'You are not authorized to execute this request.'),
  badCredentials: () => new ApiError(401, -1002, 'Wrong email or password.'),
  tooManyAttempts: () => new ApiError(429, -1003, 'Too many attempts; try again in 15 minutes.', { 'retry-after': String(signInWindowMs / 1000) }),
  emailTaken: () => new ApiError(409, -1130, 'An account with this email exists; sign in instead.'),
  invalid: (detail: string) => new ApiError(400, -1130, detail),
  badAdminToken: () => new ApiError(403, -1002, 'Wrong admin token.'),
  unknownKey: () => new ApiError(400, -2015, 'Invalid API-key, IP, or permissions for action.'),
  notFound: () => new ApiError(404, -1099, 'Not found, unauthenticated, or unauthorized.'),
};

// ---- Passwords ---------------------------------------------------------------------------------

function scryptAsync(password: string, salt: Buffer, keyBytes: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(password, salt, keyBytes, options, (error, key) => (error ? reject(error) : resolve(key))));
}

/** `scrypt$<log2 N>$<r>$<p>$<salt base64url>$<hash base64url>`: parameters travel with the hash. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(scryptSaltBytes);
  const key = await scryptAsync(password, salt, scryptKeyBytes, {
    N: 2 ** scryptCostLog2,
    r: scryptBlockSize,
    p: scryptParallelization,
    maxmem: scryptMemoryBytesMax,
  });
  return ['scrypt', scryptCostLog2, scryptBlockSize, scryptParallelization, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** Node's scrypt defaults, which the admin API's `scrypt$<salt hex>$<hash hex>` hashes use. */
const adminHashCostLog2 = 14;

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length === 3 && parts[0] === 'scrypt' && /^[0-9a-f]+$/.test(parts[1]!) && /^[0-9a-f]+$/.test(parts[2]!)) {
    // Users created through POST /admin/v1/users with a password.
    const expected = Buffer.from(parts[2]!, 'hex');
    const key = await scryptAsync(password, Buffer.from(parts[1]!, 'hex'), expected.length, { N: 2 ** adminHashCostLog2, r: 8, p: 1 });
    return key.length === expected.length && timingSafeEqual(key, expected);
  }
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [costLog2, blockSize, parallelization] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  if (!(costLog2 >= 10 && costLog2 <= 20 && blockSize >= 1 && blockSize <= 32 && parallelization >= 1 && parallelization <= 4)) return false;
  const expected = Buffer.from(parts[5]!, 'base64url');
  const key = await scryptAsync(password, Buffer.from(parts[4]!, 'base64url'), expected.length, {
    N: 2 ** costLog2,
    r: blockSize,
    p: parallelization,
    maxmem: scryptMemoryBytesMax * 4,
  });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A hash of a random password: verifying against it costs what a real check costs. */
let decoyHash: Promise<string> | null = null;

// ---- Cookies -----------------------------------------------------------------------------------

export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  if (!header) return cookies;
  for (const part of header.split(';')) {
    const equals = part.indexOf('=');
    if (equals <= 0) continue;
    const name = part.slice(0, equals).trim();
    if (cookies.has(name)) continue;
    let value = part.slice(equals + 1).trim();
    try {
      value = decodeURIComponent(value);
    } catch {
      continue;
    }
    cookies.set(name, value);
  }
  return cookies;
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function sameSecret(left: string, right: string): boolean {
  const a = createHash('sha256').update(left).digest();
  const b = createHash('sha256').update(right).digest();
  return timingSafeEqual(a, b) && left.length === right.length;
}

// ---- The plugin ----------------------------------------------------------------------------------

export interface WebSessionDeps {
  database: SqlDatabase;
  accounts: SqlAccountStore;
  cache: Cache;
  /** BOURSE_ADMIN_TOKEN: used server-side by the admin bridge and to promote a user once. */
  adminToken: string;
  /**
   * Secure flag of the cookies: 'auto' (default) sets it when the request came over TLS
   * (request.protocol, which honours X-Forwarded-Proto when the app trusts its proxy).
   */
  secureCookies?: 'auto' | boolean;
  /** The process's metrics, summarised for the admin system view. */
  metrics?: CommonMetrics;
  reads?: EngineReads;
  clock?: () => number;
}

interface SessionRow {
  userId: number;
  csrfToken: string;
  apiKey: string;
  expiresAtMs: number;
}

interface SignedIn {
  session: SessionRow;
  user: UserRecord;
}

export interface WebUser {
  userId: number;
  accountId: number;
  email: string;
  isAdmin: boolean;
}

function webUser(user: UserRecord): WebUser {
  return { userId: user.userId, accountId: user.userId, email: user.email, isAdmin: user.isAdmin };
}

type Body = Record<string, unknown>;

function bodyOf(request: FastifyRequest): Body {
  const body = request.body;
  if (body === undefined || body === null || body === '') return {};
  if (typeof body === 'object' && !Array.isArray(body) && !Buffer.isBuffer(body)) return body as Body;
  throw webErrors.invalid('Send a JSON object.');
}

function stringField(body: Body, name: string, lengthMax: number): string {
  const value = body[name];
  if (typeof value !== 'string' || value.length === 0) throw webErrors.invalid(`Field '${name}' is required.`);
  if (value.length > lengthMax) throw webErrors.invalid(`Field '${name}' is longer than ${lengthMax} characters.`);
  return value;
}

/** Turns the UI's JSON (flat strings, numbers, booleans) into Binance parameters. */
function toParameters(source: Body): [string, string][] {
  const entries: [string, string][] = [];
  for (const [name, value] of Object.entries(source)) {
    if (name === 'signature' || name === 'timestamp' || name === 'recvWindow') throw webErrors.invalid(`Field '${name}' is set by the server.`);
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') throw webErrors.invalid(`Field '${name}' must be a string.`);
    if (typeof value === 'number' && !Number.isSafeInteger(value)) throw webErrors.invalid(`Field '${name}': send decimals as strings.`);
    entries.push([name, String(value)]);
    if (entries.length > forwardedParametersMax) throw webErrors.invalid('Too many fields.');
  }
  return entries;
}

function queryEntries(request: FastifyRequest): Body {
  const question = request.url.indexOf('?');
  const result: Body = {};
  if (question < 0) return result;
  for (const [name, value] of new URLSearchParams(request.url.slice(question + 1))) {
    if (name in result) throw webErrors.invalid(`Parameter '${name}' appears twice.`);
    result[name] = value;
  }
  return result;
}

/** Response headers of the forwarded routes worth passing on to the browser. */
const forwardedResponseHeaders = ['content-type', 'retry-after', 'x-data-source', 'x-mbx-used-weight-1m'];

/**
 * Session lookup and CSRF checks, shared by the routes below and by any other route that
 * accepts a web session (see `webSessionAuthenticator`).
 */
class WebSessionStore {
  /** Last signing timestamp per session key: strictly increasing, so no two signatures repeat. */
  readonly lastTimestampByKey = new Map<string, number>();
  private readonly clock: () => number;

  constructor(private readonly deps: WebSessionDeps) {
    this.clock = deps.clock ?? Date.now;
  }

  /** The signed-in user, or null. Expired sessions are ended (and their key revoked) on sight. */
  async sessionOf(request: FastifyRequest): Promise<SignedIn | null> {
    const token = parseCookies(request.headers.cookie).get(sessionCookieName);
    if (!token || !/^[A-Za-z0-9_-]{20,100}$/.test(token)) return null;
    const result = await this.deps.database.query<{ user_id: string | number; csrf_token: string; api_key: string; expires_at_ms: string | number; ended_at_ms: string | null }>(
      'SELECT user_id, csrf_token, api_key, expires_at_ms, ended_at_ms FROM web_sessions WHERE token_hash = $1',
      [sha256Hex(token)],
    );
    const row = result.rows[0];
    if (!row || row.ended_at_ms !== null) return null;
    const session: SessionRow = { userId: Number(row.user_id), csrfToken: row.csrf_token, apiKey: row.api_key, expiresAtMs: Number(row.expires_at_ms) };
    if (session.expiresAtMs <= this.clock()) {
      await this.endSession(sha256Hex(token), session.apiKey);
      return null;
    }
    const user = await this.deps.accounts.userById(session.userId);
    return user ? { session, user } : null;
  }

  async endSession(tokenHash: string, apiKey: string): Promise<void> {
    await this.deps.database.query('UPDATE web_sessions SET ended_at_ms = $2 WHERE token_hash = $1 AND ended_at_ms IS NULL', [tokenHash, this.clock()]);
    await this.deps.accounts.revokeApiKey(apiKey);
    this.lastTimestampByKey.delete(apiKey);
  }

  /** Mutating requests must come from our own pages: same origin and the CSRF token echoed. */
  checkCsrf(request: FastifyRequest, expected: string | null): void {
    const origin = request.headers.origin;
    if (origin !== undefined && origin !== 'null') {
      let host = '';
      try {
        host = new URL(origin).host;
      } catch {
        throw webErrors.crossOrigin();
      }
      if (host !== request.headers.host) throw webErrors.crossOrigin();
    }
    const header = request.headers[csrfHeaderName];
    const cookieToken = parseCookies(request.headers.cookie).get(csrfCookieName);
    if (typeof header !== 'string' || header.length < 16 || !cookieToken || !sameSecret(header, cookieToken)) throw webErrors.csrf();
    if (expected !== null && !sameSecret(header, expected)) throw webErrors.csrf();
  }

  async requireSession(request: FastifyRequest): Promise<SignedIn> {
    const signedIn = await this.sessionOf(request);
    if (!signedIn) throw webErrors.signedOut();
    if (request.method !== 'GET' && request.method !== 'HEAD') this.checkCsrf(request, signedIn.session.csrfToken);
    return signedIn;
  }
}

/**
 * For routes outside this module that accept a web session (the notifier's inbox routes
 * take an `authenticate` function): the session's accountId, null without a session,
 * and a thrown 403 ApiError when a mutating request lacks the session's CSRF token.
 */
export function webSessionAuthenticator(deps: WebSessionDeps): (request: FastifyRequest) => Promise<number | null> {
  const store = new WebSessionStore(deps);
  return async (request) => {
    const signedIn = await store.sessionOf(request);
    if (!signedIn) return null;
    if (request.method !== 'GET' && request.method !== 'HEAD') store.checkCsrf(request, signedIn.session.csrfToken);
    return signedIn.user.userId;
  };
}

export function registerWebSessionRoutes(app: FastifyInstance, deps: WebSessionDeps): void {
  const clock = deps.clock ?? Date.now;
  const { database, accounts, cache } = deps;
  const root = app;

  decoyHash ??= hashPassword(randomBytes(16).toString('hex'));

  const secure = (request: FastifyRequest): boolean =>
    deps.secureCookies === undefined || deps.secureCookies === 'auto' ? request.protocol === 'https' : deps.secureCookies;

  const cookie = (request: FastifyRequest, name: string, value: string, options: { httpOnly: boolean; maxAgeSeconds: number }): string => {
    const parts = [`${name}=${encodeURIComponent(value)}`, 'Path=/', 'SameSite=Strict', `Max-Age=${options.maxAgeSeconds}`];
    if (options.httpOnly) parts.push('HttpOnly');
    if (secure(request)) parts.push('Secure');
    return parts.join('; ');
  };

  const setSessionCookies = (request: FastifyRequest, reply: FastifyReply, token: string | null, csrfToken: string): void => {
    const lifetimeSeconds = Math.floor(sessionLifetimeMs / 1000);
    const cookies = [cookie(request, csrfCookieName, csrfToken, { httpOnly: false, maxAgeSeconds: lifetimeSeconds })];
    if (token !== null) cookies.push(cookie(request, sessionCookieName, token, { httpOnly: true, maxAgeSeconds: token === '' ? 0 : lifetimeSeconds }));
    reply.header('set-cookie', cookies);
  };

  const store = new WebSessionStore(deps);
  const sessionOf = (request: FastifyRequest) => store.sessionOf(request);
  const endSession = (tokenHash: string, apiKey: string) => store.endSession(tokenHash, apiKey);
  const checkCsrf = (request: FastifyRequest, expected: string | null) => store.checkCsrf(request, expected);
  const requireSession = (request: FastifyRequest) => store.requireSession(request);
  const lastTimestampByKey = store.lastTimestampByKey;

  const startSession = async (request: FastifyRequest, reply: FastifyReply, user: UserRecord): Promise<void> => {
    // End this user's expired sessions now rather than leave their keys valid until seen.
    const expired = await database.query<{ token_hash: string; api_key: string }>(
      'SELECT token_hash, api_key FROM web_sessions WHERE user_id = $1 AND ended_at_ms IS NULL AND expires_at_ms <= $2',
      [user.userId, clock()],
    );
    for (const row of expired.rows) await endSession(row.token_hash, row.api_key);
    const key = await accounts.issueApiKey(user.userId, sessionKeyPermissions);
    const token = randomBytes(sessionTokenBytes).toString('base64url');
    const csrfToken = randomBytes(csrfTokenBytes).toString('base64url');
    const nowMs = clock();
    await database.query(
      'INSERT INTO web_sessions (token_hash, user_id, csrf_token, api_key, created_at_ms, expires_at_ms) VALUES ($1, $2, $3, $4, $5, $6)',
      [sha256Hex(token), user.userId, csrfToken, key.apiKey, nowMs, nowMs + sessionLifetimeMs],
    );
    setSessionCookies(request, reply, token, csrfToken);
  };

  const requireAdmin = async (request: FastifyRequest): Promise<SignedIn> => {
    const signedIn = await requireSession(request);
    if (!signedIn.user.isAdmin) throw webErrors.notAdmin();
    return signedIn;
  };

  const countAttempt = async (key: string, limit: number): Promise<void> => {
    const count = await cache.countInWindow(key, 1, signInWindowMs);
    if (count > limit) throw webErrors.tooManyAttempts();
  };

  /** A strictly increasing timestamp per key: two identical requests in one millisecond still sign differently. */
  const timestampFor = (apiKey: string): number => {
    const last = lastTimestampByKey.get(apiKey) ?? 0;
    const next = Math.max(clock(), last + 1);
    if (!lastTimestampByKey.has(apiKey) && lastTimestampByKey.size >= signingClocksMax) {
      const oldest = lastTimestampByKey.keys().next().value;
      if (oldest !== undefined) lastTimestampByKey.delete(oldest);
    }
    lastTimestampByKey.set(apiKey, next);
    return next;
  };

  /** Calls one of the public routes as the session's user, signed with the session's key. */
  const call = async (request: FastifyRequest, signedIn: SignedIn, method: HTTPMethods, path: string, parameters: [string, string][], signing: 'signed' | 'api-key') => {
    const query = new URLSearchParams(parameters);
    if (signing === 'signed') {
      const key = await accounts.apiKey(signedIn.session.apiKey);
      if (!key || key.revoked) throw webErrors.signedOut();
      query.set('timestamp', String(timestampFor(key.apiKey)));
      const payload = query.toString();
      query.set('signature', createHmac('sha256', key.secret).update(payload).digest('hex'));
    }
    const text = query.toString();
    return root.inject({
      method,
      url: text ? `${path}?${text}` : path,
      headers: { 'x-mbx-apikey': signedIn.session.apiKey, 'user-agent': 'bourse-web-session' },
      remoteAddress: request.ip,
    });
  };

  /** Passes a request to one of the public routes and its answer back to the browser. */
  const forward = async (
    request: FastifyRequest,
    reply: FastifyReply,
    signedIn: SignedIn,
    method: HTTPMethods,
    path: string,
    parameters: [string, string][],
    signing: 'signed' | 'api-key',
  ): Promise<FastifyReply> => {
    const response = await call(request, signedIn, method, path, parameters, signing);
    for (const name of forwardedResponseHeaders) {
      const value = response.headers[name];
      if (value !== undefined) reply.header(name, value);
    }
    return reply.code(response.statusCode).send(response.body);
  };

  root.register(async (scope) => {
    // This scope parses JSON itself, whatever the Binance routes do with bodies.
    if (scope.hasContentTypeParser('application/json')) scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: webBodyBytesMax }, (_request, body, done) => {
      const text = typeof body === 'string' ? body : body.toString('utf8');
      if (text.trim() === '') return done(null, {});
      try {
        done(null, JSON.parse(text));
      } catch {
        done(webErrors.invalid('Malformed JSON body.'), undefined);
      }
    });
    scope.setErrorHandler((error, _request, reply) => {
      if (error instanceof ApiError) return reply.code(error.status).headers(error.headers).send(error.body());
      const status = (error as { statusCode?: number }).statusCode;
      if (typeof status === 'number' && status >= 400 && status < 500) return reply.code(status).send({ code: -1130, msg: (error as Error).message });
      logger.error({ err: error }, 'web session request failed');
      return reply.code(500).send({ code: -1000, msg: 'An unknown error occurred while processing the request.' });
    });
    scope.addHook('onSend', async (_request, reply, payload) => {
      reply.header('cache-control', 'no-store');
      return payload;
    });

    // ---- Session ------------------------------------------------------------------------

    scope.get('/api/v1/web/session', async (request, reply) => {
      const signedIn = await sessionOf(request);
      const existing = parseCookies(request.headers.cookie).get(csrfCookieName);
      if (signedIn) {
        if (existing !== signedIn.session.csrfToken) setSessionCookies(request, reply, null, signedIn.session.csrfToken);
        return { user: webUser(signedIn.user) };
      }
      // Signed out: hand out a CSRF token for the sign-in and sign-up forms.
      if (!existing || existing.length < 16) setSessionCookies(request, reply, null, randomBytes(csrfTokenBytes).toString('base64url'));
      return { user: null };
    });

    scope.post('/api/v1/web/signup', async (request, reply) => {
      checkCsrf(request, null);
      const body = bodyOf(request);
      const email = stringField(body, 'email', 254).trim().toLowerCase();
      const password = stringField(body, 'password', passwordLengthMax);
      if (password.length < passwordLengthMin) throw webErrors.invalid(`Use at least ${passwordLengthMin} characters for the password.`);
      await countAttempt(`web:signup:${request.ip}`, signUpsPerAddressMax);
      let user: UserRecord;
      try {
        user = await accounts.createUser(email, { passwordHash: await hashPassword(password) });
      } catch (error) {
        if (error instanceof AccountError) throw /exists/.test(error.message) ? webErrors.emailTaken() : webErrors.invalid(error.message);
        // Two sign-ups with one email at once: the unique index answers for the slower one.
        if (/unique|duplicate/i.test(String((error as Error).message))) throw webErrors.emailTaken();
        throw error;
      }
      await startSession(request, reply, user);
      return { user: webUser(user) };
    });

    scope.post('/api/v1/web/signin', async (request, reply) => {
      checkCsrf(request, null);
      const body = bodyOf(request);
      const email = stringField(body, 'email', 254).trim().toLowerCase();
      const password = stringField(body, 'password', passwordLengthMax);
      await countAttempt(`web:signin:address:${request.ip}`, signInAttemptsPerAddressMax);
      await countAttempt(`web:signin:email:${email}`, signInAttemptsPerWindowMax);
      const found = await database.query<{ id: string | number; password_hash: string | null }>('SELECT id, password_hash FROM users WHERE email = $1', [email]);
      const row = found.rows[0];
      // Unknown emails and accounts without a password cost a full hash too: timing tells nothing.
      const valid = await verifyPassword(password, row?.password_hash ?? (await decoyHash!));
      if (!row || !row.password_hash || !valid) throw webErrors.badCredentials();
      const user = await accounts.userById(Number(row.id));
      if (!user) throw webErrors.badCredentials();
      await startSession(request, reply, user);
      return { user: webUser(user) };
    });

    scope.post('/api/v1/web/signout', async (request, reply) => {
      const signedIn = await sessionOf(request);
      if (signedIn) {
        checkCsrf(request, signedIn.session.csrfToken);
        const token = parseCookies(request.headers.cookie).get(sessionCookieName)!;
        await endSession(sha256Hex(token), signedIn.session.apiKey);
      }
      setSessionCookies(request, reply, '', randomBytes(csrfTokenBytes).toString('base64url'));
      return {};
    });

    /** Makes the signed-in user an admin, once, given the server's admin token. */
    scope.post('/api/v1/web/admin-claim', async (request) => {
      const signedIn = await requireSession(request);
      await countAttempt(`web:admin-claim:${request.ip}`, signInAttemptsPerWindowMax);
      const token = stringField(bodyOf(request), 'token', 512);
      if (!sameSecret(token, deps.adminToken)) throw webErrors.badAdminToken();
      await database.query('UPDATE users SET is_admin = TRUE WHERE id = $1', [signedIn.user.userId]);
      logger.info({ userId: signedIn.user.userId }, 'user promoted to admin with the admin token');
      return { user: { ...webUser(signedIn.user), isAdmin: true } };
    });

    // ---- API keys (the gateway's own issuing code and tables) ------------------------------

    /** Keys the user made, without the keys that web sessions sign with. */
    const userKeys = async (userId: number) => {
      const sessionKeys = await database.query<{ api_key: string }>('SELECT api_key FROM web_sessions WHERE user_id = $1', [userId]);
      const hidden = new Set(sessionKeys.rows.map((row) => row.api_key));
      return (await accounts.apiKeysOf(userId)).filter((key) => !hidden.has(key.apiKey));
    };

    scope.get('/api/v1/web/api-keys', async (request) => {
      const { user } = await requireSession(request);
      return { keys: await userKeys(user.userId) };
    });

    scope.post('/api/v1/web/api-keys', async (request) => {
      const { user } = await requireSession(request);
      const permissions = bodyOf(request).permissions;
      if (!Array.isArray(permissions) || permissions.some((permission) => permission !== 'read' && permission !== 'trade')) {
        throw webErrors.invalid('permissions must be a non-empty subset of ["read", "trade"].');
      }
      const wanted = new Set<ApiPermission>(permissions as ApiPermission[]);
      wanted.add('read');
      const key = await accounts.issueApiKey(user.userId, [...wanted]);
      // The secret is in this answer only; the list never shows it again.
      return { apiKey: key.apiKey, secretKey: key.secret, permissions: [...wanted] };
    });

    scope.delete<{ Params: { apiKey: string } }>('/api/v1/web/api-keys/:apiKey', async (request) => {
      const { user } = await requireSession(request);
      const apiKey = request.params.apiKey;
      const owned = (await userKeys(user.userId)).some((key) => key.apiKey === apiKey);
      if (!owned) throw webErrors.unknownKey();
      await accounts.revokeApiKey(apiKey);
      return {};
    });

    // ---- Trading: the /api/v3 routes, signed with the session's key ------------------------

    const signedRoutes: [HTTPMethods, string, string][] = [
      ['POST', '/api/v1/web/order', '/api/v3/order'],
      ['GET', '/api/v1/web/order', '/api/v3/order'],
      ['DELETE', '/api/v1/web/order', '/api/v3/order'],
      ['GET', '/api/v1/web/openOrders', '/api/v3/openOrders'],
      ['DELETE', '/api/v1/web/openOrders', '/api/v3/openOrders'],
      ['GET', '/api/v1/web/allOrders', '/api/v3/allOrders'],
      ['GET', '/api/v1/web/myTrades', '/api/v3/myTrades'],
      ['GET', '/api/v1/web/account', '/api/v3/account'],
    ];
    for (const [method, path, target] of signedRoutes) {
      scope.route({
        method,
        url: path,
        handler: async (request, reply) => {
          const signedIn = await requireSession(request);
          const source = method === 'GET' ? queryEntries(request) : { ...queryEntries(request), ...bodyOf(request) };
          return forward(request, reply, signedIn, method, target, toParameters(source), 'signed');
        },
      });
    }

    // The user data stream's listenKey: Binance's USER_STREAM security (API key, no signature).
    for (const method of ['POST', 'PUT', 'DELETE'] as const) {
      scope.route({
        method,
        url: '/api/v1/web/listenKey',
        handler: async (request, reply) => {
          const signedIn = await requireSession(request);
          const parameters = method === 'POST' ? [] : toParameters({ listenKey: bodyOf(request).listenKey });
          return forward(request, reply, signedIn, method, '/api/v3/userDataStream', parameters, 'api-key');
        },
      });
    }

    // ---- Notifications: the notifier's inbox and webhook routes, as the session's user -----------

    scope.get('/api/v1/web/notifications', async (request, reply) => {
      const signedIn = await requireSession(request);
      return forward(request, reply, signedIn, 'GET', '/api/v1/notifications', toParameters(queryEntries(request)), 'signed');
    });

    scope.get('/api/v1/web/notifications/unread-count', async (request, reply) => {
      const signedIn = await requireSession(request);
      const response = await call(request, signedIn, 'GET', '/api/v1/notifications', [['unreadOnly', 'true'], ['limit', String(unreadCountedMax)]], 'signed');
      if (response.statusCode !== 200) return reply.code(response.statusCode).header('content-type', 'application/json').send(response.body);
      const rows = response.json() as unknown[];
      return { unreadCount: Array.isArray(rows) ? rows.length : 0, capped: Array.isArray(rows) && rows.length >= unreadCountedMax };
    });

    scope.post('/api/v1/web/notifications/read', async (request, reply) => {
      const signedIn = await requireSession(request);
      const body = bodyOf(request);
      const parameters: [string, string][] = [];
      if (body.all === true) parameters.push(['all', 'true']);
      else if (Array.isArray(body.ids) && body.ids.every((id) => Number.isSafeInteger(id))) parameters.push(['ids', JSON.stringify(body.ids)]);
      else throw webErrors.invalid("Send 'ids' (a list of notification ids) or 'all': true.");
      return forward(request, reply, signedIn, 'POST', '/api/v1/notifications/read', parameters, 'signed');
    });

    scope.get('/api/v1/web/webhook', async (request, reply) => {
      const signedIn = await requireSession(request);
      return forward(request, reply, signedIn, 'GET', '/api/v1/notifications/webhook', [], 'signed');
    });

    scope.put('/api/v1/web/webhook', async (request, reply) => {
      const signedIn = await requireSession(request);
      const body = bodyOf(request);
      return forward(request, reply, signedIn, 'PUT', '/api/v1/notifications/webhook', toParameters({ url: body.url, secret: body.secret }), 'signed');
    });

    scope.delete('/api/v1/web/webhook', async (request, reply) => {
      const signedIn = await requireSession(request);
      return forward(request, reply, signedIn, 'DELETE', '/api/v1/notifications/webhook', [], 'signed');
    });

    // ---- Admin bridge -------------------------------------------------------------------------

    scope.route({
      method: ['GET', 'POST', 'PUT', 'DELETE'],
      url: '/api/v1/web/admin/*',
      handler: async (request, reply) => {
        await requireAdmin(request);
        const rest = (request.params as { '*': string })['*'];
        if (!/^[A-Za-z0-9/_.-]*$/.test(rest) || rest.includes('..')) throw webErrors.notFound();
        const question = request.url.indexOf('?');
        const search = question < 0 ? '' : request.url.slice(question);
        const hasBody = request.method !== 'GET' && request.method !== 'DELETE' ? true : request.body !== undefined && request.body !== null && request.body !== '';
        const response = await root.inject({
          method: request.method as HTTPMethods,
          url: `/admin/v1/${rest}${search}`,
          headers: {
            authorization: `Bearer ${deps.adminToken}`,
            ...(hasBody ? { 'content-type': 'application/json' } : {}),
            'user-agent': 'bourse-web-admin',
          },
          payload: hasBody ? JSON.stringify(bodyOf(request)) : undefined,
          remoteAddress: request.ip,
        });
        const contentType = response.headers['content-type'];
        if (contentType !== undefined) reply.header('content-type', contentType);
        return reply.code(response.statusCode).send(response.body);
      },
    });

    let previousSample: SystemSummary | null = null;
    scope.get('/api/v1/web/admin-system', async (request) => {
      await requireAdmin(request);
      const summary = await summarizeSystem(deps.metrics ?? null, deps.reads ?? null, previousSample, clock());
      previousSample = summary;
      return summary;
    });
  });
}
