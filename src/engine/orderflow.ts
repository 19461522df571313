// The standard benchmark order flow (orderflow-csv-v1, ../shared/bench/ORDERFLOW.md)
// mapped onto engine commands: one market, two funded accounts per side (so no order
// ever meets its own account), no fees, and the checksum (trades, qty, notional,
// cancelsOk) computed from the engine's events. Pure code: the caller reads the file.
// Used by bench/engine.ts and by the engine's smoke tests.

import { addAsset, addMarket, cancelOrder, Command, placeOrder, transfer } from '../domain/command.ts';
import { CommandType, EventType, OrderType, Side, TimeInForce } from '../domain/codes.ts';
import { fieldIndex, type EventBuffer } from '../domain/events.ts';
import type { MarketSpec } from '../domain/market.ts';

/** The one market every order-flow command trades on (marketId 1 after setup). */
export const orderFlowMarketId = 1;
/** Timestamps advance one millisecond per command from here (the engine never reads a clock). */
export const orderFlowEpochMs = 1_767_225_600_000;
/** Each funded account gets this much of both assets: far more than any flow can spend. */
const depositAtoms = 1_000_000_000_000_000;
const buyAccounts = [1, 2] as const;
// Imported values read per event are bound once (see engine.ts: the TypeScript loader can
// turn each read of an imported binding into a getter call).
const tradeExecutedType = EventType.TradeExecuted;
const orderCanceledType = EventType.OrderCanceled;
/** Slot offsets (from the event's payload start) of the TradeExecuted fields the checksum reads. */
const tradePriceSlot = fieldIndex(EventType.TradeExecuted, 'priceTicks');
const tradeQuantitySlot = fieldIndex(EventType.TradeExecuted, 'quantityLots');
const sellAccounts = [3, 4] as const;

export const orderFlowMarketSpec: MarketSpec = {
  symbol: 'BENCHQUOTE',
  baseAsset: 'BENCH',
  quoteAsset: 'QUOTE',
  lotAtoms: 1,
  quoteAtomsPerTickLot: 1,
  maxPriceTicks: 10_000_000,
  minQuantityLots: 1,
  maxQuantityLots: 100_000_000,
  marketMaxQuantityLots: 100_000_000,
  minNotionalAtoms: 1,
  makerFeeBps: 0,
  takerFeeBps: 0,
};

/** The account that places order `id` of `side`: two accounts per side, alternating. */
export function orderFlowAccount(side: Side, id: number): number {
  return side === Side.Buy ? buyAccounts[id & 1] : sellAccounts[id & 1];
}

/** Assets, the market, and deposits for the four trading accounts. */
export function orderFlowSetup(): Command[] {
  const commands = [addAsset('BENCH', 0), addAsset('QUOTE', 0), addMarket({ ...orderFlowMarketSpec })];
  for (const accountId of [...buyAccounts, ...sellAccounts]) {
    for (const asset of ['BENCH', 'QUOTE']) {
      commands.push(transfer(CommandType.Deposit, `fund-${accountId}-${asset}`, accountId, asset, depositAtoms));
    }
  }
  commands.forEach((command, index) => {
    command.sequence = index + 1;
    command.timestampMs = orderFlowEpochMs;
  });
  return commands;
}

/** One parsed CSV line in compact form (also what other engines in the benchmark consume). */
export interface OrderFlowLine {
  /** 'A' limit GTC, 'M' market, 'C' cancel. */
  op: string;
  id: number;
  side: Side;
  priceTicks: number;
  quantityLots: number;
}

export interface ParsedOrderFlow {
  lines: OrderFlowLine[];
  /** Engine commands, sequenced after the setup commands. */
  commands: Command[];
}

/**
 * Parses orderflow-csv-v1 text. Cancels name their order's owner (the side of every id
 * is remembered from its `A` line). Throws on a malformed line, naming it.
 */
