// Authentication and rate limits of the Binance dialect. SIGNED requests carry
// X-MBX-APIKEY, `timestamp`, optional `recvWindow` and an HMAC-SHA256 `signature` over
// totalParams (query string + body); a signature is accepted once (replays within the
// window are refused). Usage counters live in the Cache port so every gateway of a cluster
// shares them: request weight per IP per minute, orders per account per 10 s and per day.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Cache } from '../../ports/cache.ts';
import type { RateLimitConfig } from '../../config.ts';
import type { ApiKeyRecord, SqlAccountStore } from './accounts.ts';
import { apiErrors } from './errors.ts';
import type { ParamReader, ParsedParams } from './params.ts';

export const recvWindowDefaultMs = 5000;
export const recvWindowMaxMs = 60_000;
/** How far ahead of our clock a timestamp may be (Binance: 1000 ms). */
export const timestampAheadMaxMs = 1000;
const minuteMs = 60_000;
const tenSecondsMs = 10_000;
const dayMs = 86_400_000;

export type SecurityType = 'TRADE' | 'USER_DATA' | 'USER_STREAM';

export interface SecurityDeps {
  accounts: SqlAccountStore;
  cache: Cache;
  clock: () => number;
}

export async function apiKeyOf(apiKeyHeader: string | string[] | undefined, deps: SecurityDeps): Promise<ApiKeyRecord> {
  if (typeof apiKeyHeader !== 'string' || !/^[A-Za-z0-9]{1,128}$/.test(apiKeyHeader)) throw apiErrors.badApiKeyFormat();
  const record = await deps.accounts.apiKey(apiKeyHeader);
  if (!record || record.revoked) throw apiErrors.rejectedApiKey();
  return record;
}

function hexEquals(expectedHex: string, givenHex: string): boolean {
  if (givenHex.length !== expectedHex.length || !/^[0-9a-fA-F]+$/.test(givenHex)) return false;
  return timingSafeEqual(Buffer.from(expectedHex, 'hex'), Buffer.from(givenHex.toLowerCase(), 'hex'));
}

/** Verifies a SIGNED request and returns its key. Checks nothing about the endpoint's own parameters. */
export async function authenticateSigned(
  apiKeyHeader: string | string[] | undefined,
  parsed: ParsedParams,
  reader: ParamReader,
  security: SecurityType,
  deps: SecurityDeps,
): Promise<ApiKeyRecord> {
  const key = await apiKeyOf(apiKeyHeader, deps);
  if (parsed.signature === null || parsed.signature.length === 0) throw apiErrors.mandatory('signature');
  const timestampMs = reader.integer('timestamp');
  if (timestampMs === undefined) throw apiErrors.mandatory('timestamp');
  const recvWindowText = reader.string('recvWindow');
  let recvWindowMs = recvWindowDefaultMs;
  if (recvWindowText !== undefined) {
    if (!/^[0-9]{1,16}$/.test(recvWindowText)) throw apiErrors.illegalCharacters('recvWindow', '^[0-9]{1,20}$');
    recvWindowMs = Number(recvWindowText);
    if (recvWindowMs > recvWindowMaxMs || recvWindowMs === 0) throw apiErrors.badRecvWindow();
  }
  const expected = createHmac('sha256', key.secret).update(parsed.signedPayload).digest('hex');
  if (!hexEquals(expected, parsed.signature)) throw apiErrors.badSignature();
  const nowMs = deps.clock();
  if (timestampMs >= nowMs + timestampAheadMaxMs) throw apiErrors.timestampAhead();
  if (nowMs - timestampMs > recvWindowMs) throw apiErrors.timestampOutsideWindow();
  // A signature is good once: the timestamp check bounds how long it must be remembered.
  const uses = await deps.cache.countInWindow(`sig:${key.apiKey}:${parsed.signature.toLowerCase()}`, 1, recvWindowMs + timestampAheadMaxMs);
  if (uses > 1) throw apiErrors.replayedSignature();
  if (security === 'TRADE' ? !key.canTrade : !key.canRead) throw apiErrors.rejectedApiKey();
  return key;
}

