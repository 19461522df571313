// The API benchmark: starts the embedded exchange as a child process (fsync on, fresh data
// directory), drives it with signed POST /api/v3/order requests over 64 keep-alive
// connections for a fixed time, and prints orders/s and p50/p99/p99.9 latency. In the same
// run it measures a minimal Fastify route (its own child process, same client) so the
// ratio says how much of the bare HTTP stack the exchange keeps.
//
// usage: npm run bench:api [-- --duration 10 --connections 64 --users 8]
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { freePort } from '../src/cluster/processes.ts';
import { threadCpuSeconds, totalOf } from './thread-cpu.ts';

const benchLimits = {
  /** Time to wait for a child server to answer before giving up. */
  startupMsMax: 120_000,
  /** Latency samples kept per run (enough for p99.9 at the rates we reach). */
  samplesMax: 2_000_000,
  /** Longest wait for the server's threads to go quiet after the run (the projection catching up). */
  settleMsMax: 120_000,
  /** How often the server's CPU time is sampled while it settles. */
  settlePollMs: 500,
  /** Below this share of one core over a poll, the server counts as settled. */
  settledCoreShareMax: 0.1,
};

/** Where the server's CPU went between two samples: its main thread, its busiest other thread, all threads. */
interface ServerCpu {
  mainSeconds: number;
  busiestOtherSeconds: number;
  totalSeconds: number;
}

function serverCpuBetween(pid: number, before: Map<number, number>, after: Map<number, number>): ServerCpu {
  let busiestOtherSeconds = 0;
  for (const [threadId, seconds] of after) {
    if (threadId === pid) continue;
    busiestOtherSeconds = Math.max(busiestOtherSeconds, seconds - (before.get(threadId) ?? 0));
  }
  return {
    mainSeconds: (after.get(pid) ?? 0) - (before.get(pid) ?? 0),
    busiestOtherSeconds,
    totalSeconds: totalOf(after) - totalOf(before),
  };
}

/** Waits until the server uses little CPU (its projections have caught up); returns the wait in seconds. */
async function waitUntilQuiet(pid: number): Promise<number> {
  const startedAt = performance.now();
  let previous = totalOf(threadCpuSeconds(pid));
  while (performance.now() - startedAt < benchLimits.settleMsMax) {
    await new Promise((resolve) => setTimeout(resolve, benchLimits.settlePollMs));
    const current = totalOf(threadCpuSeconds(pid));
    if (current - previous < (benchLimits.settledCoreShareMax * benchLimits.settlePollMs) / 1000) break;
    previous = current;
  }
  return (performance.now() - startedAt) / 1000;
}

interface Options {
  durationSeconds: number;
  connections: number;
  users: number;
  warmupSeconds: number;
}

function parseOptions(argv: string[]): Options {
  if (argv.includes('--help')) {
    console.log('usage: npm run bench:api [-- --duration SECONDS --connections N --users N --warmup SECONDS]');
    process.exit(0);
  }
  const value = (name: string, fallback: number) => {
    const index = argv.indexOf(`--${name}`);
    return index >= 0 ? Number(argv[index + 1]) : fallback;
  };
  return { durationSeconds: value('duration', 10), connections: value('connections', 64), users: value('users', 8), warmupSeconds: value('warmup', 2) };
}

async function waitUntilUp(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + benchLimits.startupMsMax;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`server at ${url} did not start`);
}

interface RunResult {
  requests: number;
  errors: number;
  seconds: number;
  latenciesMs: Float64Array;
  /** CPU seconds this (client) process used during the run. */
  clientCpuSeconds: number;
}

