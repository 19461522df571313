import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command, addAsset, addMarket, placeOrder, transfer } from './command.ts';
import { CommandType, EventType, OrderType, Side, StpMode, TimeInForce } from './codes.ts';
import { EventBuffer, decodeEvents, eventLayout } from './events.ts';
import {
  CodecError,
  codecLimits,
  decodeCommand,
  decodeCommandBatch,
  decodeEventBatch,
  decodeEventBatchInto,
  encodeCommand,
  encodeCommandBatch,
  encodeEventBatch,
  encodeEventBufferRange,
} from './codec.ts';
import { SeededRandom } from '../lib/prng.ts';

const sampleMarket = {
  symbol: 'BTCUSDT',
  baseAsset: 'BTC',
  quoteAsset: 'USDT',
  lotAtoms: 1000,
  quoteAtomsPerTickLot: 1,
  maxPriceTicks: 100_000_000,
  minQuantityLots: 1,
  maxQuantityLots: 9_000_000,
  marketMaxQuantityLots: 1_000_000,
  minNotionalAtoms: 5_000_000,
  makerFeeBps: 10,
  takerFeeBps: 20,
};

function roundTrip(command: Command): Command {
  return decodeCommand(encodeCommand(command));
}

test('commands of every kind round-trip exactly', () => {
  const order = placeOrder({
    accountId: 42,
    marketId: 3,
    side: Side.Sell,
    orderType: OrderType.Limit,
    timeInForce: TimeInForce.FOK,
    priceTicks: 123_456_789,
    quantityLots: 7,
    stpMode: StpMode.ExpireBoth,
    clientOrderId: 'my-order_1:2/3.x',
  });
  order.sequence = 9_007_199_254_740_991;
  order.timestampMs = 1_763_771_234_567;
  order.requestId = 'req-1';
  const market = addMarket(sampleMarket);
  const asset = addAsset('BTC', 8);
  const deposit = transfer(CommandType.Deposit, 'dep-ünïcode-€', 5, 'USDT', 1e15);
  const odd = new Command(CommandType.PlaceOrder);
  odd.priceTicks = 1.5;
  odd.quantityLots = -3;
  odd.quoteAmountAtoms = Number.NaN;
  odd.amountAtoms = -0;
  odd.orderId = Number.POSITIVE_INFINITY;
  odd.accountId = 2 ** 60;
  const partialSpec = addMarket({ symbol: 'X', lotAtoms: 'ten' } as unknown as typeof sampleMarket);
  for (const command of [order, market, asset, deposit, odd, partialSpec, new Command(CommandType.CancelAllOrders)]) {
    assert.deepStrictEqual(roundTrip(command), command);
  }
  assert.ok(Object.is(roundTrip(odd).amountAtoms, -0), '-0 survives');
  assert.ok(Number.isNaN(roundTrip(odd).quoteAmountAtoms));
  assert.ok(encodeCommand(order).length < 72, `a limit order with ids encodes small (${encodeCommand(order).length} bytes)`);
});

test('randomized commands round-trip (seeded)', () => {
  const seed = Number(process.env.SEED ?? Date.now() % 1_000_000);
  const random = new SeededRandom(seed);
  console.log(`codec command test seed ${seed} (SEED=${seed} reproduces it)`);
  const numbers = [0, 1, 127, 128, 16_383, 16_384, 2 ** 31, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER, -1, 0.25, 1e300];
  for (let round = 0; round < 2000; round++) {
    const command = new Command(random.integer(1, 14) as Command['type']);
    for (const key of ['sequence', 'timestampMs', 'accountId', 'marketId', 'orderId', 'priceTicks', 'quantityLots', 'quoteAmountAtoms', 'amountAtoms', 'makerFeeBps', 'takerFeeBps'] as const) {
      if (random.chance(0.5)) command[key] = random.chance(0.5) ? random.pick(numbers) : random.integer(0, 2 ** 40);
    }
    if (random.chance(0.5)) command.clientOrderId = 'c'.repeat(random.integer(0, 200));
    if (random.chance(0.3)) command.transferId = `t${random.integer(0, 1e9)}`;
    if (random.chance(0.1)) command.market = { ...sampleMarket, lotAtoms: random.pick(numbers) };
    const decoded = roundTrip(command);
    assert.deepStrictEqual(decoded, command, `seed ${seed} round ${round}`);
  }
  const batch = [placeOrder({ accountId: 1, marketId: 1, side: Side.Buy, orderType: OrderType.Market, quoteAmountAtoms: 5 }), addAsset('ETH', 18)];
  assert.deepStrictEqual(decodeCommandBatch(encodeCommandBatch(batch)), batch);
});

