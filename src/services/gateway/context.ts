// What every gateway route shares: its dependencies (ports only; in embedded mode they are
// the engine host and PGlite, in the cluster NATS, PostgreSQL and Redis), the market
// lookup with decimal conversion, the signed-request preamble, and the bounded wait that
// gives read-your-writes on history reads served from the (lagging) ledger projection.
import type { FastifyRequest } from 'fastify';
import type { Cache } from '../../ports/cache.ts';
import type { HistoryReads } from '../../ports/history.ts';
import type { CommandBus, EngineReads, EventFeed } from '../contracts.ts';
import type { Logger } from '../../adapters/logger.ts';
import type { RateLimitConfig } from '../../config.ts';
import { MarketStatus } from '../../domain/codes.ts';
import type { MarketView } from '../../engine/types.ts';
import type { ApiKeyRecord, SqlAccountStore } from './accounts.ts';
import { ApiError, apiErrors } from './errors.ts';
import { MarketUnits } from './market-units.ts';
import { ParamReader, parseParams, rawQueryOf } from './params.ts';
import { authenticateSigned, RateLimiter, type SecurityDeps, type SecurityType } from './security.ts';

/** Read-only inspection of the engine (embedded mode: the engine host itself). */
export interface EngineInspector {
  stateHash(): string;
  solvency(): { asset: string; assetId: number; supplyAtoms: number; balancesAtoms: number; heldAtoms: number; balanced: boolean }[];
}

export interface GatewayConfig {
  adminToken: string;
  bodyLimitBytes: number;
  commandTimeoutMs: number;
  rateLimits: RateLimitConfig;
}

export interface GatewayDeps {
  commands: CommandBus;
  reads: EngineReads;
  events: EventFeed;
  history: HistoryReads;
  cache: Cache;
  accounts: SqlAccountStore;
  config: GatewayConfig;
  inspector?: EngineInspector;
  /**
   * Resolves once the ledger projection has applied `eventSequence` (embedded: the
   * projection's own in-memory position). Without it the gateway polls HistoryReads.
   */
  waitForProjection?: (eventSequence: number, timeoutMs: number) => Promise<void>;
  /** Resolves once every command submitted before the call has executed (see EngineHost.settled). */
  commandsSettled?: () => Promise<void>;
  /** The SQL projection's view of solvency, when a ledger projection runs. */
  projectionSolvency?: () => Promise<unknown>;
  clock?: () => number;
  logger?: Logger;
}

/** How long a history read waits for the projection to reach the engine's position. */
export const projectionWaitMsMax = 2000;
const projectionPollMs = 5;

export class GatewayContext {
  readonly limiter: RateLimiter;
  readonly security: SecurityDeps;
  readonly clock: () => number;
  private readonly unitsByMarketId = new Map<number, MarketUnits>();

  constructor(readonly deps: GatewayDeps) {
    this.clock = deps.clock ?? Date.now;
    this.limiter = new RateLimiter(deps.cache, deps.config.rateLimits, this.clock);
    this.security = { accounts: deps.accounts, cache: deps.cache, clock: this.clock };
  }

  unitsOf(market: MarketView): MarketUnits {
    let units = this.unitsByMarketId.get(market.marketId);
    if (!units) {
      const assets = this.deps.reads.assets();
      const base = assets.find((asset) => asset.assetId === market.baseAssetId)!;
      const quote = assets.find((asset) => asset.assetId === market.quoteAssetId)!;
      units = new MarketUnits(market, base, quote);
      this.unitsByMarketId.set(market.marketId, units);
    }
    return units;
  }

  unitsByMarketIdOf(marketId: number): MarketUnits | null {
    const cached = this.unitsByMarketId.get(marketId);
    if (cached) return cached;
    const market = this.deps.reads.markets().find((candidate) => candidate.marketId === marketId);
    return market ? this.unitsOf(market) : null;
  }

