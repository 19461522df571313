// A transaction given as a list of statements known before it starts, so an adapter whose
// every round trip is dear (PGlite on its own thread) can run it in one message. Any
// SqlDatabase runs such a list through `runStatementsInTransaction`: adapters that offer
// `runStatements` do it their way, the others through `transaction()`, with the same
// outcome: all statements commit, or none does. PGlite's way writes the parameters into the
// statements as literals (statementWithLiterals) and sends a few scripts, not one
// parameterised exchange per statement.

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
  /**
   * When set, the statement runs only if the earlier statement at `statementIndex` returned
   * rows (`returnedRows: true`) or returned none (`false`); a statement that does not run
   * has an empty result (no rows, row count 0). This is how a caller skips work that an
   * earlier statement of the same transaction shows to be empty, without a round trip.
   */
  runIf?: { statementIndex: number; returnedRows: boolean };
}

export type SqlStatementsOutcome =
  | { committed: true; results: SqlResult<Record<string, unknown>>[] }
  | { committed: false; statementIndex: number; rowCount: number };

/** An adapter that runs a statement list in one transaction by itself (one round trip). */
export interface SqlStatementRunner {
  runStatements(statements: SqlStatement[]): Promise<SqlStatementsOutcome>;
}

/** Thrown inside a transaction when a guarded statement reports another row count; the caller rolls back. */
export class RowCountMismatch extends Error {
  constructor(
    readonly statementIndex: number,
    readonly rowCount: number,
  ) {
    super(`statement ${statementIndex} reported ${rowCount} rows`);
  }
}

/** Whether a statement runs, given the results of the statements before it (see SqlStatement.runIf). */
export function statementRuns(statement: SqlStatement, results: readonly (SqlResult<Record<string, unknown>> | undefined)[]): boolean {
  const condition = statement.runIf;
  if (condition === undefined) return true;
  const earlier = results[condition.statementIndex];
  if (earlier === undefined) throw new Error(`a statement's condition refers to statement ${condition.statementIndex}, which does not run before it`);
  return earlier.rows.length > 0 === condition.returnedRows;
}

/** The result of a statement that did not run because of its condition. */
export function skippedStatementResult(): SqlResult<Record<string, unknown>> {
  return { rows: [], rowCount: 0 };
}

/** Runs the statements in order inside an open transaction; throws RowCountMismatch on a failed guard. */
async function runInside(tx: SqlExecutor, statements: SqlStatement[]): Promise<SqlResult<Record<string, unknown>>[]> {
  const results: SqlResult<Record<string, unknown>>[] = new Array(statements.length);
  for (let index = 0; index < statements.length; index++) {
    const statement = statements[index]!;
    if (!statementRuns(statement, results)) {
      results[index] = skippedStatementResult();
      continue;
    }
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

/**
 * A parameter written as an SQL literal: NULL, or an escape string (`E'...'`, backslash and
 * quote doubled) that the statement's cast or context types exactly as it types the bound
 * parameter. Null when the value has no such form here (objects, arrays, non-finite numbers,
 * text with a NUL byte): the caller then binds the parameters instead.
 */
function sqlLiteral(value: unknown): string | null {
  if (value === null || value === undefined) return 'NULL';
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'number') {
    if (!Number.isFinite(value)) return null;
    text = String(value);
  } else if (typeof value === 'bigint' || typeof value === 'boolean') text = String(value);
  else return null;
  if (text.includes('\0')) return null;
  return `E'${text.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/** Where the quoted text that starts at `start` (a ' or ") ends, just past its closing quote; -1 if it does not. */
function quotedEnd(text: string, start: number, backslashEscapes: boolean): number {
  const quote = text[start]!;
  for (let index = start + 1; index < text.length; index++) {
    const character = text[index]!;
    if (backslashEscapes && character === '\\') index++;
    else if (character === quote) {
      if (text[index + 1] === quote) index++;
      else return index + 1;
    }
  }
  return -1;
}

/**
 * The statement with each `$n` outside quotes replaced by its parameter as a literal, or
 * null when that is not certain to mean the same: a comment, dollar quoting, a `$n` beyond
 * the parameters, or a parameter without a literal form (see sqlLiteral).
 */
export function statementWithLiterals(statement: SqlStatement): string | null {
  const text = statement.text;
  const params = statement.params ?? [];
  const literals: (string | null | undefined)[] = new Array(params.length);
  let result = '';
  let copiedUpTo = 0;
  let index = 0;
  while (index < text.length) {
    const character = text[index]!;
    if (character === "'" || character === '"') {
      const previous = index > 0 ? text[index - 1]! : ' ';
      const escapeString = character === "'" && (previous === 'E' || previous === 'e') && (index < 2 || !/[\w$]/.test(text[index - 2]!));
      const end = quotedEnd(text, index, escapeString);
      if (end < 0) return null;
      index = end;
    } else if ((character === '-' && text[index + 1] === '-') || (character === '/' && text[index + 1] === '*')) {
      return null;
    } else if (character === '$') {
      // `a$1` is an identifier, not a parameter.
      if (index > 0 && /[\w$]/.test(text[index - 1]!)) return null;
      const match = /^\$(\d+)/.exec(text.slice(index, index + 12));
      if (!match) return null;
      const position = Number(match[1]) - 1;
      if (position < 0 || position >= params.length) return null;
      let literal = literals[position];
      if (literal === undefined) literal = literals[position] = sqlLiteral(params[position]);
      if (literal === null) return null;
      result += text.slice(copiedUpTo, index) + literal;
      index += match[0].length;
      copiedUpTo = index;
    } else {
      index++;
    }
  }
  return result + text.slice(copiedUpTo);
}

/**
 * Every statement of the list with its parameters as literals (see statementWithLiterals),
 * or null when one of them cannot be written so.
 */
export function statementsWithLiterals(statements: readonly SqlStatement[]): string[] | null {
  const texts: string[] = new Array(statements.length);
  for (let index = 0; index < statements.length; index++) {
    const text = statementWithLiterals(statements[index]!);
    if (text === null) return null;
    texts[index] = text;
  }
  return texts;
}

function isStatementRunner(db: SqlDatabase): db is SqlDatabase & SqlStatementRunner {
  return typeof (db as Partial<SqlStatementRunner>).runStatements === 'function';
}

/** Runs the statements in one transaction, in as few round trips as the adapter allows. */
export function runStatementsInTransaction(db: SqlDatabase, statements: SqlStatement[]): Promise<SqlStatementsOutcome> {
  return isStatementRunner(db) ? db.runStatements(statements) : runStatementsThroughTransaction(db, statements);
}