/** Request weights of the /api/v3 endpoints (Binance's values where it publishes them). */
export function requestWeight(method: string, path: string, query: URLSearchParams): number {
  switch (path) {
    case '/api/v3/depth': {
      const limit = Number(query.get('limit') ?? '100');
      if (limit <= 100) return 5;
      if (limit <= 500) return 25;
      if (limit <= 1000) return 50;
      return 250;
    }
    case '/api/v3/exchangeInfo':
      return 20;
    case '/api/v3/trades':
    case '/api/v3/historicalTrades':
      return 25;
    case '/api/v3/aggTrades':
      return 4;
    case '/api/v3/klines':
    case '/api/v3/uiKlines':
    case '/api/v3/avgPrice':
      return 2;
    case '/api/v3/ticker/24hr':
      return query.has('symbol') ? 2 : 80;
    case '/api/v3/ticker/price':
    case '/api/v3/ticker/bookTicker':
      return query.has('symbol') ? 2 : 4;
    case '/api/v3/order':
      return method === 'GET' ? 4 : 1;
    case '/api/v3/openOrders':
      return method === 'GET' && !query.has('symbol') ? 80 : method === 'GET' ? 6 : 1;
    case '/api/v3/allOrders':
    case '/api/v3/account':
    case '/api/v3/myTrades':
      return 20;
    case '/api/v3/userDataStream':
      return 2;
    default:
      return 1;
  }
}

export class RateLimiter {
  constructor(
    private readonly cache: Cache,
    readonly limits: RateLimitConfig,
    private readonly clock: () => number,
  ) {}

  /** Adds a request's weight to its IP's minute; returns the headers to send. Throws 429 past the limit. */
  async takeWeight(ip: string, weight: number): Promise<Record<string, string>> {
    const nowMs = this.clock();
    const minute = Math.floor(nowMs / minuteMs);
    const used = await this.cache.countInWindow(`rl:w:${ip}:${minute}`, weight, minuteMs);
    const headers = { 'x-mbx-used-weight': String(used), 'x-mbx-used-weight-1m': String(used) };
    if (used > this.limits.weightPerMinute) {
      const error = apiErrors.tooMuchWeight(this.limits.weightPerMinute, Math.max(1, Math.ceil(((minute + 1) * minuteMs - nowMs) / 1000)));
      Object.assign(error.headers, headers);
      throw error;
    }
    return headers;
  }

  /** Counts one new order for the account in both windows; throws 429 past either limit. */
  async takeOrder(accountId: number): Promise<Record<string, string>> {
    const nowMs = this.clock();
    const tenSeconds = Math.floor(nowMs / tenSecondsMs);
    const day = Math.floor(nowMs / dayMs);
    const [inTenSeconds, inDay] = await Promise.all([
      this.cache.countInWindow(`rl:o10s:${accountId}:${tenSeconds}`, 1, tenSecondsMs),
      this.cache.countInWindow(`rl:o1d:${accountId}:${day}`, 1, dayMs),
    ]);
    const headers = { 'x-mbx-order-count-10s': String(inTenSeconds), 'x-mbx-order-count-1d': String(inDay) };
    if (inTenSeconds > this.limits.ordersPer10Seconds) {
      const error = apiErrors.tooManyOrders(this.limits.ordersPer10Seconds, '10 SECOND', Math.max(1, Math.ceil(((tenSeconds + 1) * tenSecondsMs - nowMs) / 1000)));
      Object.assign(error.headers, headers);
      throw error;
    }
    if (inDay > this.limits.ordersPerDay) {
      const error = apiErrors.tooManyOrders(this.limits.ordersPerDay, '1 DAY', Math.max(1, Math.ceil(((day + 1) * dayMs - nowMs) / 1000)));
      Object.assign(error.headers, headers);
      throw error;
    }
    return headers;
  }

  /** The limits as exchangeInfo publishes them. */
  exchangeInfoLimits(): { rateLimitType: string; interval: string; intervalNum: number; limit: number }[] {
    return [
      { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: this.limits.weightPerMinute },
      { rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 10, limit: this.limits.ordersPer10Seconds },
      { rateLimitType: 'ORDERS', interval: 'DAY', intervalNum: 1, limit: this.limits.ordersPerDay },
    ];
  }
}
