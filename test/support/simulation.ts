// The seeded simulation: a generator of random but plausible command sequences over three
// markets and several accounts (good and bad orders of every type, STP modes, cancels,
// amends, transfers with retries and conflicts, halts, fee changes), and a runner that
// executes them on the engine under test and, in lockstep, on the reference engine,
// comparing every event, checking the invariants after every command, and finally
// checking that snapshot + restore + replay reproduces the same events and state hash.
// Every failure message starts with the seed that reproduces it.
import {
  addAsset,
  addMarket,
  amendOrder,
  cancelAllOrders,
  cancelOrder,
  Command,
  marketCommand,
  placeOrder,
  setAccountStp,
  setFees,
  transfer,
} from '../../src/domain/command.ts';
import { test } from 'node:test';
import { CommandType, EventType, OrderType, Side, StpMode, TimeInForce, type TimeInForce as TimeInForceValue } from '../../src/domain/codes.ts';
import { decodeEvents, EventBuffer, eventPayloadSlots, fieldIndex } from '../../src/domain/events.ts';
import type { MarketSpec } from '../../src/domain/market.ts';
import { SeededRandom } from '../../src/lib/prng.ts';
import type { EngineLimits, MatchingEngine, OrderView } from '../../src/engine/types.ts';
import { type EngineFactory, fastFactory, referenceFactory } from './engines.ts';
import { InvariantChecker } from './invariants.ts';

const accountsMax = 6;
const assetCodes = ['BTC', 'ETH', 'USDT', 'XRP'];

interface GeneratorMarket {
  marketId: number;
  spec: MarketSpec;
  midTicks: number;
}

/** What the generator remembers to make retries, conflicts and targeted cancels. */
interface GeneratorMemory {
  markets: GeneratorMarket[];
  halted: Set<number>;
  deposits: Command[];
  withdrawals: { command: Command; state: 'pending' | 'completed' | 'canceled' }[];
  placed: Command[];
  transferCounter: number;
  clientOrderCounter: number;
}

function randomSpec(random: SeededRandom, symbol: string, baseAsset: string, quoteAsset: string): MarketSpec {
  const maxQuantityLots = random.pick([20, 40, 60]);
  return {
    symbol,
    baseAsset,
    quoteAsset,
    lotAtoms: random.pick([1, 100, 1000]),
    quoteAtomsPerTickLot: random.pick([1, 3, 7, 10]),
    maxPriceTicks: random.pick([1200, 5000]),
    minQuantityLots: random.pick([1, 1, 2]),
    maxQuantityLots,
    marketMaxQuantityLots: random.pick([maxQuantityLots - 5, maxQuantityLots + 10]),
    minNotionalAtoms: random.pick([100, 1000, 3000]),
    makerFeeBps: random.pick([0, 2, 10, 25]),
    takerFeeBps: random.pick([0, 5, 20, 33]),
  };
}

export function randomLimits(random: SeededRandom): EngineLimits {
  return {
    assetsMax: random.pick([4, 1024]),
    marketsMax: random.pick([3, 1024]),
    openOrdersPerAccountMax: random.pick([4, 12, 10_000]),
    clientOrderIdWindow: random.pick([1, 3, 20, 100_000]),
    depthLevelsMax: random.pick([2, 5, 5000]),
  };
}

/** The commands that set up assets, three markets and funded accounts. */
function setupCommands(random: SeededRandom, memory: GeneratorMemory): Command[] {
  const commands: Command[] = [];
  commands.push(addAsset('BTC', 8), addAsset('ETH', 8), addAsset('USDT', 6), addAsset('XRP', 4));
  commands.push(addMarket(randomSpec(random, 'BTCUSDT', 'BTC', 'USDT')));
  commands.push(addMarket(randomSpec(random, 'ETHUSDT', 'ETH', 'USDT')));
  commands.push(addMarket(randomSpec(random, 'ETHBTC', 'ETH', 'BTC')));
  for (let accountId = 1; accountId <= accountsMax; accountId++) {
    for (const asset of ['BTC', 'ETH', 'USDT', 'XRP']) commands.push(depositCommand(random, memory, accountId, asset));
  }
  return commands;
}

