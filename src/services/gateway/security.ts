// Authentication and rate limits of the Binance dialect. SIGNED requests carry
// X-MBX-APIKEY, `timestamp`, optional `recvWindow` and an HMAC-SHA256 `signature` over
// totalParams (query string + body); a signature is accepted once (replays within the
// window are refused). Usage counters live in the Cache port so every gateway of a cluster
// shares them: request weight per IP per minute, orders per account per 10 s and per day.
// A request's counters are counted as steps of one RequestAdmission: the order path sends
// its weight, signature use and order counts to the cache in ONE call, in that order, and a
// step over its limit leaves the later steps uncounted, exactly as separate calls would.
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { Cache, WindowCounterAddition } from '../../ports/cache.ts';
import type { RateLimitConfig } from '../../config.ts';
import type { ApiKeyRecord, SqlAccountStore } from './accounts.ts';
import { apiErrors, type ApiError } from './errors.ts';
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

const hexDigitsPattern = /^[0-9a-fA-F]+$/;

/**
 * Each key record's secret as a KeyObject, made once: HMAC with a KeyObject skips
 * converting the secret string on every signed request. Keyed by the record, so a
 * reloaded record (new secret or permissions) gets its own.
 */
const secretKeys = new WeakMap<ApiKeyRecord, KeyObject>();

function secretKeyOf(record: ApiKeyRecord): KeyObject {
  let key = secretKeys.get(record);
  if (key === undefined) {
    key = createSecretKey(Buffer.from(record.secret, 'utf8'));
    secretKeys.set(record, key);
  }
  return key;
}

/** Compares a digest with its hex spelling (either case) in constant time. */
function digestEqualsHex(expected: Buffer, givenHex: string): boolean {
  if (givenHex.length !== expected.length * 2 || !hexDigitsPattern.test(givenHex)) return false;
  return timingSafeEqual(expected, Buffer.from(givenHex, 'hex'));
}

/** Verifies a SIGNED request and returns its key. Checks nothing about the endpoint's own parameters. */
export async function authenticateSigned(
  apiKeyHeader: string | string[] | undefined,
  parsed: ParsedParams,
  reader: ParamReader,
  security: SecurityType,
  deps: SecurityDeps,
  admission?: RequestAdmission,
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
  const expected = createHmac('sha256', secretKeyOf(key)).update(parsed.signedPayload).digest();
  if (!digestEqualsHex(expected, parsed.signature)) throw apiErrors.badSignature();
  const nowMs = deps.clock();
  if (timestampMs >= nowMs + timestampAheadMaxMs) throw apiErrors.timestampAhead();
  if (nowMs - timestampMs > recvWindowMs) throw apiErrors.timestampOutsideWindow();
  // A signature is good once: the timestamp check bounds how long it must be remembered.
  // With a deferred admission the use is counted together with the request's other counters
  // (RequestAdmission.settle); the replay refusal still comes before every later error.
  const signatureUse = new SignatureStep(`sig:${key.apiKey}:${parsed.signature.toLowerCase()}`, recvWindowMs + timestampAheadMaxMs);
  if (admission) admission.add(signatureUse);
  else await new RequestAdmission(deps.cache).add(signatureUse).settle();
  if (security === 'TRADE' ? !key.canTrade : !key.canRead) throw apiErrors.rejectedApiKey();
  return key;
}

/** One step of a request's admission: counters added together, and what their values mean. */
export interface AdmissionStep {
  additions: WindowCounterAddition[];
  /** Adds the step's headers for these values; returns the refusal when one is over its limit. */
  outcome(values: number[], headers: Record<string, string>): ApiError | null;
}

// The steps are classes, not object literals with an arrow function: a step is made for
// every request, and a method costs nothing per instance.

/** A signature's use: a second use within its window is a replay. */
class SignatureStep implements AdmissionStep {
  readonly additions: WindowCounterAddition[];

  constructor(key: string, windowMs: number) {
    this.additions = [{ key, amount: 1, windowMs, limit: 1 }];
  }

  outcome(values: number[]): ApiError | null {
    return values[0]! > 1 ? apiErrors.replayedSignature() : null;
  }
}

/** A request's weight in its IP's minute. */
class WeightStep implements AdmissionStep {
  readonly additions: WindowCounterAddition[];

