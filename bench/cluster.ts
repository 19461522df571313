// The cluster benchmark: a whole cluster on this machine (nginx, gateways, engine leader +
// standby on JetStream file storage, ledger on PostgreSQL, market data and notifier on
// Redis) driven through nginx with signed POST /api/v3/order requests. It measures, in one
// run: orders/s and p50/p99/p99.9 with one gateway and with two; the same client against
// nginx in front of two bare Fastify routes (the ratio says what the cluster keeps of the
// bare stack); latency at half the two-gateway rate (open loop, coordinated omission
// corrected); ledger lag under load; failover (leader killed with SIGKILL to the first
// order accepted by the new leader) with a check that no acknowledged order was lost.
//
// usage: npm run bench:cluster [-- --duration 5 --connections 64 --skip-failover --fixed-rate 300 --record]
// BOURSE_ROLE_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/profiles" profiles every role.
import { createHmac } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { Pool } from 'undici';
import * as hdr from 'hdr-histogram-js';
import { LocalCluster } from '../src/cluster/cluster.ts';
import { NginxProcess } from '../src/cluster/nginx.ts';
import { freePort, repositoryRoot } from '../src/cluster/processes.ts';
import { createScratchDatabase } from '../src/adapters/postgres.ts';
import { JetStreamLog } from '../src/adapters/jetstream-log.ts';
import { decodeCommand } from '../src/domain/codec.ts';
import { EventBuffer, decodeEvents } from '../src/domain/events.ts';
import { addAsset, addMarket, placeOrder, transfer } from '../src/domain/command.ts';
import { CommandType, OrderType, Side, TimeInForce } from '../src/domain/codes.ts';
import { encodeCommand } from '../src/domain/codec.ts';
import { EngineHost } from '../src/services/engine-host/engine-host.ts';
import { Engine } from '../src/engine/engine.ts';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';

const benchLimits = {
  /** Requests the open-loop driver may have in flight before it counts a request as dropped. */
  openLoopInFlightMax: 2000,
  /** Retries of one order whose answer was "status unknown" during the failover phase. */
  failoverRetriesMax: 40,
  /** Ledger lag samples per second. */
  lagSamplesPerSecond: 5,
};

interface Options {
  durationSeconds: number;
  connections: number;
  record: boolean;
  skipFailover: boolean;
  /** Orders/s of an extra open-loop phase at a rate fixed by the caller (0: none). */
  fixedRate: number;
}

function parseOptions(argv: string[]): Options {
  if (argv.includes('--help')) {
    console.log(
      'usage: npm run bench:cluster [-- --duration SECONDS --connections N --skip-failover --fixed-rate N --record]\n' +
        '  --skip-failover  leaves out the failover phase (quicker runs while tuning)\n' +
        '  --fixed-rate N   adds an open-loop phase at N orders/s with CPU and system calls per order by role\n' +
        '                   (the same offered load in every run, so A/B runs compare on a busy machine)\n' +
        '  --record         adds the figures as a dated block at the top of the "Cluster" section of bench/RESULTS.md',
    );
    process.exit(0);
  }
  const value = (name: string, fallback: number) => {
    const index = argv.indexOf(`--${name}`);
    return index >= 0 ? Number(argv[index + 1]) : fallback;
  };
  return { durationSeconds: value('duration', 5), connections: value('connections', 64), record: argv.includes('--record'), skipFailover: argv.includes('--skip-failover'), fixedRate: value('fixed-rate', 0) };
}

interface Credentials {
  apiKey: string;
  secret: string;
}

let orderCounter = 0;

/**
 * A signed LIMIT order; sides alternate so the two users' orders cross and the book stays
 * small. A retry passes the same `index`, so it is the same order (user, side, id) again.
 */
function orderRequest(users: Credentials[], phase: string, clientOrderId?: string, fixedIndex?: number): { path: string; headers: Record<string, string>; clientOrderId: string } {
  const index = fixedIndex ?? ++orderCounter;
  const user = users[index % users.length]!;
  const id = clientOrderId ?? `${phase}${index}`;
  const side = Math.floor(index / users.length) % 2 === 0 ? 'BUY' : 'SELL';
  const query = `symbol=BTCUSDT&side=${side}&type=LIMIT&timeInForce=GTC&quantity=0.01&price=1000.00&newClientOrderId=${id}&newOrderRespType=ACK&timestamp=${Date.now()}`;
  const signature = createHmac('sha256', user.secret).update(query).digest('hex');
  return { path: `/api/v3/order?${query}&signature=${signature}`, headers: { 'x-mbx-apikey': user.apiKey }, clientOrderId: id };
}