function depositCommand(random: SeededRandom, memory: GeneratorMemory, accountId: number, asset: string): Command {
  memory.transferCounter += 1;
  const command = transfer(CommandType.Deposit, `dep-${memory.transferCounter}`, accountId, asset, random.integer(50_000, 3_000_000));
  memory.deposits.push(command);
  return command;
}

function copyCommand(command: Command): Command {
  return Object.assign(Object.create(Object.getPrototypeOf(command) as object) as Command, command);
}

function randomStp(random: SeededRandom): StpMode {
  return random.chance(0.6) ? StpMode.AccountDefault : (random.integer(1, 4) as StpMode);
}

/** A well-formed PlaceOrder (it may still fail for funds, crossing or limits). */
function goodOrder(random: SeededRandom, memory: GeneratorMemory): Command {
  const market = random.pick(memory.markets);
  const spec = market.spec;
  if (random.chance(0.02)) market.midTicks = Math.min(spec.maxPriceTicks - 20, Math.max(20, market.midTicks + random.integer(-3, 3)));
  const side = random.chance(0.5) ? Side.Buy : Side.Sell;
  const accountId = random.integer(1, accountsMax);
  const roll = random.next();
  const quantityLots = random.integer(spec.minQuantityLots, Math.min(spec.maxQuantityLots, spec.marketMaxQuantityLots, 15));
  const priceTicks = market.midTicks + random.integer(-6, 6);
  let clientOrderId = '';
  if (random.chance(0.3)) {
    // A small pool per account so ids collide with open and recently closed orders.
    clientOrderId = random.chance(0.5) ? `c-${random.integer(1, 12)}` : `u-${++memory.clientOrderCounter}`;
  }
  const stpMode = randomStp(random);
  const base = { accountId, marketId: market.marketId, side, stpMode, clientOrderId };
  if (roll < 0.6) {
    const timeInForce = random.pick([TimeInForce.GTC, TimeInForce.GTC, TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK]) as TimeInForceValue;
    return placeOrder({ ...base, orderType: OrderType.Limit, timeInForce, priceTicks, quantityLots });
  }
  if (roll < 0.75) {
    // Post-only orders a little away from the middle, so most rest.
    const away = side === Side.Buy ? -random.integer(0, 5) : random.integer(0, 5);
    return placeOrder({ ...base, orderType: OrderType.LimitMaker, priceTicks: market.midTicks + away, quantityLots });
  }
  if (roll < 0.87) return placeOrder({ ...base, orderType: OrderType.Market, quantityLots });
  const quoteAmountAtoms = Math.max(1, Math.round(market.midTicks * spec.quoteAtomsPerTickLot * random.integer(1, 12) * (0.5 + random.next())));
  return placeOrder({ ...base, orderType: OrderType.Market, quoteAmountAtoms });
}

