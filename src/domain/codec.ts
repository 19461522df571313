// The binary wire format of commands and event batches: what the command log and the
// event log carry. Every field round-trips exactly (integers, non-integers, NaN, -0,
// strings, market and asset specs), so a replay decodes the very commands the engine
// first executed. Non-negative safe integers take a varint, anything else a float64.

import { Command } from './command.ts';
import { EventType, eventTypeNames } from './codes.ts';
import { eventLayout, type EngineEvent, type EventBuffer } from './events.ts';
import type { AssetSpec, MarketSpec } from './market.ts';

/** First byte of every encoded record: which format follows. */
export const CodecFormat = { Command: 0xc1, CommandBatch: 0xc2, EventBatch: 0xe1 } as const;

/** Limits checked on decode, so a corrupt or hostile record cannot make us allocate wildly. */
export const codecLimits = {
  /** Characters in any one string field (clientOrderId, transferId, symbol, spec JSON...). */
  stringBytesMax: 64 * 1024,
  /** Commands in one encoded command batch. */
  batchCommandsMax: 65_536,
  /** Events in one encoded event batch. */
  batchEventsMax: 1_048_576,
};

export class CodecError extends Error {
  override name = 'CodecError';
}

// Value tags for numbers: a varint for non-negative safe integers (the common case), a
// little-endian float64 for everything else (negative, fractional, NaN, Infinity, -0).
const numberVarint = 0;
const numberFloat = 1;

// Tags for loosely typed values inside market and asset specs (the gateway may pass
// through whatever it was given; the engine validates it, so we must carry it exactly).
const valueUndefined = 0;
const valueNull = 1;
const valueNumber = 2;
const valueString = 3;
const valueTrue = 4;
const valueFalse = 5;

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

/** A growable byte writer. One instance can be reused across encodes (see `reset`). */
export class ByteWriter {
  bytes: Uint8Array;
  position = 0;
  private view: DataView;

  constructor(capacityBytes = 256) {
    this.bytes = new Uint8Array(capacityBytes);
    this.view = new DataView(this.bytes.buffer);
  }

  reset(): void {
    this.position = 0;
  }

  /** A copy of the bytes written so far (safe to keep after the writer is reused). */
  finish(): Uint8Array {
    return this.bytes.slice(0, this.position);
  }

  ensure(extraBytes: number): void {
    const needed = this.position + extraBytes;
    if (needed <= this.bytes.length) return;
    let capacity = this.bytes.length * 2;
    while (capacity < needed) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.bytes.subarray(0, this.position));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }

  byte(value: number): void {
    this.ensure(1);
    this.bytes[this.position++] = value;
  }

  /** Unsigned LEB128 of a non-negative safe integer. */
  varint(value: number): void {
    this.ensure(8);
    const bytes = this.bytes;
    let position = this.position;
    while (value >= 0x80) {
      bytes[position++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    bytes[position++] = value;
    this.position = position;
  }

  float64(value: number): void {
    this.ensure(8);
    this.view.setFloat64(this.position, value, true);
    this.position += 8;
  }

  number(value: number): void {
    if (Number.isSafeInteger(value) && value >= 0 && !Object.is(value, -0)) {
      this.ensure(9);
      this.bytes[this.position++] = numberVarint;
      this.varint(value);
    } else {
      this.ensure(9);
      this.bytes[this.position++] = numberFloat;
      this.float64(value);
    }
  }

  /** Length-prefixed UTF-8, with an ASCII fast path (ids and symbols are ASCII). */
  string(value: string): void {
    const length = value.length;
    // The decoder refuses longer strings, so the encoder must never write one: a record
    // that cannot be decoded would stop the engine at replay.
    if (length > codecLimits.stringBytesMax) throw new CodecError(`string of ${length} characters exceeds ${codecLimits.stringBytesMax} bytes`);
    this.ensure(length + 8);
    const start = this.position;
    const bytes = this.bytes;
    // Reserve the length as if it were the character count; fix up when UTF-8 differs.
    let position = start + varintSize(length);
    let ascii = true;
    for (let index = 0; index < length; index++) {
      const code = value.charCodeAt(index);
      if (code >= 0x80) {
        ascii = false;
        break;
      }
      bytes[position++] = code;
    }
    if (ascii) {
      this.varint(length);
      this.position = position;
      return;
    }
    const encoded = textEncoder.encode(value);
    if (encoded.length > codecLimits.stringBytesMax) throw new CodecError(`string of ${encoded.length} bytes exceeds ${codecLimits.stringBytesMax}`);
    this.position = start;
    this.varint(encoded.length);
    this.ensure(encoded.length);
    this.bytes.set(encoded, this.position);
    this.position += encoded.length;
  }

  value(value: unknown): void {
    if (value === undefined) this.byte(valueUndefined);
    else if (value === null) this.byte(valueNull);
    else if (typeof value === 'number') {
      this.byte(valueNumber);
      this.number(value);
    } else if (typeof value === 'string') {
      this.byte(valueString);
      this.string(value);
    } else if (value === true) this.byte(valueTrue);
    else if (value === false) this.byte(valueFalse);
    else throw new CodecError(`cannot encode a value of type ${typeof value}`);
  }
}

function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    size++;
  }
  return size;
}

