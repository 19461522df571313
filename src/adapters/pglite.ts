// PGlite (PostgreSQL compiled to WebAssembly) behind the SqlDatabase port: the embedded
// mode's database, stored under a data directory or in memory. It runs the very SQL and
// migrations of the PostgreSQL server, and it returns values the way node-postgres does
// (BIGINT and NUMERIC as decimal strings), so code tested here behaves the same there.
// PGlite has one session: while a transaction runs, other queries wait for it, so code
// inside `transaction(work)` must use the `tx` it is given, never the database itself.

import { PGlite, types, type Transaction } from '@electric-sql/pglite';
import type { SqlDatabase, SqlExecutor, SqlResult } from '../ports/sql.ts';

export interface PgliteOptions {
  /** Directory for the database files; omitted: in memory (tests). */
  dataDirectory?: string;
}

interface RawResult {
  rows: unknown[];
  affectedRows?: number;
  rowCount?: number;
}

function toSqlResult<Row>(result: RawResult): SqlResult<Row> {
  const rowCount = typeof result.rowCount === 'number' ? result.rowCount : (result.affectedRows ?? result.rows.length);
  return { rows: result.rows as Row[], rowCount };
}

/** Parsers that match node-postgres: 64-bit integers stay strings, so nothing loses precision silently. */
const nodePostgresParsers = {
  [types.INT8]: (value: string) => value,
};

class PgliteTransaction implements SqlExecutor {
  constructor(private readonly transaction: Transaction) {}

  async query<Row = Record<string, unknown>>(text: string, params?: unknown[]): Promise<SqlResult<Row>> {
    return toSqlResult<Row>(await this.transaction.query(text, params));
  }
}

export class PgliteDatabase implements SqlDatabase {
  private constructor(private readonly database: PGlite) {}

  static async open(options: PgliteOptions = {}): Promise<PgliteDatabase> {
    const database = await PGlite.create({ dataDir: options.dataDirectory, parsers: nodePostgresParsers });
    return new PgliteDatabase(database);
  }

  async query<Row = Record<string, unknown>>(text: string, params?: unknown[]): Promise<SqlResult<Row>> {
    return toSqlResult<Row>(await this.database.query(text, params));
  }

  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.database.transaction((transaction) => work(new PgliteTransaction(transaction)));
  }

  async exec(script: string): Promise<void> {
    await this.database.exec(script);
  }

  async close(): Promise<void> {
    if (!this.database.closed) await this.database.close();
  }
}
