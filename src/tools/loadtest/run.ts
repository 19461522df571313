// One load-test run: set up users and funds, start subscribers, send orders at a fixed
// rate (or back to back), record every answer, then read the solvency report. Requests are
// scheduled at intended start times i / rate; one that cannot go out yet (too many in
// flight) waits in a bounded queue, and its latency still counts from its intended start.
import { SeededRandom } from '../../lib/prng.ts';
import { ExchangeClient, createUsers, multipleOf, planMarkets, type MarketPlan, type SolvencyReport, type TradingUser } from './exchange.ts';
import type { LoadtestOptions } from './options.ts';
import { distribution, RunRecorder, summarize, type OrderKind, type TimelinePoint } from './recorder.ts';
import type { LoadtestResult } from './result.ts';
import { startSubscribers } from './subscribers.ts';

/** Requests waiting for a free connection, at most (beyond it they count as not sent). */
export const pendingQueueMax = 100_000;
/** Open orders remembered per user for cancels. */
export const rememberedOrdersPerUserMax = 200;
/** How long to wait for requests still in flight when the duration is over. */
export const drainTimeoutMs = 15_000;
/** Limit prices are drawn within this fraction of the reference price. */
export const priceSpreadFraction = 0.01;

interface OpenOrder {
  symbol: string;
  orderId: number;
}

const nowMs = () => performance.now();

export interface RunHooks {
  /** Called once a second with the closed interval (the progress line). */
  onInterval?: (point: TimelinePoint, recorder: RunRecorder, subscribersConnected: number) => void;
  log?: (message: string) => void;
}