/** A PlaceOrder with exactly one thing wrong. */
function badOrder(random: SeededRandom, memory: GeneratorMemory): Command {
  const command = goodOrder(random, memory);
  const spec = memory.markets.find((market) => market.marketId === command.marketId)!.spec;
  const isMarket = command.orderType === OrderType.Market;
  switch (random.integer(0, 17)) {
    case 0: command.accountId = random.pick([0, -1, 1.5, 2 ** 53]); break;
    case 1: command.marketId = random.pick([0, 99, -1]); break;
    case 2: (command as { side: number }).side = random.pick([0, 3]); break;
    case 3: (command as { orderType: number }).orderType = random.pick([0, 4]); break;
    case 4: (command as { timeInForce: number }).timeInForce = isMarket ? TimeInForce.GTC : random.pick([0, 4]); break;
    case 5: (command as { stpMode: number }).stpMode = random.pick([5, -1]); break;
    case 6: command.priceTicks = isMarket ? 100 : random.pick([0, -5, 100.5, 2 ** 53 + 2, spec.maxPriceTicks + 1]); break;
    case 7: command.quantityLots = isMarket && command.quoteAmountAtoms !== 0 ? 0 : random.pick([0, -3, 2.5, 2 ** 60]); break;
    case 8: command.quantityLots = isMarket && command.quoteAmountAtoms !== 0 ? 0 : spec.minQuantityLots - 1 || 0; break;
    case 9: command.quantityLots = isMarket ? spec.marketMaxQuantityLots + 1 : spec.maxQuantityLots + 1; command.quoteAmountAtoms = 0; break;
    case 10: command.quoteAmountAtoms = isMarket && command.quoteAmountAtoms !== 0 ? random.pick([-1, 1.5, 2 ** 54]) : 50; break;
    case 11:
      // Both or neither of quantity and quote amount on a MARKET; a quote amount on a LIMIT.
      if (isMarket && random.chance(0.5)) { command.quantityLots = 3; command.quoteAmountAtoms = 500; } else if (isMarket) { command.quantityLots = 0; command.quoteAmountAtoms = 0; } else command.quoteAmountAtoms = 10;
      break;
    case 12: command.clientOrderId = random.pick(['bad id', 'x'.repeat(37), 'é']); break;
    case 13:
      // Below the minimum notional: the cheapest price for the minimum quantity.
      if (!isMarket) { command.priceTicks = 1; command.quantityLots = spec.minQuantityLots; } else if (command.quoteAmountAtoms !== 0) command.quoteAmountAtoms = spec.minNotionalAtoms - 1;
      break;
    case 14: command.accountId = random.integer(accountsMax + 1, accountsMax + 3); break; // No funds at all.
    case 15: command.quantityLots = Math.min(spec.maxQuantityLots, spec.marketMaxQuantityLots); command.quoteAmountAtoms = 0; break; // Large: funds may not suffice.
    case 16: (command as { orderType: number }).orderType = OrderType.LimitMaker; (command as { timeInForce: number }).timeInForce = 0; if (isMarket) { command.priceTicks = 1000; command.quantityLots = command.quantityLots || 2; command.quoteAmountAtoms = 0; } break;
    default: command.priceTicks = isMarket ? 0 : Number.MAX_SAFE_INTEGER; break;
  }
  return command;
}

function openOrdersOf(engine: MatchingEngine, memory: GeneratorMemory): OrderView[] {
  const orders: OrderView[] = [];
  for (const market of memory.markets) {
    for (const side of [Side.Buy, Side.Sell] as const) orders.push(...engine.bookOrders(market.marketId, side));
  }
  return orders;
}

function cancelCommand(random: SeededRandom, engine: MatchingEngine, memory: GeneratorMemory): Command {
  const orders = openOrdersOf(engine, memory);
  const market = random.pick(memory.markets);
  if (orders.length === 0 || random.chance(0.1)) {
    // Unknown order, another account's order, the wrong market or a bad account.
    const target = orders.length > 0 ? random.pick(orders) : null;
    switch (random.integer(0, 4)) {
      case 0: return cancelOrder(random.integer(1, accountsMax), market.marketId, random.integer(1, 10_000));
      case 1: return target ? cancelOrder((target.accountId % accountsMax) + 1, target.marketId, target.orderId) : cancelOrder(1, 1, 1);
      case 2: return target ? cancelOrder(target.accountId, (target.marketId % 3) + 1, target.orderId) : cancelOrder(1, 2, 2);
      case 3: return cancelOrder(random.pick([0, -2]), market.marketId, target?.orderId ?? 1);
      default: return cancelOrder(random.integer(1, accountsMax), random.pick([0, 77]), target?.orderId ?? 1);
    }
  }
  const target = random.pick(orders);
  if (target.clientOrderId !== '' && random.chance(0.4)) return cancelOrder(target.accountId, target.marketId, 0, target.clientOrderId);
  return cancelOrder(target.accountId, target.marketId, target.orderId);
}

