// Shared helpers for tests against the real services of cluster mode (NATS JetStream,
// PostgreSQL, Redis, nginx). A missing service fails the test loudly under CI=true and
// also without it: these tests exist to exercise the real thing, never to skip it.
import { createConnection } from 'node:net';

export const natsUrl = process.env.BOURSE_NATS_URL ?? 'nats://127.0.0.1:4222';
export const databaseUrl = process.env.BOURSE_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const redisUrl = process.env.BOURSE_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** True when something accepts TCP connections on host:port within `timeoutMs`. */
export function portOpen(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (open: boolean): void => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function hostPort(url: string, defaultPort: number): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: Number(parsed.port || defaultPort) };
}

/** Throws a clear error naming the service and its start command when it is not up. */
export async function requireService(name: 'nats' | 'postgres' | 'redis'): Promise<void> {
  const target = name === 'nats' ? hostPort(natsUrl, 4222) : name === 'postgres' ? hostPort(databaseUrl, 5432) : hostPort(redisUrl, 6379);
  if (await portOpen(target.host, target.port)) return;
  const hint = {
    nats: 'start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server',
    postgres: 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
    redis: 'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no',
  }[name];
  throw new Error(`${name} is not reachable at ${target.host}:${target.port}${process.env.CI === 'true' ? ' (CI=true: integration tests need it)' : ''}; start it with: ${hint}`);
}

/** A name unique to this test run, for streams, buckets, key prefixes and databases. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid.toString(36)}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 7)}`.toUpperCase();
}
