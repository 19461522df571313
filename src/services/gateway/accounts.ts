// Users and API keys (tables from 002_accounts.sql). A user's id is the engine's accountId.
// Keys are verified on every signed request, so they are cached in memory; a cached entry
// is re-read after `apiKeyCacheTtlMs` so a revocation made by another gateway takes effect
// within that time (this gateway's own revocations take effect at once).
import { randomBytes } from 'node:crypto';
import type { SqlDatabase } from '../../ports/sql.ts';

export type ApiPermission = 'read' | 'trade';

export interface ApiKeyRecord {
  apiKey: string;
  secret: string;
  accountId: number;
  canRead: boolean;
  canTrade: boolean;
  revoked: boolean;
}

export interface UserRecord {
  userId: number;
  email: string;
  isAdmin: boolean;
  createdAtMs: number;
}

/** After this, a cached key is re-read (in the background: the stale entry answers meanwhile). */
export const apiKeyCacheTtlMs = 5000;
/** Cached keys (including "no such key" answers); the oldest are dropped beyond it. */
export const apiKeyCacheEntriesMax = 100_000;
export const emailLengthMax = 254;

const keyAlphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A random string over [A-Za-z0-9], like Binance's 64-character keys and secrets. */
export function randomToken(length: number): string {
  const bytes = randomBytes(length * 2);
  let text = '';
  for (let index = 0; text.length < length; index++) {
    const byte = bytes[index % bytes.length]!;
    // 62 * 4 = 248: reject bytes >= 248 to keep the alphabet uniform.
    if (byte < 248) text += keyAlphabet[byte % 62];
    if (index >= bytes.length * 4) break;
  }
  return text.padEnd(length, 'A');
}

export class AccountError extends Error {
  override name = 'AccountError';
}

interface CachedKey {
  record: ApiKeyRecord | null;
  loadedAtMs: number;
}

export class SqlAccountStore {
  private readonly keys = new Map<string, CachedKey>();
  private readonly refreshing = new Set<string>();
  /** Bumped by every change this store makes to keys, so a read in flight cannot undo it. */
  private generation = 0;

  constructor(private readonly database: SqlDatabase) {}

  async createUser(email: string, options: { passwordHash?: string | null; isAdmin?: boolean } = {}): Promise<UserRecord> {
    if (typeof email !== 'string' || email.length === 0 || email.length > emailLengthMax || !/^[^\s@]+@[^\s@]+$/.test(email)) {
      throw new AccountError('email must look like name@domain');
    }
    const existing = await this.database.query<{ id: string }>('SELECT id FROM users WHERE email = $1', [email]);
    if (existing.rowCount > 0) throw new AccountError(`a user with email ${email} exists`);
    const result = await this.database.query<{ id: string | number; created_at: Date | string }>(
      'INSERT INTO users (email, password_hash, is_admin) VALUES ($1, $2, $3) RETURNING id, created_at',
      [email, options.passwordHash ?? null, options.isAdmin ?? false],
    );
    const row = result.rows[0]!;
    return { userId: Number(row.id), email, isAdmin: options.isAdmin ?? false, createdAtMs: new Date(row.created_at).getTime() };
  }

  async users(): Promise<UserRecord[]> {
    const result = await this.database.query<{ id: string | number; email: string; is_admin: boolean; created_at: Date | string }>(
      'SELECT id, email, is_admin, created_at FROM users ORDER BY id',
    );
    return result.rows.map((row) => ({ userId: Number(row.id), email: row.email, isAdmin: row.is_admin, createdAtMs: new Date(row.created_at).getTime() }));
  }

  async userById(userId: number): Promise<UserRecord | null> {
    const result = await this.database.query<{ id: string | number; email: string; is_admin: boolean; created_at: Date | string }>(
      'SELECT id, email, is_admin, created_at FROM users WHERE id = $1',
      [userId],
    );
    const row = result.rows[0];
    return row ? { userId: Number(row.id), email: row.email, isAdmin: row.is_admin, createdAtMs: new Date(row.created_at).getTime() } : null;
  }

  async userByEmail(email: string): Promise<UserRecord | null> {
    const result = await this.database.query<{ id: string | number }>('SELECT id FROM users WHERE email = $1', [email]);
    return result.rows[0] ? this.userById(Number(result.rows[0].id)) : null;
  }