function amendCommand(random: SeededRandom, engine: MatchingEngine, memory: GeneratorMemory): Command {
  const orders = openOrdersOf(engine, memory);
  if (orders.length === 0) return amendOrder(1, 1, random.integer(1, 1000), 1);
  const target = random.pick(orders);
  const valid = target.quantityLots - target.filledLots > 1 && random.chance(0.75);
  const quantity = valid
    ? random.integer(target.filledLots + 1, target.quantityLots - 1)
    : random.pick([target.quantityLots, target.filledLots, 0, target.quantityLots + 1, target.filledLots + 0.5]);
  if (target.clientOrderId !== '' && random.chance(0.3)) return amendOrder(target.accountId, target.marketId, 0, quantity, target.clientOrderId);
  const accountId = random.chance(0.05) ? (target.accountId % accountsMax) + 1 : target.accountId;
  return amendOrder(accountId, target.marketId, target.orderId, quantity);
}

function transferCommand(random: SeededRandom, engine: MatchingEngine, memory: GeneratorMemory): Command {
  const roll = random.next();
  if (roll < 0.35) {
    const variant = random.integer(0, 19);
    if (variant === 0 && memory.deposits.length > 0) return copyCommand(random.pick(memory.deposits)); // Retry: CommandDuplicate.
    if (variant === 1 && memory.deposits.length > 0) {
      const conflict = copyCommand(random.pick(memory.deposits));
      conflict.amountAtoms += 1;
      return conflict;
    }
    const command = depositCommand(random, memory, random.integer(1, accountsMax), random.pick(['BTC', 'ETH', 'USDT', 'XRP']));
    if (variant === 2) command.accountId = 0;
    if (variant === 3) command.asset = 'NOPE';
    if (variant === 4) command.amountAtoms = random.pick([0, -5, 1.5]);
    if (variant === 5) command.transferId = random.pick(['', 'has space', 'y'.repeat(65)]);
    if (variant === 6) command.amountAtoms = Number.MAX_SAFE_INTEGER;
    return command;
  }
  if (roll < 0.65) {
    const variant = random.integer(0, 19);
    if (variant === 0 && memory.withdrawals.length > 0) return copyCommand(random.pick(memory.withdrawals).command);
    if (variant === 1 && memory.deposits.length > 0) {
      const reuse = copyCommand(random.pick(memory.deposits));
      reuse.type = CommandType.WithdrawRequest;
      return reuse; // Same id as a deposit: TRANSFER_ID_CONFLICT.
    }
    const accountId = random.chance(0.15) ? 0 : random.integer(1, accountsMax);
    const asset = random.pick(['BTC', 'ETH', 'USDT']);
    const assetId = engine.assetIdOf(asset);
    const available = engine.balance(accountId, assetId).availableAtoms;
    const amount = random.chance(0.85) && available > 0 ? random.integer(1, available) : available + random.integer(1, 1000);
    memory.transferCounter += 1;
    const command = transfer(CommandType.WithdrawRequest, `wd-${memory.transferCounter}`, accountId, asset, amount);
    if (variant === 2) command.accountId = -1;
    memory.withdrawals.push({ command, state: 'pending' });
    return command;
  }
  const type = roll < 0.85 ? CommandType.WithdrawComplete : CommandType.WithdrawCancel;
  const pending = memory.withdrawals.filter((withdrawal) => withdrawal.state === 'pending');
  const variant = random.integer(0, 9);
  let transferId: string;
  if (variant === 0) transferId = `unknown-${random.integer(1, 100)}`;
  else if (variant === 1 && memory.deposits.length > 0) transferId = random.pick(memory.deposits).transferId;
  else if ((variant === 2 || pending.length === 0) && memory.withdrawals.length > 0) transferId = random.pick(memory.withdrawals).command.transferId;
  else if (pending.length > 0) {
    const chosen = random.pick(pending);
    chosen.state = type === CommandType.WithdrawComplete ? 'completed' : 'canceled';
    transferId = chosen.command.transferId;
  } else transferId = 'none';
  return transfer(type, transferId, random.chance(0.5) ? 0 : random.integer(1, accountsMax));
}