export async function runLoadtest(options: LoadtestOptions, hooks: RunHooks = {}): Promise<LoadtestResult> {
  const log = hooks.log ?? (() => {});
  const startedAt = new Date().toISOString();
  const runId = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const client = new ExchangeClient(options.url, options.adminToken, options.concurrency);
  const recorder = new RunRecorder();
  const random = new SeededRandom(options.seed);
  try {
    log(`planning ${options.markets} market(s) on ${options.url}`);
    const markets = await planMarkets(client, options.markets);
    log(`creating ${options.users} user(s) with keys and funds`);
    const users = await createUsers(client, options.users, markets, runId);
    const openOrders: OpenOrder[][] = users.map(() => []);
    const subscribers = options.subscribers > 0 ? await startSubscribers(options.url, markets.map((market) => market.symbol), options.subscribers, recorder, (code) => recorder.noteError(code)) : null;
    log(`${subscribers?.connected() ?? 0} of ${options.subscribers} subscriber(s) connected; sending for ${options.durationSeconds} s`);

    let clientOrderCounter = 0;
    const sendOne = async (intendedMs: number): Promise<void> => {
      const userIndex = random.integer(0, users.length - 1);
      const user = users[userIndex];
      const market = random.pick(markets);
      let kind = pickKind(options, random);
      const remembered = openOrders[userIndex];
      if (kind === 'cancel' && remembered.length === 0) kind = options.mix.limit > 0 ? 'limit' : 'market';
      recorder.noteSent();
      const sentMs = nowMs();
      let errorCode: string | null = null;
      try {
        const answer = kind === 'cancel' ? await cancelOrder(client, user, remembered.splice(random.integer(0, remembered.length - 1), 1)[0]) : await placeOrder(client, user, market, kind, random, `lt${runId}x${clientOrderCounter++}`);
        if (answer.status >= 200 && answer.status < 300) {
          const body = answer.body as { orderId?: number; status?: string; symbol?: string };
          if (kind === 'limit' && (body.status === 'NEW' || body.status === 'PARTIALLY_FILLED') && typeof body.orderId === 'number') {
            remembered.push({ symbol: market.symbol, orderId: body.orderId });
            if (remembered.length > rememberedOrdersPerUserMax) remembered.shift();
          }
        } else {
          errorCode = `${answer.status}/${answer.code ?? 'none'}`;
        }
      } catch (error) {
        errorCode = `network/${(error as NodeJS.ErrnoException).code ?? (error as Error).name}`;
      }
      const doneMs = nowMs();
      recorder.noteDone(kind, (doneMs - intendedMs) * 1000, (doneMs - sentMs) * 1000, errorCode);
    };

    const startMs = nowMs();
    const endMs = startMs + options.durationSeconds * 1000;
    let second = 0;
    const intervalTimer = setInterval(() => {
      second += 1;
      const point = recorder.closeInterval(second);
      hooks.onInterval?.(point, recorder, subscribers?.connected() ?? 0);
    }, 1000);

    let notSent = 0;
    const inFlight = new Set<Promise<void>>();
    const track = (promise: Promise<void>) => {
      inFlight.add(promise);
      void promise.finally(() => inFlight.delete(promise));
    };
    if (options.ratePerSecond > 0) {
      notSent = await openLoop(options, startMs, endMs, sendOne, track, () => inFlight.size);
    } else {
      await Promise.all(
        Array.from({ length: options.concurrency }, async () => {
          while (nowMs() < endMs) await sendOne(nowMs());
        }),
      );
    }
    await Promise.race([Promise.all([...inFlight]), new Promise((resolve) => setTimeout(resolve, drainTimeoutMs))]);
    clearInterval(intervalTimer);
    const elapsedSeconds = Math.max(0.001, (nowMs() - startMs) / 1000);
    if (recorder.timeline.length < Math.ceil(elapsedSeconds)) recorder.closeInterval(second + 1);
    // Let the last market-data messages arrive before closing the sockets.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const subscribersConnected = subscribers?.connected() ?? 0;
    await subscribers?.close();

    const solvency = await readSolvency(client);
    const conservation = solvency.engineBalanced === null ? 'UNKNOWN' : solvency.engineBalanced && solvency.projectionBalanced !== false ? 'PASS' : 'FAIL';
    const byKind: LoadtestResult['byKind'] = {};
    for (const [kind, histogram] of Object.entries(recorder.byKind)) {
      if (histogram.totalCount > 0) byKind[kind] = { ...summarize(histogram), distribution: distribution(histogram) };
    }
    const { adminToken: _adminToken, ...publicOptions } = options;
    return {
      tool: 'bourse-loadtest',
      version: 1,
      startedAt,
      url: options.url,
      options: publicOptions,
      mode: options.ratePerSecond > 0 ? 'open' : 'closed',
      coordinatedOmissionCorrected: options.ratePerSecond > 0,
      durationSeconds: Math.round(elapsedSeconds * 1000) / 1000,
      markets: markets.map((market) => market.symbol),
      requests: { sent: recorder.sent, ok: recorder.ok, errors: recorder.errors, notSent },
      throughputPerSecond: Math.round((recorder.ok / Math.min(elapsedSeconds, options.durationSeconds)) * 10) / 10,
      latencyMs: summarize(recorder.overall),
      serviceTimeMs: summarize(recorder.serviceTime),
      latencyDistribution: distribution(recorder.overall),
      byKind,
      errorsByCode: Object.fromEntries([...recorder.errorsByCode.entries()].sort()),
      marketData: {
        subscribers: options.subscribers,
        subscribersConnected,
        messages: recorder.marketDataMessages,
        latencyMs: summarize(recorder.marketData),
        distribution: distribution(recorder.marketData),
      },
      timeline: recorder.timeline,
      solvency,
      conservation,
    };
  } finally {
    await client.close();
  }
}

function pickKind(options: LoadtestOptions, random: SeededRandom): OrderKind {
  const draw = random.next() * 100;
  if (draw < options.mix.limit) return 'limit';
  if (draw < options.mix.limit + options.mix.market) return 'market';
  return 'cancel';
}

