// Engine benchmark (issue 2). Mode 1 replays the standard order flow
// (../shared/bench/ORDERFLOW.md) through the engine with risk checks and events, checks
// the checksum against FILE.expect.json, and runs nodejs-order-book on the same flow for
// a ratio. Mode 2 (--resting N) measures inserting N non-crossing resting orders.
//
// Method: the whole file is parsed into Command objects before any timing. A warm-up
// passes on throwaway engines (warmupPasses x the first warmupCommandsMax commands) let the JIT compile,
// then ops/s comes from one pass on a fresh engine that is not timed per command: the
// clock is read around each batch of eventBatchCommands commands, and the batch's events
// are read back for the checksum between batches, off the clock. Latency percentiles come
// from a separate pass on another fresh engine that reads process.hrtime.bigint() around
// every command; they include the clock's own cost (printed as the clock pair cost).

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
// nodejs-order-book is imported only by the baseline's own child process (--baseline-only):
// loading it (its CommonJS dependency through tsx) slowed our engine by about 20 % in the same
// process although it was never called, so each engine is measured in a process of its own.
import type { OrderBook, Side as BookSide } from 'nodejs-order-book';
import { Engine } from '../src/engine/engine.ts';
import { defaultEngineLimits } from '../src/engine/types.ts';
import { EventBuffer } from '../src/domain/events.ts';
import { placeOrder, type Command } from '../src/domain/command.ts';
import { OrderType, Side, TimeInForce } from '../src/domain/codes.ts';
import {
  checksumMismatches,
  OrderFlowChecksum,
  orderFlowAccount,
  orderFlowMarketId,
  orderFlowSetup,
  parseOrderFlow,
  type OrderFlowExpectation,
  type OrderFlowLine,
} from '../src/engine/orderflow.ts';

const usage = `usage: npm run bench:engine -- [--file FILE.csv] [--n N] [--json] [--no-baseline]
       npm run bench:engine -- --resting N [--json]

  --file FILE    orderflow-csv-v1 file (with FILE.expect.json next to it). Without it, the
                 flow is generated into a temporary folder by ../shared/bench/gen-orderflow.mjs.
  --n N          commands to generate when --file is omitted (default 1000000, seed 42).
  --json         print exactly one JSON line on stdout; everything else goes to stderr.
  --no-baseline  skip the nodejs-order-book comparison run.
  --baseline-only  (internal) run only nodejs-order-book on --file and print one JSON line;
                 the comparison run starts this in a child process of its own.
  --resting N    insert N non-crossing resting orders; report insert rate and memory.
  --help         this text.

Exit status 1 when a checksum differs from FILE.expect.json.`;

/**
 * Commands replayed on a throwaway engine before timing, so the JIT has compiled the hot
 * path. The whole standard flow: with only its first 200,000 commands, the timed pass still
 * met code the warm-up never ran (pools and indexes growing past sizes seen so far), and
 * deoptimised and recompiled about ten engine functions inside the clock (--trace-deopt).
 */
const warmupCommandsMax = 1_000_000;
/**
 * Warm-up passes, each on a fresh throwaway engine (and a fresh nodejs-order-book). Code
 * that runs only in a fresh engine's first commands (an account's first order caches its
 * balance slots) ran before V8 collected type feedback in the first pass, so the second
 * pass is where it deoptimises and recompiles, not the timed pass.
 */
const warmupPasses = 2;
/**
 * Timed passes per engine (each on a fresh engine after the warm-up); the reported rate is
 * the median pass's. One 1M-command pass of our engine lasts about 0.17 s, and single passes
 * varied by about 5 % from run to run, which was as large as the differences being measured.
 */
const timedPasses = 5;
/** Events are read back (checksum) and the buffer cleared after this many commands. */
const eventBatchCommands = 1024;
/** Progress lines on stderr at most this often during long loops. */
const progressEveryCommands = 250_000;
const bytesPerMegabyte = 1024 * 1024;

interface Options {
  file: string | null;
  generateCount: number;
  json: boolean;
  baseline: boolean;
  baselineOnly: boolean;
  resting: number;
}

