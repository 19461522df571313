// runStatementsInTransaction on both PGlite adapters: through transaction() (in-process
// PGlite) and in one message (PGlite on its own thread). Both must commit all or nothing,
// return each statement's result, and roll back when a row count guard fails.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SqlDatabase } from '../../ports/sql.ts';
import { PgliteDatabase } from '../pglite.ts';
import { WorkerPgliteDatabase } from '../pglite-worker.ts';
import { sqlInteger } from './convert.ts';
import { runStatementsInTransaction } from './statements.ts';

const adapters: [string, () => Promise<SqlDatabase>][] = [
  ['PGlite in process (through transaction())', () => PgliteDatabase.open()],
  ['PGlite on its own thread (one message)', () => WorkerPgliteDatabase.open()],
];

async function values(db: SqlDatabase): Promise<number[]> {
  const rows = (await db.query<{ value: unknown }>('SELECT value FROM items ORDER BY id')).rows;
  return rows.map((row) => sqlInteger(row.value));
}

for (const [name, open] of adapters) {
  describe(`runStatementsInTransaction: ${name}`, () => {
    test('runs the statements in order in one transaction and returns each result', async () => {
      const db = await open();
      try {
        await db.exec('CREATE TABLE items (id BIGINT PRIMARY KEY, value BIGINT NOT NULL)');
        const outcome = await runStatementsInTransaction(db, [
          { text: 'INSERT INTO items (id, value) SELECT * FROM unnest($1::bigint[], $2::bigint[])', params: ['{1,2}', '{10,20}'] },
          { text: 'UPDATE items SET value = value + 1 WHERE id = $1', params: [2], rowCountExpected: 1 },
          { text: 'SELECT sum(value) AS total FROM items' },
        ]);
        assert.equal(outcome.committed, true);
        if (!outcome.committed) return;
        assert.deepEqual(outcome.results.map((result) => result.rowCount), [2, 1, 1]);
        assert.equal(sqlInteger(outcome.results[2]!.rows[0]!.total), 31);
        assert.deepEqual(await values(db), [10, 21]);
      } finally {
        await db.close();
      }
    });

    test('a failed row count guard rolls everything back and says which statement failed', async () => {
      const db = await open();
      try {
        await db.exec('CREATE TABLE items (id BIGINT PRIMARY KEY, value BIGINT NOT NULL); INSERT INTO items VALUES (1, 5)');
        const outcome = await runStatementsInTransaction(db, [
          { text: 'UPDATE items SET value = 6 WHERE id = 1' },
          { text: 'UPDATE items SET value = 7 WHERE id = 1 AND value = $1', params: [5], rowCountExpected: 1 },
          { text: 'INSERT INTO items VALUES (2, 8)' },
        ]);
        assert.deepEqual(outcome, { committed: false, statementIndex: 1, rowCount: 0 });
        assert.deepEqual(await values(db), [5]);
        // The database is usable afterwards (the transaction ended).
        await db.query('INSERT INTO items VALUES (3, 9)');
        assert.deepEqual(await values(db), [5, 9]);
      } finally {
        await db.close();
      }
    });

    test('an SQL error rolls everything back and rejects with the SQLSTATE', async () => {
      const db = await open();
      try {
        await db.exec('CREATE TABLE items (id BIGINT PRIMARY KEY, value BIGINT NOT NULL)');
        await assert.rejects(
          runStatementsInTransaction(db, [{ text: 'INSERT INTO items VALUES (1, 1)' }, { text: 'INSERT INTO items VALUES (1, 2)' }]),
          (error: unknown) => (error as { code?: string }).code === '23505',
        );
        assert.deepEqual(await values(db), []);
      } finally {
        await db.close();
      }
    });
  });
}
