// A whole cluster on one machine: engine leader + standby, ledger, market data, notifier,
// N gateways and nginx in front, against the local NATS, PostgreSQL and Redis. Used by
// `npm run cluster` (src/cluster/up.ts), the end-to-end tests and the cluster benchmark.
// Start order follows the data flow (engines create the logs, the ledger migrates the
// database, one gateway seeds the demo data); stop order is the reverse.
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import pg from 'pg';
import { loadClusterSettings, type ClusterSettings } from './settings.ts';
import { freePort, RoleProcess, type ClusterRole } from './processes.ts';
import { NginxProcess } from './nginx.ts';
import { exitCodeLeaseLost } from './role.ts';
import { createLogger } from '../adapters/logger.ts';

const log = createLogger('cluster');

export interface ClusterOptions {
  /** Cluster name (streams, subjects, Redis keys). Default BOURSE_CLUSTER or "main". */
  name?: string;
  /** nginx port (default PORT or 8080; 0 = any free port). */
  port?: number;
  host?: string;
  gateways?: number;
  engines?: number;
  /** Extra environment for every role (BOURSE_* settings of the embedded mode). */
  env?: NodeJS.ProcessEnv;
  /** Where role logs and nginx's prefix go (default: a new directory under the OS temp dir). */
  workDirectory?: string;
  /** Start a new standby when an engine exits (crash, lost lease). Default true. */
  respawnEngines?: boolean;
  /** Start nginx (default true). */
  nginx?: boolean;
  /** nginx worker processes (default 1 on this shared 2-core machine). */
  nginxWorkers?: number | 'auto';
  /** Keep the work directory (role logs) after stop; default: removed (tests, benchmarks). */
  keepWorkDirectory?: boolean;
}

export interface DemoCredentials {
  apiKey: string;
  secret: string;
}

export class LocalCluster {
  readonly settings: ClusterSettings;
  readonly workDirectory: string;
  readonly engines: RoleProcess[] = [];
  readonly gateways: RoleProcess[] = [];
  readonly consumers = new Map<ClusterRole, RoleProcess>();
  nginx: NginxProcess | null = null;
  url = '';
  port = 0;
  adminToken: string;
  demo: DemoCredentials[];
  private engineCounter = 0;
  private readonly gatewayPorts = new Map<number, number>();
  private stopping = false;
  private readonly env: NodeJS.ProcessEnv;

  constructor(readonly options: ClusterOptions = {}) {
    const environment = { ...process.env, ...options.env };
    if (options.name) environment.BOURSE_CLUSTER = options.name;
    this.settings = loadClusterSettings(environment);
    this.workDirectory = options.workDirectory ?? join(tmpdir(), `bourse-cluster-${this.settings.cluster}-${process.pid}`);
    mkdirSync(join(this.workDirectory, 'logs'), { recursive: true });
    this.adminToken = environment.BOURSE_ADMIN_TOKEN || randomBytes(24).toString('hex');
    this.demo = [
      { apiKey: environment.BOURSE_DEMO_API_KEY || randomBytes(32).toString('hex'), secret: environment.BOURSE_DEMO_API_SECRET || randomBytes(32).toString('hex') },
      { apiKey: environment.BOURSE_DEMO2_API_KEY || randomBytes(32).toString('hex'), secret: environment.BOURSE_DEMO2_API_SECRET || randomBytes(32).toString('hex') },
    ];
    this.env = {
      ...options.env,
      BOURSE_CLUSTER: this.settings.cluster,
      BOURSE_NATS_URL: this.settings.natsUrl,
      BOURSE_DATABASE_URL: this.settings.databaseUrl,
      BOURSE_REDIS_URL: this.settings.redisUrl,
      BOURSE_ADMIN_TOKEN: this.adminToken,
      BOURSE_DEMO_API_KEY: this.demo[0]!.apiKey,
      BOURSE_DEMO_API_SECRET: this.demo[0]!.secret,
      BOURSE_DEMO2_API_KEY: this.demo[1]!.apiKey,
      BOURSE_DEMO2_API_SECRET: this.demo[1]!.secret,
      LOG_LEVEL: environment.LOG_LEVEL || 'info',
    };
    if (this.settings.databaseReplicaUrl) this.env.BOURSE_DATABASE_REPLICA_URL = this.settings.databaseReplicaUrl;
  }

  private logFile(name: string): string {
    return join(this.workDirectory, 'logs', `${name}.log`);
  }

  private async spawn(role: ClusterRole, name: string, env: NodeJS.ProcessEnv = {}, onExit?: (code: number | null) => void): Promise<RoleProcess> {
    return new RoleProcess({ role, name, env: { ...this.env, ...env }, healthPort: await freePort(), logFile: this.logFile(name), onExit: onExit ? (code) => onExit(code) : undefined });
  }