  /** Issues a key pair (random unless given, as for the demo users' configured keys). */
  async issueApiKey(
    userId: number,
    permissions: ApiPermission[],
    given: { apiKey: string; secret: string } | null = null,
  ): Promise<ApiKeyRecord> {
    const unique = [...new Set(permissions)];
    if (unique.length === 0 || unique.some((permission) => permission !== 'read' && permission !== 'trade')) {
      throw new AccountError('permissions must be a non-empty subset of ["read", "trade"]');
    }
    if (!(await this.userById(userId))) throw new AccountError(`no user ${userId}`);
    const apiKey = given?.apiKey ?? randomToken(64);
    const secret = given?.secret ?? randomToken(64);
    if (!/^[A-Za-z0-9]{16,128}$/.test(apiKey) || !/^[A-Za-z0-9]{16,128}$/.test(secret)) {
      throw new AccountError('API keys and secrets are 16..128 letters and digits');
    }
    await this.database.query('INSERT INTO api_keys (key, secret, user_id, permissions) VALUES ($1, $2, $3, $4)', [apiKey, secret, userId, unique]);
    this.generation++;
    this.keys.delete(apiKey);
    return { apiKey, secret, accountId: userId, canRead: unique.includes('read') || unique.includes('trade'), canTrade: unique.includes('trade'), revoked: false };
  }

  async revokeApiKey(apiKey: string): Promise<boolean> {
    const result = await this.database.query('UPDATE api_keys SET revoked = TRUE, revoked_at = now() WHERE key = $1 AND NOT revoked', [apiKey]);
    this.generation++;
    this.keys.delete(apiKey);
    return result.rowCount > 0;
  }

  async apiKeysOf(userId: number): Promise<{ apiKey: string; permissions: ApiPermission[]; revoked: boolean }[]> {
    const result = await this.database.query<{ key: string; permissions: ApiPermission[]; revoked: boolean }>(
      'SELECT key, permissions, revoked FROM api_keys WHERE user_id = $1 ORDER BY created_at',
      [userId],
    );
    return result.rows.map((row) => ({ apiKey: row.key, permissions: row.permissions, revoked: row.revoked }));
  }

  /**
   * The key's record (cached), or null when unknown. Revoked keys come back with revoked =
   * true. A known key past its TTL is answered from the cache while one background read
   * refreshes it, so a signed request never waits behind a long database transaction.
   */
  async apiKey(apiKey: string, nowMs = Date.now()): Promise<ApiKeyRecord | null> {
    const cached = this.keys.get(apiKey);
    if (cached && nowMs - cached.loadedAtMs < apiKeyCacheTtlMs) return cached.record;
    if (cached?.record) {
      if (!this.refreshing.has(apiKey)) {
        this.refreshing.add(apiKey);
        this.load(apiKey, nowMs)
          .catch(() => undefined)
          .finally(() => this.refreshing.delete(apiKey));
      }
      return cached.record;
    }
    return this.load(apiKey, nowMs);
  }

  private async load(apiKey: string, nowMs: number): Promise<ApiKeyRecord | null> {
    // A revocation or issue while this read is in flight must not be overwritten by it.
    const generation = this.generation;
    const result = await this.database.query<{ key: string; secret: string; user_id: string | number; permissions: ApiPermission[]; revoked: boolean }>(
      'SELECT key, secret, user_id, permissions, revoked FROM api_keys WHERE key = $1',
      [apiKey],
    );
    const row = result.rows[0];
    const record: ApiKeyRecord | null = row
      ? {
          apiKey: row.key,
          secret: row.secret,
          accountId: Number(row.user_id),
          canRead: row.permissions.includes('read') || row.permissions.includes('trade'),
          canTrade: row.permissions.includes('trade'),
          revoked: row.revoked,
        }
      : null;
    if (generation !== this.generation) return record;
    if (this.keys.size >= apiKeyCacheEntriesMax) {
      const oldest = this.keys.keys().next().value;
      if (oldest !== undefined) this.keys.delete(oldest);
    }
    this.keys.delete(apiKey);
    this.keys.set(apiKey, { record, loadedAtMs: nowMs });
    return record;
  }
}
