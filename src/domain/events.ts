// The engine's output: events written into a caller-provided, reused buffer of numeric
// slots (no allocation per event on the hot path), plus two string columns for ids that
// are strings (clientOrderId, transferId, symbol, asset code). `decodeEvents` turns a
// buffer into plain objects for consumers, logs and tests. Every event carries the
// sequence number of the command that caused it and a per-engine event sequence.

import { EventType, eventTypeNames } from './codes.ts';

/** Slots per event: 4 header slots (type, commandSequence, eventSequence, timestampMs) + 11 payload slots. */
export const eventSlots = 15;
const header = 4;
/** EventBuffer.begin zeroes exactly these payload slots (unrolled); keep them in step. */
const payloadSlots = 11;
if (header + payloadSlots !== eventSlots) throw new Error('events.ts: EventBuffer.begin must zero every payload slot');

/**
 * Payload field names per event type, in slot order. This table IS the wire layout:
 * field i of an event lives at slot header + i. `s0` / `s1` name the string columns.
 */
export const eventLayout: Record<EventType, { fields: readonly string[]; s0?: string; s1?: string }> = {
  [EventType.OrderAccepted]: {
    fields: ['orderId', 'accountId', 'marketId', 'side', 'orderType', 'timeInForce', 'priceTicks', 'quantityLots', 'quoteAmountAtoms', 'stpMode'],
    s0: 'clientOrderId',
  },
  [EventType.OrderRejected]: { fields: ['orderId', 'accountId', 'marketId', 'reason', 'commandType'], s0: 'clientOrderId' },
  [EventType.OrderDuplicate]: { fields: ['orderId', 'accountId', 'marketId'], s0: 'clientOrderId' },
  [EventType.TradeExecuted]: {
    fields: ['tradeId', 'marketId', 'makerOrderId', 'takerOrderId', 'makerAccountId', 'takerAccountId', 'priceTicks', 'quantityLots', 'makerFeeAtoms', 'takerFeeAtoms', 'takerSide'],
  },
  [EventType.OrderFilled]: { fields: ['orderId', 'accountId', 'marketId'] },
  [EventType.OrderCanceled]: { fields: ['orderId', 'accountId', 'marketId', 'remainingLots', 'reason'] },
  [EventType.OrderExpired]: { fields: ['orderId', 'accountId', 'marketId', 'remainingLots', 'reason'] },
  [EventType.OrderAmended]: { fields: ['orderId', 'accountId', 'marketId', 'quantityLots', 'remainingLots'] },
  [EventType.OrdersCanceledAll]: { fields: ['accountId', 'marketId', 'count'] },
  [EventType.BalanceChanged]: { fields: ['accountId', 'assetId', 'availableAtoms', 'heldAtoms'] },
  [EventType.BookLevelChanged]: { fields: ['marketId', 'side', 'priceTicks', 'quantityLots', 'updateId', 'orderCount'] },
  [EventType.AssetAdded]: { fields: ['assetId', 'scale'], s0: 'asset' },
  [EventType.MarketAdded]: { fields: ['marketId', 'baseAssetId', 'quoteAssetId'], s0: 'symbol', s1: 'spec' },
  [EventType.MarketHalted]: { fields: ['marketId'] },
  [EventType.MarketResumed]: { fields: ['marketId'] },
  [EventType.FeesSet]: { fields: ['marketId', 'makerFeeBps', 'takerFeeBps'] },
  [EventType.Deposited]: { fields: ['accountId', 'assetId', 'amountAtoms'], s0: 'transferId' },
  [EventType.WithdrawRequested]: { fields: ['accountId', 'assetId', 'amountAtoms'], s0: 'transferId' },
  [EventType.WithdrawCompleted]: { fields: ['accountId', 'assetId', 'amountAtoms'], s0: 'transferId' },
  [EventType.WithdrawCanceled]: { fields: ['accountId', 'assetId', 'amountAtoms'], s0: 'transferId' },
  [EventType.CommandDuplicate]: { fields: ['commandType', 'accountId'], s0: 'transferId' },
  [EventType.CommandRejected]: { fields: ['commandType', 'reason', 'accountId', 'marketId'], s0: 'transferId', s1: 'detail' },
  [EventType.AccountStpSet]: { fields: ['accountId', 'stpMode'] },
};

/**
 * A growable buffer of events. The engine calls `begin` for each event and then sets
 * payload slots with `set(i, value)`; readers use `type(i)`, `field(i, slot)` and the
 * string columns. `clear()` resets it for the next batch without freeing memory.
 */
export class EventBuffer {
  slots: Float64Array;
  strings0: (string | null)[];
  strings1: (string | null)[];
  length = 0;
  private base = 0;
  private commandSequenceNow = 0;
  private timestampMsNow = 0;

  constructor(capacityEvents = 1024) {
    this.slots = new Float64Array(capacityEvents * eventSlots);
    this.strings0 = new Array<string | null>(capacityEvents).fill(null);
    this.strings1 = new Array<string | null>(capacityEvents).fill(null);
  }

  clear(): void {
    this.length = 0;
  }

  /**
   * Stamps the events of one command: beginEvent() writes these into every event's header.
   * A producer that calls this once per command passes no doubles per event (a timestamp
   * passed to a call that is not inlined is boxed on the heap).
   */
  startCommand(commandSequence: number, timestampMs: number): void {
    this.commandSequenceNow = commandSequence;
    this.timestampMsNow = timestampMs;
  }