test('decoding rejects truncated, trailing and foreign bytes', () => {
  const bytes = encodeCommand(addMarket(sampleMarket));
  for (let cut = 0; cut < bytes.length; cut += 3) {
    assert.throws(() => decodeCommand(bytes.subarray(0, cut)), CodecError);
  }
  const longer = new Uint8Array(bytes.length + 1);
  longer.set(bytes);
  assert.throws(() => decodeCommand(longer), /trailing/);
  assert.throws(() => decodeEventBatch(bytes), /not an event batch/);
  // What the decoder would refuse, the encoder refuses first.
  const huge = new Command(CommandType.PlaceOrder);
  huge.clientOrderId = 'x'.repeat(codecLimits.stringBytesMax + 1);
  assert.throws(() => encodeCommand(huge), CodecError);
  huge.clientOrderId = '€'.repeat(codecLimits.stringBytesMax / 2);
  assert.throws(() => encodeCommand(huge), CodecError);
});

function fillBuffer(buffer: EventBuffer, count: number, random: SeededRandom): void {
  const types = Object.values(EventType);
  for (let index = 0; index < count; index++) {
    const type = random.pick(types);
    buffer.begin(type, 100 + index, 1000 + index, 1_763_771_234_567 + index);
    eventLayout[type].fields.forEach((_, field) => buffer.set(field, random.chance(0.9) ? random.integer(0, 2 ** 45) : -random.integer(1, 9)));
    if (eventLayout[type].s0) buffer.setString0(`id-${index}`);
    if (eventLayout[type].s1) buffer.setString1(random.chance(0.5) ? JSON.stringify(sampleMarket) : 'détail');
  }
}

test('event batches round-trip from objects and from an EventBuffer range', () => {
  const seed = Number(process.env.SEED ?? Date.now() % 1_000_000);
  const random = new SeededRandom(seed);
  console.log(`codec event test seed ${seed} (SEED=${seed} reproduces it)`);
  const buffer = new EventBuffer(4);
  fillBuffer(buffer, 500, random);
  const events = decodeEvents(buffer);
  assert.deepStrictEqual(decodeEventBatch(encodeEventBatch(events)), events, `seed ${seed}`);
  const range = encodeEventBufferRange(buffer, 100, 350);
  assert.deepStrictEqual(decodeEventBatch(range), events.slice(100, 350), `seed ${seed}`);
  const into = new EventBuffer(2);
  assert.equal(decodeEventBatchInto(range, into), 250);
  assert.deepStrictEqual(decodeEvents(into), events.slice(100, 350));
  assert.deepStrictEqual(decodeEventBatch(encodeEventBatch([])), []);
  assert.throws(() => encodeEventBatch([{ type: 'Bogus', commandSequence: 1, eventSequence: 1, timestampMs: 0 }]), /unknown event type/);
});

test('encodes and decodes well over 100k commands per second', () => {
  const commands: Command[] = [];
  for (let index = 0; index < 20_000; index++) {
    const command = placeOrder({
      accountId: 1 + (index % 1000),
      marketId: 1,
      side: index % 2 ? Side.Buy : Side.Sell,
      orderType: OrderType.Limit,
      timeInForce: TimeInForce.GTC,
      priceTicks: 50_000_00 + index,
      quantityLots: 1 + (index % 50),
      clientOrderId: `client-${index}`,
    });
    command.sequence = index + 1;
    command.timestampMs = 1_763_771_234_567 + index;
    commands.push(command);
  }
  // Encoding (gateway) and decoding (engine) run in different processes in the cluster,
  // so each must pass 100k/s on its own. Best of three runs, so a busy shared machine
  // does not fail the test by itself.
  let encodesPerSecond = 0;
  let decodesPerSecond = 0;
  let bytes = 0;
  const encoded: Uint8Array[] = new Array(commands.length);
  for (let run = 0; run < 3; run++) {
    let started = performance.now();
    bytes = 0;
    for (let index = 0; index < commands.length; index++) {
      encoded[index] = encodeCommand(commands[index]!);
      bytes += encoded[index]!.length;
    }
    encodesPerSecond = Math.max(encodesPerSecond, commands.length / ((performance.now() - started) / 1000));
    started = performance.now();
    for (let index = 0; index < commands.length; index++) {
      if (decodeCommand(encoded[index]!).priceTicks !== commands[index]!.priceTicks) assert.fail(`command ${index} decoded wrong`);
    }
    decodesPerSecond = Math.max(decodesPerSecond, commands.length / ((performance.now() - started) / 1000));
  }
  console.log(`codec: ${Math.round(encodesPerSecond)} encodes/s, ${Math.round(decodesPerSecond)} decodes/s, ${(bytes / commands.length).toFixed(1)} bytes each`);
  assert.ok(encodesPerSecond > 100_000, `only ${Math.round(encodesPerSecond)} encodes/s`);
  assert.ok(decodesPerSecond > 100_000, `only ${Math.round(decodesPerSecond)} decodes/s`);
});
