// The worker side of WorkerPgliteDatabase: opens PgliteDatabase and answers the main
// thread's requests in order. A transaction runs inside PGlite's own transaction(); its
// queries arrive tagged with its id, and it ends when the main thread says commit or
// rollback (a rollback throws inside the callback, which is how PGlite rolls back). A
// 'statements' request is a whole transaction known in advance: one message in, one out.
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { PgliteDatabase } from './pglite.ts';
import type { SqlExecutor } from '../ports/sql.ts';
import type { SqlStatement } from './sql/statements.ts';

interface OpenTransaction {
  executor: SqlExecutor;
  end: (commit: boolean) => void;
  done: Promise<void>;
}

/**
 * Niceness of this thread (Linux: setpriority on the thread's id). The database serves a
 * projection that may lag; under CPU contention the gateway and engine thread come first.
 */
export const databaseThreadNiceness = 10;

function lowerThisThreadsPriority(niceness: number | undefined): void {
  if (!niceness) return;
  try {
    const threadId = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isSafeInteger(threadId) && threadId > 0) setPriority(threadId, niceness);
  } catch {
    // Not Linux, or not permitted: run at normal priority.
  }
}

lowerThisThreadsPriority((workerData as { niceness?: number }).niceness);

const port = parentPort!;
const opened = PgliteDatabase.open({ dataDirectory: (workerData as { dataDirectory?: string }).dataDirectory });
const transactions = new Map<number, OpenTransaction>();
let nextTransactionId = 1;

class RollbackRequested extends Error {}

function errorOf(error: unknown): { message: string; code?: string; name?: string } {
  if (error instanceof Error) return { message: error.message, code: (error as { code?: string }).code, name: error.name };
  return { message: String(error) };
}

port.on('message', async (request: { id: number; op: string; text?: string; params?: unknown[]; transactionId?: number; script?: string; commit?: boolean; statements?: SqlStatement[] }) => {
  try {
    const database = await opened;
    let value: unknown = null;
    switch (request.op) {
      case 'query': {
        const target: SqlExecutor = request.transactionId ? transactions.get(request.transactionId)!.executor : database;
        value = await target.query(request.text!, request.params);
        break;
      }
      case 'exec':
        await database.exec(request.script!);
        break;
      case 'statements':
        // A whole transaction in one message: it queues behind an open interactive
        // transaction inside PGlite, exactly like a single query does.
        value = await database.runStatements(request.statements!);
        break;
      case 'begin': {
        const transactionId = nextTransactionId++;
        let end: (commit: boolean) => void = () => undefined;
        const ended = new Promise<boolean>((resolve) => {
          end = resolve;
        });
        let begun: (executor: SqlExecutor) => void = () => undefined;
        const ready = new Promise<SqlExecutor>((resolve) => {
          begun = resolve;
        });
        const done = database
          .transaction(async (executor) => {
            begun(executor);
            if (!(await ended)) throw new RollbackRequested('rollback requested');
          })
          .then(
            () => undefined,
            (error: unknown) => {
              if (!(error instanceof RollbackRequested)) throw error;
            },
          );
        // `end` awaits `done`; until then a failure must not count as unhandled.
        done.catch(() => undefined);
        const executor = await Promise.race([
          ready,
          done.then(() => {
            throw new Error('the transaction ended before it began');
          }),
        ]);
        transactions.set(transactionId, { executor, end, done });
        value = transactionId;
        break;
      }
      case 'end': {
        const transaction = transactions.get(request.transactionId!)!;
        transactions.delete(request.transactionId!);
        transaction.end(request.commit === true);
        await transaction.done;
        break;
      }
      case 'close':
        await database.close();
        break;
      default:
        throw new Error(`unknown request ${request.op}`);
    }
    port.postMessage({ id: request.id, ok: true, value });
  } catch (error) {
    port.postMessage({ id: request.id, ok: false, error: errorOf(error) });
  }
});
