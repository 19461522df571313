// The admin API (/admin/v1): markets, assets, fees, users, API keys, deposits and
// withdrawals, solvency. It answers only to `Authorization: Bearer <BOURSE_ADMIN_TOKEN>`;
// trading keys never reach it. Money moves only through engine commands, each idempotent
// by the caller's transferId, so a retried deposit or withdrawal never applies twice.
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { addAsset, addMarket, marketCommand, setFees, transfer, type Command } from '../../domain/command.ts';
import { CommandType, MarketStatus } from '../../domain/codes.ts';
import { parseDecimal } from '../../domain/units.ts';
import type { EngineEvent } from '../../domain/events.ts';
import { AccountError, type ApiPermission } from './accounts.ts';
import { submitCommand } from './binance-routes.ts';
import type { GatewayContext } from './context.ts';
import { ApiError, apiErrors, reasonError } from './errors.ts';
import { formatAtoms, marketSpecFromDecimals, type MarketSpecInput } from './market-units.ts';

const transferIdPattern = /^[A-Za-z0-9._:-]{1,64}$/;

function adminError(status: number, message: string): ApiError {
  return new ApiError(status, -1130, message);
}

/** Parses a JSON object body strictly: malformed JSON, non-objects and unknown fields are refused. */
function jsonBody(request: FastifyRequest, allowed: readonly string[]): Record<string, unknown> {
  const text = typeof request.body === 'string' ? request.body : '';
  if (text.length === 0) return {};
  const contentType = request.headers['content-type'] ?? '';
  if (!contentType.startsWith('application/json')) throw apiErrors.malformedBody('the admin API takes application/json');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw apiErrors.malformedBody('Malformed JSON.');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw apiErrors.malformedBody('expected a JSON object');
  const body = value as Record<string, unknown>;
  const unknown = Object.keys(body).filter((name) => !allowed.includes(name));
  if (unknown.length > 0) throw new ApiError(400, -1104, `Unknown field(s): ${unknown.join(', ')}.`);
  return body;
}

function stringField(body: Record<string, unknown>, name: string, required = true): string | undefined {
  const value = body[name];
  if (value === undefined) {
    if (required) throw apiErrors.mandatory(name);
    return undefined;
  }
  if (typeof value !== 'string' || value.length === 0) throw apiErrors.illegalCharacters(name, 'a non-empty string');
  return value;
}

function integerField(body: Record<string, unknown>, name: string, minimum: number, maximum: number, required = true): number | undefined {
  const value = body[name];
  if (value === undefined) {
    if (required) throw apiErrors.mandatory(name);
    return undefined;
  }
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < minimum || value > maximum) {
    throw apiErrors.illegalCharacters(name, `an integer ${minimum}..${maximum}`);
  }
  return value;
}

export function hashPassword(password: string): string {
  const salt = randomBytes(16);
  const hash = scryptSync(password, salt, 32);
  return `scrypt$${salt.toString('hex')}$${hash.toString('hex')}`;
}