/** Reads what ByteWriter wrote; every read checks bounds and throws CodecError. */
export class ByteReader {
  position = 0;
  /** Made on the first float read: most records hold only varints, and a DataView costs. */
  private view: DataView | null = null;

  constructor(readonly bytes: Uint8Array) {}

  get remaining(): number {
    return this.bytes.length - this.position;
  }

  byte(): number {
    if (this.position >= this.bytes.length) throw new CodecError('record truncated');
    return this.bytes[this.position++]!;
  }

  varint(): number {
    const bytes = this.bytes;
    let result = 0;
    let multiplier = 1;
    for (let count = 0; count < 8; count++) {
      if (this.position >= bytes.length) throw new CodecError('record truncated in a varint');
      const byte = bytes[this.position++]!;
      result += (byte & 0x7f) * multiplier;
      if (byte < 0x80) {
        if (!Number.isSafeInteger(result)) throw new CodecError('varint beyond the safe integer range');
        return result;
      }
      multiplier *= 0x80;
    }
    throw new CodecError('varint too long');
  }

  float64(): number {
    if (this.position + 8 > this.bytes.length) throw new CodecError('record truncated in a float');
    this.view ??= new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    const value = this.view.getFloat64(this.position, true);
    this.position += 8;
    return value;
  }

  number(): number {
    const tag = this.byte();
    if (tag === numberVarint) return this.varint();
    if (tag === numberFloat) return this.float64();
    throw new CodecError(`unknown number tag ${tag}`);
  }

  string(): string {
    const length = this.varint();
    if (length > codecLimits.stringBytesMax) throw new CodecError(`string of ${length} bytes exceeds ${codecLimits.stringBytesMax}`);
    const end = this.position + length;
    if (end > this.bytes.length) throw new CodecError('record truncated in a string');
    const bytes = this.bytes;
    let text = '';
    let index = this.position;
    for (; index < end; index++) {
      const code = bytes[index]!;
      if (code >= 0x80) break;
      text += String.fromCharCode(code);
    }
    if (index < end) {
      try {
        text = textDecoder.decode(bytes.subarray(this.position, end));
      } catch {
        throw new CodecError('string is not valid UTF-8');
      }
    }
    this.position = end;
    return text;
  }