function adminCommand(random: SeededRandom, memory: GeneratorMemory): Command {
  const market = random.pick(memory.markets);
  const roll = random.next();
  if (roll < 0.25) {
    if (memory.halted.has(market.marketId) || random.chance(0.2)) {
      memory.halted.delete(market.marketId);
      return marketCommand(CommandType.ResumeMarket, random.chance(0.05) ? 42 : market.marketId);
    }
    memory.halted.add(market.marketId);
    return marketCommand(CommandType.HaltMarket, market.marketId);
  }
  if (roll < 0.5) {
    const bad = random.chance(0.1);
    return setFees(
      random.chance(0.05) ? 42 : market.marketId,
      bad ? random.pick([-1, 1001, 2.5]) : random.pick([0, 1, 10, 25, 100]),
      random.chance(0.05) ? 1000 : random.pick([0, 3, 20, 33]),
    );
  }
  if (roll < 0.8) {
    return setAccountStp(random.chance(0.05) ? 0 : random.integer(1, accountsMax), random.chance(0.1) ? (random.pick([0, 5]) as StpMode) : (random.integer(1, 4) as StpMode));
  }
  if (roll < 0.9) {
    const spec = randomSpec(random, random.pick(['XRPUSDT', 'BTCUSDT', 'XRPBTC', 'A', 'ETHXRP']), random.pick(assetCodes), random.pick([...assetCodes, 'NOPE']));
    if (random.chance(0.3)) spec.minQuantityLots = spec.maxQuantityLots + 1;
    return addMarket(spec);
  }
  if (roll < 0.97) return addAsset(random.pick(['BTC', 'DOGE', 'bad', 'SOL']), random.pick([2, 8, 19]));
  // A command type no engine knows.
  return new Command(random.pick([0, 15, 99]) as CommandType);
}

/** One random command, most of them well formed. */
function nextCommand(random: SeededRandom, engine: MatchingEngine, memory: GeneratorMemory): Command {
  if (memory.halted.size > 0 && random.chance(0.08)) {
    // Halts are short: most of the time every market trades.
    const marketId = [...memory.halted][0]!;
    memory.halted.delete(marketId);
    return marketCommand(CommandType.ResumeMarket, marketId);
  }
  const roll = random.next();
  if (roll < 0.55) {
    const command = goodOrder(random, memory);
    memory.placed.push(command);
    if (memory.placed.length > 50) memory.placed.shift();
    return command;
  }
  if (roll < 0.6 && memory.placed.length > 0) {
    // A retry of a recent PlaceOrder, or the same clientOrderId with other parameters.
    const retry = copyCommand(random.pick(memory.placed));
    if (retry.clientOrderId === '') retry.clientOrderId = `c-${random.integer(1, 12)}`;
    if (random.chance(0.3)) retry.quantityLots += 1;
    return retry;
  }
  if (roll < 0.68) return badOrder(random, memory);
  if (roll < 0.8) return cancelCommand(random, engine, memory);
  if (roll < 0.81) {
    const market = random.pick(memory.markets);
    return cancelAllOrders(random.chance(0.05) ? 0 : random.integer(1, accountsMax), random.chance(0.05) ? 9 : market.marketId);
  }
  if (roll < 0.86) return amendCommand(random, engine, memory);
  if (roll < 0.96) return transferCommand(random, engine, memory);
  return adminCommand(random, memory);
}

// ---- The runner ------------------------------------------------------------------------

/** Events of one command, copied out of the reused buffer. */
type RecordedEvents = EventBuffer;

function record(buffer: EventBuffer): RecordedEvents {
  return buffer.clone();
}

function sameNumber(x: number, y: number): boolean {
  return x === y || (Number.isNaN(x) && Number.isNaN(y));
}

