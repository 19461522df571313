// Settings every cluster role reads (on top of the embedded mode's BOURSE_* variables in
// src/config.ts): where NATS, PostgreSQL and Redis are, the cluster's name (which prefixes
// every stream, subject, bucket and Redis key, so several clusters or test runs share one
// set of servers), and the role's health port. Listed once in `clusterSettingsTable`.
import { hostname } from 'node:os';
import { ConfigError } from '../config.ts';

export interface SettingEntry {
  name: string;
  defaultValue: string;
  description: string;
  roles: string;
}

export const clusterSettingsTable: SettingEntry[] = [
  { name: 'BOURSE_CLUSTER', defaultValue: 'main', roles: 'all', description: 'Cluster name: prefixes JetStream streams, NATS subjects, the lease bucket and Redis keys.' },
  { name: 'BOURSE_NATS_URL', defaultValue: 'nats://127.0.0.1:4222', roles: 'all', description: 'NATS servers (comma separated), JetStream enabled.' },
  { name: 'BOURSE_JETSTREAM_REPLICAS', defaultValue: '1', roles: 'engine', description: 'Replicas of the command and event streams when the engine creates them (3 in production).' },
  { name: 'BOURSE_DATABASE_URL', defaultValue: 'postgres://postgres@127.0.0.1:5432/test', roles: 'gateway, ledger, notifier, market-data', description: 'PostgreSQL primary.' },
  { name: 'BOURSE_DATABASE_REPLICA_URL', defaultValue: '(none)', roles: 'gateway', description: 'PostgreSQL read replica for history reads (allOrders, myTrades, trades).' },
  { name: 'BOURSE_REDIS_URL', defaultValue: 'redis://127.0.0.1:6379', roles: 'gateway, market-data, notifier', description: 'Redis: cache, shared rate limits, pub/sub fan-out.' },
  { name: 'BOURSE_HEALTH_PORT', defaultValue: '0 (any free port)', roles: 'all', description: 'Port of /healthz, /readyz and /metrics (loopback unless HOST says otherwise).' },
  { name: 'BOURSE_LEASE_TTL_MS', defaultValue: '1500', roles: 'engine', description: 'Engine leader lease lifetime: a standby takes over about this long after the leader dies.' },
  { name: 'BOURSE_INSTANCE', defaultValue: 'host-pid', roles: 'all', description: 'Name of this process in logs and in the lease.' },
  { name: 'BOURSE_SHUTDOWN_GRACE_MS', defaultValue: '10000', roles: 'all', description: 'Longest a role drains on SIGTERM before it exits anyway.' },
];

export interface ClusterSettings {
  cluster: string;
  natsUrl: string;
  jetStreamReplicas: number;
  databaseUrl: string;
  databaseReplicaUrl: string | null;
  redisUrl: string;
  healthPort: number;
  healthHost: string;
  leaseTtlMs: number;
  instance: string;
  shutdownGraceMs: number;
  /** Derived names. */
  commandStream: string;
  eventStream: string;
  leaseBucket: string;
  commandSubject: string;
  redisPrefix: string;
}

function integer(environment: NodeJS.ProcessEnv, name: string, fallback: number, minimum: number, maximum: number): number {
  const text = environment[name];
  if (text === undefined || text === '') return fallback;
  if (!/^[0-9]+$/.test(text)) throw new ConfigError(`${name} must be a whole number, got "${text}"`);
  const value = Number(text);
  if (value < minimum || value > maximum) throw new ConfigError(`${name} must be between ${minimum} and ${maximum}, got ${value}`);
  return value;
}

export function loadClusterSettings(environment: NodeJS.ProcessEnv = process.env): ClusterSettings {
  const cluster = environment.BOURSE_CLUSTER || 'main';
  if (!/^[A-Za-z0-9_]{1,40}$/.test(cluster)) throw new ConfigError(`BOURSE_CLUSTER must be 1-40 letters, digits or _, got "${cluster}"`);
  const upper = cluster.toUpperCase();
  return {
    cluster,
    natsUrl: environment.BOURSE_NATS_URL || 'nats://127.0.0.1:4222',
    jetStreamReplicas: integer(environment, 'BOURSE_JETSTREAM_REPLICAS', 1, 1, 5),
    databaseUrl: environment.BOURSE_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test',
    databaseReplicaUrl: environment.BOURSE_DATABASE_REPLICA_URL || null,
    redisUrl: environment.BOURSE_REDIS_URL || 'redis://127.0.0.1:6379',
    healthPort: integer(environment, 'BOURSE_HEALTH_PORT', 0, 0, 65535),
    healthHost: environment.HOST || '127.0.0.1',
    leaseTtlMs: integer(environment, 'BOURSE_LEASE_TTL_MS', 1500, 300, 60_000),
    instance: environment.BOURSE_INSTANCE || `${hostname()}-${process.pid}`,
    shutdownGraceMs: integer(environment, 'BOURSE_SHUTDOWN_GRACE_MS', 10_000, 100, 600_000),
    commandStream: `BOURSE_${upper}_COMMANDS`,
    eventStream: `BOURSE_${upper}_EVENTS`,
    leaseBucket: `BOURSE_${upper}_LEASE`,
    commandSubject: `bourse.${cluster}.submit`,
    redisPrefix: `bourse:${cluster}:`,
  };
}