  value(): unknown {
    const tag = this.byte();
    switch (tag) {
      case valueUndefined:
        return undefined;
      case valueNull:
        return null;
      case valueNumber:
        return this.number();
      case valueString:
        return this.string();
      case valueTrue:
        return true;
      case valueFalse:
        return false;
      default:
        throw new CodecError(`unknown value tag ${tag}`);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Commands

/** MarketSpec keys in declaration order: the wire order of a spec. */
const marketSpecKeys: readonly (keyof MarketSpec)[] = [
  'symbol',
  'baseAsset',
  'quoteAsset',
  'lotAtoms',
  'quoteAtomsPerTickLot',
  'maxPriceTicks',
  'minQuantityLots',
  'maxQuantityLots',
  'marketMaxQuantityLots',
  'minNotionalAtoms',
  'makerFeeBps',
  'takerFeeBps',
];

// Presence bits: a field whose value is the constructor default (0, "" or null) is not
// written at all, which keeps a typical PlaceOrder around 30 bytes.
const bitSequence = 1 << 0;
const bitTimestamp = 1 << 1;
const bitAccount = 1 << 2;
const bitMarket = 1 << 3;
const bitOrder = 1 << 4;
const bitSide = 1 << 5;
const bitOrderType = 1 << 6;
const bitTimeInForce = 1 << 7;
const bitPrice = 1 << 8;
const bitQuantity = 1 << 9;
const bitQuoteAmount = 1 << 10;
const bitStp = 1 << 11;
const bitClientOrderId = 1 << 12;
const bitTransferId = 1 << 13;
const bitAsset = 1 << 14;
const bitAmount = 1 << 15;
const bitMakerFee = 1 << 16;
const bitTakerFee = 1 << 17;
const bitMarketSpec = 1 << 18;
const bitAssetSpec = 1 << 19;
const bitRequestId = 1 << 20;

function isDefaultNumber(value: number): boolean {
  // -0 is not the default: it must survive the round trip.
  return value === 0 && !Object.is(value, -0);
}

function writeCommandBody(writer: ByteWriter, command: Command): void {
  let mask = 0;
  if (!isDefaultNumber(command.sequence)) mask |= bitSequence;
  if (!isDefaultNumber(command.timestampMs)) mask |= bitTimestamp;
  if (!isDefaultNumber(command.accountId)) mask |= bitAccount;
  if (!isDefaultNumber(command.marketId)) mask |= bitMarket;
  if (!isDefaultNumber(command.orderId)) mask |= bitOrder;
  if (!isDefaultNumber(command.side)) mask |= bitSide;
  if (!isDefaultNumber(command.orderType)) mask |= bitOrderType;
  if (!isDefaultNumber(command.timeInForce)) mask |= bitTimeInForce;
  if (!isDefaultNumber(command.priceTicks)) mask |= bitPrice;
  if (!isDefaultNumber(command.quantityLots)) mask |= bitQuantity;
  if (!isDefaultNumber(command.quoteAmountAtoms)) mask |= bitQuoteAmount;
  if (!isDefaultNumber(command.stpMode)) mask |= bitStp;
  if (command.clientOrderId !== '') mask |= bitClientOrderId;
  if (command.transferId !== '') mask |= bitTransferId;
  if (command.asset !== '') mask |= bitAsset;
  if (!isDefaultNumber(command.amountAtoms)) mask |= bitAmount;
  if (!isDefaultNumber(command.makerFeeBps)) mask |= bitMakerFee;
  if (!isDefaultNumber(command.takerFeeBps)) mask |= bitTakerFee;
  if (command.market !== null) mask |= bitMarketSpec;
  if (command.assetSpec !== null) mask |= bitAssetSpec;
  if (command.requestId !== '') mask |= bitRequestId;

  writer.number(command.type);
  writer.varint(mask);
  if (mask & bitSequence) writer.number(command.sequence);
  if (mask & bitTimestamp) writer.number(command.timestampMs);
  if (mask & bitAccount) writer.number(command.accountId);
  if (mask & bitMarket) writer.number(command.marketId);
  if (mask & bitOrder) writer.number(command.orderId);
  if (mask & bitSide) writer.number(command.side);
  if (mask & bitOrderType) writer.number(command.orderType);
  if (mask & bitTimeInForce) writer.number(command.timeInForce);
  if (mask & bitPrice) writer.number(command.priceTicks);
  if (mask & bitQuantity) writer.number(command.quantityLots);
  if (mask & bitQuoteAmount) writer.number(command.quoteAmountAtoms);
  if (mask & bitStp) writer.number(command.stpMode);
  if (mask & bitClientOrderId) writer.string(command.clientOrderId);
  if (mask & bitTransferId) writer.string(command.transferId);
  if (mask & bitAsset) writer.string(command.asset);
  if (mask & bitAmount) writer.number(command.amountAtoms);
  if (mask & bitMakerFee) writer.number(command.makerFeeBps);
  if (mask & bitTakerFee) writer.number(command.takerFeeBps);
  if (mask & bitMarketSpec) {
    const spec = command.market as unknown as Record<string, unknown>;
    for (const key of marketSpecKeys) writer.value(spec[key]);
  }
  if (mask & bitAssetSpec) {
    const spec = command.assetSpec as unknown as Record<string, unknown>;
    writer.value(spec.code);
    writer.value(spec.scale);
  }
  if (mask & bitRequestId) writer.string(command.requestId);
}

function readCommandBody(reader: ByteReader): Command {
  const command = new Command(reader.number() as Command['type']);
  const mask = reader.varint();
  if (mask & bitSequence) command.sequence = reader.number();
  if (mask & bitTimestamp) command.timestampMs = reader.number();
  if (mask & bitAccount) command.accountId = reader.number();
  if (mask & bitMarket) command.marketId = reader.number();
  if (mask & bitOrder) command.orderId = reader.number();
  if (mask & bitSide) command.side = reader.number() as Command['side'];
  if (mask & bitOrderType) command.orderType = reader.number() as Command['orderType'];
  if (mask & bitTimeInForce) command.timeInForce = reader.number() as Command['timeInForce'];
  if (mask & bitPrice) command.priceTicks = reader.number();
  if (mask & bitQuantity) command.quantityLots = reader.number();
  if (mask & bitQuoteAmount) command.quoteAmountAtoms = reader.number();
  if (mask & bitStp) command.stpMode = reader.number() as Command['stpMode'];
  if (mask & bitClientOrderId) command.clientOrderId = reader.string();
  if (mask & bitTransferId) command.transferId = reader.string();
  if (mask & bitAsset) command.asset = reader.string();
  if (mask & bitAmount) command.amountAtoms = reader.number();
  if (mask & bitMakerFee) command.makerFeeBps = reader.number();
  if (mask & bitTakerFee) command.takerFeeBps = reader.number();
  if (mask & bitMarketSpec) {
    const spec: Record<string, unknown> = {};
    for (const key of marketSpecKeys) {
      const value = reader.value();
      // A key that was absent stays absent, so the decoded spec equals the original.
      if (value !== undefined) spec[key] = value;
    }
    command.market = spec as unknown as MarketSpec;
  }
  if (mask & bitAssetSpec) {
    const spec: Record<string, unknown> = {};
    const code = reader.value();
    const scale = reader.value();
    if (code !== undefined) spec.code = code;
    if (scale !== undefined) spec.scale = scale;
    command.assetSpec = spec as unknown as AssetSpec;
  }
  if (mask & bitRequestId) command.requestId = reader.string();
  return command;
}

// One writer reused by the encode functions: they run synchronously and copy out.
const sharedWriter = new ByteWriter(4096);

export function encodeCommand(command: Command): Uint8Array {
  const writer = sharedWriter;
  writer.reset();
  writer.byte(CodecFormat.Command);
  writeCommandBody(writer, command);
  return writer.finish();
}

export function decodeCommand(bytes: Uint8Array): Command {
  const reader = new ByteReader(bytes);
  const format = reader.byte();
  if (format !== CodecFormat.Command) throw new CodecError(`not a command record (format byte ${format})`);
  const command = readCommandBody(reader);
  if (reader.remaining !== 0) throw new CodecError(`${reader.remaining} trailing bytes after a command`);
  return command;
}

/** Several commands in one record (a gateway or sequencer carrying many per log message). */
export function encodeCommandBatch(commands: readonly Command[]): Uint8Array {
  if (commands.length > codecLimits.batchCommandsMax) throw new CodecError(`batch of ${commands.length} commands exceeds ${codecLimits.batchCommandsMax}`);
  const writer = sharedWriter;
  writer.reset();
  writer.byte(CodecFormat.CommandBatch);
  writer.varint(commands.length);
  for (const command of commands) writeCommandBody(writer, command);
  return writer.finish();
}

export function decodeCommandBatch(bytes: Uint8Array): Command[] {
  const reader = new ByteReader(bytes);
  const format = reader.byte();
  if (format !== CodecFormat.CommandBatch) throw new CodecError(`not a command batch record (format byte ${format})`);
  const count = reader.varint();
  if (count > codecLimits.batchCommandsMax) throw new CodecError(`batch of ${count} commands exceeds ${codecLimits.batchCommandsMax}`);
  const commands: Command[] = new Array(count);
  for (let index = 0; index < count; index++) commands[index] = readCommandBody(reader);
  if (reader.remaining !== 0) throw new CodecError(`${reader.remaining} trailing bytes after a command batch`);
  return commands;
}

// ---------------------------------------------------------------------------------------
// Event batches

const eventTypeByName: Record<string, EventType> = Object.fromEntries(
  Object.entries(EventType).map(([name, value]) => [name, value]),
) as Record<string, EventType>;

/** Encodes plain events (as `decodeEvents` returns them). Layout per `eventLayout`. */
export function encodeEventBatch(events: readonly EngineEvent[]): Uint8Array {
  if (events.length > codecLimits.batchEventsMax) throw new CodecError(`batch of ${events.length} events exceeds ${codecLimits.batchEventsMax}`);
  const writer = sharedWriter;
  writer.reset();
  writer.byte(CodecFormat.EventBatch);
  writer.varint(events.length);
  for (const event of events) {
    const type = eventTypeByName[event.type];
    if (type === undefined) throw new CodecError(`unknown event type ${event.type}`);
    const layout = eventLayout[type];
    writer.byte(type);
    writer.number(event.commandSequence);
    writer.number(event.eventSequence);
    writer.number(event.timestampMs);
    for (const name of layout.fields) writer.number((event[name] as number | undefined) ?? 0);
    if (layout.s0) writer.string(String(event[layout.s0] ?? ''));
    if (layout.s1) writer.string(String(event[layout.s1] ?? ''));
  }
  return writer.finish();
}

/** Encodes events [from, to) of an engine EventBuffer without building objects. */
export function encodeEventBufferRange(buffer: EventBuffer, from = 0, to = buffer.length): Uint8Array {
  const count = to - from;
  if (count < 0 || to > buffer.length) throw new CodecError(`bad event range ${from}..${to} of ${buffer.length}`);
  if (count > codecLimits.batchEventsMax) throw new CodecError(`batch of ${count} events exceeds ${codecLimits.batchEventsMax}`);
  const writer = sharedWriter;
  writer.reset();
  writer.byte(CodecFormat.EventBatch);
  writer.varint(count);
  for (let index = from; index < to; index++) {
    const type = buffer.type(index);
    const layout = eventLayout[type];
    if (!layout) throw new CodecError(`unknown event type ${type}`);
    writer.byte(type);
    writer.number(buffer.commandSequence(index));
    writer.number(buffer.eventSequence(index));
    writer.number(buffer.timestampMs(index));
    const fieldCount = layout.fields.length;
    for (let field = 0; field < fieldCount; field++) writer.number(buffer.field(index, field));
    if (layout.s0) writer.string(buffer.strings0[index] ?? '');
    if (layout.s1) writer.string(buffer.strings1[index] ?? '');
  }
  return writer.finish();
}

export function decodeEventBatch(bytes: Uint8Array): EngineEvent[] {
  const reader = new ByteReader(bytes);
  const count = readEventBatchHeader(reader);
  const events: EngineEvent[] = new Array(count);
  for (let index = 0; index < count; index++) {
    const type = reader.byte() as EventType;
    const layout = eventLayout[type];
    if (!layout) throw new CodecError(`unknown event type ${type}`);
    const event: EngineEvent = {
      type: eventTypeNames[type]!,
      commandSequence: reader.number(),
      eventSequence: reader.number(),
      timestampMs: reader.number(),
    };
    for (const name of layout.fields) event[name] = reader.number();
    if (layout.s0) event[layout.s0] = reader.string();
    if (layout.s1) event[layout.s1] = reader.string();
    events[index] = event;
  }
  if (reader.remaining !== 0) throw new CodecError(`${reader.remaining} trailing bytes after an event batch`);
  return events;
}

/** Appends the batch's events to `buffer` (not cleared first); returns how many. */
export function decodeEventBatchInto(bytes: Uint8Array, buffer: EventBuffer): number {
  const reader = new ByteReader(bytes);
  const count = readEventBatchHeader(reader);
  for (let index = 0; index < count; index++) {
    const type = reader.byte() as EventType;
    const layout = eventLayout[type];
    if (!layout) throw new CodecError(`unknown event type ${type}`);
    const commandSequence = reader.number();
    const eventSequence = reader.number();
    const timestampMs = reader.number();
    buffer.begin(type, commandSequence, eventSequence, timestampMs);
    const fieldCount = layout.fields.length;
    for (let field = 0; field < fieldCount; field++) buffer.set(field, reader.number());
    if (layout.s0) buffer.setString0(reader.string());
    if (layout.s1) buffer.setString1(reader.string());
  }
  if (reader.remaining !== 0) throw new CodecError(`${reader.remaining} trailing bytes after an event batch`);
  return count;
}

function readEventBatchHeader(reader: ByteReader): number {
  const format = reader.byte();
  if (format !== CodecFormat.EventBatch) throw new CodecError(`not an event batch record (format byte ${format})`);
  const count = reader.varint();
  if (count > codecLimits.batchEventsMax) throw new CodecError(`batch of ${count} events exceeds ${codecLimits.batchEventsMax}`);
  return count;
}
