// The process shell every cluster role shares: a small HTTP server for /healthz (the
// process is alive) and /readyz (the role can do its work now), a clear one-line error and
// exit code 1 when start-up fails (a dependency unreachable), and graceful shutdown on
// SIGTERM/SIGINT: readiness goes false first (load balancers stop sending), then the role
// stops accepting, drains and flushes, and the process exits within the grace period.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger, type Logger } from '../adapters/logger.ts';
import { collectConsumerStatus, createRoleMetrics, type RoleMetricsByName } from '../adapters/metrics.ts';
import { loadClusterSettings, type ClusterSettings } from './settings.ts';

export interface RoleHandle {
  /** True when the role can serve (readiness). */
  ready(): boolean;
  /** Extra fields for /readyz (position, lag, leader state). */
  status?(): Record<string, unknown> | Promise<Record<string, unknown>>;
  /** Stops accepting, drains in-flight work, flushes, closes connections. */
  stop(): Promise<void>;
}

export type ClusterRoleName = 'gateway' | 'engine' | 'ledger' | 'market-data' | 'notifier';

export interface RoleContext<R extends ClusterRoleName = ClusterRoleName> {
  settings: ClusterSettings;
  logger: Logger;
  /** This role's metrics (docs/metrics.md), served at /metrics on the health port. */
  metrics: RoleMetricsByName[R];
  /** Ask the shell to shut down (for example after losing the engine lease). */
  exit(code: number, reason: string): void;
}

/** Exit code of an engine that lost its lease (the launcher restarts it as a standby). */
export const exitCodeLeaseLost = 75;

export async function runRole<R extends ClusterRoleName>(role: R, start: (context: RoleContext<R>) => Promise<RoleHandle>): Promise<void> {
  process.env.BOURSE_ROLE ??= role;
  const logger = createLogger(role);
  const metrics = createRoleMetrics(role);
  let settings: ClusterSettings;
  try {
    settings = loadClusterSettings();
  } catch (error) {
    console.error(`bourse ${role}: bad configuration: ${(error as Error).message}`);
    process.exit(2);
  }
  let handle: RoleHandle | null = null;
  let stopping = false;

  const health: Server = createServer((request, response) => {
    const url = request.url ?? '/';
    if (url === '/healthz') {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', role }));
      return;
    }
    if (url === '/readyz') {
      const ready = !stopping && handle !== null && handle.ready();
      Promise.resolve(handle?.status?.() ?? {})
        .catch((error: Error) => ({ statusError: error.message }))
        .then((status) => {
          response.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ ready, role, stopping, ...status }));
        });
      return;
    }
    if (url === '/metrics') {
      metrics.render().then(
        (text) => response.writeHead(200, { 'content-type': metrics.contentType }).end(text),
        (error: Error) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${error.message}\n`),
      );
      return;
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    health.once('error', reject);
    health.listen(settings.healthPort, settings.healthHost, () => resolve());
  }).catch((error: Error) => {
    console.error(`bourse ${role}: cannot listen for health checks on ${settings.healthHost}:${settings.healthPort}: ${error.message}`);
    process.exit(1);
  });
  const healthPort = (health.address() as AddressInfo).port;

  const shutdown = async (code: number, reason: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ reason }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error({ graceMs: settings.shutdownGraceMs }, 'shutdown took too long; exiting');
      process.exit(code === 0 ? 1 : code);
    }, settings.shutdownGraceMs);
    timer.unref();
    try {
      await handle?.stop();
    } catch (error) {
      logger.error({ err: error }, 'error while stopping');
    }
    health.close();
    process.exit(code);
  };
  process.once('SIGTERM', () => void shutdown(0, 'SIGTERM'));
  process.once('SIGINT', () => void shutdown(0, 'SIGINT'));
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception');
    process.exit(1);
  });
  process.on('unhandledRejection', (error) => {
    logger.fatal({ err: error }, 'unhandled rejection');
    process.exit(1);
  });

  try {
    handle = await start({ settings, logger, metrics, exit: (code, reason) => void shutdown(code, reason) });
  } catch (error) {
    logger.fatal({ err: error }, 'start-up failed');
    console.error(`bourse ${role}: cannot start: ${(error as Error).message}`);
    process.exit(1);
  }
  if (role === 'ledger' || role === 'market-data' || role === 'notifier') {
    const started = handle;
    collectConsumerStatus(metrics as RoleMetricsByName['ledger'], role, () => started.status?.() ?? {});
  }
  logger.info({ healthPort, instance: settings.instance, cluster: settings.cluster }, `${role} started`);
}
