// The load tester's view of the exchange: admin calls that create users, keys and funds,
// market discovery, and Binance-style signed requests (HMAC-SHA256 over the query string,
// X-MBX-APIKEY). Decimal strings are built from integer multiples of tick and step sizes,
// so a price or quantity is never off its grid.
import { createHmac } from 'node:crypto';
import { Pool } from 'undici';

/** A decimal string such as "0.01000000" as integer atoms at a scale. */
export interface ScaledDecimal {
  atoms: bigint;
  scale: number;
}

export function parseScaled(text: string): ScaledDecimal {
  const match = /^([0-9]+)(?:\.([0-9]+))?$/.exec(text);
  if (!match) throw new Error(`not a plain decimal: ${text}`);
  const fraction = match[2] ?? '';
  return { atoms: BigInt(`${match[1]}${fraction}`), scale: fraction.length };
}

/** `count` times `unit` (a decimal string) as a decimal string without trailing zeros. */
export function multipleOf(count: number, unit: string): string {
  if (!Number.isSafeInteger(count) || count < 0) throw new Error(`bad multiple ${count}`);
  const { atoms, scale } = parseScaled(unit);
  const digits = (atoms * BigInt(count)).toString().padStart(scale + 1, '0');
  if (scale === 0) return digits;
  const whole = digits.slice(0, digits.length - scale);
  const fraction = digits.slice(digits.length - scale).replace(/0+$/, '');
  return fraction.length > 0 ? `${whole}.${fraction}` : whole;
}

export function decimalToNumber(text: string): number {
  return Number(text);
}

export interface HttpAnswer {
  status: number;
  body: unknown;
  /** Binance error code when the body is `{code, msg}`. */
  code: number | null;
}

export class ExchangeClient {
  readonly baseUrl: string;
  private readonly pool: Pool;
  private readonly adminToken: string;

  constructor(baseUrl: string, adminToken: string, connections: number) {
    this.baseUrl = baseUrl;
    this.adminToken = adminToken;
    this.pool = new Pool(baseUrl, { connections, pipelining: 1, keepAliveTimeout: 30_000 });
  }