function tokenMatches(header: string | undefined, token: string): boolean {
  if (typeof header !== 'string' || !header.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice('Bearer '.length));
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export function registerAdminRoutes(app: FastifyInstance, context: GatewayContext): void {
  const { reads, accounts } = context.deps;

  const submit = async (command: Command): Promise<EngineEvent[]> => {
    const result = await submitCommand(context, command);
    const rejected = result.events.find((event) => event.type === 'CommandRejected' || event.type === 'OrderRejected');
    if (rejected) throw reasonError(rejected.reason as number);
    return result.events;
  };
  const marketOf = (symbol: string) => {
    const market = reads.marketBySymbol(symbol);
    if (!market) throw apiErrors.badSymbol();
    return market;
  };
  const assetOf = (code: string) => {
    const asset = reads.assets().find((candidate) => candidate.code === code);
    if (!asset) throw adminError(400, `Unknown asset ${code}.`);
    return asset;
  };
  const marketJson = (symbol: string) => {
    const market = marketOf(symbol);
    const units = context.unitsOf(market);
    return {
      symbol,
      marketId: market.marketId,
      status: market.status === MarketStatus.Trading ? 'TRADING' : 'HALT',
      baseAsset: market.spec.baseAsset,
      quoteAsset: market.spec.quoteAsset,
      tickSize: units.tickSize,
      stepSize: units.stepSize,
      minQty: units.formatLots(market.spec.minQuantityLots),
      maxQty: units.formatLots(market.spec.maxQuantityLots),
      marketMaxQty: units.formatLots(market.spec.marketMaxQuantityLots),
      maxPrice: units.formatPrice(market.spec.maxPriceTicks),
      minNotional: units.formatQuoteAtoms(market.spec.minNotionalAtoms),
      makerFeeBps: market.spec.makerFeeBps,
      takerFeeBps: market.spec.takerFeeBps,
      spec: market.spec,
    };
  };

  app.register(
    async (admin) => {
      admin.addHook('onRequest', async (request) => {
        if (!tokenMatches(request.headers.authorization, context.deps.config.adminToken)) throw apiErrors.adminUnauthorized();
      });

      admin.get('/state', async () => ({
        stateHash: context.deps.inspector?.stateHash() ?? null,
        lastCommandSequence: reads.lastCommandSequence(),
        lastEventSequence: context.deps.events.lastEventSequence(),
        projectedEventSequence: await context.deps.history.projectedEventSequence(),
      }));

      admin.get('/assets', async () => reads.assets().map((asset) => ({ asset: asset.code, assetId: asset.assetId, scale: asset.scale, supply: formatAtoms(asset.supplyAtoms, asset.scale) })));

      admin.post('/assets', async (request) => {
        const body = jsonBody(request, ['asset', 'scale']);
        const code = stringField(body, 'asset')!;
        const scale = integerField(body, 'scale', 0, 18)!;
        const events = await submit(addAsset(code, scale));
        return { asset: code, assetId: events[0]!.assetId, scale };
      });

      admin.get('/markets', async () => reads.markets().map((market) => marketJson(market.spec.symbol)));

      admin.post('/markets', async (request) => {
        const names = ['symbol', 'baseAsset', 'quoteAsset', 'tickSize', 'stepSize', 'minQty', 'maxQty', 'marketMaxQty', 'maxPrice', 'minNotional', 'makerFeeBps', 'takerFeeBps'];
        const body = jsonBody(request, names);
        const input: MarketSpecInput = {
          symbol: stringField(body, 'symbol')!,
          baseAsset: stringField(body, 'baseAsset')!,
          quoteAsset: stringField(body, 'quoteAsset')!,
          tickSize: stringField(body, 'tickSize')!,
          stepSize: stringField(body, 'stepSize')!,
          minQty: stringField(body, 'minQty')!,
          maxQty: stringField(body, 'maxQty')!,
          marketMaxQty: stringField(body, 'marketMaxQty', false),
          maxPrice: stringField(body, 'maxPrice')!,
          minNotional: stringField(body, 'minNotional')!,
          makerFeeBps: integerField(body, 'makerFeeBps', 0, 1000, false),
          takerFeeBps: integerField(body, 'takerFeeBps', 0, 1000, false),
        };
        const spec = marketSpecFromDecimals(input, assetOf(input.baseAsset), assetOf(input.quoteAsset));
        if (typeof spec === 'string') throw adminError(400, spec);
        await submit(addMarket(spec));
        return marketJson(spec.symbol);
      });

      admin.post<{ Params: { symbol: string } }>('/markets/:symbol/halt', async (request) => {
        jsonBody(request, []);
        await submit(marketCommand(CommandType.HaltMarket, marketOf(request.params.symbol).marketId));
        return marketJson(request.params.symbol);
      });

      admin.post<{ Params: { symbol: string } }>('/markets/:symbol/resume', async (request) => {
        jsonBody(request, []);
        await submit(marketCommand(CommandType.ResumeMarket, marketOf(request.params.symbol).marketId));
        return marketJson(request.params.symbol);
      });

      admin.put<{ Params: { symbol: string } }>('/markets/:symbol/fees', async (request) => {
        const body = jsonBody(request, ['makerFeeBps', 'takerFeeBps']);
        const market = marketOf(request.params.symbol);
        await submit(setFees(market.marketId, integerField(body, 'makerFeeBps', 0, 1000)!, integerField(body, 'takerFeeBps', 0, 1000)!));
        return marketJson(request.params.symbol);
      });

      admin.get('/users', async () => accounts.users());

      admin.post('/users', async (request, reply) => {
        const body = jsonBody(request, ['email', 'password', 'isAdmin']);
        const email = stringField(body, 'email')!;
        const password = stringField(body, 'password', false);
        if (body.isAdmin !== undefined && typeof body.isAdmin !== 'boolean') throw apiErrors.illegalCharacters('isAdmin', 'true, false');
        try {
          const user = await accounts.createUser(email, { passwordHash: password ? hashPassword(password) : null, isAdmin: body.isAdmin === true });
          return reply.code(201).send(user);
        } catch (error) {
          if (error instanceof AccountError) throw adminError(409, error.message);
          throw error;
        }
      });

      admin.get<{ Params: { userId: string } }>('/users/:userId/api-keys', async (request) => accounts.apiKeysOf(Number(request.params.userId)));

      admin.post<{ Params: { userId: string } }>('/users/:userId/api-keys', async (request, reply) => {
        const body = jsonBody(request, ['permissions']);
        const permissions = body.permissions ?? ['read', 'trade'];
        if (!Array.isArray(permissions)) throw apiErrors.illegalCharacters('permissions', '["read", "trade"]');
        if (!/^[1-9][0-9]{0,15}$/.test(request.params.userId)) throw adminError(404, 'Unknown user.');
        try {
          const key = await accounts.issueApiKey(Number(request.params.userId), permissions as ApiPermission[]);
          return reply.code(201).send({ apiKey: key.apiKey, secret: key.secret, userId: key.accountId, permissions });
        } catch (error) {
          if (error instanceof AccountError) throw adminError(400, error.message);
          throw error;
        }
      });

      admin.delete<{ Params: { apiKey: string } }>('/api-keys/:apiKey', async (request) => {
        const revoked = await accounts.revokeApiKey(request.params.apiKey);
        if (!revoked) throw adminError(404, 'Unknown or already revoked API key.');
        return { apiKey: request.params.apiKey, revoked: true };
      });

      const transferInput = async (request: FastifyRequest, allowZeroAccount: boolean) => {
        const body = jsonBody(request, ['transferId', 'userId', 'asset', 'amount']);
        const transferId = stringField(body, 'transferId')!;
        if (!transferIdPattern.test(transferId)) throw apiErrors.illegalCharacters('transferId', '^[A-Za-z0-9._:-]{1,64}$');
        const userId = integerField(body, 'userId', allowZeroAccount ? 0 : 1, Number.MAX_SAFE_INTEGER)!;
        if (userId !== 0 && !(await accounts.userById(userId))) throw adminError(404, 'Unknown user.');
        const asset = assetOf(stringField(body, 'asset')!);
        const amountText = stringField(body, 'amount')!;
        const amountAtoms = parseDecimal(amountText, asset.scale);
        if (amountAtoms === null) {
          if (!/^(0|[1-9][0-9]*)(\.[0-9]+)?$/.test(amountText)) throw apiErrors.illegalCharacters('amount', '^([0-9]{1,20})(\\.[0-9]{1,20})?$');
          throw apiErrors.badPrecision();
        }
        if (amountAtoms <= 0) throw adminError(400, 'amount must be positive.');
        return { transferId, userId, asset, amountText, amountAtoms };
      };
      const transferAnswer = (events: EngineEvent[], status: string) => {
        const event = events[0]!;
        return { transferId: event.transferId, status, duplicate: event.type === 'CommandDuplicate' };
      };

      admin.post('/deposits', async (request) => {
        const input = await transferInput(request, false);
        const events = await submit(transfer(CommandType.Deposit, input.transferId, input.userId, input.asset.code, input.amountAtoms));
        return { ...transferAnswer(events, 'COMPLETED'), userId: input.userId, asset: input.asset.code, amount: formatAtoms(input.amountAtoms, input.asset.scale) };
      });

      admin.post('/withdrawals', async (request) => {
        const input = await transferInput(request, true);
        const events = await submit(transfer(CommandType.WithdrawRequest, input.transferId, input.userId, input.asset.code, input.amountAtoms));
        return { ...transferAnswer(events, 'PENDING'), userId: input.userId, asset: input.asset.code, amount: formatAtoms(input.amountAtoms, input.asset.scale) };
      });

      admin.post<{ Params: { transferId: string } }>('/withdrawals/:transferId/complete', async (request) => {
        jsonBody(request, []);
        const events = await submit(transfer(CommandType.WithdrawComplete, request.params.transferId));
        return transferAnswer(events, 'COMPLETED');
      });

      admin.post<{ Params: { transferId: string } }>('/withdrawals/:transferId/cancel', async (request) => {
        jsonBody(request, []);
        const events = await submit(transfer(CommandType.WithdrawCancel, request.params.transferId));
        return transferAnswer(events, 'CANCELED');
      });

      admin.get('/solvency', async () => {
        const assets = new Map(reads.assets().map((asset) => [asset.code, asset]));
        const engine = (context.deps.inspector?.solvency() ?? []).map((row) => {
          const scale = assets.get(row.asset)?.scale ?? 0;
          return {
            asset: row.asset,
            depositsMinusWithdrawals: formatAtoms(row.supplyAtoms, scale),
            balancesPlusHolds: formatAtoms(row.balancesAtoms, scale),
            held: formatAtoms(row.heldAtoms, scale),
            balanced: row.balanced,
          };
        });
        const projection = context.deps.projectionSolvency ? await context.deps.projectionSolvency() : null;
        return { balanced: engine.every((row) => row.balanced), engine, projection };
      });
    },
    { prefix: '/admin/v1' },
  );
}
