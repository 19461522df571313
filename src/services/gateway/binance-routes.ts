// The Binance Spot REST endpoints this gateway owns: ping, time, exchangeInfo, and the
// SIGNED order and account endpoints. Every check that can be made at the edge is made
// here, before the command log, so a refused request changes nothing; only funds, the
// book and idempotency are left to the engine. Reads say where they came from in
// `X-Data-Source` (engine, database).
import type { FastifyInstance, FastifyReply } from 'fastify';
import { OrderType, Side, StpMode, TimeInForce } from '../../domain/codes.ts';
import { cancelAllOrders, cancelOrder, placeOrder, type Command } from '../../domain/command.ts';
import type { EngineEvent } from '../../domain/events.ts';
import { MarketStatus } from '../../domain/codes.ts';
import { CommandTimeoutError, type CommandResult } from '../contracts.ts';
import { EngineHostStoppedError, EngineOverloadedError } from '../engine-host/engine-host.ts';
import { randomToken } from './accounts.ts';
import type { GatewayContext } from './context.ts';
import { signedNames } from './context.ts';
import { ApiError, apiErrors, decimalLegalRange, reasonError } from './errors.ts';
import { formatAtoms, type MarketUnits } from './market-units.ts';
import {
  fillsOfOrder,
  formatAccountTrades,
  formatCanceled,
  formatNewOrder,
  formatOrder,
  newOrderResponseSchema,
  stateFromEvents,
  stateOfRecord,
  stateOfView,
  type OrderState,
  type ResponseType,
} from './order-format.ts';
import type { ParamReader } from './params.ts';
import { apiKeyOf } from './security.ts';

export const historyLimitDefault = 500;
export const historyLimitMax = 1000;
export const listenKeyTtlMs = 60 * 60 * 1000;
export const listenKeyLength = 60;
const clientOrderIdPattern = /^[.A-Za-z0-9:/_-]{1,36}$/;
const clientOrderIdRange = '^[\\.A-Z\\:/a-z0-9_-]{1,36}$';
const generatedClientOrderIdLength = 22;

const newOrderNames = signedNames(
  'symbol', 'side', 'type', 'timeInForce', 'quantity', 'quoteOrderQty', 'price', 'newClientOrderId', 'newOrderRespType', 'selfTradePreventionMode',
);
const testOrderNames = new Set([...newOrderNames, 'computeCommissionRates']);
const orderQueryNames = signedNames('symbol', 'orderId', 'origClientOrderId');
const cancelNames = signedNames('symbol', 'orderId', 'origClientOrderId', 'newClientOrderId');
const openOrdersNames = signedNames('symbol');
const allOrdersNames = signedNames('symbol', 'orderId', 'startTime', 'endTime', 'limit');
const myTradesNames = signedNames('symbol', 'orderId', 'startTime', 'endTime', 'fromId', 'limit');
const accountNames = signedNames('omitZeroBalances');
const exchangeInfoNames = new Set(['symbol', 'symbols', 'permissions', 'showPermissionSets', 'symbolStatus']);

interface NewOrder {
  command: Command;
  units: MarketUnits;
  responseType: ResponseType;
}

function decimalOf(reader: ParamReader, name: string, parse: (text: string) => number | 'format' | 'precision', filter: string): number | undefined {
  const text = reader.string(name);
  if (text === undefined) return undefined;
  const value = parse(text);
  if (value === 'format') throw apiErrors.illegalCharacters(name, decimalLegalRange);
  if (value === 'precision') throw filter === 'PRECISION' ? apiErrors.badPrecision() : apiErrors.filterFailure(filter);
  return value;
}

