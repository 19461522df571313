// Configuration of the embedded exchange: every setting is an environment variable with a
// default, listed once in `configTable` (printed by `--help` and copied into the README).
// Values are checked here, at the edge, so the rest of the code can trust them.
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';

export interface ConfigEntry {
  name: string;
  defaultValue: string;
  description: string;
}

/** The documented settings. Names that scripts and tests rely on are stable. */
export const configTable: ConfigEntry[] = [
  { name: 'PORT', defaultValue: '8080', description: 'HTTP port of the REST API, WebSocket streams and web UI (0 = any free port).' },
  { name: 'HOST', defaultValue: '127.0.0.1', description: 'Address to listen on (0.0.0.0 to accept remote clients).' },
  { name: 'BOURSE_DATA_DIR', defaultValue: './data', description: 'Directory of the command journal, engine snapshots and the PGlite database.' },
  { name: 'LOG_LEVEL', defaultValue: 'info', description: 'pino level: fatal, error, warn, info, debug, trace or silent.' },
  { name: 'METRICS_PORT', defaultValue: '0 (off)', description: 'Port of the Prometheus /metrics endpoint (its own port, never the API port); see docs/metrics.md.' },
  { name: 'METRICS_HOST', defaultValue: '127.0.0.1', description: 'Address of the /metrics endpoint (0.0.0.0 in containers).' },
  { name: 'BOURSE_ADMIN_TOKEN', defaultValue: '(random, printed)', description: 'Bearer token of the admin API (/admin/v1).' },
  { name: 'BOURSE_SEED_DEMO', defaultValue: 'true', description: 'Seed assets, markets, two demo users with funds and API keys on first start.' },
  { name: 'BOURSE_DEMO_API_KEY', defaultValue: '(random)', description: 'API key of demo user 1 (with BOURSE_DEMO_API_SECRET).' },
  { name: 'BOURSE_DEMO_API_SECRET', defaultValue: '(random)', description: 'API secret of demo user 1.' },
  { name: 'BOURSE_DEMO2_API_KEY', defaultValue: '(random)', description: 'API key of demo user 2 (with BOURSE_DEMO2_API_SECRET).' },
  { name: 'BOURSE_DEMO2_API_SECRET', defaultValue: '(random)', description: 'API secret of demo user 2.' },
  { name: 'BOURSE_SIMULATE', defaultValue: 'false', description: 'Run the built-in market maker and random takers on the demo markets.' },
  { name: 'BOURSE_SIMULATE_SEED', defaultValue: '1', description: 'Seed of the simulation (same seed, same order stream).' },
  { name: 'BOURSE_SNAPSHOT_EVERY_COMMANDS', defaultValue: '100000', description: 'Take an engine snapshot after this many commands...' },
  { name: 'BOURSE_SNAPSHOT_INTERVAL_MS', defaultValue: '60000', description: '...or after this much time with at least one new command.' },
  { name: 'BOURSE_COMMAND_TIMEOUT_MS', defaultValue: '5000', description: 'How long a request waits for the engine before answering -1007 (status unknown).' },
  { name: 'BOURSE_BODY_LIMIT_BYTES', defaultValue: '16384', description: 'Largest accepted request body; larger ones get HTTP 413.' },
  { name: 'BOURSE_WEIGHT_PER_MINUTE', defaultValue: '6000', description: 'REQUEST_WEIGHT limit per IP per minute (HTTP 429 past it).' },
  { name: 'BOURSE_ORDERS_PER_10S', defaultValue: '100', description: 'ORDERS limit per account per 10 seconds.' },
  { name: 'BOURSE_ORDERS_PER_DAY', defaultValue: '200000', description: 'ORDERS limit per account per day.' },
];

export interface RateLimitConfig {
  weightPerMinute: number;
  ordersPer10Seconds: number;
  ordersPerDay: number;
}

