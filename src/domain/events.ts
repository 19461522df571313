// The engine's output: events written into a caller-provided, reused buffer (no
// allocation per event on the hot path). Each event is its type (`types`), the start of its
// record in `slots` (`starts`), and a record of exactly its own payload fields; two string
// columns hold ids that are strings (clientOrderId, transferId, symbol, asset code). The
// header every event carries (commandSequence, eventSequence, timestampMs) is stored once
// per run of events of one command with consecutive event sequences (a "group"), so an
// event costs only its payload and two small stores. `decodeEvents` turns a buffer into
// plain objects for consumers, logs and tests.

import { EventType, eventTypeNames } from './codes.ts';

/** The most payload fields any event type has (TradeExecuted); an unknown type gets this many. */
export const eventPayloadSlotsMax = 11;
/** Event types are small integers (they are stored in a Uint8Array). */
const eventTypeLimit = 256;

/**
 * Payload field names per event type, in slot order. This table IS the wire layout:
 * field i of event e lives at slot starts[e] + i. `s0` / `s1` name the string columns.
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
 * Payload slots of each event type's record: its layout's field count. A typed array so the
 * producer's lookup per event is one load.
 */
const payloadSlotsByType = new Uint8Array(eventTypeLimit).fill(eventPayloadSlotsMax);
for (const [type, layout] of Object.entries(eventLayout)) {
  if (layout.fields.length > eventPayloadSlotsMax) throw new Error(`events.ts: event type ${type} has more than ${eventPayloadSlotsMax} fields`);
  payloadSlotsByType[Number(type)] = layout.fields.length;
}

/** Payload slots of an event record of `type` (eventLayout's field count). */
export function eventPayloadSlots(type: EventType): number {
  return payloadSlotsByType[type]!;
}

/** First capacity in payload slots when a buffer is made for `capacityEvents` events. */
const initialSlotsPerEvent = 8;
/** First capacity in groups: most commands emit several events. */
const initialEventsPerGroup = 2;

function grownFloat64(array: Float64Array, capacity: number, used: number): Float64Array {
  const grown = new Float64Array(capacity);
  grown.set(array.subarray(0, used));
  return grown;
}

function grownInt32(array: Int32Array, capacity: number, used: number): Int32Array {
  const grown = new Int32Array(capacity);
  grown.set(array.subarray(0, used));
  return grown;
}

/**
 * A growable buffer of events. Event i has type `types[i]` and its payload in `slots` from
 * `starts[i]` (exactly eventPayloadSlots(type) slots, in eventLayout order). Its header is
 * its group's: groups are runs of events of one command (same commandSequence and
 * timestampMs) whose event sequences follow each other, so event i of a group that starts
 * at event f with sequence s has sequence s + (i - f).
 *
 * The engine calls `startCommand` once per command and `beginEventUnzeroed(type)` per
 * event, then writes the payload straight into `slots`; other producers use `begin` and
 * `set(i, value)`. Readers use `type(i)`, `commandSequence(i)`, `eventSequence(i)`,
 * `timestampMs(i)`, `field(i, slot)` and the string columns, which hold null for every
 * event that set no string. `clear()` resets it for the next batch without freeing memory.
 */
export class EventBuffer {
  /** Payload slots of all events, one record after another. */
  slots: Float64Array;
  /** Slot where each event's payload starts. */
  starts: Int32Array;
  /** Each event's EventType. */
  types: Uint8Array;
  strings0: (string | null)[];
  strings1: (string | null)[];
  length = 0;
  /** Slots in use: the end of the last record. */
  slotCount = 0;
  /** Groups: index of the first event, and the header the group's events share. */
  private groupFirstEvent: Int32Array;
  private groupCommandSequence: Float64Array;
  private groupFirstEventSequence: Float64Array;
  private groupTimestampMs: Float64Array;
  private groupCount = 0;
  /** The group found by the last header read, tried first by the next one (readers go in order). */
  private groupHint = 0;
  /** Whether a string was set since the last clear(), so clear() must null the string columns. */
  private stringsWritten = false;

  constructor(capacityEvents = 1024) {
    const capacity = Math.max(1, capacityEvents);
    this.slots = new Float64Array(capacity * initialSlotsPerEvent);
    this.starts = new Int32Array(capacity);
    this.types = new Uint8Array(capacity);
    this.strings0 = new Array<string | null>(capacity).fill(null);
    this.strings1 = new Array<string | null>(capacity).fill(null);
    const groups = Math.max(1, Math.ceil(capacity / initialEventsPerGroup));
    this.groupFirstEvent = new Int32Array(groups);
    this.groupCommandSequence = new Float64Array(groups);
    this.groupFirstEventSequence = new Float64Array(groups);
    this.groupTimestampMs = new Float64Array(groups);
  }