/** Validates a new order exactly as the engine would (minus funds and the book) and builds its command. */
export function parseNewOrder(context: GatewayContext, reader: ParamReader, accountId: number): NewOrder {
  const { market, units } = context.tradingMarket(reader.required('symbol'));
  const spec = market.spec;
  const sideName = reader.enumeration('side', ['BUY', 'SELL'] as const, apiErrors.invalidSide);
  if (sideName === undefined) throw apiErrors.mandatory('side');
  const typeName = reader.enumeration('type', ['LIMIT', 'MARKET', 'LIMIT_MAKER'] as const, apiErrors.invalidOrderType);
  if (typeName === undefined) throw apiErrors.mandatory('type');
  const orderType = typeName === 'LIMIT' ? OrderType.Limit : typeName === 'MARKET' ? OrderType.Market : OrderType.LimitMaker;
  const timeInForceName = reader.enumeration('timeInForce', ['GTC', 'IOC', 'FOK'] as const, apiErrors.invalidTimeInForce);
  let timeInForce: number = 0;
  if (orderType === OrderType.Limit) {
    if (timeInForceName === undefined) throw apiErrors.mandatory('timeInForce');
    timeInForce = timeInForceName === 'GTC' ? TimeInForce.GTC : timeInForceName === 'IOC' ? TimeInForce.IOC : TimeInForce.FOK;
  } else if (timeInForceName !== undefined) {
    throw apiErrors.notRequired('timeInForce');
  }
  const priceTicks = decimalOf(reader, 'price', (text) => units.priceTicks(text), 'PRICE_FILTER');
  const quantityLots = decimalOf(reader, 'quantity', (text) => units.quantityLots(text), orderType === OrderType.Market ? 'MARKET_LOT_SIZE' : 'LOT_SIZE');
  const quoteAmountAtoms = decimalOf(reader, 'quoteOrderQty', (text) => units.quoteAtoms(text), 'PRECISION');
  if (orderType === OrderType.Market) {
    if (priceTicks !== undefined) throw apiErrors.notRequired('price');
    if (quantityLots === undefined && quoteAmountAtoms === undefined) throw apiErrors.eitherMandatory('quantity', 'quoteOrderQty');
    if (quantityLots !== undefined && quoteAmountAtoms !== undefined) throw apiErrors.notRequired('quoteOrderQty');
  } else {
    if (priceTicks === undefined) throw apiErrors.mandatory('price');
    if (quantityLots === undefined) throw apiErrors.mandatory('quantity');
    if (quoteAmountAtoms !== undefined) throw apiErrors.notRequired('quoteOrderQty');
  }
  if (priceTicks !== undefined && (priceTicks <= 0 || priceTicks > spec.maxPriceTicks)) throw apiErrors.filterFailure('PRICE_FILTER');
  if (quantityLots !== undefined) {
    const maximum = orderType === OrderType.Market ? spec.marketMaxQuantityLots : spec.maxQuantityLots;
    if (quantityLots <= 0 || quantityLots < spec.minQuantityLots || quantityLots > maximum) {
      throw apiErrors.filterFailure(orderType === OrderType.Market ? 'MARKET_LOT_SIZE' : 'LOT_SIZE');
    }
  }
  if (quoteAmountAtoms !== undefined && (quoteAmountAtoms <= 0 || quoteAmountAtoms < spec.minNotionalAtoms)) throw apiErrors.filterFailure('NOTIONAL');
  if (priceTicks !== undefined && quantityLots !== undefined && units.notionalAtoms(priceTicks, quantityLots) < spec.minNotionalAtoms) {
    throw apiErrors.filterFailure('NOTIONAL');
  }
  let clientOrderId = reader.string('newClientOrderId');
  if (clientOrderId !== undefined && !clientOrderIdPattern.test(clientOrderId)) throw apiErrors.illegalCharacters('newClientOrderId', clientOrderIdRange);
  clientOrderId ??= randomToken(generatedClientOrderIdLength);
  const stpName = reader.enumeration('selfTradePreventionMode', ['NONE', 'EXPIRE_TAKER', 'EXPIRE_MAKER', 'EXPIRE_BOTH'] as const, () =>
    apiErrors.illegalCharacters('selfTradePreventionMode', 'NONE, EXPIRE_TAKER, EXPIRE_MAKER, EXPIRE_BOTH'),
  );
  const stpMode =
    stpName === undefined ? StpMode.AccountDefault
    : stpName === 'NONE' ? StpMode.None
    : stpName === 'EXPIRE_TAKER' ? StpMode.ExpireTaker
    : stpName === 'EXPIRE_MAKER' ? StpMode.ExpireMaker
    : StpMode.ExpireBoth;
  const responseType =
    reader.enumeration('newOrderRespType', ['ACK', 'RESULT', 'FULL'] as const, apiErrors.invalidResponseType) ??
    (orderType === OrderType.LimitMaker ? 'ACK' : 'FULL');
  const command = placeOrder({
    accountId,
    marketId: market.marketId,
    side: sideName === 'BUY' ? Side.Buy : Side.Sell,
    orderType,
    timeInForce: timeInForce as 0,
    priceTicks: priceTicks ?? 0,
    quantityLots: quantityLots ?? 0,
    quoteAmountAtoms: quoteAmountAtoms ?? 0,
    stpMode,
    clientOrderId,
  });
  return { command, units, responseType };
}

