// PostgresDatabase: the SqlDatabase port on a PostgreSQL server (cluster mode), with an
// optional streaming read replica that serves history reads. It keeps the embedded
// twin's behaviour (PGlite): the same migrations, int8 columns read as numbers (money is
// a safe integer everywhere), and a transaction that rolls back when its work throws.
import pg from 'pg';
import type { SqlDatabase, SqlExecutor, SqlResult } from '../ports/sql.ts';
import { createLogger } from './logger.ts';

/** Connections per pool (primary and replica each): about two per core of the server. */
export const poolConnectionsMax = 10;
/** How long a role waits for a connection at start-up or from a busy pool. */
export const connectTimeoutMs = 5000;
/** Statements slower than this are cancelled by the server (a runaway query never blocks a role). */
export const statementTimeoutMs = 30_000;

export const defaultDatabaseUrl = 'postgres://postgres@127.0.0.1:5432/test';

const log = createLogger('postgres');

export interface PostgresOptions {
  /** postgres://user@host:port/database of the primary. */
  url?: string;
  /** Optional read replica for history reads (BOURSE_DATABASE_REPLICA_URL). */
  replicaUrl?: string;
  poolConnectionsMax?: number;
  /** application_name shown in pg_stat_activity. */
  applicationName?: string;
}

function createPool(url: string, options: PostgresOptions, role: string): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolConnectionsMax ?? poolConnectionsMax,
    connectionTimeoutMillis: connectTimeoutMs,
    statement_timeout: statementTimeoutMs,
    application_name: options.applicationName ?? 'bourse',
  });
  // An idle connection that breaks (server restart) must not crash the role: the pool
  // drops it and the next query opens a new one.
  pool.on('error', (error) => log.warn({ err: error, pool: role }, 'idle PostgreSQL connection failed'));
  return pool;
}

function executorOf(queryable: pg.Pool | pg.PoolClient): SqlExecutor {
  return {
    async query<Row = Record<string, unknown>>(text: string, params?: unknown[]): Promise<SqlResult<Row>> {
      const result = await queryable.query(text, params as unknown[] | undefined);
      return { rows: result.rows as Row[], rowCount: result.rowCount ?? result.rows.length };
    },
  };
}

function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || 5432}${parsed.pathname}`;
  } catch {
    return 'the configured server';
  }
}

export class PostgresDatabase implements SqlDatabase {
  private readonly primary: pg.Pool;
  private readonly replica: pg.Pool | null;
  private readonly primaryExecutor: SqlExecutor;
  private readonly replicaExecutor: SqlExecutor | null;
  private closed = false;

  private constructor(primary: pg.Pool, replica: pg.Pool | null) {
    this.primary = primary;
    this.replica = replica;
    this.primaryExecutor = executorOf(primary);
    this.replicaExecutor = replica ? executorOf(replica) : null;
  }

  /** Connects to the primary (and replica) and checks both answer; clear error otherwise. */
  static async open(options: PostgresOptions = {}): Promise<PostgresDatabase> {
    const url = options.url ?? process.env.BOURSE_DATABASE_URL ?? defaultDatabaseUrl;
    const replicaUrl = options.replicaUrl ?? process.env.BOURSE_DATABASE_REPLICA_URL;
    const primary = createPool(url, options, 'primary');
    const replica = replicaUrl ? createPool(replicaUrl, options, 'replica') : null;
    const database = new PostgresDatabase(primary, replica);
    try {
      await primary.query('select 1');
    } catch (error) {
      await database.close();
      throw new Error(`cannot reach PostgreSQL at ${describeUrl(url)} (set BOURSE_DATABASE_URL): ${(error as Error).message}`, { cause: error });
    }
    if (replica && replicaUrl) {
      try {
        await replica.query('select 1');
      } catch (error) {
        await database.close();
        throw new Error(`cannot reach the PostgreSQL replica at ${describeUrl(replicaUrl)} (BOURSE_DATABASE_REPLICA_URL): ${(error as Error).message}`, { cause: error });
      }
    }
    return database;
  }

  query<Row = Record<string, unknown>>(text: string, params?: unknown[]): Promise<SqlResult<Row>> {
    return this.primaryExecutor.query<Row>(text, params);
  }

  /**
   * A pooled client for one unit of work. The pool only watches idle clients; while checked
   * out, a connection killed by the server (restart, failover) would otherwise emit an
   * unhandled 'error' and crash the role. The query in flight still fails, and the caller
   * retries.
   */
  private async checkOut(): Promise<{ client: pg.PoolClient; release: (broken?: Error) => void }> {
    const client = await this.primary.connect();
    let failure: Error | undefined;
    const onError = (error: Error): void => {
      failure = error;
      log.warn({ err: error }, 'PostgreSQL connection failed while in use');
    };
    client.on('error', onError);
    return {
      client,
      release: (broken) => {
        client.off('error', onError);
        client.release(broken ?? failure);
      },
    };
  }

  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const { client, release } = await this.checkOut();
    let broken: Error | undefined;
    try {
      await client.query('begin');
      const result = await work(executorOf(client));
      await client.query('commit');
      return result;
    } catch (error) {
      try {
        await client.query('rollback');
      } catch (rollbackError) {
        // The connection itself failed: destroy it rather than return it to the pool.
        broken = rollbackError as Error;
      }
      throw error;
    } finally {
      release(broken);
    }
  }

  async exec(script: string): Promise<void> {
    // Without parameters the simple query protocol runs every statement of the script. A
    // script with its own BEGIN that fails leaves its connection in an aborted
    // transaction, so it runs on a dedicated connection that is rolled back before reuse.
    const { client, release } = await this.checkOut();
    let broken: Error | undefined;
    try {
      await client.query(script);
    } catch (error) {
      try {
        await client.query('rollback');
      } catch (rollbackError) {
        broken = rollbackError as Error;
      }
      throw error;
    } finally {
      release(broken);
    }
  }

  /** Where history reads go: the replica when one is configured, else the primary. */
  historyExecutor(): SqlExecutor {
    return this.replicaExecutor ?? this.primaryExecutor;
  }

  hasReplica(): boolean {
    return this.replica !== null;
  }

  /**
   * How far the replica's replay trails the primary, in seconds (0 without a replica, or
   * when it has replayed everything it received). Exported as a metric by the roles.
   */
  async replicaLagSeconds(): Promise<number> {
    if (!this.replica) return 0;
    const result = await this.replica.query<{ lag: number | string | null }>(
      `select case
         when pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() then 0
         else coalesce(extract(epoch from now() - pg_last_xact_replay_timestamp()), 0)
       end as lag`,
    );
    return Number(result.rows[0]?.lag ?? 0);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.primary.end(), this.replica?.end()]);
  }
}

/**
 * Creates a fresh database `bourse_test_<random>` on the server of `adminUrl` (for tests
 * and benchmarks that must not collide) and returns its URL and a function that drops it.
 */
export async function createScratchDatabase(adminUrl: string = process.env.BOURSE_DATABASE_URL ?? defaultDatabaseUrl, prefix = 'bourse_test'): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: connectTimeoutMs });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      const dropper = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: connectTimeoutMs });
      await dropper.connect();
      try {
        await dropper.query(`drop database if exists ${name} with (force)`);
      } finally {
        await dropper.end();
      }
    },
  };
}