  clear(): void {
    // Strings are set only by the few events that have them; nulling them here keeps every
    // other event's entry null without a store per event.
    if (this.stringsWritten) {
      this.strings0.fill(null, 0, this.length);
      this.strings1.fill(null, 0, this.length);
      this.stringsWritten = false;
    }
    this.length = 0;
    this.slotCount = 0;
    this.groupCount = 0;
    this.groupHint = 0;
  }

  /**
   * Opens the group of one command's events: they get this commandSequence and timestampMs
   * and event sequences firstEventSequence, firstEventSequence + 1, ... in the order they
   * are begun with beginEvent() / beginEventUnzeroed(). A group that got no event is reused.
   */
  startCommand(commandSequence: number, timestampMs: number, firstEventSequence: number): void {
    let group = this.groupCount;
    if (group > 0 && this.groupFirstEvent[group - 1] === this.length) group--;
    else {
      if (group === this.groupFirstEvent.length) this.growGroups();
      this.groupCount = group + 1;
    }
    this.groupFirstEvent[group] = this.length;
    this.groupCommandSequence[group] = commandSequence;
    this.groupFirstEventSequence[group] = firstEventSequence;
    this.groupTimestampMs[group] = timestampMs;
  }

  /** beginEventUnzeroed() with the payload zeroed, for producers that may leave fields out. */
  beginEvent(type: EventType): number {
    const at = this.beginEventUnzeroed(type);
    const slots = this.slots;
    const end = this.slotCount;
    for (let slot = at; slot < end; slot++) slots[slot] = 0;
    return at;
  }

  /**
   * Appends an event of `type` to the group opened by startCommand() and returns the slot
   * of its payload field 0: the caller must write every payload field of the type itself
   * (eventLayout; slots at + 0 .. at + eventPayloadSlots(type) - 1, and no further).
   */
  beginEventUnzeroed(type: EventType): number {
    const index = this.length;
    const start = this.slotCount;
    const end = start + payloadSlotsByType[type]!;
    if (end > this.slots.length || index === this.starts.length) this.grow(end);
    this.types[index] = type;
    this.starts[index] = start;
    this.length = index + 1;
    this.slotCount = end;
    return start;
  }

  /**
   * Appends an event with the given header and returns its index; payload slots start at 0.
   * It joins the last group when the header continues it, else it opens a new group.
   */
  begin(type: EventType, commandSequence: number, eventSequence: number, timestampMs: number): number {
    if (!(Number.isInteger(type) && type >= 0 && type < eventTypeLimit)) throw new RangeError(`event type ${type} is not an integer below ${eventTypeLimit}`);
    const index = this.length;
    const group = this.groupCount - 1;
    const continues =
      group >= 0 &&
      this.groupCommandSequence[group] === commandSequence &&
      this.groupTimestampMs[group] === timestampMs &&
      this.groupFirstEventSequence[group]! + (index - this.groupFirstEvent[group]!) === eventSequence;
    if (!continues) this.startCommand(commandSequence, timestampMs, eventSequence);
    this.beginEvent(type);
    return index;
  }

  /** Sets payload field `field` (0-based, see eventLayout) of the event begun last. */
  set(field: number, value: number): void {
    const index = this.length - 1;
    if (!(field >= 0 && field < payloadSlotsByType[this.types[index]!]!)) {
      throw new RangeError(`event ${eventTypeNames[this.types[index]!] ?? this.types[index]} has no payload field ${field}`);
    }
    this.slots[this.starts[index]! + field] = value;
  }

  setString0(value: string): void {
    this.strings0[this.length - 1] = value;
    this.stringsWritten = true;
  }

  setString1(value: string): void {
    this.strings1[this.length - 1] = value;
    this.stringsWritten = true;
  }

  type(index: number): EventType {
    return this.types[index] as EventType;
  }

  commandSequence(index: number): number {
    return this.groupCommandSequence[this.groupOf(index)]!;
  }

  eventSequence(index: number): number {
    const group = this.groupOf(index);
    return this.groupFirstEventSequence[group]! + (index - this.groupFirstEvent[group]!);
  }

