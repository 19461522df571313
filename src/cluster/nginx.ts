// nginx as the cluster's load balancer, run as our own process: the template in
// deploy/nginx/ is rendered into a private prefix directory (config, pid file, temp and
// cache paths, error log), and nginx runs in the foreground so it is stopped by its PID.
// The distro's nginx service is never used or touched.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repositoryRoot } from './processes.ts';

export const nginxTemplatePath = join(repositoryRoot, 'deploy/nginx/bourse.conf.template');
/** Upstream health policy: one failure takes a gateway out for this long. */
export const upstreamFailTimeoutSeconds = 2;
export const upstreamMaxFails = 1;

export interface NginxOptions {
  prefix: string;
  listenHost: string;
  listenPort: number;
  gatewayPorts: number[];
  bodyLimitBytes: number;
  workerProcesses?: number | 'auto';
  binary?: string;
}

export function renderNginxConfig(options: NginxOptions): string {
  const template = readFileSync(nginxTemplatePath, 'utf8');
  const upstreams = options.gatewayPorts
    .map((port) => `        server 127.0.0.1:${port} max_fails=${upstreamMaxFails} fail_timeout=${upstreamFailTimeoutSeconds}s;`)
    .join('\n');
  const values: Record<string, string> = {
    PREFIX: options.prefix,
    LISTEN_HOST: options.listenHost,
    LISTEN_PORT: String(options.listenPort),
    UPSTREAM_SERVERS: upstreams,
    BODY_LIMIT_BYTES: String(options.bodyLimitBytes),
    WORKER_PROCESSES: String(options.workerProcesses ?? 1),
  };
  const rendered = template.replace(/\{\{([A-Z_]+)\}\}/g, (match, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`nginx template: no value for ${match}`);
    return value;
  });
  return rendered;
}

export function findNginx(): string | null {
  for (const candidate of [process.env.BOURSE_NGINX_BIN, '/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx']) {
    if (!candidate) continue;
    const result = spawnSync(candidate, ['-v'], { stdio: 'ignore' });
    if (result.status === 0) return candidate;
  }
  return null;
}

export class NginxProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;

  private constructor(child: ChildProcess, readonly options: NginxOptions) {
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** Renders the config, checks it with `nginx -t`, starts nginx and waits until it answers. */
  static async start(options: NginxOptions): Promise<NginxProcess> {
    const binary = options.binary ?? findNginx();
    if (!binary) throw new Error('nginx is not installed (apt-get install -y nginx), or set BOURSE_NGINX_BIN');
    for (const directory of ['temp', 'cache']) mkdirSync(join(options.prefix, directory), { recursive: true });
    const configPath = join(options.prefix, 'nginx.conf');
    writeFileSync(configPath, renderNginxConfig(options));
    const errorLog = join(options.prefix, 'error.log');
    const check = spawnSync(binary, ['-t', '-q', '-e', errorLog, '-p', options.prefix, '-c', configPath], { encoding: 'utf8' });
    if (check.status !== 0) throw new Error(`nginx rejected ${configPath}: ${check.stderr.trim()}`);
    const child = spawn(binary, ['-e', errorLog, '-p', options.prefix, '-c', configPath, '-g', 'daemon off;'], { stdio: ['ignore', 'inherit', 'inherit'] });
    const nginx = new NginxProcess(child, options);
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`nginx exited at start (code ${child.exitCode}); see ${errorLog}`);
      try {
        const response = await fetch(`http://${options.listenHost}:${options.listenPort}/nginx-healthz`, { signal: AbortSignal.timeout(500) });
        if (response.ok) return nginx;
      } catch {
        // Not listening yet.
      }
      if (Date.now() > deadline) {
        nginx.child.kill('SIGKILL');
        throw new Error(`nginx did not answer on ${options.listenHost}:${options.listenPort}; see ${errorLog}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Graceful stop (SIGQUIT lets workers finish their requests), SIGKILL after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGQUIT');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