interface Measured {
  requests: number;
  errors: number;
  seconds: number;
  rate: number;
  p50: number;
  p99: number;
  p999: number;
}

function histogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
}

function summarize(samples: hdr.Histogram, requests: number, errors: number, seconds: number): Measured {
  return {
    requests,
    errors,
    seconds,
    rate: requests / seconds,
    p50: samples.getValueAtPercentile(50) / 1000,
    p99: samples.getValueAtPercentile(99) / 1000,
    p999: samples.getValueAtPercentile(99.9) / 1000,
  };
}

/** Closed loop: `connections` requests always in flight for `seconds`. */
async function closedLoop(url: string, connections: number, seconds: number, build: () => { path: string; headers: Record<string, string> }): Promise<Measured> {
  const pool = new Pool(url, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
  const samples = histogram();
  let requests = 0;
  let errors = 0;
  const startedMs = performance.now();
  const endMs = startedMs + seconds * 1000;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < endMs) {
        const request = build();
        const sentMs = performance.now();
        try {
          const response = await pool.request({ method: 'POST', path: request.path, headers: request.headers });
          await response.body.dump();
          if (response.statusCode === 200) {
            requests++;
            samples.recordValue(Math.max(1, Math.round((performance.now() - sentMs) * 1000)));
          } else errors++;
        } catch {
          errors++;
        }
      }
    }),
  );
  const elapsed = (performance.now() - startedMs) / 1000;
  await pool.close();
  return summarize(samples, requests, errors, elapsed);
}

/** Open loop at `rate` requests/s: latency counts from the intended send time. */
async function openLoop(url: string, connections: number, seconds: number, rate: number, build: () => { path: string; headers: Record<string, string> }): Promise<Measured> {
  const pool = new Pool(url, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
  const samples = histogram();
  let requests = 0;
  let errors = 0;
  let inFlight = 0;
  const pending = new Set<Promise<void>>();
  const startedMs = performance.now();
  const total = Math.floor(rate * seconds);
  for (let index = 0; index < total; index++) {
    const intendedMs = startedMs + (index * 1000) / rate;
    const waitMs = intendedMs - performance.now();
    if (waitMs > 1) await new Promise((resolve) => setTimeout(resolve, waitMs));
    if (inFlight >= benchLimits.openLoopInFlightMax) {
      errors++;
      continue;
    }
    inFlight++;
    const request = build();
    const done = pool
      .request({ method: 'POST', path: request.path, headers: request.headers })
      .then(async (response) => {
        await response.body.dump();
        if (response.statusCode === 200) {
          requests++;
          samples.recordValue(Math.max(1, Math.round((performance.now() - intendedMs) * 1000)));
        } else errors++;
      })
      .catch(() => {
        errors++;
      })
      .finally(() => {
        inFlight--;
        pending.delete(done);
      });
    pending.add(done);
  }
  await Promise.all([...pending]);
  const elapsed = (performance.now() - startedMs) / 1000;
  await pool.close();
  return summarize(samples, requests, errors, elapsed);
}

/**
 * The engine host appending to a JetStream log of its own, in this process, with `clients`
 * concurrent submitters: what the log and the engine sustain without HTTP and NATS hops.
 */
async function engineHostOnJetStream(natsUrl: string, clients: number, seconds: number): Promise<Measured> {
  const log = await JetStreamLog.open({ stream: `BOURSE_BENCH_HOST_${Date.now().toString(36).toUpperCase()}`, servers: natsUrl });
  const host = await EngineHost.start({ createEngine: () => new Engine(), commandLog: log, codec: { encode: encodeCommand, decode: decodeCommand } });
  try {
    await host.submit(addAsset('BTC', 8));
    await host.submit(addAsset('USDT', 6));
    await host.submit(addMarket({ symbol: 'BTCUSDT', baseAsset: 'BTC', quoteAsset: 'USDT', lotAtoms: 1000, quoteAtomsPerTickLot: 10, maxPriceTicks: 1_000_000, minQuantityLots: 1, maxQuantityLots: 1000, marketMaxQuantityLots: 500, minNotionalAtoms: 1000, makerFeeBps: 10, takerFeeBps: 20 }));
    for (const accountId of [1, 2]) {
      await host.submit(transfer(CommandType.Deposit, `b${accountId}`, accountId, 'BTC', 1e14));
      await host.submit(transfer(CommandType.Deposit, `u${accountId}`, accountId, 'USDT', 1e15));
    }
    const samples = histogram();
    let requests = 0;
    let index = 0;
    const startedMs = performance.now();
    const endMs = startedMs + seconds * 1000;
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (performance.now() < endMs) {
          const order = ++index;
          const sentMs = performance.now();
          await host.submit(placeOrder({ accountId: (order % 2) + 1, marketId: 1, side: Math.floor(order / 2) % 2 === 0 ? Side.Buy : Side.Sell, orderType: OrderType.Limit, timeInForce: TimeInForce.GTC, priceTicks: 1000, quantityLots: 1, clientOrderId: `e${order}` }));
          requests++;
          samples.recordValue(Math.max(1, Math.round((performance.now() - sentMs) * 1000)));
        }
      }),
    );
    return summarize(samples, requests, 0, (performance.now() - startedMs) / 1000);
  } finally {
    await host.stop();
    await log.destroy();
    await log.close();
  }
}

