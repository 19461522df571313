// Fan-out and metrics-overhead benchmarks (issue 6).
// 1. Fan-out: starts the embedded server, connects N WebSocket clients (default 5,000) to
//    one market's trade and depth streams (the real-time `@depth` diffs by default, whose `E`
//    is the engine event time; `--depth-stream depth@100ms` measures the 100 ms stream, whose
//    own window adds up to 100 ms), drives orders through the load tester in
//    a separate process, and measures delivery latency from the engine event time `E` to
//    receipt by each client (p50/p99 per stream), plus the server's memory per connection.
//    The clients are lean (bench/fanout-client.ts: raw TCP, frames read in place) so that
//    5,000 of them on the server's two cores measure the server; `--client ws` uses the
//    `ws` library instead. CPU time of server, clients and load tester is reported too.
// 2. Stream server alone (`--only streams`): the stream server on an in-process MemoryPubSub,
//    the same lean clients in a child process, and a publisher of trade and depth messages
//    shaped like the real ones at `--rate` engine batches per second (a depth diff each, a
//    trade every other one, as in the full run). Reports CPU per delivered message of the
//    server (user and system) and of the clients, and delivery latency from publish; with
//    no order path and no database this is the fan-out's own cost, the figure to compare
//    changes by on a shared machine.
// 3. Metrics overhead: replays the standard order flow through the engine in host-sized
//    batches, plain and with the engine metrics (the host's per-batch observer, and the
//    per-command wrapper for engines outside a host), in rotating passes, and reports the
//    throughput cost of each.
// Usage: npm run bench:fanout -- [--clients N] [--duration S] [--rate N] [--client lean|ws] [--depth-stream depth|depth@100ms] [--only fanout|streams|metrics] [--server-profile DIR] [--json]
import { fork, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { createServer as createHttpServer } from 'node:http';
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
import { freePort } from '../src/cluster/processes.ts';
import { LeanClient, streamKindDepth, streamKindTrade } from './fanout-client.ts';
import { attachStreamServer } from '../src/services/gateway/streams.ts';
import { MemoryCache, MemoryPubSub } from '../src/adapters/memory-cache.ts';
import { createLogger } from '../src/adapters/logger.ts';

const usage = `usage: npm run bench:fanout -- [options]
  --clients N        WebSocket clients on one market (default 5000)
  --duration S       measured seconds of order flow while they listen (default 20)
  --warmup S         seconds of order flow before the measured window (default 3): the
                     load tester's own start-up (module loading, creating its users through
                     the admin API) and the first messages through cold code are not measured
  --rate N           orders per second from the load tester (default 20; every trade is
                     one message to each client, so sends/s ~ trades/s x clients)
  --connect-batch N  connections opened at once while connecting (default 250)
  --client KIND      lean (raw TCP WebSocket client, default) | ws (the ws library)
  --depth-stream S   depth (real-time diffs, default) | depth@100ms
  --commands N       order-flow commands for the metrics-overhead run (default 500000)
  --only WHAT        fanout | streams (the stream server alone, not run by default) | metrics
                     (default: fanout and metrics)
  --server-profile D write a V8 CPU profile of the server process into directory D
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
  warmupSeconds: number;
  rate: number;
  connectBatch: number;
  client: 'lean' | 'ws';
  depthStream: 'depth' | 'depth@100ms';
  commands: number;
  only: 'fanout' | 'streams' | 'metrics' | null;
  json: boolean;
  serverProfileDirectory: string | null;
}

function parseArguments(argv: string[]): Options | null {
  const options: Options = { clients: 5000, durationSeconds: 20, warmupSeconds: 3, rate: 20, connectBatch: 250, client: 'lean', depthStream: 'depth', commands: 500_000, only: null, json: false, serverProfileDirectory: null };
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
    else if (name === '--warmup') options.warmupSeconds = value();
    else if (name === '--rate') options.rate = value();
    else if (name === '--connect-batch') options.connectBatch = value();
    else if (name === '--commands') options.commands = value();
    else if (name === '--json') options.json = true;
    else if (name === '--server-profile') {
      const directory = argv[++index];
      if (directory === undefined) throw new Error('--server-profile needs a directory');
      options.serverProfileDirectory = resolve(directory);
    }
    else if (name === '--client') {
      const kind = argv[++index];
      if (kind !== 'lean' && kind !== 'ws') throw new Error('--client takes lean or ws');
      options.client = kind;
    } else if (name === '--depth-stream') {
      const stream = argv[++index];
      if (stream !== 'depth' && stream !== 'depth@100ms') throw new Error('--depth-stream takes depth or depth@100ms');
      options.depthStream = stream;
    }
    else if (name === '--only') {
      const what = argv[++index];
      if (what !== 'fanout' && what !== 'streams' && what !== 'metrics') throw new Error('--only takes fanout, streams or metrics');
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

/** CPU seconds (user + system) a process has used so far, from /proc (clock ticks of 10 ms). */
function processCpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // After "pid (name) ", field 3 is the state; utime and stime are fields 14 and 15.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * Seconds the process's main thread has run and has waited, runnable, for a CPU so far
 * (/proc schedstat): the wait says how much of the delay was the shared machine's.
 */
function mainThreadSchedule(pid: number): { runSeconds: number; waitSeconds: number } {
  const [run, wait] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').trim().split(' ').map(Number);
  return { runSeconds: run! / 1e9, waitSeconds: wait! / 1e9 };
}

/**
 * Two of the server's own histograms, bucket -> count: market-data delivery (engine event
 * time to the message reaching the stream server) and the command journal's durable append
 * (the fsync that precedes execution, so part of every message's latency).
 */
async function serverHistograms(metricsUrl: string): Promise<{ delivery: Map<string, number>; journalAppend: Map<string, number> }> {
  const text = await (await fetch(metricsUrl)).text();
  const read = (pattern: RegExp) => new Map([...text.matchAll(pattern)].map((match) => [match[1]!, Number(match[2])]));
  return {
    delivery: read(/^bourse_market_data_delivery_seconds_bucket\{le="([^"]+)"\} (\S+)$/gm),
    journalAppend: read(/^bourse_log_append_duration_seconds_bucket\{log="command",le="([^"]+)"\} (\S+)$/gm),
  };
}

/**
 * Upper bucket bounds (ms) holding the median and the 99th percentile of the observations
 * between two readings, and how many took longer than 100 ms (the fan-out target).
 */
function bucketQuantiles(before: Map<string, number>, after: Map<string, number>): { count: number; p50AtMostMs: number; p99AtMostMs: number; over100Ms: number } {
  const bounds = [...after.keys()];
  const total = (after.get('+Inf') ?? 0) - (before.get('+Inf') ?? 0);
  const boundOf = (quantile: number) => {
    for (const bound of bounds) {
      if ((after.get(bound) ?? 0) - (before.get(bound) ?? 0) >= quantile * total) return bound === '+Inf' ? Number.POSITIVE_INFINITY : Number(bound) * 1000;
    }
    return Number.NaN;
  };
  const within100Ms = (after.get('0.1') ?? 0) - (before.get('0.1') ?? 0);
  return { count: total, p50AtMostMs: boundOf(0.5), p99AtMostMs: boundOf(0.99), over100Ms: total - within100Ms };
}

interface FanoutResult {
  clients: number;
  clientKind: 'lean' | 'ws';
  streams: string[];
  connected: number;
  durationSeconds: number;
  ordersOk: number;
  messages: number;
  messagesPerSecond: number;
  closedDuringRun: number;
  tradeLatencyMs: ReturnType<typeof summarize>;
  depthLatencyMs: ReturnType<typeof summarize>;
  /** Per client over the run: fewest and most messages of each stream (every client listens to both). */
  tradeMessagesPerClient: { min: number; max: number };
  depthMessagesPerClient: { min: number; max: number };
  /** The server's own view: engine event to written to the sockets, once per message (bucket bounds; null in JSON when above the largest, 2.5 s). */
  serverDelivery: ReturnType<typeof bucketQuantiles>;
  /** The command journal's durable appends during the run (E is stamped before them). */
  serverJournalAppend: ReturnType<typeof bucketQuantiles>;
  /** CPU used during the order flow, in percent of one core. */
  cpuPercent: { server: number; clients: number; loadTester: number };
  /** The server's main thread during the order flow, in percent of wall time: running, and runnable but waiting for a CPU. */
  serverMainThreadPercent: { running: number; waitingForCpu: number };
  serverResidentBytesPerConnection: number;
  serverHeapBytesPerConnection: number;
  clientResidentBytesPerConnection: number;
  serverResidentBeforeMegabytes: number;
  serverResidentAfterMegabytes: number;
}

/** One benchmark client, whatever its implementation: counts per stream since the last reset. */
interface FanoutClient {
  trade: number;
  depth: number;
  opened: Promise<boolean>;
  terminate(): void;
}

async function fanout(options: Options): Promise<FanoutResult> {
  const metricsPort = await freePort();
  // The profile is written when the server exits on the SIGTERM of stop().
  const profiling = options.serverProfileDirectory === null ? [] : ['--cpu-prof', `--cpu-prof-dir=${options.serverProfileDirectory}`];
  const server = await startEmbeddedServer({ METRICS_PORT: String(metricsPort) }, profiling);
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  const trade = newHistogram();
  const depth = newHistogram();
  const clients: FanoutClient[] = [];
  let messages = 0;
  let closedDuringRun = 0;
  let running = true;
  const serverPid = server.process.pid!;
  try {
    progress(`server at ${server.url}; connecting ${options.clients} ${options.client} clients`);
    const serverBefore = await serverMemory(serverPid, metricsUrl);
    const clientBefore = process.memoryUsage().rss;
    const streams = ['btcusdt@trade', `btcusdt@${options.depthStream}`];
    const path = `/stream?streams=${streams.join('/')}`;
    const { hostname, port } = new URL(server.url);
    const record = (histogram: Histogram, eventMs: number, receivedMs: number) => recordMicroseconds(histogram, Math.max(0, receivedMs - eventMs) * 1000);
    const onClose = () => {
      if (running) closedDuringRun += 1;
    };
    const openClient = (): FanoutClient => {
      if (options.client === 'lean') {
        const client = new LeanClient(hostname, Number(port), path, (_client, kind, eventMs, receivedMs) => {
          messages += 1;
          if (Number.isNaN(eventMs)) return;
          if (kind === streamKindTrade) record(trade, eventMs, receivedMs);
          else if (kind === streamKindDepth) record(depth, eventMs, receivedMs);
        }, onClose);
        const counts: FanoutClient = {
          get trade() { return client.tradeMessages; },
          set trade(value: number) { client.tradeMessages = value; },
          get depth() { return client.depthMessages; },
          set depth(value: number) { client.depthMessages = value; },
          opened: client.opened,
          terminate: () => client.terminate(),
        };
        return counts;
      }
      const socket = new WebSocket(`${server.url.replace('http', 'ws')}${path}`, { perMessageDeflate: false });
      const counts: FanoutClient = {
        trade: 0,
        depth: 0,
        opened: new Promise<boolean>((resolveOpen) => {
          socket.once('open', () => resolveOpen(true));
          socket.once('error', () => resolveOpen(false));
        }),
        terminate: () => socket.terminate(),
      };
      socket.on('message', (data: Buffer) => {
        const receivedMs = performance.timeOrigin + performance.now();
        messages += 1;
        const text = data.toString();
        const eventMatch = /"E":(\d+)/.exec(text);
        if (eventMatch === null) return;
        // Combined stream: {"stream":"btcusdt@trade",...} or {"stream":"btcusdt@depth...",...}
        const isTrade = text.startsWith('{"stream":"btcusdt@trade"');
        if (isTrade) counts.trade += 1;
        else counts.depth += 1;
        record(isTrade ? trade : depth, Number(eventMatch[1]), receivedMs);
      });
      socket.on('close', onClose);
      return counts;
    };
    let connected = 0;
    for (let first = 0; first < options.clients; first += options.connectBatch) {
      const batch: Promise<boolean>[] = [];
      for (let index = first; index < Math.min(options.clients, first + options.connectBatch); index++) {
        const client = openClient();
        clients.push(client);
        batch.push(client.opened);
      }
      for (const opened of await Promise.all(batch)) if (opened) connected += 1;
    }
    await new Promise((resolveSettle) => setTimeout(resolveSettle, settleMs));
    const serverAfter = await serverMemory(serverPid, metricsUrl);
    const clientAfter = process.memoryUsage().rss;
    progress(`${connected} connected; server RSS ${(serverBefore.residentBytes / 1e6).toFixed(0)} -> ${(serverAfter.residentBytes / 1e6).toFixed(0)} MB, heap ${(serverBefore.heapUsedBytes / 1e6).toFixed(0)} -> ${(serverAfter.heapUsedBytes / 1e6).toFixed(0)} MB; driving ${options.rate} orders/s for ${options.warmupSeconds} s of warm-up + ${options.durationSeconds} s measured`);
    const outDirectory = mkdtempSync(join(tmpdir(), 'bourse-fanout-'));
    const driver = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/tools/loadtest/main.ts', '--url', server.url, '--duration', String(options.durationSeconds + options.warmupSeconds), '--out', outDirectory, '--rate', String(options.rate), '--users', '10', '--subscribers', '0', '--mix', 'limit=60,market=30,cancel=10', '--admin-token', server.adminToken, '--quiet'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let driverOutput = '';
    let driverCpuSeconds = 0;
    driver.stdout!.on('data', (chunk: Buffer) => (driverOutput += chunk.toString()));
    // The load tester's CPU time is read just before it exits (its /proc entry goes with it).
    const driverCpuTimer = setInterval(() => {
      try {
        driverCpuSeconds = processCpuSeconds(driver.pid!);
      } catch {
        // Exited between two readings; the last one stands.
      }
    }, 250);
    // Warm-up: the same order flow, not measured. Latency, counts and CPU start over after it,
    // so they cover only the measured run.
    const driverExited = new Promise((resolveExit) => driver.once('exit', resolveExit));
    await new Promise((resolveWarmup) => setTimeout(resolveWarmup, options.warmupSeconds * 1000));
    trade.reset();
    depth.reset();
    messages = 0;
    for (const client of clients) {
      client.trade = 0;
      client.depth = 0;
    }
    const histogramsBefore = await serverHistograms(metricsUrl);
    const serverCpuBefore = processCpuSeconds(serverPid);
    const scheduleBefore = mainThreadSchedule(serverPid);
    const clientCpuBefore = process.cpuUsage();
    const driverCpuBefore = driverCpuSeconds;
    const runStartedMs = performance.now();
    await driverExited;
    clearInterval(driverCpuTimer);
    const runSeconds = (performance.now() - runStartedMs) / 1000;
    const clientCpu = process.cpuUsage(clientCpuBefore);
    const serverCpuSeconds = processCpuSeconds(serverPid) - serverCpuBefore;
    const scheduleAfter = mainThreadSchedule(serverPid);
    const histogramsAfter = await serverHistograms(metricsUrl);
    const result = JSON.parse(readFileSync(join(outDirectory, 'result.json'), 'utf8')) as { requests: { ok: number } };
    rmSync(outDirectory, { recursive: true, force: true });
    progress(driverOutput.trim().split('\n').slice(0, 2).join(' | '));
    running = false;
    const percentOfCore = (seconds: number) => Math.round((seconds / runSeconds) * 1000) / 10;
    const spread = (values: number[]) => ({ min: Math.min(...values), max: Math.max(...values) });
    return {
      clients: options.clients,
      clientKind: options.client,
      streams,
      connected,
      durationSeconds: options.durationSeconds,
      ordersOk: result.requests.ok,
      messages,
      messagesPerSecond: Math.round(messages / options.durationSeconds),
      closedDuringRun,
      tradeLatencyMs: summarize(trade),
      depthLatencyMs: summarize(depth),
      tradeMessagesPerClient: spread(clients.map((client) => client.trade)),
      depthMessagesPerClient: spread(clients.map((client) => client.depth)),
      serverDelivery: bucketQuantiles(histogramsBefore.delivery, histogramsAfter.delivery),
      serverJournalAppend: bucketQuantiles(histogramsBefore.journalAppend, histogramsAfter.journalAppend),
      cpuPercent: {
        server: percentOfCore(serverCpuSeconds),
        clients: percentOfCore((clientCpu.user + clientCpu.system) / 1e6),
        loadTester: percentOfCore(driverCpuSeconds - driverCpuBefore),
      },
      serverMainThreadPercent: {
        running: percentOfCore(scheduleAfter.runSeconds - scheduleBefore.runSeconds),
        waitingForCpu: percentOfCore(scheduleAfter.waitSeconds - scheduleBefore.waitSeconds),
      },
      serverResidentBytesPerConnection: Math.round((serverAfter.residentBytes - serverBefore.residentBytes) / Math.max(1, connected)),
      serverHeapBytesPerConnection: Math.round((serverAfter.heapUsedBytes - serverBefore.heapUsedBytes) / Math.max(1, connected)),
      clientResidentBytesPerConnection: Math.round((clientAfter - clientBefore) / Math.max(1, connected)),
      serverResidentBeforeMegabytes: Math.round(serverBefore.residentBytes / 1e6),
      serverResidentAfterMegabytes: Math.round(serverAfter.residentBytes / 1e6),
    };
  } finally {
    running = false;
    for (const client of clients) client.terminate();
    await server.stop();
  }
}

/** What the client process of `--only streams` reports (see fanout-client.ts). */
interface ClientProcessReport {
  messages: number;
  userMicroseconds: number;
  systemMicroseconds: number;
  latencyMs: ReturnType<typeof summarize>;
}

async function streamServerAlone(options: Options) {
  const pubsub = new MemoryPubSub();
  const reads = { marketBySymbol: (symbol: string) => (symbol === 'BTCUSDT' ? { symbol } : null) };
  const httpServer = createHttpServer();
  const streams = attachStreamServer(httpServer, { pubsub, cache: new MemoryCache(), reads: reads as never, logger: createLogger('bench-streams', {}).child({}, { level: 'silent' }) });
  await new Promise<void>((resolveListen) => httpServer.listen(0, '127.0.0.1', resolveListen));
  const port = (httpServer.address() as { port: number }).port;
  const path = '/stream?streams=btcusdt@trade/btcusdt@depth';
  const child = fork(fileURLToPath(new URL('./fanout-client.ts', import.meta.url)), [String(port), String(options.clients), path], { execArgv: ['--import', 'tsx'] });
  const ask = <T>(message: object | null): Promise<T> => new Promise<T>((resolveAnswer) => {
    child.once('message', (answer) => resolveAnswer(answer as T));
    if (message !== null) child.send(message);
  });
  try {
    progress(`streams alone: connecting ${options.clients} lean clients`);
    const { connected } = await ask<{ connected: number }>(null);
    await new Promise((resolveSettle) => setTimeout(resolveSettle, settleMs));
    progress(`${connected} connected; publishing ${options.rate} batches/s for ${options.durationSeconds} s`);
    await ask({ reset: true });
    const cpuBefore = process.cpuUsage();
    const sentBefore = streams.stats().messagesSent;
    const startedMs = performance.now();
    let batches = 0;
    let tradeId = 1;
    let updateId = 1000;
    // Payloads shaped like market data's (same fields and sizes); E is the publish time.
    const publishBatch = () => {
      const nowMs = Date.now();
      if (batches % 2 === 0) {
        void pubsub.publish('md.BTCUSDT.trade', JSON.stringify({ e: 'trade', E: nowMs, s: 'BTCUSDT', t: tradeId++, p: '60012.34000000', q: '0.01230000', b: 1234567, a: 1234568, T: nowMs, m: true, M: true }));
      }
      const firstUpdateId = updateId + 1;
      updateId += 3;
      void pubsub.publish('md.BTCUSDT.depth', JSON.stringify({ e: 'depthUpdate', E: nowMs, s: 'BTCUSDT', U: firstUpdateId, u: updateId, b: [['60010.00000000', '1.25000000'], ['60009.50000000', '0.00000000']], a: [['60015.00000000', '0.50000000']] }));
      batches += 1;
    };
    const timer = setInterval(publishBatch, 1000 / options.rate);
    await new Promise((resolveRun) => setTimeout(resolveRun, options.durationSeconds * 1000));
    clearInterval(timer);
    // Let the last batch arrive.
    await new Promise((resolveDrain) => setTimeout(resolveDrain, 500));
    const seconds = (performance.now() - startedMs) / 1000;
    const serverCpu = process.cpuUsage(cpuBefore);
    const clients = await ask<ClientProcessReport>({ report: true });
    const perMessage = (microseconds: number) => Math.round((microseconds / Math.max(1, clients.messages)) * 100) / 100;
    return {
      clients: options.clients,
      connected,
      batchesPublished: batches,
      batchesPlanned: Math.round(options.rate * options.durationSeconds),
      messagesSent: streams.stats().messagesSent - sentBefore,
      messagesReceived: clients.messages,
      serverCpuPercent: Math.round(((serverCpu.user + serverCpu.system) / 1e6 / seconds) * 1000) / 10,
      serverMicrosecondsPerMessage: { user: perMessage(serverCpu.user), system: perMessage(serverCpu.system) },
      clientsCpuPercent: Math.round(((clients.userMicroseconds + clients.systemMicroseconds) / 1e6 / seconds) * 1000) / 10,
      clientsMicrosecondsPerMessage: { user: perMessage(clients.userMicroseconds), system: perMessage(clients.systemMicroseconds) },
      latencyMs: clients.latencyMs,
    };
  } finally {
    child.send({ exit: true });
    await new Promise((resolveExit) => child.once('exit', resolveExit));
    await streams.close();
    await new Promise((resolveClose) => httpServer.close(resolveClose));
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
  if (options.only === 'fanout' || options.only === null) report.fanout = await fanout(options);
  if (options.only === 'streams') report.streams = await streamServerAlone(options);
  if (options.only === 'metrics' || options.only === null) report.metricsOverhead = await metricsOverhead(options.commands);
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