  timestampMs(index: number): number {
    return this.groupTimestampMs[this.groupOf(index)]!;
  }

  field(index: number, field: number): number {
    return this.slots[this.starts[index]! + field]!;
  }

  /** A copy of the events in this buffer (for tests that keep a batch after the buffer is reused). */
  clone(): EventBuffer {
    const copy = new EventBuffer(this.length);
    copy.slots = grownFloat64(this.slots, Math.max(1, this.slotCount), this.slotCount);
    copy.starts.set(this.starts.subarray(0, this.length));
    copy.types.set(this.types.subarray(0, this.length));
    for (let index = 0; index < this.length; index++) {
      copy.strings0[index] = this.strings0[index] ?? null;
      copy.strings1[index] = this.strings1[index] ?? null;
    }
    const groups = Math.max(1, this.groupCount);
    copy.groupFirstEvent = grownInt32(this.groupFirstEvent, groups, this.groupCount);
    copy.groupCommandSequence = grownFloat64(this.groupCommandSequence, groups, this.groupCount);
    copy.groupFirstEventSequence = grownFloat64(this.groupFirstEventSequence, groups, this.groupCount);
    copy.groupTimestampMs = grownFloat64(this.groupTimestampMs, groups, this.groupCount);
    copy.groupCount = this.groupCount;
    copy.length = this.length;
    copy.slotCount = this.slotCount;
    copy.stringsWritten = true;
    return copy;
  }

  /** The group holding event `index` (the last group whose first event is at or before it). */
  private groupOf(index: number): number {
    const firstEvent = this.groupFirstEvent;
    const count = this.groupCount;
    let group = this.groupHint;
    // Sequential readers: the hinted group or the next one.
    if (group < count && firstEvent[group]! <= index) {
      if (group + 1 === count || firstEvent[group + 1]! > index) return group;
      if (group + 2 === count || firstEvent[group + 2]! > index) {
        this.groupHint = group + 1;
        return group + 1;
      }
    }
    let low = 0;
    let high = count - 1;
    // Invariant: the answer is in [low, high]; group 0 starts at event 0.
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (firstEvent[middle]! <= index) low = middle;
      else high = middle - 1;
    }
    group = low;
    this.groupHint = group;
    return group;
  }

  /** Makes room for a record ending at slot `end` and for one more event. */
  private grow(end: number): void {
    if (end > this.slots.length) this.slots = grownFloat64(this.slots, Math.max(this.slots.length * 2, end), this.slotCount);
    if (this.length === this.starts.length) {
      const capacity = this.starts.length * 2;
      this.starts = grownInt32(this.starts, capacity, this.length);
      const types = new Uint8Array(capacity);
      types.set(this.types);
      this.types = types;
      while (this.strings0.length < capacity) {
        this.strings0.push(null);
        this.strings1.push(null);
      }
    }
  }

  private growGroups(): void {
    const capacity = this.groupFirstEvent.length * 2;
    const used = this.groupCount;
    this.groupFirstEvent = grownInt32(this.groupFirstEvent, capacity, used);
    this.groupCommandSequence = grownFloat64(this.groupCommandSequence, capacity, used);
    this.groupFirstEventSequence = grownFloat64(this.groupFirstEventSequence, capacity, used);
    this.groupTimestampMs = grownFloat64(this.groupTimestampMs, capacity, used);
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
  // A plain loop over the record (no callback per event): this runs for every event.
  const fields = layout.fields;
  const slots = buffer.slots;
  const start = buffer.starts[index]!;
  for (let slot = 0; slot < fields.length; slot++) event[fields[slot]!] = slots[start + slot]!;
  if (layout.s0) event[layout.s0] = buffer.strings0[index] ?? '';
  if (layout.s1) event[layout.s1] = buffer.strings1[index] ?? '';
  return event;
}

export function decodeEvents(buffer: EventBuffer, from = 0, to = buffer.length): EngineEvent[] {
  const events: EngineEvent[] = new Array(Math.max(0, to - from));
  for (let index = from; index < to; index++) events[index - from] = decodeEvent(buffer, index);
  return events;
}

/** Field index by name for one event type: `fieldIndex(EventType.TradeExecuted, 'priceTicks')`. */
export function fieldIndex(type: EventType, name: string): number {
  const index = eventLayout[type].fields.indexOf(name);
  if (index < 0) throw new Error(`event ${eventTypeNames[type]} has no field ${name}`);
  return index;
}