/** Two bare Fastify servers (one route each), for the ratio. */
async function startBareServers(): Promise<{ ports: number[]; close: () => Promise<void> }> {
  const { default: Fastify } = await import('fastify');
  const apps: { close(): Promise<unknown> }[] = [];
  const ports: number[] = [];
  for (let index = 0; index < 2; index++) {
    const app = Fastify({ logger: false, keepAliveTimeout: 65_000 });
    app.post('/api/v3/order', async () => ({ symbol: 'BTCUSDT', orderId: 1, clientOrderId: 'x', transactTime: Date.now() }));
    const port = await freePort();
    await app.listen({ port, host: '127.0.0.1' });
    apps.push(app);
    ports.push(port);
  }
  return { ports, close: async () => void (await Promise.all(apps.map((app) => app.close()))) };
}

/** Replays the command log and checks every acknowledged clientOrderId was accepted exactly once. */
async function checkAcknowledged(cluster: LocalCluster, acknowledged: Map<string, number>): Promise<{ lost: number; doubled: number }> {
  const connection = await connect({ servers: cluster.settings.natsUrl });
  const log = await JetStreamLog.open({ stream: cluster.settings.commandStream, connection });
  const engine = new Engine();
  const out = new EventBuffer(4096);
  const accepted = new Map<string, number>();
  const last = await log.lastSequence();
  for (let next = 1; next <= last; ) {
    const records = await log.read(next, 4096);
    for (const record of records) {
      const command = decodeCommand(record.payload);
      command.sequence = record.sequence;
      out.clear();
      engine.execute(command, out);
      for (const event of decodeEvents(out)) {
        if (event.type === 'OrderAccepted') accepted.set(event.clientOrderId as string, (accepted.get(event.clientOrderId as string) ?? 0) + 1);
      }
      next++;
    }
  }
  await log.close();
  await connection.close();
  let lost = 0;
  let doubled = 0;
  for (const clientOrderId of acknowledged.keys()) {
    const count = accepted.get(clientOrderId) ?? 0;
    if (count === 0) lost++;
    if (count > 1) doubled++;
  }
  return { lost, doubled };
}