/** Sends request i at startMs + i / rate; returns how many could not even be queued. */
async function openLoop(
  options: LoadtestOptions,
  startMs: number,
  endMs: number,
  sendOne: (intendedMs: number) => Promise<void>,
  track: (promise: Promise<void>) => void,
  inFlightCount: () => number,
): Promise<number> {
  const intervalMs = 1000 / options.ratePerSecond;
  const pending: number[] = [];
  let pendingHead = 0;
  let index = 0;
  let notSent = 0;
  const dispatch = (intendedMs: number) => {
    const promise = sendOne(intendedMs).finally(() => {
      if (pendingHead < pending.length) dispatch(pending[pendingHead++]);
    });
    track(promise);
  };
  while (true) {
    const current = nowMs();
    if (current >= endMs) break;
    const due = Math.min(Math.floor((current - startMs) / intervalMs) + 1, Math.ceil(((endMs - startMs) / 1000) * options.ratePerSecond));
    while (index < due) {
      const intendedMs = startMs + index * intervalMs;
      index += 1;
      if (inFlightCount() < options.concurrency && pendingHead === pending.length) dispatch(intendedMs);
      else if (pending.length - pendingHead < pendingQueueMax) pending.push(intendedMs);
      else notSent += 1;
    }
    await new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.min(5, intervalMs))));
  }
  // Requests still queued at the end are not sent: they would only measure the backlog.
  notSent += pending.length - pendingHead;
  pending.length = 0;
  pendingHead = 0;
  return notSent;
}

async function placeOrder(client: ExchangeClient, user: TradingUser, market: MarketPlan, kind: OrderKind, random: SeededRandom, clientOrderId: string) {
  const side = random.chance(0.5) ? 'BUY' : 'SELL';
  const lots = market.orderLots * random.integer(1, 3);
  const parameters: Record<string, string> = { symbol: market.symbol, side, quantity: multipleOf(lots, market.stepSize), newClientOrderId: clientOrderId, newOrderRespType: 'RESULT' };
  if (kind === 'limit') {
    // Limit orders rest on their own side of the reference price (buys below, sells above),
    // so they make the book and mostly live until a cancel or a market order takes them;
    // a few in ten cross, so limit orders trade with each other too.
    const spreadTicks = Math.max(2, Math.round(market.referencePriceTicks * priceSpreadFraction));
    const offsetTicks = random.integer(-Math.floor(spreadTicks / 5), spreadTicks);
    const priceTicks = Math.max(1, market.referencePriceTicks + (side === 'BUY' ? -offsetTicks : offsetTicks));
    Object.assign(parameters, { type: 'LIMIT', timeInForce: 'GTC', price: multipleOf(priceTicks, market.tickSize) });
  } else {
    parameters.type = 'MARKET';
  }
  return client.signed('POST', '/api/v3/order', parameters, user);
}

function cancelOrder(client: ExchangeClient, user: TradingUser, order: OpenOrder) {
  return client.signed('DELETE', '/api/v3/order', { symbol: order.symbol, orderId: String(order.orderId) }, user);
}

/** The solvency report; a lagging projection gets a few seconds to catch up. */
async function readSolvency(client: ExchangeClient): Promise<LoadtestResult['solvency']> {
  let report: SolvencyReport | null = null;
  for (let attempt = 0; attempt < 10; attempt++) {
    try {
      report = await client.admin<SolvencyReport>('GET', '/solvency');
    } catch {
      report = null;
    }
    const projectionBalanced = report?.projection ? report.projection.every((row) => row.balanced) : null;
    if (report && report.balanced && projectionBalanced !== false) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  if (!report) return { checked: false, engineBalanced: null, projectionBalanced: null, assets: null };
  return {
    checked: true,
    engineBalanced: report.balanced,
    projectionBalanced: report.projection ? report.projection.every((row) => row.balanced) : null,
    assets: { engine: report.engine, projection: report.projection },
  };
}
