// Starting, watching and stopping the role processes of a cluster on one machine (the
// `npm run cluster` launcher, tests and the cluster benchmark share it). Every process is
// tracked by its PID and stopped by its PID: SIGTERM first (graceful drain), SIGKILL
// after a grace period. Nothing is ever killed by name.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const repositoryRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Entry points of the roles, relative to the repository root. */
export const roleEntryPoints = {
  gateway: 'src/services/gateway/main.ts',
  engine: 'src/services/engine-host/main.ts',
  ledger: 'src/services/ledger/main.ts',
  'market-data': 'src/services/market-data/main.ts',
  notifier: 'src/services/notifier/main.ts',
} as const;
export type ClusterRole = keyof typeof roleEntryPoints;

/** How long `stop` waits after SIGTERM before SIGKILL. */
export const stopGraceMs = 10_000;
/** How long `waitReady` waits for /readyz by default. */
export const readyTimeoutMs = 30_000;

/** A free TCP port on loopback (the OS picks one; it is released before returning). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface RoleProcessOptions {
  role: ClusterRole;
  /** A name for logs: gateway-1, engine-a... */
  name: string;
  env: NodeJS.ProcessEnv;
  healthPort: number;
  /** Append the process's stdout/stderr here (otherwise they are inherited). */
  logFile?: string;
  /** Called when the process exits by itself (not through stop()). */
  onExit?: (code: number | null, signal: NodeJS.Signals | null) => void;
}

export class RoleProcess {
  readonly options: RoleProcessOptions;
  child: ChildProcess;
  private stopping = false;
  private log: WriteStream | null = null;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(options: RoleProcessOptions) {
    this.options = options;
    const entry = roleEntryPoints[options.role];
    this.log = options.logFile ? createWriteStream(options.logFile, { flags: 'a' }) : null;
    // BOURSE_ROLE_NODE_FLAGS adds Node flags to every role (e.g. `--cpu-prof --cpu-prof-dir=/tmp/p`).
    const extraFlags = (options.env.BOURSE_ROLE_NODE_FLAGS ?? process.env.BOURSE_ROLE_NODE_FLAGS ?? '').split(/\s+/).filter((flag) => flag.length > 0);
    this.child = spawn(process.execPath, [...extraFlags, '--import', 'tsx', entry], {
      cwd: repositoryRoot,
      env: { ...process.env, ...options.env, BOURSE_ROLE: options.role, BOURSE_INSTANCE: options.name, BOURSE_HEALTH_PORT: String(options.healthPort) },
      stdio: ['ignore', this.log ? 'pipe' : 'inherit', this.log ? 'pipe' : 'inherit'],
    });
    if (this.log) {
      this.child.stdout?.pipe(this.log, { end: false });
      this.child.stderr?.pipe(this.log, { end: false });
    }
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        if (!this.stopping) options.onExit?.(code, signal);
        resolve({ code, signal });
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Fetches /readyz: the JSON body and whether it said ready. */
  async readiness(): Promise<{ ready: boolean; body: Record<string, unknown> } | null> {
    try {
      const response = await fetch(`http://127.0.0.1:${this.options.healthPort}/readyz`, { signal: AbortSignal.timeout(1000) });
      return { ready: response.status === 200, body: (await response.json()) as Record<string, unknown> };
    } catch {
      return null;
    }
  }

  /** Waits until /readyz answers 200 (rejects if the process exits first or on timeout). */
  async waitReady(timeoutMs = readyTimeoutMs): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`${this.options.name} exited before it was ready (code ${this.child.exitCode}, signal ${this.child.signalCode})`);
      const readiness = await this.readiness();
      if (readiness?.ready) return readiness.body;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`${this.options.name} was not ready within ${timeoutMs} ms`);
  }

  /** Sends a signal to this process (by PID). */
  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** SIGKILL, as a crash would: no drain, no flush. */
  async crash(): Promise<void> {
    this.stopping = true;
    this.signal('SIGKILL');
    await this.exited;
    this.log?.end();
  }

  /** Graceful stop: SIGTERM, SIGKILL after `graceMs`. */
  async stop(graceMs = stopGraceMs): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.stopping = true;
    if (this.running) {
      // A paused process (SIGSTOP in tests) must run again to handle SIGTERM.
      this.signal('SIGCONT');
      this.signal('SIGTERM');
    }
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    const result = await this.exited;
    clearTimeout(timer);
    this.log?.end();
    return result;
  }
}
