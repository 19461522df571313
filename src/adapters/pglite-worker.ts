// PGlite on its own thread, behind the SqlDatabase port. PGlite runs PostgreSQL as
// WebAssembly with synchronous file I/O, so in the main thread every ledger transaction
// would stall the gateway's event loop; here the main thread only posts messages and the
// database works on the other core. Same SQL, same results (rows are structured-cloned),
// same transaction semantics: a transaction holds PGlite's single connection until it
// commits or rolls back, and other queries wait for it exactly as they do in PGlite.
import { Worker } from 'node:worker_threads';
import type { SqlDatabase, SqlExecutor, SqlResult } from '../ports/sql.ts';
import type { SqlStatement, SqlStatementRunner, SqlStatementsOutcome } from './sql/statements.ts';

export interface WorkerPgliteOptions {
  /** Directory for the database files; omitted: in memory. */
  dataDirectory?: string;
  /**
   * Niceness of the database thread (Linux; 0..19, default 0). The embedded mode uses 10 so
   * that, on a busy machine, the projection lags rather than the order path.
   */
  niceness?: number;
}

type Request =
  | { id: number; op: 'query'; text: string; params?: unknown[]; transactionId?: number }
  | { id: number; op: 'exec'; script: string }
  | { id: number; op: 'statements'; statements: SqlStatement[] }
  | { id: number; op: 'begin' }
  | { id: number; op: 'end'; transactionId: number; commit: boolean }
  | { id: number; op: 'close' };

type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: { message: string; code?: string; name?: string } };

export class WorkerSqlError extends Error {
  code: string | undefined;

  constructor(message: string, code: string | undefined, name: string | undefined) {
    super(message);
    this.name = name ?? 'WorkerSqlError';
    this.code = code;
  }
}

export class WorkerPgliteDatabase implements SqlDatabase, SqlStatementRunner {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private closed = false;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (reply: Reply) => {
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      this.pending.delete(reply.id);
      if (reply.ok) waiter.resolve(reply.value);
      else waiter.reject(new WorkerSqlError(reply.error.message, reply.error.code, reply.error.name));
    });
    worker.on('error', (error) => this.failAll(error));
    worker.on('exit', (code) => this.failAll(new Error(`the PGlite worker exited (${code})`)));
  }

  static async open(options: WorkerPgliteOptions = {}): Promise<WorkerPgliteDatabase> {
    const workerData = { dataDirectory: options.dataDirectory, niceness: options.niceness ?? 0 };
    // Compiled (`npm run build`, dist/*.js): the thread's entry is JavaScript beside this file.
    // From source: the entry is TypeScript, so register tsx's loader in the thread first
    // (loader hooks are per thread).
    const compiled = import.meta.url.endsWith('.js');
    const worker = compiled
      ? new Worker(new URL('./pglite-worker-thread.js', import.meta.url), { workerData })
      : new Worker(
          `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((api) => { api.register(); return import(${JSON.stringify(new URL('./pglite-worker-thread.ts', import.meta.url).href)}); });`,
          { eval: true, workerData },
        );
    const database = new WorkerPgliteDatabase(worker);
    // The first request waits for the worker to open the database.
    await database.call({ id: 0, op: 'query', text: 'SELECT 1' });
    return database;
  }

  private failAll(error: Error): void {
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }

  private call(request: Request): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error('the database is closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      request.id = id;
      this.worker.postMessage(request);
    });
  }

  async query<Row = Record<string, unknown>>(text: string, params?: unknown[]): Promise<SqlResult<Row>> {
    return (await this.call({ id: 0, op: 'query', text, params })) as SqlResult<Row>;
  }

  async exec(script: string): Promise<void> {
    await this.call({ id: 0, op: 'exec', script });
  }

  /** The whole transaction in one message each way (see src/adapters/sql/statements.ts). */
  async runStatements(statements: SqlStatement[]): Promise<SqlStatementsOutcome> {
    return (await this.call({ id: 0, op: 'statements', statements })) as SqlStatementsOutcome;
  }

  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const transactionId = (await this.call({ id: 0, op: 'begin' })) as number;
    const executor: SqlExecutor = {
      query: async <Row = Record<string, unknown>>(text: string, params?: unknown[]) =>
        (await this.call({ id: 0, op: 'query', text, params, transactionId })) as SqlResult<Row>,
    };
    let result: T;
    try {
      result = await work(executor);
    } catch (error) {
      await this.call({ id: 0, op: 'end', transactionId, commit: false });
      throw error;
    }
    await this.call({ id: 0, op: 'end', transactionId, commit: true });
    return result;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.call({ id: 0, op: 'close' });
    this.closed = true;
    await this.worker.terminate();
  }
}