/** Keeps `connections` requests in flight for `seconds`; `makeRequest` builds each one. */
async function drive(
  pool: Pool,
  connections: number,
  seconds: number,
  makeRequest: (index: number) => { method: 'GET' | 'POST'; path: string; headers?: Record<string, string> },
): Promise<RunResult> {
  const latencies = new Float64Array(benchLimits.samplesMax);
  let requests = 0;
  let errors = 0;
  let counter = 0;
  let firstError: string | null = null;
  const cpuBefore = process.cpuUsage();
  const startedAt = performance.now();
  const endAt = startedAt + seconds * 1000;
  const worker = async () => {
    while (performance.now() < endAt) {
      const request = makeRequest(counter++);
      const sentAt = performance.now();
      const response = await pool.request({ method: request.method, path: request.path, headers: request.headers });
      const body = await response.body.text();
      const latency = performance.now() - sentAt;
      if (response.statusCode !== 200) {
        errors++;
        firstError ??= `${response.statusCode} ${body}`;
      }
      if (requests < latencies.length) latencies[requests] = latency;
      requests++;
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  if (firstError) console.log(`  first error: ${firstError}`);
  const elapsed = (performance.now() - startedAt) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  return {
    requests,
    errors,
    seconds: elapsed,
    latenciesMs: latencies.slice(0, Math.min(requests, latencies.length)).sort(),
    clientCpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

function percentile(sorted: Float64Array, fraction: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))]!;
}

function summary(name: string, result: RunResult): string {
  const rate = (result.requests - result.errors) / result.seconds;
  return `${name.padEnd(22)} ${rate.toFixed(0).padStart(8)} req/s  p50 ${percentile(result.latenciesMs, 0.5).toFixed(2)} ms  p99 ${percentile(result.latenciesMs, 0.99).toFixed(2)} ms  p99.9 ${percentile(result.latenciesMs, 0.999).toFixed(2)} ms  errors ${result.errors}`;
}

const bareServerSource = `
import Fastify from 'fastify';
const app = Fastify();
app.get('/ping', async () => ({}));
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
`;

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const dataDirectory = await mkdtemp(join(tmpdir(), 'bourse-bench-api-'));
  const children: ChildProcess[] = [];
  const stopAll = () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  };
  process.on('exit', stopAll);
  try {
    // 1. The bare Fastify route, alone on the machine.
    const barePort = await freePort();
    const bare = spawn(process.execPath, ['--input-type=module', '-e', bareServerSource], { env: { ...process.env, PORT: String(barePort) }, stdio: 'inherit' });
    children.push(bare);
    const bareUrl = `http://127.0.0.1:${barePort}`;
    await waitUntilUp(`${bareUrl}/ping`, bare);
    const barePool = new Pool(bareUrl, { connections: options.connections, pipelining: 1 });
    await drive(barePool, options.connections, options.warmupSeconds, () => ({ method: 'GET', path: '/ping' }));
    const bareResult = await drive(barePool, options.connections, options.durationSeconds, () => ({ method: 'GET', path: '/ping' }));
    await barePool.close();
    bare.kill('SIGTERM');

    // 2. The exchange, durable journal on, every role in its one process.
    const port = await freePort();
    const adminToken = 'bench-admin-token';
    const profile = process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : [];
    // BENCH_SERVER_NODE_FLAGS: extra node flags for the server (space-separated), to try runtime settings.
    const serverFlags = (process.env.BENCH_SERVER_NODE_FLAGS ?? '').split(' ').filter((flag) => flag.length > 0);
    const exchange = spawn(process.execPath, [...serverFlags, ...profile, '--import', 'tsx', process.env.BENCH_SERVER_ENTRY ?? 'src/main.ts'], {
      env: {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        BOURSE_DATA_DIR: dataDirectory,
        BOURSE_ADMIN_TOKEN: adminToken,
        LOG_LEVEL: 'warn',
        BOURSE_WEIGHT_PER_MINUTE: '1000000000',
        BOURSE_ORDERS_PER_10S: '1000000000',
        BOURSE_ORDERS_PER_DAY: '1000000000',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(exchange);
    const url = `http://127.0.0.1:${port}`;
    await waitUntilUp(`${url}/api/v3/ping`, exchange);
    const admin = async (path: string, body: unknown) => {
      const response = await fetch(`${url}/admin/v1${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const answer = (await response.json()) as Record<string, unknown>;
      if (!response.ok) throw new Error(`${path}: ${JSON.stringify(answer)}`);
      return answer;
    };
    const users: { apiKey: string; secret: string }[] = [];
    for (let index = 0; index < options.users; index++) {
      const user = await admin('/users', { email: `bench${index}@bourse.local` });
      const key = await admin(`/users/${user.userId}/api-keys`, { permissions: ['read', 'trade'] });
      await admin('/deposits', { transferId: `bench-usdt-${index}`, userId: user.userId, asset: 'USDT', amount: '100000000' });
      await admin('/deposits', { transferId: `bench-btc-${index}`, userId: user.userId, asset: 'BTC', amount: '1000' });
      users.push({ apiKey: key.apiKey as string, secret: key.secret as string });
    }
    // Buys and sells alternate at one price, so each sell fills a resting buy and the book
    // stays small: every order is a real match with a trade, fees and balance changes.
    const makeOrder = (index: number) => {
      const user = users[index % users.length]!;
      const side = Math.floor(index / users.length) % 2 === 0 ? 'BUY' : 'SELL';
      const query = `symbol=BTCUSDT&side=${side}&type=LIMIT&timeInForce=GTC&quantity=0.0001&price=60000&newClientOrderId=b${index}&newOrderRespType=RESULT&timestamp=${Date.now()}`;
      const signature = createHmac('sha256', user.secret).update(query).digest('hex');
      return { method: 'POST' as const, path: `/api/v3/order?${query}&signature=${signature}`, headers: { 'x-mbx-apikey': user.apiKey } };
    };
    const pool = new Pool(url, { connections: options.connections, pipelining: 1 });
    await drive(pool, options.connections, options.warmupSeconds, (index) => makeOrder(index + 10_000_000));
    const cpuBefore = threadCpuSeconds(exchange.pid!);
    const orderResult = await drive(pool, options.connections, options.durationSeconds, makeOrder);
    const cpuAtEnd = threadCpuSeconds(exchange.pid!);
    const settleSeconds = await waitUntilQuiet(exchange.pid!);
    const cpuSettled = threadCpuSeconds(exchange.pid!);
    await pool.close();
    exchange.kill('SIGTERM');
    await new Promise((resolve) => exchange.once('exit', resolve));

    const orderRate = (orderResult.requests - orderResult.errors) / orderResult.seconds;
    const bareRate = (bareResult.requests - bareResult.errors) / bareResult.seconds;
    console.log(`API benchmark: ${options.connections} keep-alive connections, ${options.durationSeconds} s per run, ${options.users} accounts`);
    console.log(summary('bare Fastify GET /ping', bareResult));
    console.log(summary('signed POST order', orderResult));
    console.log(`ratio (orders / bare route): ${(orderRate / bareRate).toFixed(3)}`);
    // CPU per request says where the time goes even when other work shares the machine.
    const microsecondsPer = (seconds: number, requests: number) => ((seconds * 1e6) / Math.max(1, requests)).toFixed(0);
    const during = serverCpuBetween(exchange.pid!, cpuBefore, cpuAtEnd);
    const withCatchUp = serverCpuBetween(exchange.pid!, cpuBefore, cpuSettled);
    console.log(
      `client CPU per request: bare ${microsecondsPer(bareResult.clientCpuSeconds, bareResult.requests)} us, orders ${microsecondsPer(orderResult.clientCpuSeconds, orderResult.requests)} us`,
    );
    console.log(
      `server CPU per order during the run: main thread ${microsecondsPer(during.mainSeconds, orderResult.requests)} us, busiest other thread ${microsecondsPer(during.busiestOtherSeconds, orderResult.requests)} us, all threads ${microsecondsPer(during.totalSeconds, orderResult.requests)} us`,
    );
    console.log(
      `server CPU per order including catch-up (${settleSeconds.toFixed(1)} s until quiet): busiest other thread ${microsecondsPer(withCatchUp.busiestOtherSeconds, orderResult.requests)} us, all threads ${microsecondsPer(withCatchUp.totalSeconds, orderResult.requests)} us`,
    );
  } finally {
    stopAll();
    await rm(dataDirectory, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