/** Open-loop load at `rate` that retries "status unknown" answers; the leader is killed midway. */
async function failover(cluster: LocalCluster, url: string, users: Credentials[], rate: number, seconds: number): Promise<{ failoverMs: number; acknowledged: number; retried: number; lost: number; doubled: number }> {
  const pool = new Pool(url, { connections: 64, pipelining: 1 });
  const acknowledged = new Map<string, number>();
  const ackAfterKill: number[] = [];
  let killedAtMs = Number.POSITIVE_INFINITY;
  let retried = 0;
  const place = async (clientOrderId: string): Promise<void> => {
    const index = ++orderCounter;
    for (let attempt = 0; attempt < benchLimits.failoverRetriesMax; attempt++) {
      const sentMs = Date.now();
      const request = orderRequest(users, 'f', clientOrderId, index);
      try {
        const response = await pool.request({ method: 'POST', path: request.path, headers: request.headers });
        const body = (await response.body.json()) as { orderId?: number };
        if (response.statusCode === 200) {
          acknowledged.set(clientOrderId, body.orderId ?? 0);
          if (sentMs >= killedAtMs) ackAfterKill.push(Date.now());
          return;
        }
      } catch {
        // Connection trouble: retried below like an unknown status.
      }
      retried++;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const pending: Promise<void>[] = [];
  const startedMs = Date.now();
  const total = Math.floor(rate * seconds);
  let killed: Promise<void> | null = null;
  for (let index = 0; index < total; index++) {
    const intendedMs = startedMs + (index * 1000) / rate;
    const waitMs = intendedMs - Date.now();
    if (waitMs > 1) await new Promise((resolve) => setTimeout(resolve, waitMs));
    if (!killed && Date.now() - startedMs >= (seconds * 1000) / 3) {
      const leader = await cluster.leader();
      if (!leader) throw new Error('no leader to kill');
      killedAtMs = Date.now();
      killed = leader.crash();
    }
    pending.push(place(`f${index}-${startedMs}`));
  }
  await Promise.all(pending);
  await killed;
  await pool.close();
  const failoverMs = ackAfterKill.length > 0 ? Math.min(...ackAfterKill) - killedAtMs : Number.NaN;
  const { lost, doubled } = await checkAcknowledged(cluster, acknowledged);
  return { failoverMs, acknowledged: acknowledged.size, retried, lost, doubled };
}

async function ledgerStatus(cluster: LocalCluster): Promise<{ lagEvents: number; projected: number; tail: number }> {
  const readiness = await cluster.consumers.get('ledger')!.readiness();
  const body = readiness?.body ?? {};
  return { lagEvents: Number(body.lagEvents ?? 0), projected: Number(body.projectedEventSequence ?? 0), tail: Number(body.eventLogSequence ?? 0) };
}

/** CPU seconds (user + system) used so far by these processes and their direct children. */
function cpuSeconds(pids: number[]): number {
  const ticksPerSecond = 100;
  const wanted = new Set(pids);
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // Fields after the command name (which may contain spaces): state ppid ... utime(14) stime(15).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const pid = Number(entry);
    const parent = Number(fields[1]);
    if (wanted.has(pid) || wanted.has(parent)) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / ticksPerSecond;
}

/** CPU seconds per role name (engines, gateways, consumers, nginx) so far. */
function cpuByRole(cluster: LocalCluster): Map<string, number> {
  const byRole = new Map<string, number>();
  const add = (name: string, pid: number) => byRole.set(name, (byRole.get(name) ?? 0) + cpuSeconds([pid]));
  for (const engine of cluster.engines) add('engines', engine.pid);
  for (const gateway of cluster.gateways) add('gateways', gateway.pid);
  for (const [role, consumer] of cluster.consumers) add(role, consumer.pid);
  if (cluster.nginx) add('nginx', cluster.nginx.pid);
  return byRole;
}

/** read and write system calls (read, write, writev, ...) made so far by each role, from /proc/<pid>/io. */
function ioCallsByRole(cluster: LocalCluster): Map<string, number> {
  const byRole = new Map<string, number>();
  const add = (name: string, pid: number) => {
    let calls = 0;
    try {
      const io = readFileSync(`/proc/${pid}/io`, 'utf8');
      calls = Number(/syscr: (\d+)/.exec(io)?.[1] ?? 0) + Number(/syscw: (\d+)/.exec(io)?.[1] ?? 0);
    } catch {
      // The process exited: counts nothing.
    }
    byRole.set(name, (byRole.get(name) ?? 0) + calls);
  };
  for (const engine of cluster.engines) add('engines', engine.pid);
  for (const gateway of cluster.gateways) add('gateways', gateway.pid);
  for (const [role, consumer] of cluster.consumers) add(role, consumer.pid);
  return byRole;
}

function clusterPids(cluster: LocalCluster): number[] {
  return [...cluster.engines, ...cluster.gateways, ...cluster.consumers.values()].map((role) => role.pid).concat(cluster.nginx ? [cluster.nginx.pid] : []);
}

function formatMeasured(name: string, measured: Measured): string {
  return `| ${name} | ${Math.round(measured.rate).toLocaleString('en-US')} | ${measured.p50.toFixed(2)} / ${measured.p99.toFixed(2)} / ${measured.p999.toFixed(2)} | ${measured.errors} |`;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const name = `bench_${Date.now().toString(36)}`;
  const database = await createScratchDatabase(undefined, 'bourse_bench');
  const users: Credentials[] = [
    { apiKey: 'benchKeyOne0000000000000000000000', secret: 'benchSecretOne000000000000000000' },
    { apiKey: 'benchKeyTwo0000000000000000000000', secret: 'benchSecretTwo000000000000000000' },
  ];
  const cluster = new LocalCluster({
    name,
    port: 0,
    gateways: 2,
    env: {
      BOURSE_DATABASE_URL: database.url,
      BOURSE_DEMO_API_KEY: users[0]!.apiKey,
      BOURSE_DEMO_API_SECRET: users[0]!.secret,
      BOURSE_DEMO2_API_KEY: users[1]!.apiKey,
      BOURSE_DEMO2_API_SECRET: users[1]!.secret,
      BOURSE_WEIGHT_PER_MINUTE: '1000000000',
      BOURSE_ORDERS_PER_10S: '1000000000',
      BOURSE_ORDERS_PER_DAY: '1000000000',
      BOURSE_LEASE_TTL_MS: '1000',
      BOURSE_WEB_UI: 'false',
      LOG_LEVEL: 'warn',
    },
  });
  const bare = await startBareServers();
  const workDirectory = join(tmpdir(), `bourse-bench-nginx-${process.pid}`);
  let bareNginx: NginxProcess | null = null;
  let oneGatewayNginx: NginxProcess | null = null;
  const lines: string[] = [];
  try {
    console.log('starting the cluster...');
    await cluster.start();
    const barePort = await freePort();
    bareNginx = await NginxProcess.start({ prefix: join(workDirectory, 'bare'), listenHost: '127.0.0.1', listenPort: barePort, gatewayPorts: bare.ports, bodyLimitBytes: 16_384 });
    const onePort = await freePort();
    oneGatewayNginx = await NginxProcess.start({ prefix: join(workDirectory, 'one'), listenHost: '127.0.0.1', listenPort: onePort, gatewayPorts: [cluster.gatewayPort(cluster.gateways[0]!)], bodyLimitBytes: 16_384 });
    const build = (phase: string) => () => orderRequest(users, phase);

    // Warm-up (JIT, connections, caches) is not measured.
    await closedLoop(cluster.url, options.connections, 2, build('w'));

    console.log('bare Fastify behind nginx...');
    const bareResult = await closedLoop(`http://127.0.0.1:${barePort}`, options.connections, options.durationSeconds, build('b'));
    console.log('one gateway...');
    const oneResult = await closedLoop(`http://127.0.0.1:${onePort}`, options.connections, options.durationSeconds, build('o'));
    console.log('two gateways (sampling ledger lag)...');
    let lagMaxEvents = 0;
    const tailAtStart = (await ledgerStatus(cluster)).tail;
    const cpuAtStart = cpuSeconds(clusterPids(cluster));
    const rolesAtStart = cpuByRole(cluster);
    const ioAtStart = ioCallsByRole(cluster);
    const sampler = setInterval(() => {
      void ledgerStatus(cluster).then((status) => (lagMaxEvents = Math.max(lagMaxEvents, status.lagEvents)), () => undefined);
    }, 1000 / benchLimits.lagSamplesPerSecond);
    const twoResult = await closedLoop(cluster.url, options.connections, options.durationSeconds, build('t'));
    clearInterval(sampler);
    const cpuPerOrderMs = ((cpuSeconds(clusterPids(cluster)) - cpuAtStart) * 1000) / Math.max(1, twoResult.requests);
    const rolesAtEnd = cpuByRole(cluster);
    const ioPerRole = [...ioCallsByRole(cluster)]
      .map(([role, calls]) => `${role} ${((calls - (ioAtStart.get(role) ?? 0)) / Math.max(1, twoResult.requests)).toFixed(1)}`)
      .join(', ');
    const perRole = [...rolesAtEnd]
      .map(([role, seconds]) => `${role} ${(((seconds - (rolesAtStart.get(role) ?? 0)) * 1000) / Math.max(1, twoResult.requests)).toFixed(2)}`)
      .join(', ');
    const stoppedMs = Date.now();
    let status = await ledgerStatus(cluster);
    const tailAtStop = status.tail;
    while (status.projected < tailAtStop && Date.now() - stoppedMs < 60_000) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      status = await ledgerStatus(cluster);
    }
    const catchUpMs = Date.now() - stoppedMs;
    const eventsPerSecond = (tailAtStop - tailAtStart) / twoResult.seconds;
    console.log('half rate, open loop...');
    const halfRate = Math.max(100, Math.round(twoResult.rate / 2));
    const halfResult = await openLoop(cluster.url, options.connections, options.durationSeconds, halfRate, build('h'));
    let fixedRateLines: string[] = [];
    if (options.fixedRate > 0) {
      console.log(`open loop at ${options.fixedRate}/s...`);
      const cpuBefore = cpuByRole(cluster);
      const ioBefore = ioCallsByRole(cluster);
      const fixedResult = await openLoop(cluster.url, options.connections, options.durationSeconds, options.fixedRate, build('f'));
      const perOrder = (after: Map<string, number>, before: Map<string, number>, scale: number, digits: number) =>
        [...after].map(([role, value]) => `${role} ${(((value - (before.get(role) ?? 0)) * scale) / Math.max(1, fixedResult.requests)).toFixed(digits)}`).join(', ');
      fixedRateLines = [
        '',
        `Open loop at a fixed ${options.fixedRate} orders/s (--fixed-rate), 2 gateways:`,
        '',
        '| Measure | Result |',
        '| --- | --- |',
        `| Orders/s, p50 / p99 / p99.9 ms, errors | ${Math.round(fixedResult.rate).toLocaleString('en-US')}, ${fixedResult.p50.toFixed(2)} / ${fixedResult.p99.toFixed(2)} / ${fixedResult.p999.toFixed(2)}, ${fixedResult.errors} |`,
        `| CPU ms per order by role | ${perOrder(cpuByRole(cluster), cpuBefore, 1000, 3)} |`,
        `| read/write system calls per order by role | ${perOrder(ioCallsByRole(cluster), ioBefore, 1, 2)} |`,
      ];
    }
    console.log('engine host on JetStream, in process...');
    const hostResult = await engineHostOnJetStream(cluster.settings.natsUrl, 32, options.durationSeconds);
    // Load average over the measured phases, read before the failover phase adds its own.
    const loadAtEnd = loadavg();
    let failed: Awaited<ReturnType<typeof failover>> | null = null;
    if (!options.skipFailover) {
      console.log('failover...');
      const failoverRate = Math.max(100, Math.round(twoResult.rate / 4));
      failed = await failover(cluster, cluster.url, users, failoverRate, Math.max(6, options.durationSeconds));
    }

    const when = new Date().toISOString().slice(0, 16).replace('T', ' ');
    const cores = availableParallelism();
    const [load1, load5] = loadAtEnd.map((value) => value.toFixed(2));
    // The machine's description is what was measured: its cores and its load average. A
    // load above the core count means something else competed for the CPU during the run.
    const loadNote =
      loadAtEnd[0]! > cores
        ? `above the ${cores} cores, so other processes competed for the CPU and the wall-clock rows are pessimistic (the CPU-per-order rows are less affected)`
        : `within the ${cores} cores`;
    lines.push(
      `\`npm run bench:cluster\` (bench/cluster.ts), ${when} UTC, ${cores}-core machine; ${options.connections} keep-alive connections, ${options.durationSeconds} s per phase, signed LIMIT orders (newOrderRespType=ACK) from two users whose orders cross.`,
      `JetStream file storage (local single-node server, R1), PostgreSQL, Redis, nginx with 1 worker; every role is its own Node process on the same cores as the servers and the load generator. Load average (1 min / 5 min) after the measured phases: ${load1} / ${load5}, ${loadNote}.`,
      '',
      '| Setup (through nginx) | Orders/s | p50 / p99 / p99.9 ms | Errors |',
      '| --- | --- | --- | --- |',
      formatMeasured('bare Fastify route x2 (reference)', bareResult),
      formatMeasured('cluster, 1 gateway', oneResult),
      formatMeasured('cluster, 2 gateways', twoResult),
      formatMeasured(`cluster, 2 gateways, open loop at ${halfRate}/s (half)`, halfResult),
      formatMeasured('engine host + JetStream command log in one process, 32 clients (no HTTP, no NATS request hop)', hostResult),
      '',
      '| Measure | Result | Target |',
      '| --- | --- | --- |',
      `| Orders/s, 2 gateways | ${Math.round(twoResult.rate).toLocaleString('en-US')} | >= 8,000 |`,
      `| Ratio to the bare routes | ${(twoResult.rate / bareResult.rate).toFixed(2)} | >= 0.4 |`,
      `| p99 at half rate | ${halfResult.p99.toFixed(2)} ms | < 25 ms |`,
      failed
        ? `| Failover (leader SIGKILL to first new ack) | ${Number.isNaN(failed.failoverMs) ? 'n/a' : `${failed.failoverMs} ms`} (lease TTL 1000 ms) | < 2 s |`
        : '| Failover (leader SIGKILL to first new ack) | not measured (--skip-failover) | < 2 s |',
      failed
        ? `| Acknowledged orders lost / doubled in failover | ${failed.lost} / ${failed.doubled} of ${failed.acknowledged} (${failed.retried} unknown-status answers retried) | 0 / 0 |`
        : '| Acknowledged orders lost / doubled in failover | not measured (--skip-failover) | 0 / 0 |',
      `| Ledger lag under load (max, events) | ${lagMaxEvents.toLocaleString('en-US')} (about ${(lagMaxEvents / Math.max(1, eventsPerSecond)).toFixed(2)} s of events) | bounded |`,
      `| Ledger catch-up after load stops | ${catchUpMs} ms | |`,
      `| CPU per order, all roles + nginx (NATS, PostgreSQL, Redis servers not counted) | ${cpuPerOrderMs.toFixed(2)} ms | |`,
      `| Implied rate on 2 dedicated cores at that cost | ${Math.round(2000 / cpuPerOrderMs).toLocaleString('en-US')} orders/s | |`,
      `| CPU ms per order by role | ${perRole} | |`,
      `| read/write system calls per order by role (each costs tens of microseconds on this VM) | ${ioPerRole} | |`,
      ...fixedRateLines,
    );
    console.log(`\n${lines.join('\n')}`);
    if (options.record) recordResults(lines);
  } finally {
    await bareNginx?.stop();
    await oneGatewayNginx?.stop();
    await bare.close();
    await cluster.stop();
    const connection = await connect({ servers: cluster.settings.natsUrl });
    const manager = await jetstreamManager(connection);
    for (const stream of [cluster.settings.commandStream, cluster.settings.eventStream, `KV_${cluster.settings.leaseBucket}`]) await manager.streams.delete(stream).catch(() => false);
    await connection.close();
    await database.drop();
    rmSync(workDirectory, { recursive: true, force: true });
  }
}

/**
 * Adds the run as a new "### Recorded run" block at the top of the "## Cluster" section of
 * bench/RESULTS.md (creating the section when missing), so earlier recorded runs stay
 * below it as history; the other sections are left alone.
 */
function recordResults(lines: string[]): void {
  const path = join(repositoryRoot, 'bench/RESULTS.md');
  const text = readFileSync(path, 'utf8');
  const stamp = new Date().toISOString().slice(0, 16).replace('T', ' ');
  const block = `### Recorded run (${stamp} UTC, \`npm run bench:cluster -- ${process.argv.slice(2).join(' ')}\`)\n\n${lines.join('\n')}\n`;
  const heading = '## Cluster\n';
  const start = text.indexOf(heading);
  if (start < 0) {
    writeFileSync(path, `${text.trimEnd()}\n\n${heading}\n${block}`);
    return;
  }
  const bodyStart = start + heading.length;
  const rest = text.slice(bodyStart).replace(/^\n+/, '');
  writeFileSync(path, `${text.slice(0, bodyStart)}\n${block}\n${rest}`);
}

await main();