export interface BourseConfig {
  port: number;
  host: string;
  dataDirectory: string;
  logLevel: string;
  adminToken: string;
  /** True when the admin token was generated (it is then printed at start). */
  adminTokenGenerated: boolean;
  seedDemo: boolean;
  demoKeys: { apiKey: string | null; secret: string | null }[];
  simulate: boolean;
  simulateSeed: number;
  snapshotEveryCommands: number;
  snapshotIntervalMs: number;
  commandTimeoutMs: number;
  bodyLimitBytes: number;
  rateLimits: RateLimitConfig;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function integer(environment: NodeJS.ProcessEnv, name: string, fallback: number, minimum: number, maximum: number): number {
  const text = environment[name];
  if (text === undefined || text === '') return fallback;
  if (!/^[0-9]+$/.test(text)) throw new ConfigError(`${name} must be a whole number, got "${text}"`);
  const value = Number(text);
  if (value < minimum || value > maximum) throw new ConfigError(`${name} must be between ${minimum} and ${maximum}, got ${value}`);
  return value;
}

function flag(environment: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const text = environment[name];
  if (text === undefined || text === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(text.toLowerCase())) return true;
  if (['0', 'false', 'no', 'off'].includes(text.toLowerCase())) return false;
  throw new ConfigError(`${name} must be true or false, got "${text}"`);
}

function optional(environment: NodeJS.ProcessEnv, name: string): string | null {
  const text = environment[name];
  return text === undefined || text === '' ? null : text;
}

export function loadConfig(environment: NodeJS.ProcessEnv = process.env): BourseConfig {
  const adminTokenGiven = optional(environment, 'BOURSE_ADMIN_TOKEN');
  const config: BourseConfig = {
    port: integer(environment, 'PORT', 8080, 0, 65535),
    host: environment.HOST || '127.0.0.1',
    dataDirectory: resolve(environment.BOURSE_DATA_DIR || './data'),
    logLevel: environment.LOG_LEVEL || 'info',
    adminToken: adminTokenGiven ?? randomBytes(24).toString('hex'),
    adminTokenGenerated: adminTokenGiven === null,
    seedDemo: flag(environment, 'BOURSE_SEED_DEMO', true),
    demoKeys: [
      { apiKey: optional(environment, 'BOURSE_DEMO_API_KEY'), secret: optional(environment, 'BOURSE_DEMO_API_SECRET') },
      { apiKey: optional(environment, 'BOURSE_DEMO2_API_KEY'), secret: optional(environment, 'BOURSE_DEMO2_API_SECRET') },
    ],
    simulate: flag(environment, 'BOURSE_SIMULATE', false),
    simulateSeed: integer(environment, 'BOURSE_SIMULATE_SEED', 1, 0, 2 ** 32 - 1),
    snapshotEveryCommands: integer(environment, 'BOURSE_SNAPSHOT_EVERY_COMMANDS', 100_000, 1, 1e9),
    snapshotIntervalMs: integer(environment, 'BOURSE_SNAPSHOT_INTERVAL_MS', 60_000, 100, 86_400_000),
    commandTimeoutMs: integer(environment, 'BOURSE_COMMAND_TIMEOUT_MS', 5000, 10, 600_000),
    bodyLimitBytes: integer(environment, 'BOURSE_BODY_LIMIT_BYTES', 16_384, 256, 1_048_576),
    rateLimits: {
      weightPerMinute: integer(environment, 'BOURSE_WEIGHT_PER_MINUTE', 6000, 1, 1e12),
      ordersPer10Seconds: integer(environment, 'BOURSE_ORDERS_PER_10S', 100, 1, 1e12),
      ordersPerDay: integer(environment, 'BOURSE_ORDERS_PER_DAY', 200_000, 1, 1e12),
    },
  };
  for (const [index, keys] of config.demoKeys.entries()) {
    if ((keys.apiKey === null) !== (keys.secret === null)) {
      const prefix = index === 0 ? 'BOURSE_DEMO' : 'BOURSE_DEMO2';
      throw new ConfigError(`${prefix}_API_KEY and ${prefix}_API_SECRET must be set together`);
    }
  }
  return config;
}

/** The table as Markdown-ish text for `--help` and the README. */
export function configHelp(): string {
  const width = Math.max(...configTable.map((entry) => entry.name.length));
  const defaultWidth = Math.max(...configTable.map((entry) => entry.defaultValue.length));
  return configTable
    .map((entry) => `  ${entry.name.padEnd(width)}  ${entry.defaultValue.padEnd(defaultWidth)}  ${entry.description}`)
    .join('\n');
}
