// The engine host's promises: group commit (many commands per append), nothing answered
// before the append is durable, a timeout that leaves the command to run, recovery from a
// snapshot plus the journal tail (skipping a corrupt snapshot) equal to a full replay,
// consumers far behind served from the journal, and a failed append stopping the host.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryLog } from '../../adapters/memory-log.ts';
import { decodeCommand, encodeCommand } from '../../domain/codec.ts';
import { addAsset, addMarket, placeOrder, transfer } from '../../domain/command.ts';
import { CommandType, OrderType, Side, TimeInForce } from '../../domain/codes.ts';
import { Engine } from '../../engine/engine.ts';
import type { AppendResult, RecordLog } from '../../ports/log.ts';
import { CommandTimeoutError } from '../contracts.ts';
import { EngineHost, type EngineHostOptions } from './engine-host.ts';
import { openSnapshotStore } from './snapshots.ts';

const codec = { encode: encodeCommand, decode: decodeCommand };

/** A MemoryLog whose appends can be held back (an fsync that has not finished) or failed. */
class GatedLog extends MemoryLog {
  appendCalls = 0;
  held: (() => void)[] = [];
  holding = false;
  failing = false;

  override async append(payloads: Uint8Array[], expectedLastSequence?: number): Promise<AppendResult> {
    this.appendCalls++;
    if (this.failing) throw new Error('disk full');
    if (this.holding) await new Promise<void>((resolve) => this.held.push(resolve));
    return super.append(payloads, expectedLastSequence);
  }

  release(): void {
    this.holding = false;
    for (const resume of this.held.splice(0)) resume();
  }
}

function options(log: RecordLog, extra: Partial<EngineHostOptions> = {}): EngineHostOptions {
  return { createEngine: () => new Engine(), commandLog: log, codec, clock: () => 1_700_000_000_000, ...extra };
}

async function seed(host: EngineHost): Promise<void> {
  await host.submit(addAsset('BTC', 8));
  await host.submit(addAsset('USDT', 6));
  await host.submit(addMarket({
    symbol: 'BTCUSDT', baseAsset: 'BTC', quoteAsset: 'USDT', lotAtoms: 10_000, quoteAtomsPerTickLot: 1, maxPriceTicks: 100_000_000,
    minQuantityLots: 1, maxQuantityLots: 10_000_000, marketMaxQuantityLots: 1_000_000, minNotionalAtoms: 1, makerFeeBps: 10, takerFeeBps: 10,
  }));
  await host.submit(transfer(CommandType.Deposit, 'usdt-1', 1, 'USDT', 1e13));
  const funded = await host.submit(transfer(CommandType.Deposit, 'btc-2', 2, 'BTC', 1e10));
  assert.equal(funded.events[0]!.type, 'Deposited');
  assert.equal(host.markets().length, 1);
}

function order(index: number) {
  return placeOrder({
    accountId: 1 + (index % 2), marketId: 1, side: index % 2 === 0 ? Side.Buy : Side.Sell, orderType: OrderType.Limit,
    timeInForce: TimeInForce.GTC, priceTicks: 6_000_000 + (index % 5), quantityLots: 1 + (index % 3),
  });
}