/** Every event's type, header, every payload field of its type, and its strings are equal. */
function sameEvents(a: EventBuffer, b: EventBuffer): boolean {
  const length = a.length;
  if (length !== b.length) return false;
  for (let index = 0; index < length; index++) {
    const type = a.type(index);
    if (type !== b.type(index)) return false;
    if (!sameNumber(a.commandSequence(index), b.commandSequence(index))) return false;
    if (!sameNumber(a.eventSequence(index), b.eventSequence(index))) return false;
    if (!sameNumber(a.timestampMs(index), b.timestampMs(index))) return false;
    for (let field = 0; field < eventPayloadSlots(type); field++) {
      if (!sameNumber(a.field(index, field), b.field(index, field))) return false;
    }
    if ((a.strings0[index] ?? '') !== (b.strings0[index] ?? '')) return false;
    if ((a.strings1[index] ?? '') !== (b.strings1[index] ?? '')) return false;
  }
  return true;
}

function describeBuffer(buffer: EventBuffer): string {
  return decodeEvents(buffer)
    .map((event) => JSON.stringify(event))
    .join('\n    ');
}

function describeCommand(command: Command): string {
  const fields = Object.entries(command).filter(([, value]) => value !== 0 && value !== '' && value !== null);
  return JSON.stringify(Object.fromEntries(fields));
}

export interface SimulationResult {
  commands: number;
  events: number;
  trades: number;
  stateHash: string;
}

const tradeQuantityIndex = fieldIndex(EventType.TradeExecuted, 'quantityLots');
/** How often the lockstep run compares whole-state hashes (events are compared every command). */
const hashCompareEveryCommands = 500;

/**
 * Runs one seed: `commandCount` random commands after the setup, on `engineFactory`, with
 * `referenceFactory` in lockstep when given. Throws an Error whose message starts with
 * `seed <n>` on the first divergence or invariant violation.
 */
export function runSimulation(seed: number, commandCount: number, engineFactory: EngineFactory, referenceFactory: EngineFactory | null): SimulationResult {
  const random = new SeededRandom(seed);
  const limits = randomLimits(random);
  const engine = engineFactory.create(limits);
  const reference = referenceFactory ? referenceFactory.create(limits) : null;
  const checker = new InvariantChecker(engine);
  const memory: GeneratorMemory = {
    markets: [], halted: new Set(), deposits: [], withdrawals: [], placed: [], transferCounter: 0, clientOrderCounter: 0,
  };
  const buffer = new EventBuffer(256);
  const referenceBuffer = new EventBuffer(256);
  const snapshotAt = random.integer(0, commandCount);
  let snapshot: Uint8Array | null = null;
  let snapshotHash = '';
  const afterSnapshot: { command: Command; events: RecordedEvents }[] = [];
  let sequence = 0;
  let timestampMs = 1_700_000_000_000;
  let eventCount = 0;
  let tradeCount = 0;
  const fail = (what: string, command: Command | null, detail = ''): never => {
    const where = command ? ` at command #${command.sequence} ${describeCommand(command)}` : '';
    throw new Error(`seed ${seed} (${engineFactory.name}): ${what}${where}${detail ? `\n  ${detail}` : ''}\n  reproduce: SIM_SEED=${seed} SIM_COMMANDS=${commandCount} npm test -- test/simulation`);
  };

  const execute = (command: Command): void => {
    sequence += 1;
    timestampMs += random.integer(0, 3);
    command.sequence = sequence;
    command.timestampMs = timestampMs;
    buffer.clear();
    try {
      engine.execute(command, buffer);
    } catch (error) {
      fail(`engine threw ${(error as Error).stack}`, command);
    }
    if (reference) {
      referenceBuffer.clear();
      reference.execute(command, referenceBuffer);
      if (!sameEvents(buffer, referenceBuffer)) {
        fail('events differ from the reference engine', command, `engine:\n    ${describeBuffer(buffer)}\n  reference:\n    ${describeBuffer(referenceBuffer)}`);
      }
    }
    try {
      checker.afterCommand(buffer);
    } catch (error) {
      fail(`invariant broken: ${(error as Error).message}`, command, `events:\n    ${describeBuffer(buffer)}`);
    }
    eventCount += buffer.length;
    for (let index = 0; index < buffer.length; index++) {
      if (buffer.type(index) === EventType.TradeExecuted && buffer.field(index, tradeQuantityIndex) > 0) tradeCount += 1;
      if (buffer.type(index) === EventType.MarketAdded) {
        const spec = JSON.parse(buffer.strings1[index] ?? '') as MarketSpec;
        memory.markets.push({ marketId: buffer.field(index, 0), spec, midTicks: Math.min(1000, Math.floor(spec.maxPriceTicks / 2)) });
      }
    }
    if (snapshot) afterSnapshot.push({ command, events: record(buffer) });
  };

  for (const command of setupCommands(random, memory)) execute(command);
  for (let index = 0; index < commandCount; index++) {
    if (index === snapshotAt) {
      snapshot = engine.snapshot();
      snapshotHash = engine.stateHash();
    }
    execute(nextCommand(random, engine, memory));
    if (reference && index % hashCompareEveryCommands === 0 && reference.stateHash() !== engine.stateHash()) {
      fail(`state hash differs from the reference's after command #${sequence}`, null);
    }
  }
  if (snapshotAt === commandCount) {
    snapshot = engine.snapshot();
    snapshotHash = engine.stateHash();
  }
  try {
    checker.fullCheck();
  } catch (error) {
    fail(`invariant broken at the end: ${(error as Error).message}`, null);
  }
  const finalHash = engine.stateHash();
  if (reference && reference.stateHash() !== finalHash) fail(`state hash ${finalHash} differs from the reference's ${reference.stateHash()}`, null);

  // Snapshot + restore into a fresh engine + replay of the rest: same events, same hash.
  const restored = engineFactory.create();
  restored.restore(snapshot!);
  if (restored.stateHash() !== snapshotHash) fail(`restored state hash differs from the snapshot's at command ${snapshotAt}`, null);
  for (const { command, events } of afterSnapshot) {
    buffer.clear();
    restored.execute(command, buffer);
    if (!sameEvents(buffer, events)) {
      fail('replay after restore gives different events', command, `replay:\n    ${describeBuffer(buffer)}\n  original:\n    ${describeBuffer(events)}`);
    }
  }
  if (restored.stateHash() !== finalHash) fail(`state hash after restore + replay ${restored.stateHash()} differs from ${finalHash}`, null);
  return { commands: sequence, events: eventCount, trades: tradeCount, stateHash: finalHash };
}