/** Submits a command; maps host failures to Binance's "status unknown" and overload errors. */
export function submitCommand(context: GatewayContext, command: Command): Promise<CommandResult> {
  // A `catch` on the answer rather than an async function: one promise less per order.
  let answer: Promise<CommandResult>;
  try {
    answer = context.deps.commands.submit(command, context.deps.config.commandTimeoutMs);
  } catch (error) {
    return Promise.reject(submitError(error));
  }
  return answer.catch(rethrowSubmitError);
}

function rethrowSubmitError(error: unknown): never {
  throw submitError(error);
}

function submitError(error: unknown): unknown {
  if (error instanceof CommandTimeoutError) return apiErrors.timeout();
  if (error instanceof EngineOverloadedError) return apiErrors.overloaded();
  if (error instanceof EngineHostStoppedError) return apiErrors.shuttingDown();
  return error;
}

function rejectionOf(events: EngineEvent[]): ApiError {
  const rejected = events.find((event) => event.type === 'OrderRejected' || event.type === 'CommandRejected');
  return rejected ? reasonError(rejected.reason as number) : apiErrors.unknown();
}

function sendRead(reply: FastifyReply, source: 'engine' | 'database' | 'cache', body: unknown): FastifyReply {
  return reply.header('x-data-source', source).send(body);
}

/** The order's state from the engine (open) or the ledger (closed); null when the account has no such order. */
async function findOrder(
  context: GatewayContext,
  accountId: number,
  units: MarketUnits,
  orderId: number | undefined,
  clientOrderId: string | undefined,
): Promise<{ state: OrderState; source: 'engine' | 'database' } | null> {
  const { reads, history } = context.deps;
  const fromEngine = (): OrderState | null => {
    if (orderId !== undefined) {
      const view = reads.order(orderId);
      if (view && view.accountId === accountId && view.marketId === units.marketId && (clientOrderId === undefined || view.clientOrderId === clientOrderId)) {
        return stateOfView(view);
      }
      return null;
    }
    const view = reads.openOrders(accountId, units.marketId).find((candidate) => candidate.clientOrderId === clientOrderId);
    return view ? stateOfView(view) : null;
  };
  const fromDatabase = async (): Promise<OrderState | null> => {
    const record =
      orderId !== undefined ? await history.orderById(accountId, orderId) : await history.orderByClientOrderId(accountId, units.marketId, clientOrderId!);
    if (!record || record.marketId !== units.marketId || (clientOrderId !== undefined && record.clientOrderId !== clientOrderId)) return null;
    return stateOfRecord(record);
  };
  const open = fromEngine();
  if (open) return { state: open, source: 'engine' };
  let closed = await fromDatabase();
  // The engine no longer holds the order, so a row that still says NEW or PARTIALLY_FILLED
  // is the projection lagging behind an answer already given (a cancel or a fill): wait
  // for it, as for an order not found, so a client reads its own writes.
  const lagging = closed !== null && (closed.status === 'NEW' || closed.status === 'PARTIALLY_FILLED');
  if (closed && !lagging) return { state: closed, source: 'database' };
  // Not found yet: a command still in flight (e.g. after an "unknown status" answer) may
  // create it. Wait for every command submitted so far, then for the projection.
  await context.commandsSettled();
  const openNow = fromEngine();
  if (openNow) return { state: openNow, source: 'engine' };
  await context.projectionCaughtUp();
  const openLater = fromEngine();
  if (openLater) return { state: openLater, source: 'engine' };
  closed = await fromDatabase();
  return closed ? { state: closed, source: 'database' } : null;
}