  async request(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<HttpAnswer> {
    const response = await this.pool.request({ method: method as 'GET', path, headers, body, headersTimeout: 30_000, bodyTimeout: 30_000 });
    const text = await response.body.text();
    let parsed: unknown = text;
    try {
      parsed = text.length > 0 ? JSON.parse(text) : null;
    } catch {
      // Not JSON (an HTML error page from a proxy, for example): keep the text.
    }
    const code = parsed !== null && typeof parsed === 'object' && typeof (parsed as { code?: unknown }).code === 'number' ? (parsed as { code: number }).code : null;
    return { status: response.statusCode, body: parsed, code };
  }

  async admin<T>(method: string, path: string, body?: object): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.adminToken}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const answer = await this.request(method, `/admin/v1${path}`, headers, body === undefined ? undefined : JSON.stringify(body));
    if (answer.status >= 300) throw new Error(`admin ${method} ${path} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    return answer.body as T;
  }

  /** A SIGNED request: parameters, timestamp and recvWindow in the query, signed with the secret. */
  signed(method: string, path: string, parameters: Record<string, string>, key: ApiCredentials): Promise<HttpAnswer> {
    const query = new URLSearchParams({ ...parameters, recvWindow: '10000', timestamp: String(Date.now()) }).toString();
    const signature = createHmac('sha256', key.secret).update(query).digest('hex');
    return this.request(method, `${path}?${query}&signature=${signature}`, { 'x-mbx-apikey': key.apiKey });
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

export interface ApiCredentials {
  apiKey: string;
  secret: string;
}

export interface TradingUser extends ApiCredentials {
  userId: number;
}

interface AdminMarket {
  symbol: string;
  status: string;
  baseAsset: string;
  quoteAsset: string;
  tickSize: string;
  stepSize: string;
  minQty: string;
  maxPrice: string;
  minNotional: string;
}

interface AdminAsset {
  asset: string;
  scale: number;
}

/** A market as the generator uses it: grids, a reference price and an order size. */
export interface MarketPlan {
  symbol: string;
  baseAsset: string;
  quoteAsset: string;
  tickSize: string;
  stepSize: string;
  referencePriceTicks: number;
  orderLots: number;
}

async function referencePriceTicks(client: ExchangeClient, market: AdminMarket): Promise<number> {
  const tick = decimalToNumber(market.tickSize);
  const ticker = await client.request('GET', `/api/v3/ticker/price?symbol=${market.symbol}`);
  const last = ticker.status === 200 ? decimalToNumber((ticker.body as { price?: string }).price ?? '0') : 0;
  if (last > 0) return Math.max(1, Math.round(last / tick));
  const depth = await client.request('GET', `/api/v3/depth?symbol=${market.symbol}&limit=5`);
  if (depth.status === 200) {
    const book = depth.body as { bids: string[][]; asks: string[][] };
    const bid = book.bids[0] ? decimalToNumber(book.bids[0][0]) : 0;
    const ask = book.asks[0] ? decimalToNumber(book.asks[0][0]) : 0;
    if (bid > 0 && ask > 0) return Math.round((bid + ask) / 2 / tick);
    if (bid > 0 || ask > 0) return Math.round(Math.max(bid, ask) / tick);
  }
  // An empty, never-traded market: 5% of the highest allowed price.
  return Math.max(100, Math.round(decimalToNumber(market.maxPrice) / tick / 20));
}

export async function planMarkets(client: ExchangeClient, count: number): Promise<MarketPlan[]> {
  const markets = (await client.admin<AdminMarket[]>('GET', '/markets')).filter((market) => market.status === 'TRADING');
  if (markets.length < count) throw new Error(`--markets ${count}, but the exchange has only ${markets.length} trading market(s)`);
  const plans: MarketPlan[] = [];
  for (const market of markets.slice(0, count)) {
    const priceTicks = await referencePriceTicks(client, market);
    const price = priceTicks * decimalToNumber(market.tickSize);
    const step = decimalToNumber(market.stepSize);
    const minimumLots = Math.max(1, Math.round(decimalToNumber(market.minQty) / step));
    // Twice the minimum notional, so orders priced 1% below the reference still pass.
    const notionalLots = Math.ceil((2 * decimalToNumber(market.minNotional)) / (price * step));
    plans.push({
      symbol: market.symbol,
      baseAsset: market.baseAsset,
      quoteAsset: market.quoteAsset,
      tickSize: market.tickSize,
      stepSize: market.stepSize,
      referencePriceTicks: priceTicks,
      orderLots: Math.max(minimumLots, notionalLots),
    });
  }
  return plans;
}

/** Orders' worth of funds each user gets per market, in both assets: headroom for any run length. */
export const fundedOrdersPerUser = 20_000;

function amountText(value: number, scale: number): string {
  const fixed = value.toFixed(Math.min(scale, 8));
  return fixed.includes('.') ? fixed.replace(/0+$/, '').replace(/\.$/, '') : fixed;
}

/** Creates `count` users with trading keys and funds for every planned market. */
export async function createUsers(client: ExchangeClient, count: number, markets: MarketPlan[], runId: string): Promise<TradingUser[]> {
  const scales = new Map((await client.admin<AdminAsset[]>('GET', '/assets')).map((asset) => [asset.asset, asset.scale]));
  const deposits = new Map<string, number>();
  for (const market of markets) {
    const lots = market.orderLots * fundedOrdersPerUser;
    const base = lots * decimalToNumber(market.stepSize);
    const quote = base * market.referencePriceTicks * decimalToNumber(market.tickSize) * 1.05;
    deposits.set(market.baseAsset, (deposits.get(market.baseAsset) ?? 0) + base);
    deposits.set(market.quoteAsset, (deposits.get(market.quoteAsset) ?? 0) + quote);
  }
  const users: TradingUser[] = [];
  for (let index = 0; index < count; index++) {
    const user = await client.admin<{ userId: number }>('POST', '/users', { email: `loadtest-${runId}-${index}@bourse.local` });
    const key = await client.admin<{ apiKey: string; secret: string }>('POST', `/users/${user.userId}/api-keys`, { permissions: ['read', 'trade'] });
    for (const [asset, amount] of deposits) {
      await client.admin('POST', '/deposits', { transferId: `lt-${runId}-${index}-${asset}`, userId: user.userId, asset, amount: amountText(amount, scales.get(asset) ?? 8) });
    }
    users.push({ userId: user.userId, apiKey: key.apiKey, secret: key.secret });
  }
  return users;
}

export interface SolvencyReport {
  balanced: boolean;
  engine: { asset: string; balanced: boolean; depositsMinusWithdrawals: string; balancesPlusHolds: string }[];
  projection: { asset: string; balanced: boolean }[] | null;
}