export interface SimulationPlan {
  seeds: number[];
  commandCount: number;
}

/**
 * The seeds one simulation test file runs: SIM_SEED=<n> runs that seed only (in part 0);
 * otherwise SIM_SEEDS seeds (default 200) starting at SIM_SEED_START (default 1), spread
 * over the parts. SIM_COMMANDS (default 5000) commands per seed.
 */
export function simulationPlan(part: number, parts: number): SimulationPlan {
  const commandCount = Number(process.env.SIM_COMMANDS ?? 5000);
  if (process.env.SIM_SEED !== undefined) return { seeds: part === 0 ? [Number(process.env.SIM_SEED)] : [], commandCount };
  const seedCount = Number(process.env.SIM_SEEDS ?? 200);
  const start = Number(process.env.SIM_SEED_START ?? 1);
  const seeds: number[] = [];
  for (let index = part; index < seedCount; index += parts) seeds.push(start + index);
  return { seeds, commandCount };
}

/**
 * Registers one test per seed of this part. The engine under test is the fast engine,
 * cross-checked against the reference in lockstep; while the fast engine does not exist,
 * the reference engine runs alone (invariants, snapshot and replay still checked).
 */
export function registerSimulationPart(part: number, parts: number): void {
  const plan = simulationPlan(part, parts);
  const engineFactory = fastFactory ?? referenceFactory;
  const crossCheck = fastFactory ? referenceFactory : null;
  const label = crossCheck ? `${engineFactory.name} vs reference` : engineFactory.name;
  for (const seed of plan.seeds) {
    test(`simulation seed ${seed}: ${plan.commandCount} commands [${label}]`, () => {
      const result = runSimulation(seed, plan.commandCount, engineFactory, crossCheck);
      if (result.trades === 0) throw new Error(`seed ${seed}: the simulation made no trade, so it tested little`);
    });
  }
}