export function registerBinanceRoutes(app: FastifyInstance, context: GatewayContext): void {
  const { reads, history, cache } = context.deps;

  app.get('/api/v3/ping', async (request) => {
    context.params(request).reader.allowOnly(new Set());
    return {};
  });

  app.get('/api/v3/time', async (request) => {
    context.params(request).reader.allowOnly(new Set());
    return { serverTime: context.clock() };
  });

  app.get('/api/v3/exchangeInfo', async (request, reply) => {
    const { reader } = context.params(request);
    reader.allowOnly(exchangeInfoNames);
    let markets = reads.markets();
    const symbol = reader.string('symbol');
    const symbolsText = reader.string('symbols');
    if (symbol !== undefined && symbolsText !== undefined) throw apiErrors.badCombination();
    if (symbol !== undefined) markets = [context.market(symbol).market];
    if (symbolsText !== undefined) {
      let symbols: unknown;
      try {
        symbols = JSON.parse(symbolsText);
      } catch {
        throw apiErrors.illegalCharacters('symbols', '["SYMBOL1","SYMBOL2"]');
      }
      if (!Array.isArray(symbols) || symbols.length === 0 || symbols.some((entry) => typeof entry !== 'string')) {
        throw apiErrors.illegalCharacters('symbols', '["SYMBOL1","SYMBOL2"]');
      }
      markets = (symbols as string[]).map((entry) => context.market(entry).market);
    }
    const status = reader.enumeration('symbolStatus', ['TRADING', 'HALT', 'BREAK'] as const, () => apiErrors.invalidParameter());
    reader.boolean('showPermissionSets');
    const views = markets
      .map((market) => ({ market, units: context.unitsOf(market), statusName: market.status === MarketStatus.Trading ? 'TRADING' : 'HALT' }))
      .filter((entry) => status === undefined || entry.statusName === status);
    return sendRead(reply, 'engine', {
      timezone: 'UTC',
      serverTime: context.clock(),
      rateLimits: context.limiter.exchangeInfoLimits(),
      exchangeFilters: [],
      symbols: views.map(({ market, units, statusName }) => ({
        symbol: units.symbol,
        status: statusName,
        baseAsset: market.spec.baseAsset,
        baseAssetPrecision: Math.max(units.baseScale, 8),
        quoteAsset: market.spec.quoteAsset,
        quotePrecision: Math.max(units.quoteScale, 8),
        quoteAssetPrecision: Math.max(units.quoteScale, 8),
        baseCommissionPrecision: Math.max(units.baseScale, 8),
        quoteCommissionPrecision: Math.max(units.quoteScale, 8),
        orderTypes: ['LIMIT', 'LIMIT_MAKER', 'MARKET'],
        icebergAllowed: false,
        ocoAllowed: false,
        otoAllowed: false,
        quoteOrderQtyMarketAllowed: true,
        allowTrailingStop: false,
        cancelReplaceAllowed: false,
        amendAllowed: false,
        pegInstructionsAllowed: false,
        isSpotTradingAllowed: true,
        isMarginTradingAllowed: false,
        filters: [
          { filterType: 'PRICE_FILTER', minPrice: units.formatPrice(1), maxPrice: units.formatPrice(market.spec.maxPriceTicks), tickSize: units.tickSize },
          { filterType: 'LOT_SIZE', minQty: units.formatLots(market.spec.minQuantityLots), maxQty: units.formatLots(market.spec.maxQuantityLots), stepSize: units.stepSize },
          { filterType: 'MIN_NOTIONAL', minNotional: units.formatQuoteAtoms(market.spec.minNotionalAtoms), applyToMarket: true, avgPriceMins: 5 },
          {
            filterType: 'NOTIONAL',
            minNotional: units.formatQuoteAtoms(market.spec.minNotionalAtoms),
            applyMinToMarket: true,
            maxNotional: '9000000000.00000000',
            applyMaxToMarket: false,
            avgPriceMins: 5,
          },
          {
            filterType: 'MARKET_LOT_SIZE',
            minQty: units.formatLots(market.spec.minQuantityLots),
            maxQty: units.formatLots(market.spec.marketMaxQuantityLots),
            stepSize: units.stepSize,
          },
        ],
        permissions: [],
        permissionSets: [['SPOT']],
        defaultSelfTradePreventionMode: 'NONE',
        allowedSelfTradePreventionModes: ['NONE', 'EXPIRE_TAKER', 'EXPIRE_MAKER', 'EXPIRE_BOTH'],
      })),
    });
  });

  // ---- Orders -----------------------------------------------------------------------

  // The answer goes through a serializer compiled from its schema (same text as JSON.stringify).
  app.post('/api/v3/order', { schema: { response: { 200: newOrderResponseSchema } } }, async (request, reply) => {
    const { key, reader } = await context.signed(request, 'TRADE', newOrderNames);
    const { command, units, responseType } = parseNewOrder(context, reader, key.accountId);
    reply.headers(await context.limiter.takeOrder(key.accountId, request));
    const result = await submitCommand(context, command);
    const first = result.events[0];
    if (first?.type === 'OrderAccepted') {
      const { state, fills } = stateFromEvents(units, first, result.events);
      return formatNewOrder(units, state, fills, responseType, first.timestampMs);
    }
    if (first?.type === 'OrderDuplicate') {
      // A retry of an order we already have: answer as for the original, never place a second.
      const found = await findOrder(context, key.accountId, units, first.orderId as number, undefined);
      if (!found) throw apiErrors.unknown();
      let fills = found.state.filledLots > 0 && responseType === 'FULL' ? await orderFills(context, key.accountId, units, found.state.orderId) : [];
      if (responseType !== 'FULL') fills = [];
      return formatNewOrder(units, found.state, fills, responseType, found.state.createdAtMs);
    }
    throw rejectionOf(result.events);
  });

  app.post('/api/v3/order/test', async (request) => {
    const { key, reader } = await context.signed(request, 'TRADE', testOrderNames);
    const computeCommissionRates = reader.boolean('computeCommissionRates') ?? false;
    const { units } = parseNewOrder(context, reader, key.accountId);
    if (!computeCommissionRates) return {};
    const market = reads.marketBySymbol(units.symbol)!;
    const bps = (value: number) => (value / 10_000).toFixed(8);
    return {
      standardCommissionForOrder: { maker: bps(market.spec.makerFeeBps), taker: bps(market.spec.takerFeeBps) },
      taxCommissionForOrder: { maker: '0.00000000', taker: '0.00000000' },
      discount: { enabledForAccount: false, enabledForSymbol: false, discountAsset: null, discount: '0.00000000' },
    };
  });

  app.get('/api/v3/order', async (request, reply) => {
    const { key, reader } = await context.signed(request, 'USER_DATA', orderQueryNames);
    const { units } = context.market(reader.required('symbol'));
    const orderId = reader.integer('orderId');
    const clientOrderId = reader.string('origClientOrderId');
    if (orderId === undefined && clientOrderId === undefined) throw apiErrors.eitherMandatory('orderId', 'origClientOrderId');
    const found = await findOrder(context, key.accountId, units, orderId, clientOrderId);
    if (!found) throw apiErrors.noSuchOrder();
    return sendRead(reply, found.source, formatOrder(units, found.state));
  });

  app.delete('/api/v3/order', async (request) => {
    const { key, reader } = await context.signed(request, 'TRADE', cancelNames);
    const { units } = context.market(reader.required('symbol'));
    const orderId = reader.integer('orderId');
    const clientOrderId = reader.string('origClientOrderId');
    if (orderId === undefined && clientOrderId === undefined) throw apiErrors.eitherMandatory('orderId', 'origClientOrderId');
    const cancelClientOrderId = reader.string('newClientOrderId') ?? randomToken(generatedClientOrderIdLength);
    if (!clientOrderIdPattern.test(cancelClientOrderId)) throw apiErrors.illegalCharacters('newClientOrderId', clientOrderIdRange);
    // Only the account's own open orders can be canceled; anything else answers exactly
    // like a missing order and never reaches the log.
    const view =
      orderId !== undefined
        ? reads.order(orderId)
        : (reads.openOrders(key.accountId, units.marketId).find((candidate) => candidate.clientOrderId === clientOrderId) ?? null);
    if (!view || view.accountId !== key.accountId || view.marketId !== units.marketId || (clientOrderId !== undefined && view.clientOrderId !== clientOrderId)) {
      throw apiErrors.unknownOrder();
    }
    const result = await submitCommand(context, cancelOrder(key.accountId, units.marketId, view.orderId));
    const canceled = result.events.find((event) => event.type === 'OrderCanceled' && event.orderId === view.orderId);
    if (!canceled) throw rejectionOf(result.events);
    const state = stateOfView(view);
    state.filledLots = view.quantityLots - (canceled.remainingLots as number);
    return formatCanceled(units, state, cancelClientOrderId, canceled.timestampMs);
  });

  app.get('/api/v3/openOrders', async (request, reply) => {
    const { key, reader } = await context.signed(request, 'USER_DATA', openOrdersNames);
    const symbol = reader.string('symbol');
    const marketId = symbol === undefined ? null : context.market(symbol).market.marketId;
    const orders = reads.openOrders(key.accountId, marketId);
    return sendRead(
      reply,
      'engine',
      orders.map((view) => formatOrder(context.unitsByMarketIdOf(view.marketId)!, stateOfView(view))),
    );
  });

  app.delete('/api/v3/openOrders', async (request) => {
    const { key, reader } = await context.signed(request, 'TRADE', openOrdersNames);
    const { units } = context.market(reader.required('symbol'));
    const before = new Map(reads.openOrders(key.accountId, units.marketId).map((view) => [view.orderId, view]));
    if (before.size === 0) throw apiErrors.unknownOrder();
    const result = await submitCommand(context, cancelAllOrders(key.accountId, units.marketId));
    const canceled = result.events.filter((event) => event.type === 'OrderCanceled');
    if (canceled.length === 0) throw rejectionOf(result.events);
    return canceled.map((event) => {
      const view = before.get(event.orderId as number);
      const state: OrderState = view
        ? { ...stateOfView(view), filledLots: view.quantityLots - (event.remainingLots as number) }
        : {
            // Placed after our read and before the command ran: only the event is known.
            orderId: event.orderId as number, clientOrderId: '', side: Side.Buy, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC,
            priceTicks: 0, quantityLots: event.remainingLots as number, quoteAmountAtoms: 0, filledLots: 0, filledQuoteAtoms: 0,
            status: 'CANCELED', stpMode: StpMode.None, createdAtMs: event.timestampMs, updatedAtMs: event.timestampMs,
          };
      return formatCanceled(units, state, randomToken(generatedClientOrderIdLength), event.timestampMs);
    });
  });

  // ---- History (ledger projection) -------------------------------------------------------

  app.get('/api/v3/allOrders', async (request, reply) => {
    const { key, reader } = await context.signed(request, 'USER_DATA', allOrdersNames);
    const { units } = context.market(reader.required('symbol'));
    const query = {
      fromId: reader.integer('orderId'),
      startTimeMs: reader.integer('startTime'),
      endTimeMs: reader.integer('endTime'),
      limit: reader.limit(historyLimitDefault, historyLimitMax),
    };
    await context.projectionCaughtUp();
    const records = await history.orders(key.accountId, units.marketId, query);
    return sendRead(reply, 'database', records.map((record) => formatOrder(units, stateOfRecord(record))));
  });

  app.get('/api/v3/myTrades', async (request, reply) => {
    const { key, reader } = await context.signed(request, 'USER_DATA', myTradesNames);
    const { units } = context.market(reader.required('symbol'));
    const orderId = reader.integer('orderId');
    const fromId = reader.integer('fromId');
    if (orderId !== undefined && fromId !== undefined) throw apiErrors.badCombination();
    const limit = reader.limit(historyLimitDefault, historyLimitMax);
    const query = { fromId, startTimeMs: reader.integer('startTime'), endTimeMs: reader.integer('endTime'), limit: orderId === undefined ? limit : historyLimitMax };
    await context.projectionCaughtUp();
    const trades = await history.accountTrades(key.accountId, units.marketId, query);
    let rows = trades.flatMap((trade) => formatAccountTrades(units, key.accountId, trade));
    if (orderId !== undefined) rows = rows.filter((row) => row.orderId === orderId).slice(0, limit);
    return sendRead(reply, 'database', rows);
  });

  app.get('/api/v3/account', async (request, reply) => {
    const { key, reader } = await context.signed(request, 'USER_DATA', accountNames);
    const omitZero = reader.boolean('omitZeroBalances') ?? false;
    const assets = new Map(reads.assets().map((asset) => [asset.assetId, asset]));
    const balances = reads
      .balances(key.accountId)
      .filter((balance) => !omitZero || balance.availableAtoms !== 0 || balance.heldAtoms !== 0)
      .map((balance) => {
        const asset = assets.get(balance.assetId)!;
        const format = (atoms: number) => formatAtoms(atoms, asset.scale);
        return { asset: asset.code, free: format(balance.availableAtoms), locked: format(balance.heldAtoms) };
      });
    const firstMarket = reads.markets()[0];
    const makerBps = firstMarket?.spec.makerFeeBps ?? 0;
    const takerBps = firstMarket?.spec.takerFeeBps ?? 0;
    return sendRead(reply, 'engine', {
      makerCommission: makerBps,
      takerCommission: takerBps,
      buyerCommission: 0,
      sellerCommission: 0,
      commissionRates: { maker: (makerBps / 10_000).toFixed(8), taker: (takerBps / 10_000).toFixed(8), buyer: '0.00000000', seller: '0.00000000' },
      canTrade: key.canTrade,
      canWithdraw: false,
      canDeposit: false,
      brokered: false,
      requireSelfTradePrevention: false,
      preventSor: false,
      updateTime: context.clock(),
      accountType: 'SPOT',
      balances,
      permissions: ['SPOT'],
      uid: key.accountId,
    });
  });

  // ---- User data stream (API key only, no signature: Binance's USER_STREAM) ----------

  const listenKeyAccount = async (reader: ParamReader, accountId: number): Promise<string> => {
    const listenKey = reader.required('listenKey');
    const owner = await cache.get(`listenKey:${listenKey}`);
    if (owner === null || Number(owner) !== accountId) throw apiErrors.invalidListenKey();
    return listenKey;
  };

  app.post('/api/v3/userDataStream', async (request) => {
    const { reader } = context.params(request);
    reader.allowOnly(new Set());
    const key = await apiKeyOf(request.headers['x-mbx-apikey'], context.security);
    const listenKey = randomToken(listenKeyLength);
    await cache.set(`listenKey:${listenKey}`, String(key.accountId), listenKeyTtlMs);
    return { listenKey };
  });

  app.put('/api/v3/userDataStream', async (request) => {
    const { reader } = context.params(request);
    reader.allowOnly(new Set(['listenKey']));
    const key = await apiKeyOf(request.headers['x-mbx-apikey'], context.security);
    const listenKey = await listenKeyAccount(reader, key.accountId);
    await cache.set(`listenKey:${listenKey}`, String(key.accountId), listenKeyTtlMs);
    return {};
  });

  app.delete('/api/v3/userDataStream', async (request) => {
    const { reader } = context.params(request);
    reader.allowOnly(new Set(['listenKey']));
    const key = await apiKeyOf(request.headers['x-mbx-apikey'], context.security);
    const listenKey = await listenKeyAccount(reader, key.accountId);
    await cache.delete(`listenKey:${listenKey}`);
    return {};
  });
}

async function orderFills(context: GatewayContext, accountId: number, units: MarketUnits, orderId: number) {
  await context.projectionCaughtUp();
  const trades = await context.deps.history.accountTrades(accountId, units.marketId, { limit: historyLimitMax, fromId: undefined });
  return fillsOfOrder(units, orderId, trades);
}
