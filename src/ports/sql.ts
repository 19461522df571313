// The SQL database port. Both adapters speak PostgreSQL (PGlite embedded, a real server in
// the cluster), so the same migrations and queries run on both; the contract suite
// test/contract/sql.contract.ts holds them to the same behaviour.

export interface SqlResult<Row> {
  rows: Row[];
  rowCount: number;
}

export interface SqlExecutor {
  query<Row = Record<string, unknown>>(text: string, params?: unknown[]): Promise<SqlResult<Row>>;
}

export interface SqlDatabase extends SqlExecutor {
  /** Runs `work` in one transaction; rolls back if it throws. */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Runs a script of several statements (migrations). */
  exec(script: string): Promise<void>;
  close(): Promise<void>;
}
