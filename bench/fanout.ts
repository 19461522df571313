// Fan-out and metrics-overhead benchmarks (issue 6).
// 1. Fan-out: starts the embedded server, connects N WebSocket clients (default 5,000) to
//    one market's trade and 100 ms depth streams, drives orders through the load tester in
//    a separate process, and measures delivery latency from the engine event time `E` to
//    receipt by each client (p50/p99 per stream), plus the server's memory per connection.
// 2. Metrics overhead: replays the standard order flow through the engine in host-sized
//    batches, plain and with the engine metrics (the host's per-batch observer, and the
//    per-command wrapper for engines outside a host), in rotating passes, and reports the
//    throughput cost of each.
// Usage: npm run bench:fanout -- [--clients N] [--duration S] [--rate N] [--only fanout|metrics] [--json]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { Engine } from '../src/engine/engine.ts';
import { EventBuffer } from '../src/domain/events.ts';
import type { Command } from '../src/domain/command.ts';
import { orderFlowSetup, parseOrderFlow } from '../src/engine/orderflow.ts';
import { createEngineMetrics, engineBatchObserver, instrumentEngine } from '../src/adapters/metrics.ts';
import { newHistogram, recordMicroseconds, summarize, type Histogram } from '../src/tools/loadtest/recorder.ts';
import { startEmbeddedServer } from '../test/ops/embedded-server.ts';

const usage = `usage: npm run bench:fanout -- [options]
  --clients N        WebSocket clients on one market (default 5000)
  --duration S       seconds of order flow while they listen (default 20)
  --rate N           orders per second from the load tester (default 20; every trade is
                     one message to each client, so sends/s ~ trades/s x clients)
  --connect-batch N  connections opened at once while connecting (default 250)
  --commands N       order-flow commands for the metrics-overhead run (default 500000)
  --only WHAT        fanout | metrics (default: both)
  --json             one JSON line on stdout
  --help             this text`;

/** Commands the engine host executes per batch in the overhead run (its append batches). */
const overheadBatchCommands = 256;
/** Alternating passes per variant in the overhead run (the order alternates too). */
const overheadPasses = 8;
/** Memory is sampled after connecting and this long a settle pause. */
const settleMs = 2000;

interface Options {
  clients: number;
  durationSeconds: number;
  rate: number;
  connectBatch: number;
  commands: number;
  only: 'fanout' | 'metrics' | null;
  json: boolean;
}

function parseArguments(argv: string[]): Options | null {
  const options: Options = { clients: 5000, durationSeconds: 20, rate: 20, connectBatch: 250, commands: 500_000, only: null, json: false };
  for (let index = 0; index < argv.length; index++) {
    const name = argv[index];
    const value = () => {
      const text = argv[++index];
      if (text === undefined || !/^[0-9]+$/.test(text)) throw new Error(`${name} needs a whole number`);
      return Number(text);
    };
    if (name === '--help') return null;
    else if (name === '--clients') options.clients = value();
    else if (name === '--duration') options.durationSeconds = value();
    else if (name === '--rate') options.rate = value();
    else if (name === '--connect-batch') options.connectBatch = value();
    else if (name === '--commands') options.commands = value();
    else if (name === '--json') options.json = true;
    else if (name === '--only') {
      const what = argv[++index];
      if (what !== 'fanout' && what !== 'metrics') throw new Error('--only takes fanout or metrics');
      options.only = what;
    } else throw new Error(`unknown option ${name}`);
  }
  return options;
}

const progress = (message: string) => process.stderr.write(`bench:fanout: ${message}\n`);

function residentBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : 0;
}

/** Samples taken for each memory reading; the median damps garbage-collection swings. */
const memorySamples = 5;

/** The server's resident set and V8 heap in use, each the median of several samples. */
async function serverMemory(pid: number, metricsUrl: string): Promise<{ residentBytes: number; heapUsedBytes: number }> {
  const resident: number[] = [];
  const heap: number[] = [];
  for (let sample = 0; sample < memorySamples; sample++) {
    resident.push(residentBytes(pid));
    const text = await (await fetch(metricsUrl)).text();
    heap.push(Number(/^nodejs_heap_size_used_bytes (\S+)$/m.exec(text)?.[1] ?? 0));
    await new Promise((resolveSample) => setTimeout(resolveSample, 500));
  }
  const median = (values: number[]) => [...values].sort((left, right) => left - right)[Math.floor(values.length / 2)];
  return { residentBytes: median(resident), heapUsedBytes: median(heap) };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolveClose) => server.close(resolveClose));
  return port;
}