  constructor(
    key: string,
    weight: number,
    private readonly limit: number,
    private readonly minute: number,
    private readonly nowMs: number,
  ) {
    this.additions = [{ key, amount: weight, windowMs: minuteMs, limit }];
  }

  outcome(values: number[], headers: Record<string, string>): ApiError | null {
    const used = String(values[0]);
    headers['x-mbx-used-weight'] = used;
    headers['x-mbx-used-weight-1m'] = used;
    if (values[0]! <= this.limit) return null;
    const error = apiErrors.tooMuchWeight(this.limit, Math.max(1, Math.ceil(((this.minute + 1) * minuteMs - this.nowMs) / 1000)));
    Object.assign(error.headers, { 'x-mbx-used-weight': used, 'x-mbx-used-weight-1m': used });
    return error;
  }
}

/** One new order in its account's 10-second and day windows. */
class OrderStep implements AdmissionStep {
  readonly additions: WindowCounterAddition[];

  constructor(
    tenSecondKey: string,
    dayKey: string,
    private readonly ordersPer10Seconds: number,
    private readonly ordersPerDay: number,
    private readonly tenSeconds: number,
    private readonly day: number,
    private readonly nowMs: number,
  ) {
    this.additions = [
      { key: tenSecondKey, amount: 1, windowMs: tenSecondsMs, limit: ordersPer10Seconds },
      { key: dayKey, amount: 1, windowMs: dayMs, limit: ordersPerDay },
    ];
  }

  outcome(values: number[], headers: Record<string, string>): ApiError | null {
    const inTenSeconds = values[0]!;
    const inDay = values[1]!;
    const tenSecondsText = String(inTenSeconds);
    const dayText = String(inDay);
    headers['x-mbx-order-count-10s'] = tenSecondsText;
    headers['x-mbx-order-count-1d'] = dayText;
    let error: ApiError | null = null;
    if (inTenSeconds > this.ordersPer10Seconds) {
      error = apiErrors.tooManyOrders(this.ordersPer10Seconds, '10 SECOND', Math.max(1, Math.ceil(((this.tenSeconds + 1) * tenSecondsMs - this.nowMs) / 1000)));
    } else if (inDay > this.ordersPerDay) {
      error = apiErrors.tooManyOrders(this.ordersPerDay, '1 DAY', Math.max(1, Math.ceil(((this.day + 1) * dayMs - this.nowMs) / 1000)));
    }
    if (error) Object.assign(error.headers, { 'x-mbx-order-count-10s': tenSecondsText, 'x-mbx-order-count-1d': dayText });
    return error;
  }
}


/**
 * The rate-limit counters of one request, counted in steps (weight, signature use, order
 * counts). Steps wait until `settle`, which sends all waiting steps in one cache call and
 * throws the first refusal; once refused, the admission stays refused.
 */
export class RequestAdmission {
  /** Usage headers of the steps counted so far (x-mbx-used-weight, order counts). */
  readonly headers: Record<string, string> = {};
  private waiting: AdmissionStep[] = [];
  private refusal: ApiError | null = null;

  constructor(private readonly cache: Cache) {}

  add(step: AdmissionStep): this {
    this.waiting.push(step);
    return this;
  }

  /** True while some step has not been sent to the cache. */
  get unsettled(): boolean {
    return this.waiting.length > 0;
  }

  async settle(): Promise<Record<string, string>> {
    if (this.refusal) throw this.refusal;
    if (this.waiting.length === 0) return this.headers;
    const steps = this.waiting;
    this.waiting = [];
    const values = await this.cache.countInWindowSteps(steps.map((step) => step.additions));
    for (let index = 0; index < values.length; index++) {
      const refusal = steps[index]!.outcome(values[index]!, this.headers);
      if (refusal) {
        this.refusal = refusal;
        throw refusal;
      }
    }
    return this.headers;
  }
}

/**
 * Request weights of the /api/v3 endpoints (Binance's values where it publishes them).
 * `rawQuery` is the query string without '?'; it is parsed only for the few endpoints
 * whose weight depends on a parameter, so the order path does not parse it twice.
 */