  /**
   * begin() with the header from startCommand(). Returns the slot of payload field 0, so
   * the producer may write fields straight into `slots` (slot + field) or use set().
   */
  beginEvent(type: EventType, eventSequence: number): number {
    const at = this.beginEventUnzeroed(type, eventSequence);
    const slots = this.slots;
    // The 11 payload slots, unrolled (payloadSlots keeps this in step with the layout).
    slots[at] = 0;
    slots[at + 1] = 0;
    slots[at + 2] = 0;
    slots[at + 3] = 0;
    slots[at + 4] = 0;
    slots[at + 5] = 0;
    slots[at + 6] = 0;
    slots[at + 7] = 0;
    slots[at + 8] = 0;
    slots[at + 9] = 0;
    slots[at + 10] = 0;
    return at;
  }

  /**
   * beginEvent() that leaves the payload as it was: the caller must write every one of the
   * payloadSlots (11) payload slots itself, zeros included. The engine's most frequent
   * events use it so no slot is stored twice (stores into the buffer are a measurable
   * share of a command's cost).
   */
  beginEventUnzeroed(type: EventType, eventSequence: number): number {
    const index = this.length;
    if ((index + 1) * eventSlots > this.slots.length) this.grow();
    const base = index * eventSlots;
    const slots = this.slots;
    slots[base] = type;
    slots[base + 1] = this.commandSequenceNow;
    slots[base + 2] = eventSequence;
    slots[base + 3] = this.timestampMsNow;
    this.strings0[index] = null;
    this.strings1[index] = null;
    this.base = base + header;
    this.length = index + 1;
    return base + header;
  }

  /** Starts a new event and returns its index. Payload slots start at 0. */
  begin(type: EventType, commandSequence: number, eventSequence: number, timestampMs: number): number {
    const index = this.length;
    if ((index + 1) * eventSlots > this.slots.length) this.grow();
    const base = index * eventSlots;
    const slots = this.slots;
    slots[base] = type;
    slots[base + 1] = commandSequence;
    slots[base + 2] = eventSequence;
    slots[base + 3] = timestampMs;
    // The 11 payload slots, unrolled: a loop costs about a third more per event on the
    // engine's hot path (payloadSlots below keeps this in step with the layout).
    slots[base + 4] = 0;
    slots[base + 5] = 0;
    slots[base + 6] = 0;
    slots[base + 7] = 0;
    slots[base + 8] = 0;
    slots[base + 9] = 0;
    slots[base + 10] = 0;
    slots[base + 11] = 0;
    slots[base + 12] = 0;
    slots[base + 13] = 0;
    slots[base + 14] = 0;
    this.strings0[index] = null;
    this.strings1[index] = null;
    this.base = base + header;
    this.length = index + 1;
    return index;
  }

  /** Sets payload field `field` (0-based, see eventLayout) of the event begun last. */
  set(field: number, value: number): void {
    this.slots[this.base + field] = value;
  }

  setString0(value: string): void {
    this.strings0[this.length - 1] = value;
  }

  setString1(value: string): void {
    this.strings1[this.length - 1] = value;
  }

  type(index: number): EventType {
    return this.slots[index * eventSlots] as EventType;
  }

  commandSequence(index: number): number {
    return this.slots[index * eventSlots + 1]!;
  }

  eventSequence(index: number): number {
    return this.slots[index * eventSlots + 2]!;
  }

  timestampMs(index: number): number {
    return this.slots[index * eventSlots + 3]!;
  }

  field(index: number, field: number): number {
    return this.slots[index * eventSlots + header + field]!;
  }

  private grow(): void {
    const slots = new Float64Array(this.slots.length * 2);
    slots.set(this.slots);
    this.slots = slots;
    const capacity = slots.length / eventSlots;
    while (this.strings0.length < capacity) {
      this.strings0.push(null);
      this.strings1.push(null);
    }
  }
}

/** An event as a plain object: `type` is the event's name, other keys per eventLayout. */
export interface EngineEvent {
  type: string;
  commandSequence: number;
  eventSequence: number;
  timestampMs: number;
  [field: string]: string | number;
}

export function decodeEvent(buffer: EventBuffer, index: number): EngineEvent {
  const type = buffer.type(index);
  const layout = eventLayout[type];
  const event: EngineEvent = {
    type: eventTypeNames[type] ?? `Unknown${type}`,
    commandSequence: buffer.commandSequence(index),
    eventSequence: buffer.eventSequence(index),
    timestampMs: buffer.timestampMs(index),
  };
  if (!layout) return event;
  layout.fields.forEach((name, slot) => {
    event[name] = buffer.field(index, slot);
  });
  if (layout.s0) event[layout.s0] = buffer.strings0[index] ?? '';
  if (layout.s1) event[layout.s1] = buffer.strings1[index] ?? '';
  return event;
}

export function decodeEvents(buffer: EventBuffer, from = 0, to = buffer.length): EngineEvent[] {
  const events: EngineEvent[] = [];
  for (let index = from; index < to; index++) events.push(decodeEvent(buffer, index));
  return events;
}

/** Field index by name for one event type: `fieldIndex(EventType.TradeExecuted, 'priceTicks')`. */
export function fieldIndex(type: EventType, name: string): number {
  const index = eventLayout[type].fields.indexOf(name);
  if (index < 0) throw new Error(`event ${eventTypeNames[type]} has no field ${name}`);
  return index;
}