interface FanoutResult {
  clients: number;
  connected: number;
  durationSeconds: number;
  ordersOk: number;
  messages: number;
  messagesPerSecond: number;
  closedDuringRun: number;
  tradeLatencyMs: ReturnType<typeof summarize>;
  depthLatencyMs: ReturnType<typeof summarize>;
  serverResidentBytesPerConnection: number;
  serverHeapBytesPerConnection: number;
  clientResidentBytesPerConnection: number;
  serverResidentBeforeMegabytes: number;
  serverResidentAfterMegabytes: number;
}

async function fanout(options: Options): Promise<FanoutResult> {
  const metricsPort = await freePort();
  const server = await startEmbeddedServer({ METRICS_PORT: String(metricsPort) });
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  const trade = newHistogram();
  const depth = newHistogram();
  const sockets: WebSocket[] = [];
  let messages = 0;
  let closedDuringRun = 0;
  let running = true;
  try {
    progress(`server at ${server.url}; connecting ${options.clients} clients`);
    const serverBefore = await serverMemory(server.process.pid!, metricsUrl);
    const clientBefore = process.memoryUsage().rss;
    const url = `${server.url.replace('http', 'ws')}/stream?streams=btcusdt@trade/btcusdt@depth@100ms`;
    const record = (histogram: Histogram, eventMs: number) => recordMicroseconds(histogram, Math.max(0, performance.timeOrigin + performance.now() - eventMs) * 1000);
    let connected = 0;
    for (let first = 0; first < options.clients; first += options.connectBatch) {
      const batch: Promise<void>[] = [];
      for (let index = first; index < Math.min(options.clients, first + options.connectBatch); index++) {
        const socket = new WebSocket(url, { perMessageDeflate: false });
        sockets.push(socket);
        batch.push(
          new Promise<void>((resolveOpen) => {
            socket.once('open', () => {
              connected += 1;
              resolveOpen();
            });
            socket.once('error', () => resolveOpen());
          }),
        );
        socket.on('message', (data: Buffer) => {
          messages += 1;
          const text = data.toString();
          const eventMatch = /"E":(\d+)/.exec(text);
          if (eventMatch === null) return;
          // Combined stream: {"stream":"btcusdt@trade",...} or {"stream":"btcusdt@depth@100ms",...}
          record(text.startsWith('{"stream":"btcusdt@trade"') ? trade : depth, Number(eventMatch[1]));
        });
        socket.on('close', () => {
          if (running) closedDuringRun += 1;
        });
      }
      await Promise.all(batch);
    }
    await new Promise((resolveSettle) => setTimeout(resolveSettle, settleMs));
    const serverAfter = await serverMemory(server.process.pid!, metricsUrl);
    const clientAfter = process.memoryUsage().rss;
    progress(`${connected} connected; server RSS ${(serverBefore.residentBytes / 1e6).toFixed(0)} -> ${(serverAfter.residentBytes / 1e6).toFixed(0)} MB, heap ${(serverBefore.heapUsedBytes / 1e6).toFixed(0)} -> ${(serverAfter.heapUsedBytes / 1e6).toFixed(0)} MB; driving ${options.rate} orders/s for ${options.durationSeconds} s`);
    // The latency histograms only count messages of the measured run.
    trade.reset();
    depth.reset();
    messages = 0;
    const outDirectory = mkdtempSync(join(tmpdir(), 'bourse-fanout-'));
    const driver = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/tools/loadtest/main.ts', '--url', server.url, '--duration', String(options.durationSeconds), '--out', outDirectory, '--rate', String(options.rate), '--users', '10', '--subscribers', '0', '--mix', 'limit=60,market=30,cancel=10', '--admin-token', server.adminToken, '--quiet'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let driverOutput = '';
    driver.stdout!.on('data', (chunk: Buffer) => (driverOutput += chunk.toString()));
    await new Promise((resolveExit) => driver.once('exit', resolveExit));
    const result = JSON.parse(readFileSync(join(outDirectory, 'result.json'), 'utf8')) as { requests: { ok: number } };
    rmSync(outDirectory, { recursive: true, force: true });
    progress(driverOutput.trim().split('\n').slice(0, 2).join(' | '));
    running = false;
    return {
      clients: options.clients,
      connected,
      durationSeconds: options.durationSeconds,
      ordersOk: result.requests.ok,
      messages,
      messagesPerSecond: Math.round(messages / options.durationSeconds),
      closedDuringRun,
      tradeLatencyMs: summarize(trade),
      depthLatencyMs: summarize(depth),
      serverResidentBytesPerConnection: Math.round((serverAfter.residentBytes - serverBefore.residentBytes) / Math.max(1, connected)),
      serverHeapBytesPerConnection: Math.round((serverAfter.heapUsedBytes - serverBefore.heapUsedBytes) / Math.max(1, connected)),
      clientResidentBytesPerConnection: Math.round((clientAfter - clientBefore) / Math.max(1, connected)),
      serverResidentBeforeMegabytes: Math.round(serverBefore.residentBytes / 1e6),
      serverResidentAfterMegabytes: Math.round(serverAfter.residentBytes / 1e6),
    };
  } finally {
    running = false;
    for (const socket of sockets) socket.terminate();
    await server.stop();
  }
}