function parseOptions(argv: string[]): Options {
  const options: Options = { file: null, generateCount: 1_000_000, json: false, baseline: true, baselineOnly: false, resting: 0 };
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index]!;
    const value = (): string => {
      const next = argv[++index];
      if (next === undefined) throw new Error(`${argument} needs a value`);
      return next;
    };
    if (argument === '--help' || argument === '-h') {
      console.log(usage);
      process.exit(0);
    } else if (argument === '--file') options.file = value();
    else if (argument === '--n') options.generateCount = positiveInteger(argument, value());
    else if (argument === '--json') options.json = true;
    else if (argument === '--no-baseline') options.baseline = false;
    else if (argument === '--baseline-only') options.baselineOnly = true;
    else if (argument === '--resting') options.resting = positiveInteger(argument, value());
    else throw new Error(`unknown option ${argument}\n${usage}`);
  }
  return options;
}

function positiveInteger(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer: ${text}`);
  return value;
}

let jsonMode = false;
/** Human-readable output: stdout normally, stderr when --json keeps stdout for the JSON line. */
function report(line: string): void {
  if (jsonMode) process.stderr.write(`${line}\n`);
  else console.log(line);
}

function progress(line: string): void {
  process.stderr.write(`  .. ${line}\n`);
}

function formatRate(perSecond: number): string {
  return Math.round(perSecond).toLocaleString('en-US');
}

function rssMegabytes(): number {
  return Math.round((process.memoryUsage().rss / bytesPerMegabyte) * 10) / 10;
}

/** A full collection when the runtime allows one (turned on at run time, no node flag needed). */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (() => void) | undefined;
  if (typeof gc === 'function') gc();
}

/** Pause between collections in settleMemory(), so background threads can free what a collection released. */
const memorySettleMs = 200;

/**
 * Collects garbage, waits, and collects again before memory is read: V8 frees the backing
 * stores of dead typed arrays (the pools' blocks before they grew) on a background thread
 * after a collection, so RSS read right after one still counted them (up to 30 MB more, and
 * a different amount in every run).
 */
function settleMemory(): void {
  collectGarbage();
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, memorySettleMs);
  collectGarbage();
}

function generatorPath(): string {
  const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const candidates = [resolve(repositoryRoot, '../shared/bench/gen-orderflow.mjs'), '/work/shared/bench/gen-orderflow.mjs'];
  const found = candidates.find((candidate) => existsSync(candidate));
  if (found === undefined) throw new Error(`gen-orderflow.mjs not found (looked in ${candidates.join(', ')}); pass --file`);
  return found;
}

function generateOrderFlow(count: number): string {
  const file = join(mkdtempSync(join(tmpdir(), 'bourse-orderflow-')), `orderflow-${count}.csv`);
  progress(`generating ${count} commands into ${file}`);
  const result = spawnSync(process.execPath, [generatorPath(), '--n', String(count), '--seed', '42', '--out', file], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (result.status !== 0) throw new Error(`gen-orderflow.mjs failed with status ${result.status}`);
  return file;
}

function setupEngine(engine: Engine, out: EventBuffer): number {
  const setup = orderFlowSetup();
  for (const command of setup) engine.execute(command, out);
  out.clear();
  return setup.length;
}

/**
 * The timed loop, a function of its own: called once per batch, it is compiled like any hot
 * function. Inline in throughputPass (which runs only a few times), it ran through
 * on-stack replacement, and the pass deoptimised at its start whenever the previous
 * pass's compiled code lacked type feedback for the setup before the loop (--trace-deopt).
 */
function executeBatch(engine: Engine, commands: Command[], start: number, end: number, out: EventBuffer): void {
  for (let index = start; index < end; index++) engine.execute(commands[index]!, out);
}

/** Replays `commands` on a fresh engine; returns seconds and the checksum. */
function throughputPass(commands: Command[], count: number): { seconds: number; cpuSeconds: number; checksum: OrderFlowChecksum; engine: Engine } {
  const engine = new Engine();
  const out = new EventBuffer(eventBatchCommands * 16);
  setupEngine(engine, out);
  const checksum = new OrderFlowChecksum();
  // The clock runs only while the engine executes a batch; reading the batch's events back
  // for the checksum (the consumer's work) happens between batches, off the clock.
  let nanoseconds = 0n;
  let cpuMicroseconds = 0;
  for (let start = 0; start < count; start += eventBatchCommands) {
    const end = Math.min(count, start + eventBatchCommands);
    const cpuStarted = process.cpuUsage();
    const started = process.hrtime.bigint();
    executeBatch(engine, commands, start, end, out);
    nanoseconds += process.hrtime.bigint() - started;
    // Process CPU time over the same batches: on a shared machine it shows what the loop
    // cost when the scheduler let it run (wall-clock ops/s is the reported figure).
    const cpu = process.cpuUsage(cpuStarted);
    cpuMicroseconds += cpu.user + cpu.system;
    checksum.addEvents(out);
    out.clear();
  }
  return { seconds: Number(nanoseconds) / 1e9, cpuSeconds: cpuMicroseconds / 1e6, checksum, engine };
}

/** The median cost of one pair of clock reads, so latency figures can be read against it. */
function timerOverheadNs(): number {
  const samples = new Float64Array(100_001);
  for (let index = 0; index < samples.length; index++) {
    const before = process.hrtime.bigint();
    samples[index] = Number(process.hrtime.bigint() - before);
  }
  samples.sort();
  return samples[samples.length >> 1]!;
}

function latencyPass(commands: Command[]): { latenciesNs: Float64Array; checksum: OrderFlowChecksum } {
  const engine = new Engine();
  const out = new EventBuffer(1024);
  setupEngine(engine, out);
  const checksum = new OrderFlowChecksum();
  const latenciesNs = new Float64Array(commands.length);
  for (let index = 0; index < commands.length; index++) {
    const started = process.hrtime.bigint();
    engine.execute(commands[index]!, out);
    latenciesNs[index] = Number(process.hrtime.bigint() - started);
    checksum.addEvents(out);
    out.clear();
    if (index % progressEveryCommands === progressEveryCommands - 1) progress(`latency pass: ${index + 1} commands`);
  }
  latenciesNs.sort();
  return { latenciesNs, checksum };
}

function percentile(sorted: Float64Array, fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))]!;
}

/** What the baseline uses of the nodejs-order-book module (imported in its own process only). */
interface BaselineLibrary {
  OrderBook: new () => OrderBook;
  Side: typeof BookSide;
}

/** One nodejs-order-book operation, prepared before timing like our Command objects. */
interface BaselineOperation {
  op: string;
  id: string;
  side: BookSide;
  price: number;
  size: number;
}

interface BaselineProcessResult {
  done: { id: string; price?: number; size: number }[];
  partial: { id: string; price: number } | null;
  partialQuantityProcessed: number;
}

/** The baseline's timed loop, a function of its own like executeBatch. */
function executeBaselineBatch(book: OrderBook, operations: BaselineOperation[], start: number, end: number, results: unknown[]): void {
  for (let index = start; index < end; index++) {
    const operation = operations[index]!;
    if (operation.op === 'A') results[index - start] = book.limit({ side: operation.side, id: operation.id, size: operation.size, price: operation.price });
    else if (operation.op === 'M') results[index - start] = book.market({ side: operation.side, size: operation.size });
    else results[index - start] = book.cancel(operation.id);
  }
}

/**
 * Runs nodejs-order-book on the same flow. Its checksum comes from the responses: every
 * maker in `done` (not the taker itself) was filled for its whole remaining size, and a
 * `partial` other than the taker is a maker filled for partialQuantityProcessed.
 */
function baselinePass(library: BaselineLibrary, operations: BaselineOperation[], count: number): { seconds: number; cpuSeconds: number; checksum: OrderFlowChecksum } {
  const book = new library.OrderBook();
  const checksum = new OrderFlowChecksum();
  const addFills = (result: BaselineProcessResult, takerId: string): void => {
    for (const order of result.done) {
      if (order.id === takerId) continue;
      checksum.trades++;
      checksum.qty += order.size;
      checksum.notional += order.size * order.price!;
    }
    if (result.partial !== null && result.partial.id !== takerId) {
      checksum.trades++;
      checksum.qty += result.partialQuantityProcessed;
      checksum.notional += result.partialQuantityProcessed * result.partial.price;
    }
  };
  // As for our engine, the clock runs per batch; the responses are read between batches.
  const results: unknown[] = new Array<unknown>(eventBatchCommands).fill(null);
  let nanoseconds = 0n;
  let cpuMicroseconds = 0;
  for (let start = 0; start < count; start += eventBatchCommands) {
    const end = Math.min(count, start + eventBatchCommands);
    const cpuStarted = process.cpuUsage();
    const started = process.hrtime.bigint();
    executeBaselineBatch(book, operations, start, end, results);
    nanoseconds += process.hrtime.bigint() - started;
    const cpu = process.cpuUsage(cpuStarted);
    cpuMicroseconds += cpu.user + cpu.system;
    for (let index = start; index < end; index++) {
      const operation = operations[index]!;
      const result = results[index - start];
      if (operation.op === 'C') {
        if (result !== undefined) checksum.cancelsOk++;
      } else {
        addFills(result as BaselineProcessResult, operation.op === 'A' ? operation.id : '');
      }
      results[index - start] = null;
    }
  }
  return { seconds: Number(nanoseconds) / 1e9, cpuSeconds: cpuMicroseconds / 1e6, checksum };
}

function baselineOperations(library: BaselineLibrary, lines: OrderFlowLine[]): BaselineOperation[] {
  return lines.map((line) => ({
    op: line.op,
    id: String(line.id),
    side: line.side === Side.Buy ? library.Side.BUY : library.Side.SELL,
    price: line.priceTicks,
    size: line.quantityLots,
  }));
}

/** The median wall time and, separately, the median CPU time of an odd number of passes. */
function medianPass(passes: { seconds: number; cpuSeconds: number }[]): { seconds: number; cpuSeconds: number } {
  const middle = (values: number[]): number => values.sort((a, b) => a - b)[(values.length - 1) >> 1]!;
  return { seconds: middle(passes.map((pass) => pass.seconds)), cpuSeconds: middle(passes.map((pass) => pass.cpuSeconds)) };
}

function checkChecksum(who: string, checksum: OrderFlowChecksum, expect: OrderFlowExpectation): boolean {
  const problems = checksumMismatches(checksum, expect);
  if (problems.length === 0) return true;
  process.stderr.write(`CHECKSUM MISMATCH (${who}): ${problems.join('; ')}\n`);
  return false;
}

function runOrderFlow(options: Options): number {
  if (options.file !== null) return runOrderFlowFile(options, options.file);
  // A generated flow lives in its own temporary folder, removed afterwards.
  const file = generateOrderFlow(options.generateCount);
  try {
    return runOrderFlowFile(options, file);
  } finally {
    rmSync(dirname(file), { recursive: true, force: true });
  }
}

function runOrderFlowFile(options: Options, file: string): number {
  const expectFile = `${file}.expect.json`;
  if (!existsSync(expectFile)) throw new Error(`${expectFile} is missing: regenerate the flow with gen-orderflow.mjs`);
  const expect = JSON.parse(readFileSync(expectFile, 'utf8')) as OrderFlowExpectation;
  progress(`parsing ${file}`);
  const { commands } = parseOrderFlow(readFileSync(file, 'utf8'), orderFlowSetup().length + 1);
  progress(`${commands.length} commands parsed; warm-up: ${warmupPasses} passes of the first ${Math.min(warmupCommandsMax, commands.length)}`);
  for (let pass = 0; pass < warmupPasses; pass++) throughputPass(commands, Math.min(warmupCommandsMax, commands.length));

  progress(`${timedPasses} timed passes (median reported)`);
  const passes: { seconds: number; cpuSeconds: number }[] = [];
  let ok = true;
  let timed = throughputPass(commands, commands.length);
  for (let pass = 0; ; pass++) {
    passes.push({ seconds: timed.seconds, cpuSeconds: timed.cpuSeconds });
    ok = checkChecksum(`engine, timed pass ${pass + 1}`, timed.checksum, expect) && ok;
    if (pass + 1 === timedPasses) break;
    timed = throughputPass(commands, commands.length);
  }
  const { seconds: medianSeconds, cpuSeconds: medianCpuSeconds } = medianPass(passes);
  const opsPerSec = commands.length / medianSeconds;
  const rssMB = rssMegabytes();
  const expectedOrders = commands.length - expect.cancels;
  if (timed.engine.counters().nextOrderId - 1 !== expectedOrders) {
    process.stderr.write(`ORDER COUNT MISMATCH: engine accepted ${timed.engine.counters().nextOrderId - 1} orders, the file has ${expectedOrders}\n`);
    ok = false;
  }

  progress('latency pass (every command timed)');
  const overheadNs = timerOverheadNs();
  const latency = latencyPass(commands);
  ok = checkChecksum('engine, latency pass', latency.checksum, expect) && ok;
  const result = {
    commands: commands.length,
    opsPerSec: Math.round(opsPerSec),
    p50Ns: percentile(latency.latenciesNs, 0.5),
    p99Ns: percentile(latency.latenciesNs, 0.99),
    p999Ns: percentile(latency.latenciesNs, 0.999),
    rssMB,
    trades: timed.checksum.trades,
    qty: timed.checksum.qty,
    notional: timed.checksum.notional,
    cancelsOk: timed.checksum.cancelsOk,
  };
  report(`Bourse engine on ${file}`);
  report(`  commands        ${result.commands.toLocaleString('en-US')}`);
  report(`  ops/s           ${formatRate(opsPerSec)}  (median of ${timedPasses} passes: ${medianSeconds.toFixed(3)} s wall in the engine, timed per ${eventBatchCommands}-command batch after warm-up; passes ${passes.map((pass) => formatRate(commands.length / pass.seconds)).join(' / ')})`);
  report(`  ops/CPU-second  ${formatRate(commands.length / medianCpuSeconds)}  (median ${medianCpuSeconds.toFixed(3)} s of process CPU time per pass)`);
  report(`  latency ns      p50 ${result.p50Ns}  p99 ${result.p99Ns}  p99.9 ${result.p999Ns}  (every command timed; clock pair costs ~${overheadNs} ns)`);
  report(`  rss MB          ${rssMB}  (includes the ${commands.length.toLocaleString('en-US')} preloaded Command objects)`);
  report(`  checksum        trades ${result.trades}  qty ${result.qty}  notional ${result.notional}  cancelsOk ${result.cancelsOk}  ${ok ? 'OK (matches expect.json)' : 'MISMATCH'}`);

  if (options.baseline) {
    progress('nodejs-order-book: in a child process of its own (warm-up and timed pass as above)');
    const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--baseline-only', '--file', file], {
      stdio: ['ignore', 'pipe', 'inherit'],
      encoding: 'utf8',
      maxBuffer: 1024 * 1024,
    });
    const line = child.stdout.trim().split('\n').pop() ?? '';
    if (child.status !== 0 || !line.startsWith('{')) throw new Error(`the nodejs-order-book run failed (exit ${child.status})`);
    const baseline = JSON.parse(line) as BaselineResult;
    const baselineOpsPerSec = baseline.operations / baseline.seconds;
    report(`nodejs-order-book on the same flow (its own process, same warm-up and batches)`);
    report(`  ops/s           ${formatRate(baselineOpsPerSec)}  (${baseline.seconds.toFixed(3)} s)  checksum ${baseline.checksumOk ? 'OK' : 'MISMATCH (see above)'}`);
    report(`  ops/CPU-second  ${formatRate(baseline.operations / baseline.cpuSeconds)}`);
    report(`  ratio           Bourse is ${(opsPerSec / baselineOpsPerSec).toFixed(1)}x nodejs-order-book (wall clock; ${(baseline.cpuSeconds / medianCpuSeconds).toFixed(1)}x by CPU time; medians of ${timedPasses} passes each)`);
    ok = ok && baseline.checksumOk;
  }
  if (options.json) console.log(JSON.stringify(result));
  return ok ? 0 : 1;
}

interface BaselineResult {
  operations: number;
  seconds: number;
  cpuSeconds: number;
  checksumOk: boolean;
}

/** --baseline-only: nodejs-order-book alone in this process; one JSON line on stdout. */
async function runBaselineOnly(file: string): Promise<number> {
  const library = (await import('nodejs-order-book')) as unknown as BaselineLibrary;
  const expect = JSON.parse(readFileSync(`${file}.expect.json`, 'utf8')) as OrderFlowExpectation;
  const { lines } = parseOrderFlow(readFileSync(file, 'utf8'), orderFlowSetup().length + 1);
  const operations = baselineOperations(library, lines);
  progress('nodejs-order-book: warming up');
  for (let pass = 0; pass < warmupPasses; pass++) baselinePass(library, operations, Math.min(warmupCommandsMax, operations.length));
  progress(`nodejs-order-book: ${timedPasses} timed passes (median reported)`);
  const passes: { seconds: number; cpuSeconds: number }[] = [];
  let checksumOk = true;
  for (let pass = 0; pass < timedPasses; pass++) {
    const baseline = baselinePass(library, operations, operations.length);
    passes.push({ seconds: baseline.seconds, cpuSeconds: baseline.cpuSeconds });
    checksumOk = checkChecksum(`nodejs-order-book, timed pass ${pass + 1}`, baseline.checksum, expect) && checksumOk;
  }
  const median = medianPass(passes);
  const result: BaselineResult = { operations: operations.length, seconds: median.seconds, cpuSeconds: median.cpuSeconds, checksumOk };
  console.log(JSON.stringify(result));
  return checksumOk ? 0 : 1;
}

/** Inserts `count` resting orders (bids below 100,000 ticks, asks above) and reports memory. */
function runResting(count: number, json: boolean): number {
  const limits = { ...defaultEngineLimits, openOrdersPerAccountMax: count };
  const out = new EventBuffer(eventBatchCommands * 8);
  collectGarbage();
  const before = process.memoryUsage();
  const engine = new Engine(limits);
  const setupCount = setupEngine(engine, out);
  // One command object, rewritten per order: only the engine's own memory grows.
  const command = placeOrder({ accountId: 1, marketId: orderFlowMarketId, side: Side.Buy, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC, priceTicks: 1, quantityLots: 1 });
  const levelsPerSide = 10_000;
  const started = process.hrtime.bigint();
  for (let index = 0; index < count; index++) {
    const side = index & 1 ? Side.Sell : Side.Buy;
    const step = (index >> 1) % levelsPerSide;
    command.sequence = setupCount + index + 1;
    command.timestampMs = 1_767_225_600_000 + index;
    command.side = side;
    command.accountId = orderFlowAccount(side, index >> 1);
    command.priceTicks = side === Side.Buy ? 99_999 - step : 100_001 + step;
    command.quantityLots = 1 + (index % 97);
    engine.execute(command, out);
    if (index % eventBatchCommands === eventBatchCommands - 1) out.clear();
    if (index % progressEveryCommands === progressEveryCommands - 1) progress(`${index + 1} resting orders`);
  }
  out.clear();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  settleMemory();
  const after = process.memoryUsage();
  const resting = engine.openOrderCount();
  const result = {
    mode: 'resting',
    orders: resting,
    insertsPerSec: Math.round(count / seconds),
    rssMB: rssMegabytes(),
    rssBeforeMB: Math.round((before.rss / bytesPerMegabyte) * 10) / 10,
    heapDeltaMB: Math.round(((after.heapUsed - before.heapUsed) / bytesPerMegabyte) * 10) / 10,
    arrayBuffersDeltaMB: Math.round(((after.arrayBuffers - before.arrayBuffers) / bytesPerMegabyte) * 10) / 10,
  };
  report(`Bourse engine, ${count.toLocaleString('en-US')} resting orders (${levelsPerSide} price levels per side)`);
  report(`  inserts/s       ${formatRate(result.insertsPerSec)}  (${seconds.toFixed(3)} s)`);
  report(`  memory MB       rss ${result.rssMB} (${result.rssBeforeMB} before the engine existed)  heap delta ${result.heapDeltaMB}  typed-array delta ${result.arrayBuffersDeltaMB}`);
  if (json) console.log(JSON.stringify(result));
  if (resting !== count) {
    process.stderr.write(`RESTING COUNT MISMATCH: ${resting} open orders, expected ${count}\n`);
    return 1;
  }
  return 0;
}

async function main(): Promise<void> {
  let options: Options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(2);
  }
  jsonMode = options.json;
  if (options.baselineOnly) {
    if (options.file === null) throw new Error('--baseline-only needs --file');
    jsonMode = true;
    process.exitCode = await runBaselineOnly(options.file);
    return;
  }
  const status = options.resting > 0 ? runResting(options.resting, options.json) : runOrderFlow(options);
  process.exitCode = status;
}

await main();