  /** The market named by `symbol` exactly as Binance writes it (-1121 otherwise). */
  market(symbol: string): { market: MarketView; units: MarketUnits } {
    if (!/^[A-Z0-9]{1,20}$/.test(symbol)) throw apiErrors.badSymbol();
    const market = this.deps.reads.marketBySymbol(symbol);
    if (!market) throw apiErrors.badSymbol();
    return { market, units: this.unitsOf(market) };
  }

  tradingMarket(symbol: string): { market: MarketView; units: MarketUnits } {
    const found = this.market(symbol);
    if (found.market.status !== MarketStatus.Trading) throw apiErrors.marketClosed();
    return found;
  }

  /** Parses a /api/v3 request's parameters (query + urlencoded body). */
  params(request: FastifyRequest): { parsed: ReturnType<typeof parseParams>; reader: ParamReader } {
    const body = typeof request.body === 'string' ? request.body : '';
    if (body.length > 0) {
      const contentType = request.headers['content-type'] ?? '';
      if (!contentType.startsWith('application/x-www-form-urlencoded')) {
        throw apiErrors.malformedBody('send parameters in the query string or as application/x-www-form-urlencoded');
      }
    }
    const parsed = parseParams(rawQueryOf(request.url), body);
    return { parsed, reader: new ParamReader(parsed.values) };
  }

  /** The preamble of every SIGNED endpoint: parameters, names allowed, key, signature, time. */
  async signed(request: FastifyRequest, security: SecurityType, allowed: ReadonlySet<string>): Promise<{ key: ApiKeyRecord; reader: ParamReader }> {
    const { parsed, reader } = this.params(request);
    reader.allowOnly(allowed, parsed.signature !== null);
    const key = await authenticateSigned(request.headers['x-mbx-apikey'], parsed, reader, security, this.security, this.limiter.deferred(request));
    return { key, reader };
  }

  /** Waits (bounded by the command timeout) until commands submitted so far have executed. */
  async commandsSettled(): Promise<void> {
    if (!this.deps.commandsSettled) return;
    let timer: ReturnType<typeof setTimeout> | null = null;
    await Promise.race([
      this.deps.commandsSettled(),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.deps.config.commandTimeoutMs);
      }),
    ]);
    if (timer) clearTimeout(timer);
  }

  /**
   * The accountId of a SIGNED request whose parameters another module reads itself (the
   * notification inbox): key, signature, timestamp and replay are checked, not the names.
   * Errors are thrown with `statusCode`, `code` and `message`, as those modules expect.
   */
  async authenticatedAccount(request: FastifyRequest, security: SecurityType = 'USER_DATA'): Promise<number> {
    try {
      const { parsed, reader } = this.params(request);
      return (await authenticateSigned(request.headers['x-mbx-apikey'], parsed, reader, security, this.security)).accountId;
    } catch (error) {
      if (error instanceof ApiError) throw Object.assign(new Error(error.message), { statusCode: error.status, code: error.code });
      throw error;
    }
  }

  /**
   * Waits (bounded) until the ledger projection has applied every event the engine had
   * produced when the request arrived, so a client reads its own writes. Returns false
   * when the projection is still behind after the wait (the answer may then lag).
   */
  async projectionCaughtUp(): Promise<boolean> {
    const target = this.deps.events.lastEventSequence();
    if (this.deps.waitForProjection) {
      try {
        await this.deps.waitForProjection(target, projectionWaitMsMax);
        return true;
      } catch {
        return false;
      }
    }
    const deadline = this.clock() + projectionWaitMsMax;
    for (;;) {
      if ((await this.deps.history.projectedEventSequence()) >= target) return true;
      if (this.clock() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, projectionPollMs));
    }
  }
}

/** Names every SIGNED endpoint reads besides its own. */
export function signedNames(...names: string[]): ReadonlySet<string> {
  return new Set([...names, 'timestamp', 'recvWindow']);
}