function orderFlowCommands(count: number): Command[] {
  const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const generator = [resolve(repositoryRoot, '../shared/bench/gen-orderflow.mjs'), '/work/shared/bench/gen-orderflow.mjs'].find((candidate) => existsSync(candidate));
  if (generator === undefined) throw new Error('gen-orderflow.mjs not found next to the repository (../shared/bench)');
  const directory = mkdtempSync(join(tmpdir(), 'bourse-orderflow-'));
  try {
    const file = join(directory, 'flow.csv');
    const generated = spawnSync(process.execPath, [generator, '--n', String(count), '--seed', '42', '--out', file], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (generated.status !== 0) throw new Error('gen-orderflow.mjs failed');
    return parseOrderFlow(readFileSync(file, 'utf8'), orderFlowSetup().length + 1).commands;
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

type OverheadVariant = 'plain' | 'host-hook' | 'engine-wrapper';

/**
 * One pass on a fresh engine in host-sized batches, yielding to microtasks between batches
 * as the host does. `host-hook` is what EngineHost does with `onBatchExecuted` (two clock
 * reads and three histogram updates per batch: the wiring in use); `engine-wrapper` is
 * instrumentEngine (a wrapped execute per command, for engines outside a host).
 */
async function enginePass(commands: Command[], variant: OverheadVariant): Promise<number> {
  const metrics = createEngineMetrics({ processMetrics: false });
  const engine = variant === 'engine-wrapper' ? instrumentEngine(new Engine(), metrics) : new Engine();
  const observe = variant === 'host-hook' ? engineBatchObserver(metrics) : null;
  const out = new EventBuffer();
  for (const command of orderFlowSetup()) engine.execute(command, out);
  out.clear();
  await Promise.resolve();
  const setupCommands = orderFlowSetup().length;
  const started = performance.now();
  for (let first = 0; first < commands.length; first += overheadBatchCommands) {
    const last = Math.min(commands.length, first + overheadBatchCommands);
    const batchStartedMs = observe === null ? 0 : performance.now();
    for (let index = first; index < last; index++) {
      engine.execute(commands[index], out);
      out.clear();
    }
    if (observe !== null) observe(last - first, (performance.now() - batchStartedMs) / 1000);
    await Promise.resolve();
  }
  const seconds = (performance.now() - started) / 1000;
  const expected = variant === 'engine-wrapper' ? commands.length + setupCommands : variant === 'host-hook' ? commands.length : 0;
  if (metrics.engineCommandDuration.count !== expected) throw new Error(`${variant}: observed ${metrics.engineCommandDuration.count} commands, expected ${expected}`);
  return commands.length / seconds;
}

async function metricsOverhead(commandCount: number) {
  progress(`metrics overhead: generating ${commandCount} order-flow commands`);
  const commands = orderFlowCommands(commandCount);
  const variants: OverheadVariant[] = ['plain', 'host-hook', 'engine-wrapper'];
  const warmup = commands.slice(0, Math.min(100_000, commands.length));
  for (const variant of variants) await enginePass(warmup, variant);
  const rates: Record<OverheadVariant, number[]> = { plain: [], 'host-hook': [], 'engine-wrapper': [] };
  for (let pass = 0; pass < overheadPasses; pass++) {
    // Rotate the order, so drift on a shared machine hits every variant alike.
    for (let offset = 0; offset < variants.length; offset++) {
      const variant = variants[(pass + offset) % variants.length];
      rates[variant].push(await enginePass(commands, variant));
    }
    progress(`pass ${pass + 1}: ${variants.map((variant) => `${variant} ${Math.round(rates[variant][pass])}/s`).join(', ')}`);
  }
  const median = (values: number[]) => [...values].sort((left, right) => left - right)[Math.floor(values.length / 2)];
  const overhead = (variant: OverheadVariant) => ({
    commandsPerSecondBest: Math.round(Math.max(...rates[variant])),
    overheadPercentBestOfEach: Math.round((1 - Math.max(...rates[variant]) / Math.max(...rates.plain)) * 1000) / 10,
    overheadPercentMedianOfPairs: Math.round((1 - median(rates[variant].map((value, index) => value / rates.plain[index]))) * 1000) / 10,
  });
  // The same costs measured in isolation, which a shared machine's noise does not swamp:
  // the observer's work per batch, and the wrapper's work per call around a no-op engine.
  const isolatedMetrics = createEngineMetrics({ processMetrics: false });
  const observe = engineBatchObserver(isolatedMetrics);
  const hookCalls = 1_000_000;
  const hookStarted = performance.now();
  for (let call = 0; call < hookCalls; call++) {
    const batchStartedMs = performance.now();
    observe(overheadBatchCommands, (performance.now() - batchStartedMs) / 1000);
  }
  const hookNanosecondsPerBatch = ((performance.now() - hookStarted) * 1e6) / hookCalls;
  const noOp = { calls: 0, execute(_command: number, _out: null) { this.calls += 1; } };
  const wrapped = instrumentEngine({ calls: 0, execute(_command: number, _out: null) { this.calls += 1; } }, isolatedMetrics);
  const wrapperCalls = 20_000_000;
  const timeCalls = async (target: { execute(command: number, out: null): void }) => {
    const started = performance.now();
    for (let first = 0; first < wrapperCalls; first += overheadBatchCommands) {
      for (let call = first; call < first + overheadBatchCommands; call++) target.execute(call, null);
      if (first % (overheadBatchCommands * 1024) === 0) await Promise.resolve();
    }
    return ((performance.now() - started) * 1e6) / wrapperCalls;
  };
  await timeCalls(noOp);
  await timeCalls(wrapped);
  const plainCallNanoseconds = await timeCalls(noOp);
  const wrappedCallNanoseconds = await timeCalls(wrapped);
  const engineNanosecondsPerCommand = 1e9 / Math.max(...rates.plain);
  const wrapperNanosecondsPerCommand = Math.max(0, wrappedCallNanoseconds - plainCallNanoseconds);
  return {
    commands: commands.length,
    batchCommands: overheadBatchCommands,
    passes: overheadPasses,
    isolated: {
      engineNanosecondsPerCommand: Math.round(engineNanosecondsPerCommand),
      hookNanosecondsPerBatch: Math.round(hookNanosecondsPerBatch),
      hookOverheadPercent: Math.round((hookNanosecondsPerBatch / (overheadBatchCommands * engineNanosecondsPerCommand)) * 10000) / 100,
      wrapperNanosecondsPerCommand: Math.round(wrapperNanosecondsPerCommand * 10) / 10,
      wrapperOverheadPercent: Math.round((wrapperNanosecondsPerCommand / engineNanosecondsPerCommand) * 10000) / 100,
    },
    plainCommandsPerSecondBest: Math.round(Math.max(...rates.plain)),
    hostHook: overhead('host-hook'),
    engineWrapper: overhead('engine-wrapper'),
  };
}

async function main(): Promise<void> {
  const options = parseArguments(process.argv.slice(2));
  if (options === null) {
    console.log(usage);
    return;
  }
  // The machine is shared: the load average says how much of it the benchmark had.
  const report: Record<string, unknown> = { startedAt: new Date().toISOString(), loadAverageAtStart: loadavg().map((value) => Math.round(value * 10) / 10) };
  if (options.only !== 'metrics') report.fanout = await fanout(options);
  if (options.only !== 'fanout') report.metricsOverhead = await metricsOverhead(options.commands);
  report.loadAverageAtEnd = loadavg().map((value) => Math.round(value * 10) / 10);
  if (options.json) {
    console.log(JSON.stringify(report));
    return;
  }
  console.log(JSON.stringify(report, null, 2));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`bench:fanout: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
