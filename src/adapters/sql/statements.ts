// A transaction given as a list of statements known before it starts, so an adapter whose
// every round trip is dear (PGlite on its own thread) can run it in one message. Any
// SqlDatabase runs such a list through `runStatementsInTransaction`: adapters that offer
// `runStatements` do it their way, the others through `transaction()`, with the same
// outcome: all statements commit, or none does.

import type { SqlDatabase, SqlExecutor, SqlResult } from '../../ports/sql.ts';

export interface SqlStatement {
  text: string;
  params?: unknown[];
  /**
   * When set, the statement must report exactly this many rows (affected or returned);
   * otherwise the transaction rolls back and the outcome says which statement differed.
   * This is how a caller guards a batch on state it read earlier (a progress row).
   */
  rowCountExpected?: number;
}

export type SqlStatementsOutcome =
  | { committed: true; results: SqlResult<Record<string, unknown>>[] }
  | { committed: false; statementIndex: number; rowCount: number };

/** An adapter that runs a statement list in one transaction by itself (one round trip). */
export interface SqlStatementRunner {
  runStatements(statements: SqlStatement[]): Promise<SqlStatementsOutcome>;
}

class RowCountMismatch extends Error {
  constructor(
    readonly statementIndex: number,
    readonly rowCount: number,
  ) {
    super(`statement ${statementIndex} reported ${rowCount} rows`);
  }
}

/** Runs the statements in order inside an open transaction; throws RowCountMismatch on a failed guard. */
async function runInside(tx: SqlExecutor, statements: SqlStatement[]): Promise<SqlResult<Record<string, unknown>>[]> {
  const results: SqlResult<Record<string, unknown>>[] = new Array(statements.length);
  for (let index = 0; index < statements.length; index++) {
    const statement = statements[index]!;
    const result = await tx.query(statement.text, statement.params);
    if (statement.rowCountExpected !== undefined && result.rowCount !== statement.rowCountExpected) {
      throw new RowCountMismatch(index, result.rowCount);
    }
    results[index] = result;
  }
  return results;
}

/** Runs the statements through `transaction()` (one round trip per statement). */
export async function runStatementsThroughTransaction(db: SqlDatabase, statements: SqlStatement[]): Promise<SqlStatementsOutcome> {
  try {
    const results = await db.transaction((tx) => runInside(tx, statements));
    return { committed: true, results };
  } catch (error) {
    if (error instanceof RowCountMismatch) return { committed: false, statementIndex: error.statementIndex, rowCount: error.rowCount };
    throw error;
  }
}

function isStatementRunner(db: SqlDatabase): db is SqlDatabase & SqlStatementRunner {
  return typeof (db as Partial<SqlStatementRunner>).runStatements === 'function';
}

/** Runs the statements in one transaction, in as few round trips as the adapter allows. */
export function runStatementsInTransaction(db: SqlDatabase, statements: SqlStatement[]): Promise<SqlStatementsOutcome> {
  return isStatementRunner(db) ? db.runStatements(statements) : runStatementsThroughTransaction(db, statements);
}