describe('EngineHost', () => {
  test('group commit: concurrent submits share appends and resolve in log order', async () => {
    const log = new GatedLog();
    const host = await EngineHost.start(options(log));
    await seed(host);
    const before = log.appendCalls;
    log.holding = true;
    const results = Array.from({ length: 500 }, (_, index) => host.submit(order(index)));
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(log.appendCalls - before, 1, 'one append in flight, the rest queued');
    log.release();
    const settled = await Promise.all(results);
    assert.ok(log.appendCalls - before <= 3, `500 commands in ${log.appendCalls - before} appends`);
    settled.forEach((result, index) => {
      assert.equal(result.sequence, 6 + index);
      assert.equal(result.events[0]!.type, 'OrderAccepted');
      assert.ok(result.events.every((event) => event.commandSequence === result.sequence));
    });
    assert.equal(await log.lastSequence(), host.lastCommandSequence());
  });

  test('nothing is answered before the append is durable; a timeout leaves the command to run', async () => {
    const log = new GatedLog();
    const host = await EngineHost.start(options(log));
    await seed(host);
    log.holding = true;
    let answered = false;
    const pending = host.submit(order(0), 20_000).then((result) => {
      answered = true;
      return result;
    });
    const timedOut = host.submit(order(1), 30);
    await assert.rejects(timedOut, CommandTimeoutError);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(answered, false, 'no answer while the append is not durable');
    assert.equal(host.lastCommandSequence(), 5, 'nothing executed before durability');
    const settledBefore = host.settled();
    log.release();
    await pending;
    await settledBefore;
    assert.equal(host.lastCommandSequence(), 7, 'the timed-out command still ran');
  });

  test('each command times out at its own deadline (one timer per timeout length), in submission order', async () => {
    const log = new GatedLog();
    const host = await EngineHost.start(options(log));
    await seed(host);
    log.holding = true;
    const outcomes: string[] = [];
    const watch = (name: string, answer: Promise<unknown>) =>
      answer.then(
        () => outcomes.push(`${name} answered`),
        (error: unknown) => outcomes.push(error instanceof CommandTimeoutError ? `${name} timed out: ${error.message}` : `${name} failed`),
      );
    const first = watch('first', host.submit(order(0), 60));
    await new Promise((resolve) => setTimeout(resolve, 40));
    const second = watch('second', host.submit(order(1), 60));
    const patient = watch('patient', host.submit(order(2), 20_000));
    await first;
    assert.deepEqual(outcomes, ['first timed out: no engine result within 60 ms; execution status unknown'], 'the later command is not timed out with the first');
    await second;
    assert.equal(outcomes[1], 'second timed out: no engine result within 60 ms; execution status unknown');
    log.release();
    await patient;
    assert.equal(outcomes[2], 'patient answered');
    await host.settled();
    assert.equal(host.lastCommandSequence(), 8, 'the timed-out commands still ran');
    await host.stop();
  });

  test('recovery: newest valid snapshot + journal tail equals a full replay; a corrupt snapshot is skipped', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'bourse-host-test-'));
    try {
      const log = new MemoryLog();
      const snapshots = await openSnapshotStore(directory);
      const host = await EngineHost.start(options(log, { snapshots, snapshotEveryCommands: 100 }));
      await seed(host);
      for (let index = 0; index < 450; index++) await host.submit(order(index));
      await host.takeSnapshot();
      for (let index = 450; index < 470; index++) await host.submit(order(index));
      const expectedHash = host.stateHash();
      await host.stop();
      const files = (await readdir(directory)).sort();
      assert.ok(files.length >= 2, `snapshots: ${files.join(', ')}`);
      // Corrupt the newest snapshot: recovery must fall back to an older one.
      await writeFile(join(directory, files[files.length - 1]!), Buffer.from('garbage'));
      const recovered = await EngineHost.start(options(log, { snapshots }));
      assert.equal(recovered.stateHash(), expectedHash);
      const fromScratch = await EngineHost.start(options(log));
      assert.equal(fromScratch.stateHash(), expectedHash);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  test('a consumer behind memory gets every event once, in order, from the journal', async () => {
    const log = new MemoryLog();
    const host = await EngineHost.start(options(log, { retainedEventsMax: 50 }));
    await seed(host);
    for (let index = 0; index < 300; index++) await host.submit(order(index));
    const seen: number[] = [];
    const unsubscribe = host.subscribe(3, async (batch) => {
      for (const event of batch.events) seen.push(event.eventSequence);
    });
    await host.submit(order(300));
    const deadline = Date.now() + 5000;
    while (seen[seen.length - 1] !== host.lastEventSequence() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    unsubscribe();
    assert.equal(seen[0], 4);
    assert.equal(seen[seen.length - 1], host.lastEventSequence());
    assert.ok(seen.every((value, index) => index === 0 || value === seen[index - 1]! + 1), 'no gap, no repeat');
  });

  test('a failed append rejects its submitters and stops the host', async () => {
    const log = new GatedLog();
    const host = await EngineHost.start(options(log));
    await seed(host);
    log.failing = true;
    await assert.rejects(host.submit(order(0)), /disk full/);
    log.failing = false;
    await assert.rejects(host.submit(order(1)), /disk full/);
    assert.equal(host.lastCommandSequence(), 5);
  });
});