  /** Starts one more engine (it becomes a standby when a leader exists). */
  async startEngine(): Promise<RoleProcess> {
    const name = `engine-${++this.engineCounter}`;
    const engine = await this.spawn('engine', name, {}, (code) => {
      if (this.stopping || this.options.respawnEngines === false) return;
      log.warn({ engine: name, code, leaseLost: code === exitCodeLeaseLost }, 'engine exited; starting a new standby');
      void this.startEngine().then((next) => next.waitReady()).catch((error: unknown) => log.error({ err: error }, 'could not start a standby'));
    });
    this.engines.push(engine);
    return engine;
  }

  /** Starts gateway `index` (1-based); a restarted gateway keeps its port, so nginx's upstream list stays right. */
  async startGateway(index: number, seed: boolean): Promise<RoleProcess> {
    let port = this.gatewayPorts.get(index);
    if (port === undefined) {
      port = await freePort();
      this.gatewayPorts.set(index, port);
    }
    const gateway = await this.spawn('gateway', `gateway-${index}`, { PORT: String(port), HOST: '127.0.0.1', BOURSE_SEED_DEMO: seed ? 'true' : 'false' });
    this.gateways[index - 1] = gateway;
    return gateway;
  }

  /** The engine currently reporting itself leader, or null. */
  async leader(): Promise<RoleProcess | null> {
    for (const engine of this.engines) {
      if (!engine.running) continue;
      const readiness = await engine.readiness();
      if (readiness?.body.state === 'leader') return engine;
    }
    return null;
  }

  async waitForLeader(timeoutMs = 15_000): Promise<RoleProcess> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const leader = await this.leader();
      if (leader) return leader;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error('no engine became the leader');
  }

  gatewayPort(gateway: RoleProcess): number {
    return Number(gateway.options.env.PORT);
  }

  async start(): Promise<void> {
    try {
      await ensureDatabase(this.settings.databaseUrl);
      // 1. Engines: the first takes the lease and creates the logs; the second follows.
      const engineCount = this.options.engines ?? 2;
      const first = await this.startEngine();
      await first.waitReady();
      await this.waitForLeader();
      const others: Promise<unknown>[] = [];
      for (let index = 1; index < engineCount; index++) others.push(this.startEngine().then((engine) => engine.waitReady()));
      // 2. Ledger (runs the migrations), then the gateways (the first seeds the demo data).
      const ledger = await this.spawn('ledger', 'ledger');
      this.consumers.set('ledger', ledger);
      await ledger.waitReady();
      const gatewayCount = this.options.gateways ?? 2;
      const firstGateway = await this.startGateway(1, (this.options.env?.BOURSE_SEED_DEMO ?? process.env.BOURSE_SEED_DEMO) !== 'false');
      await firstGateway.waitReady(60_000);
      const rest: Promise<unknown>[] = [...others];
      for (let index = 2; index <= gatewayCount; index++) rest.push(this.startGateway(index, false).then((gateway) => gateway.waitReady(60_000)));
      // 3. Market data and notifier.
      for (const role of ['market-data', 'notifier'] as const) {
        const consumer = await this.spawn(role, role);
        this.consumers.set(role, consumer);
        rest.push(consumer.waitReady());
      }
      await Promise.all(rest);
      // 4. nginx in front.
      const host = this.options.host ?? '127.0.0.1';
      this.port = this.options.port ?? Number(process.env.PORT || 8080);
      if (this.port === 0) this.port = await freePort();
      if (this.options.nginx !== false) {
        this.nginx = await NginxProcess.start({
          prefix: join(this.workDirectory, 'nginx'),
          listenHost: host,
          listenPort: this.port,
          gatewayPorts: this.gateways.map((gateway) => this.gatewayPort(gateway)),
          bodyLimitBytes: Number(this.env.BOURSE_BODY_LIMIT_BYTES || 16_384),
          workerProcesses: this.options.nginxWorkers ?? 1,
        });
      }
      this.url = `http://${host}:${this.port}`;
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /** Stops everything by PID, in reverse data-flow order. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.nginx?.stop();
    await Promise.all(this.gateways.filter(Boolean).map((gateway) => gateway.stop()));
    await Promise.all([...this.consumers.values()].map((consumer) => consumer.stop()));
    // Standbys first, so the leader's graceful exit does not hand the lease to one of them.
    const leader = await this.leader().catch(() => null);
    await Promise.all(this.engines.filter((engine) => engine !== leader).map((engine) => engine.stop()));
    await leader?.stop();
    if (!this.options.keepWorkDirectory) rmSync(this.workDirectory, { recursive: true, force: true });
  }
}

/** Creates the database named in `url` when it does not exist yet (connecting to `postgres`). */
export async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`database name "${name}" must be lower case letters, digits and _`);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(`cannot reach PostgreSQL at ${target.host} (BOURSE_DATABASE_URL): ${(error as Error).message}`, { cause: error });
  }
  try {
    const exists = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (exists.rowCount === 0) await client.query(`create database ${name}`);
  } finally {
    await client.end();
  }
}