export function requestWeight(method: string, path: string, rawQuery: string): number {
  // The query is parsed only by the cases that need it (at most once each).
  switch (path) {
    case '/api/v3/depth': {
      const limit = Number(parsedQueryOf(rawQuery).get('limit') ?? '100');
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
      return parsedQueryOf(rawQuery).has('symbol') ? 2 : 80;
    case '/api/v3/ticker/price':
    case '/api/v3/ticker/bookTicker':
      return parsedQueryOf(rawQuery).has('symbol') ? 2 : 4;
    case '/api/v3/order':
      return method === 'GET' ? 4 : 1;
    case '/api/v3/openOrders':
      return method === 'GET' && !parsedQueryOf(rawQuery).has('symbol') ? 80 : method === 'GET' ? 6 : 1;
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

function parsedQueryOf(rawQuery: string): URLSearchParams {
  try {
    return new URLSearchParams(rawQuery);
  } catch {
    return new URLSearchParams();
  }
}

/** Counter keys remembered per IP and per account (beyond it the table starts over). */
const counterKeysCachedMax = 10_000;

/**
 * The key of one counter window of one subject (`rl:w:<ip>:<minute>`), built once per
 * window: the same string object each time, so the cache hashes it once, not per request.
 */
class WindowKeys {
  private readonly keys = new Map<string | number, { window: number; key: string }>();

  constructor(private readonly prefix: string) {}

  of(subject: string | number, window: number): string {
    let known = this.keys.get(subject);
    if (known === undefined || known.window !== window) {
      if (known === undefined && this.keys.size >= counterKeysCachedMax) this.keys.clear();
      known = { window, key: `${this.prefix}${subject}:${window}` };
      this.keys.set(subject, known);
    }
    return known.key;
  }
}

/**
 * The property of a request that holds its deferred admission (the order path). A property
 * rather than a WeakMap entry: a WeakMap insert per order costs far more, in the insert
 * and in every garbage collection. The gateway app declares it on every request
 * (decorateRequest) so requests keep one shape.
 */
export const deferredAdmissionProperty = Symbol('bourse.deferredAdmission');

interface WithDeferredAdmission {
  [deferredAdmissionProperty]?: RequestAdmission | null;
}

export class RateLimiter {
  private readonly weightKeys = new WindowKeys('rl:w:');
  private readonly tenSecondKeys = new WindowKeys('rl:o10s:');
  private readonly dayKeys = new WindowKeys('rl:o1d:');

  constructor(
    private readonly cache: Cache,
    readonly limits: RateLimitConfig,
    private readonly clock: () => number,
  ) {}

  /** A request's admission with its weight step (not yet counted). */
  admit(ip: string, weight: number): RequestAdmission {
    return new RequestAdmission(this.cache).add(this.weightStep(ip, weight));
  }

  /** Lets the route settle `request`'s admission (with its signature and order steps). */
  defer(request: object, admission: RequestAdmission): void {
    (request as WithDeferredAdmission)[deferredAdmissionProperty] = admission;
  }

  /** The admission `defer` kept for `request`, if any. */
  deferred(request: object): RequestAdmission | undefined {
    return (request as WithDeferredAdmission)[deferredAdmissionProperty] ?? undefined;
  }

  /** Adds a request's weight to its IP's minute; returns the headers to send. Throws 429 past the limit. */
  async takeWeight(ip: string, weight: number): Promise<Record<string, string>> {
    return this.admit(ip, weight).settle();
  }

  /**
   * Counts one new order for the account in both windows; throws 429 past either limit.
   * With `request` whose admission was deferred, its waiting steps (weight, signature) are
   * counted in the same cache call, first; returns every usage header of the request.
   */
  async takeOrder(accountId: number, request?: object): Promise<Record<string, string>> {
    const admission = (request === undefined ? undefined : this.deferred(request)) ?? new RequestAdmission(this.cache);
    return admission.add(this.orderStep(accountId)).settle();
  }

  private weightStep(ip: string, weight: number): AdmissionStep {
    const nowMs = this.clock();
    const minute = Math.floor(nowMs / minuteMs);
    return new WeightStep(this.weightKeys.of(ip, minute), weight, this.limits.weightPerMinute, minute, nowMs);
  }

  private orderStep(accountId: number): AdmissionStep {
    const nowMs = this.clock();
    const tenSeconds = Math.floor(nowMs / tenSecondsMs);
    const day = Math.floor(nowMs / dayMs);
    const { ordersPer10Seconds, ordersPerDay } = this.limits;
    return new OrderStep(this.tenSecondKeys.of(accountId, tenSeconds), this.dayKeys.of(accountId, day), ordersPer10Seconds, ordersPerDay, tenSeconds, day, nowMs);
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
