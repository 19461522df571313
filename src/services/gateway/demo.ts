// Demo data and the built-in simulation of the embedded mode. Seeding is idempotent: it
// adds what is missing (assets, markets, two demo users, their keys and funds, each deposit
// keyed by a fixed transferId), so it is safe on every start. The simulation is a seeded
// market maker plus random takers that trade through the command bus like any client.
import { addAsset, addMarket, cancelAllOrders, placeOrder, transfer } from '../../domain/command.ts';
import { CommandType, OrderType, Side, TimeInForce } from '../../domain/codes.ts';
import { parseDecimal } from '../../domain/units.ts';
import { SeededRandom } from '../../lib/prng.ts';
import type { Logger } from '../../adapters/logger.ts';
import type { CommandBus, EngineReads } from '../contracts.ts';
import type { SqlAccountStore } from './accounts.ts';
import { marketSpecFromDecimals, MarketUnits, type MarketSpecInput } from './market-units.ts';

export const demoAssets = [
  { code: 'BTC', scale: 8 },
  { code: 'ETH', scale: 8 },
  { code: 'USDT', scale: 6 },
];

/** Binance-like rules; ETHBTC's step is 0.001 so that tick x step is a whole BTC atom. */
export const demoMarkets: MarketSpecInput[] = [
  { symbol: 'BTCUSDT', baseAsset: 'BTC', quoteAsset: 'USDT', tickSize: '0.01', stepSize: '0.0001', minQty: '0.0001', maxQty: '1000', marketMaxQty: '100', maxPrice: '1000000', minNotional: '5', makerFeeBps: 10, takerFeeBps: 10 },
  { symbol: 'ETHUSDT', baseAsset: 'ETH', quoteAsset: 'USDT', tickSize: '0.01', stepSize: '0.0001', minQty: '0.0001', maxQty: '10000', marketMaxQty: '1000', maxPrice: '100000', minNotional: '5', makerFeeBps: 10, takerFeeBps: 10 },
  { symbol: 'ETHBTC', baseAsset: 'ETH', quoteAsset: 'BTC', tickSize: '0.00001', stepSize: '0.001', minQty: '0.001', maxQty: '100000', marketMaxQty: '10000', maxPrice: '100', minNotional: '0.0001', makerFeeBps: 10, takerFeeBps: 10 },
];

export const demoFunds: Record<string, string> = { BTC: '10', ETH: '100', USDT: '1000000' };

export interface DemoUser {
  userId: number;
  email: string;
  apiKey: string;
  secret: string;
}

async function submitChecked(commands: CommandBus, command: Parameters<CommandBus['submit']>[0], what: string): Promise<void> {
  const result = await commands.submit(command, 30_000);
  const rejected = result.events.find((event) => event.type === 'CommandRejected' || event.type === 'OrderRejected');
  if (rejected) throw new Error(`seeding ${what} was rejected (reason ${rejected.reason})`);
}

/** Adds the demo assets and markets that are missing. */
export async function seedMarkets(commands: CommandBus, reads: EngineReads): Promise<void> {
  for (const asset of demoAssets) {
    if (!reads.assets().some((existing) => existing.code === asset.code)) await submitChecked(commands, addAsset(asset.code, asset.scale), `asset ${asset.code}`);
  }
  for (const input of demoMarkets) {
    if (reads.marketBySymbol(input.symbol)) continue;
    const assets = reads.assets();
    const spec = marketSpecFromDecimals(input, assets.find((asset) => asset.code === input.baseAsset)!, assets.find((asset) => asset.code === input.quoteAsset)!);
    if (typeof spec === 'string') throw new Error(`demo market ${input.symbol}: ${spec}`);
    await submitChecked(commands, addMarket(spec), `market ${input.symbol}`);
  }
}

/** Creates (or finds) a user, makes sure it has a key (the configured one when given) and its funds. */
export async function seedUser(
  commands: CommandBus,
  reads: EngineReads,
  accounts: SqlAccountStore,
  email: string,
  configuredKey: { apiKey: string | null; secret: string | null },
  funds: Record<string, string>,
): Promise<DemoUser> {
  const user = (await accounts.userByEmail(email)) ?? (await accounts.createUser(email));
  let key = configuredKey.apiKey ? await accounts.apiKey(configuredKey.apiKey) : null;
  if (configuredKey.apiKey && configuredKey.secret && !key) {
    key = await accounts.issueApiKey(user.userId, ['read', 'trade'], { apiKey: configuredKey.apiKey, secret: configuredKey.secret });
  }
  if (!key) {
    const existing = (await accounts.apiKeysOf(user.userId)).find((candidate) => !candidate.revoked);
    key = existing ? await accounts.apiKey(existing.apiKey) : await accounts.issueApiKey(user.userId, ['read', 'trade']);
  }
  if (key!.accountId !== user.userId) throw new Error(`the configured API key for ${email} belongs to another user`);
  for (const [code, amount] of Object.entries(funds)) {
    const asset = reads.assets().find((candidate) => candidate.code === code);
    if (!asset) continue;
    const atoms = parseDecimal(amount, asset.scale)!;
    const result = await commands.submit(transfer(CommandType.Deposit, `seed:${user.userId}:${code}`, user.userId, code, atoms), 30_000);
    const rejected = result.events.find((event) => event.type === 'CommandRejected');
    if (rejected) throw new Error(`seed deposit for ${email} rejected (reason ${rejected.reason})`);
  }
  return { userId: user.userId, email, apiKey: key!.apiKey, secret: key!.secret };
}