export function parseOrderFlow(text: string, firstSequence: number): ParsedOrderFlow {
  const lines: OrderFlowLine[] = [];
  const commands: Command[] = [];
  const sideById: Side[] = [];
  let sequence = firstSequence;
  let start = 0;
  let lineNumber = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end);
    start = end + 1;
    lineNumber++;
    if (line.length === 0 || line.startsWith('#')) continue;
    const fields = line.split(',');
    const op = fields[0]!;
    const id = Number(fields[1]);
    if (fields.length !== 5 || !Number.isSafeInteger(id) || id <= 0) throw new Error(`orderflow line ${lineNumber}: malformed: ${line}`);
    let command: Command;
    let side: Side;
    let priceTicks = 0;
    let quantityLots = 0;
    if (op === 'C') {
      const known = sideById[id];
      if (known === undefined) throw new Error(`orderflow line ${lineNumber}: cancel of unknown order ${id}`);
      side = known;
      command = cancelOrder(orderFlowAccount(side, id), orderFlowMarketId, id);
    } else if (op === 'A' || op === 'M') {
      const sideCode = fields[2];
      if (sideCode !== 'B' && sideCode !== 'S') throw new Error(`orderflow line ${lineNumber}: bad side: ${line}`);
      side = sideCode === 'B' ? Side.Buy : Side.Sell;
      priceTicks = Number(fields[3]);
      quantityLots = Number(fields[4]);
      if ( !Number.isSafeInteger(priceTicks) || !Number.isSafeInteger(quantityLots)) {
        throw new Error(`orderflow line ${lineNumber}: malformed: ${line}`);
      }
      sideById[id] = side;
      command = placeOrder({
        accountId: orderFlowAccount(side, id),
        marketId: orderFlowMarketId,
        side,
        orderType: op === 'A' ? OrderType.Limit : OrderType.Market,
        timeInForce: op === 'A' ? TimeInForce.GTC : 0,
        priceTicks,
        quantityLots,
      });
    } else {
      throw new Error(`orderflow line ${lineNumber}: unknown op ${op}`);
    }
    command.sequence = sequence;
    command.timestampMs = orderFlowEpochMs + (sequence - firstSequence);
    sequence++;
    commands.push(command);
    lines.push({ op, id, side, priceTicks, quantityLots });
  }
  return { lines, commands };
}

/** The order-flow checksum, accumulated from events. */
export class OrderFlowChecksum {
  trades = 0;
  qty = 0;
  notional = 0;
  cancelsOk = 0;

  /** Adds the TradeExecuted and OrderCanceled events of `buffer` (then the caller clears it). */
  addEvents(buffer: EventBuffer): void {
    const slots = buffer.slots;
    const starts = buffer.starts;
    const types = buffer.types;
    const length = buffer.length;
    for (let index = 0; index < length; index++) {
      const type = types[index];
      if (type === tradeExecutedType) {
        const base = starts[index]!;
        const quantityLots = slots[base + tradeQuantitySlot]!;
        this.trades++;
        this.qty += quantityLots;
        this.notional += quantityLots * slots[base + tradePriceSlot]!;
      } else if (type === orderCanceledType) {
        this.cancelsOk++;
      }
    }
  }
}

/** The generator's expectation file (FILE.expect.json), the fields the benchmark checks. */
export interface OrderFlowExpectation {
  checksum: { trades: number; qty: number; notional: number };
  cancels: number;
}

/** Differences between a checksum and the expectation, empty when they agree. */
export function checksumMismatches(checksum: OrderFlowChecksum, expect: OrderFlowExpectation): string[] {
  const problems: string[] = [];
  const pairs: [string, number, number][] = [
    ['trades', checksum.trades, expect.checksum.trades],
    ['qty', checksum.qty, expect.checksum.qty],
    ['notional', checksum.notional, expect.checksum.notional],
    ['cancelsOk', checksum.cancelsOk, expect.cancels],
  ];
  for (const [name, actual, expected] of pairs) if (actual !== expected) problems.push(`${name}: got ${actual}, expected ${expected}`);
  return problems;
}
