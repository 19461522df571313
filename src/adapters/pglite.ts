// PGlite (PostgreSQL compiled to WebAssembly) behind the SqlDatabase port: the embedded
// mode's database, stored under a data directory or in memory. It runs the very SQL and
// migrations of the PostgreSQL server, and it returns values the way node-postgres does
// (BIGINT and NUMERIC as decimal strings), so code tested here behaves the same there.
// PGlite has one session: while a transaction runs, other queries wait for it, so code
// inside `transaction(work)` must use the `tx` it is given, never the database itself.

import { PGlite, types, type Transaction } from '@electric-sql/pglite';
import type { SqlDatabase, SqlExecutor, SqlResult } from '../ports/sql.ts';
import {
  RowCountMismatch,
  runStatementsThroughTransaction,
  skippedStatementResult,
  statementRuns,
  statementsWithLiterals,
  type SqlStatement,
  type SqlStatementRunner,
  type SqlStatementsOutcome,
} from './sql/statements.ts';

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

/**
 * Server settings on top of PGlite's own (which already run without fsync: a commit reaches
 * the operating system, not the disk, so it survives a crash of this process but not of
 * the machine). `wal_init_zero=off`: a new 16 MB WAL segment is created at its size
 * without writing 16 MB of zeros first, which PGlite would push through its emulated file
 * system in 8 kB writes on the database thread, about as many bytes as the WAL itself.
 * WAL contents, commits and crash recovery are unchanged; zero-filling only reserves disk
 * space early (the PostgreSQL documentation recommends turning it off on copy-on-write file
 * systems, where it buys nothing).
 */
const pgliteSettings = ['-c', 'wal_init_zero=off'];

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

export class PgliteDatabase implements SqlDatabase, SqlStatementRunner {
  private constructor(private readonly database: PGlite) {}

  static async open(options: PgliteOptions = {}): Promise<PgliteDatabase> {
    const database = await PGlite.create({ dataDir: options.dataDirectory, parsers: nodePostgresParsers, startParams: [...PGlite.defaultStartParams, ...pgliteSettings] });
    return new PgliteDatabase(database);
  }

  async query<Row = Record<string, unknown>>(text: string, params?: unknown[]): Promise<SqlResult<Row>> {
    return toSqlResult<Row>(await this.database.query(text, params));
  }

  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.database.transaction((transaction) => work(new PgliteTransaction(transaction)));
  }

  /**
   * A statement list in one transaction, sent as few simple-protocol scripts (parameters
   * written as literals; see statementWithLiterals) rather than one extended-protocol exchange
   * per statement. PGlite enters the WebAssembly module once per protocol message, and a
   * parameterised query takes six of them (parse, describe, bind, describe, execute, sync)
   * where a script of any length takes two: for the projections' short transactions of a
   * few large statements that fixed cost was most of the database thread's time per
   * statement. Lists that cannot be written with literals take the bound path.
   */
  async runStatements(statements: SqlStatement[]): Promise<SqlStatementsOutcome> {
    const texts = statementsWithLiterals(statements);
    if (texts === null) return runStatementsThroughTransaction(this, statements);
    // A script ends after a guarded statement (checked before anything after it runs) and
    // after a statement that a later one's condition reads.
    const scriptEnds = new Set<number>([statements.length - 1]);
    statements.forEach((statement, index) => {
      if (statement.rowCountExpected !== undefined) scriptEnds.add(index);
      if (statement.runIf !== undefined) scriptEnds.add(statement.runIf.statementIndex);
    });
    try {
      const results = await this.database.transaction(async (transaction) => {
        const results: SqlResult<Record<string, unknown>>[] = new Array(statements.length);
        let pending: number[] = [];
        for (let index = 0; index < statements.length; index++) {
          const statement = statements[index]!;
          if (statementRuns(statement, results)) pending.push(index);
          else results[index] = skippedStatementResult();
          if (!scriptEnds.has(index) || pending.length === 0) continue;
          const replies = await transaction.exec(pending.map((position) => texts[position]).join(';\n'));
          if (replies.length !== pending.length) throw new Error(`a script of ${pending.length} statements returned ${replies.length} results`);
          pending.forEach((position, reply) => {
            const result = toSqlResult<Record<string, unknown>>(replies[reply]!);
            const expected = statements[position]!.rowCountExpected;
            if (expected !== undefined && result.rowCount !== expected) throw new RowCountMismatch(position, result.rowCount);
            results[position] = result;
          });
          pending = [];
        }
        return results;
      });
      return { committed: true, results };
    } catch (error) {
      if (error instanceof RowCountMismatch) return { committed: false, statementIndex: error.statementIndex, rowCount: error.rowCount };
      throw error;
    }
  }

  async exec(script: string): Promise<void> {
    await this.database.exec(script);
  }

  async close(): Promise<void> {
    if (!this.database.closed) await this.database.close();
  }
}