export async function seedDemo(
  commands: CommandBus,
  reads: EngineReads,
  accounts: SqlAccountStore,
  configuredKeys: { apiKey: string | null; secret: string | null }[],
): Promise<DemoUser[]> {
  await seedMarkets(commands, reads);
  const users: DemoUser[] = [];
  for (const [index, email] of ['demo1@bourse.local', 'demo2@bourse.local'].entries()) {
    users.push(await seedUser(commands, reads, accounts, email, configuredKeys[index] ?? { apiKey: null, secret: null }, demoFunds));
  }
  return users;
}

/** Reference prices the simulation starts from (decimal strings, per market). */
const simulationMidPrices: Record<string, string> = { BTCUSDT: '65000', ETHUSDT: '3200', ETHBTC: '0.05' };
export const simulationLimits = {
  /** Price levels the maker quotes on each side. */
  levelsPerSide: 5,
  /** Time between two simulation rounds. */
  roundIntervalMs: 500,
};

export interface Simulation {
  stop(): Promise<void>;
}

/**
 * A seeded market maker and random takers on every demo market. Each round the maker
 * cancels and re-quotes a ladder around a random-walking mid price; a taker sends a small
 * market or IOC order. Same seed, same order stream (given the same book).
 */
export async function startSimulation(commands: CommandBus, reads: EngineReads, accounts: SqlAccountStore, seed: number, logger: Logger): Promise<Simulation> {
  const random = new SeededRandom(seed);
  const bigFunds = { BTC: '1000', ETH: '10000', USDT: '100000000' };
  const maker = await seedUser(commands, reads, accounts, 'maker@simulation.bourse.local', { apiKey: null, secret: null }, bigFunds);
  const taker = await seedUser(commands, reads, accounts, 'taker@simulation.bourse.local', { apiKey: null, secret: null }, bigFunds);
  const mids = new Map<string, number>();
  let stopped = false;
  let round: Promise<void> = Promise.resolve();

  const runRound = async (): Promise<void> => {
    for (const market of reads.markets()) {
      const symbol = market.spec.symbol;
      const assets = reads.assets();
      const units = new MarketUnits(market, assets.find((asset) => asset.assetId === market.baseAssetId)!, assets.find((asset) => asset.assetId === market.quoteAssetId)!);
      if (!mids.has(symbol)) {
        const start = units.priceTicks(simulationMidPrices[symbol] ?? '1');
        mids.set(symbol, typeof start === 'number' ? start : 100);
      }
      const mid = Math.max(10, Math.round(mids.get(symbol)! * (1 + (random.next() - 0.5) * 0.002)));
      mids.set(symbol, mid);
      const spreadTicks = Math.max(1, Math.round(mid * 0.0005));
      if (reads.openOrders(maker.userId, market.marketId).length > 0) await commands.submit(cancelAllOrders(maker.userId, market.marketId));
      // Enough lots that every quote clears the minimum notional.
      const minimumLots = Math.max(market.spec.minQuantityLots, Math.ceil((market.spec.minNotionalAtoms * 1.5) / Math.max(1, mid * market.spec.quoteAtomsPerTickLot)));
      for (let level = 1; level <= simulationLimits.levelsPerSide; level++) {
        for (const side of [Side.Buy, Side.Sell] as const) {
          const priceTicks = side === Side.Buy ? mid - spreadTicks * level : mid + spreadTicks * level;
          if (priceTicks <= 0 || priceTicks > market.spec.maxPriceTicks) continue;
          const quantityLots = minimumLots * random.integer(1, 5);
          await commands.submit(placeOrder({ accountId: maker.userId, marketId: market.marketId, side, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC, priceTicks, quantityLots }));
        }
      }
      if (random.chance(0.7)) {
        await commands.submit(
          placeOrder({ accountId: taker.userId, marketId: market.marketId, side: random.chance(0.5) ? Side.Buy : Side.Sell, orderType: OrderType.Market, quantityLots: minimumLots * random.integer(1, 3) }),
        );
      }
    }
  };

  const timer = setInterval(() => {
    if (stopped) return;
    round = round.then(runRound).catch((error: unknown) => logger.warn({ err: error }, 'simulation round failed'));
  }, simulationLimits.roundIntervalMs);
  logger.info({ seed }, 'simulation started');
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await round;
    },
  };
}
