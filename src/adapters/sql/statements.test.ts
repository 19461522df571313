// runStatementsInTransaction on every way a statement list can run: bound statement by
// statement through transaction(), and as literal scripts by PGlite in process and on its
// own thread (one message). All must commit all or nothing, return each statement's result,
// roll back when a row count guard fails, honour conditions, and store exactly the values
// that binding stores, whatever the text holds.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SqlDatabase } from '../../ports/sql.ts';
import { PgliteDatabase } from '../pglite.ts';
import { WorkerPgliteDatabase } from '../pglite-worker.ts';
import { sqlInteger, sqlTextArray } from './convert.ts';
import { runStatementsInTransaction, runStatementsThroughTransaction, statementWithLiterals, type SqlStatement } from './statements.ts';

/** PGlite in process, but without its statement runner: every statement bound, one by one. */
async function openBoundOnly(): Promise<SqlDatabase> {
  const db = await PgliteDatabase.open();
  return { query: (text, params) => db.query(text, params), transaction: (work) => db.transaction(work), exec: (script) => db.exec(script), close: () => db.close() };
}

const adapters: [string, () => Promise<SqlDatabase>][] = [
  ['statement by statement (through transaction())', openBoundOnly],
  ['PGlite in process (literal scripts)', () => PgliteDatabase.open()],
  ['PGlite on its own thread (one message)', () => WorkerPgliteDatabase.open()],
];

/** Text that a careless literal would break: quotes, backslashes, placeholders, newlines, non-ASCII. */
const awkwardTexts = [
  "it's",
  "''",
  'back\\slash \\n not a newline',
  "E'\\''",
  '$1 $2 $$ $tag$ -- not a comment /* nor this */',
  'line one\nline two\r\ttab',
  '{"a":"b\\"c","d":[1,2]}',
  'Grüße, 世界, 🚀',
  '',
];

/** Opens a database, runs `work` on it and closes it whatever happens. */
async function withDatabase(open: () => Promise<SqlDatabase>, work: (db: SqlDatabase) => Promise<void>): Promise<void> {
  const db = await open();
  try {
    await work(db);
  } finally {
    await db.close();
  }
}

async function values(db: SqlDatabase): Promise<number[]> {
  const rows = (await db.query<{ value: unknown }>('SELECT value FROM items ORDER BY id')).rows;
  return rows.map((row) => sqlInteger(row.value));
}

for (const [name, open] of adapters) {
  describe(`runStatementsInTransaction: ${name}`, () => {
    test('runs the statements in order in one transaction and returns each result', async () => {
      await withDatabase(open, async (db) => {
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
      });
    });

    test('a failed row count guard rolls everything back and says which statement failed', async () => {
      await withDatabase(open, async (db) => {
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
      });
    });

    test('an SQL error rolls everything back and rejects with the SQLSTATE', async () => {
      await withDatabase(open, async (db) => {
        await db.exec('CREATE TABLE items (id BIGINT PRIMARY KEY, value BIGINT NOT NULL)');
        await assert.rejects(
          runStatementsInTransaction(db, [{ text: 'INSERT INTO items VALUES (1, 1)' }, { text: 'INSERT INTO items VALUES (1, 2)' }]),
          (error: unknown) => (error as { code?: string }).code === '23505',
        );
        assert.deepEqual(await values(db), []);
      });
    });
  });
}

describe('statementWithLiterals', () => {
  test('writes parameters as escape-string literals outside quotes and leaves quoted text alone', () => {
    assert.equal(
      statementWithLiterals({ text: "SELECT $1::bigint, E'\\n$2', '$2''', \"$2\", $2", params: [5, "a'b\\c"] }),
      "SELECT E'5'::bigint, E'\\n$2', '$2''', \"$2\", E'a''b\\\\c'",
    );
    assert.equal(statementWithLiterals({ text: 'SELECT $1, $1', params: [null] }), 'SELECT NULL, NULL');
  });

  test('declines what it cannot write with certainty', () => {
    const declined: SqlStatement[] = [
      { text: 'SELECT $2', params: [1] },
      { text: 'SELECT $1 -- comment', params: [1] },
      { text: 'SELECT $1 /* comment */', params: [1] },
      { text: 'SELECT $$text$$, $1', params: [1] },
      { text: "SELECT 'unterminated, $1", params: [1] },
      { text: 'SELECT a$1 FROM t', params: [1] },
      { text: 'SELECT $1', params: [[1, 2]] },
      { text: 'SELECT $1', params: [{ a: 1 }] },
      { text: 'SELECT $1', params: [Number.NaN] },
      { text: 'SELECT $1', params: ['nul\u0000byte'] },
    ];
    for (const statement of declined) assert.equal(statementWithLiterals(statement), null, statement.text);
  });
});

describe('literal scripts store what binding stores', () => {
  test('awkward text, arrays, nulls and large integers come back identical on every adapter', async () => {
    const stored: unknown[][] = [];
    for (const [, open] of adapters) {
      await withDatabase(open, async (db) => {
        await db.exec('CREATE TABLE items (id BIGINT PRIMARY KEY, label TEXT, labels TEXT[], amount BIGINT, flag BOOLEAN)');
        const statements: SqlStatement[] = awkwardTexts.map((text, index) => ({
          text: 'INSERT INTO items (id, label, labels, amount, flag) VALUES ($1, $2, $3::text[], $4, $5)',
          params: [index, text, sqlTextArray([text, null, 'x']), index % 2 === 0 ? Number.MAX_SAFE_INTEGER - index : null, index % 3 === 0],
        }));
        const outcome = await runStatementsInTransaction(db, statements);
        assert.equal(outcome.committed, true);
        stored.push((await db.query('SELECT id, label, labels, amount, flag FROM items ORDER BY id')).rows);
      });
    }
    assert.equal((stored[0]![1] as { label: string }).label, "''");
    assert.deepEqual(stored[1], stored[0]);
    assert.deepEqual(stored[2], stored[0]);
    assert.deepEqual((stored[0] as { label: string }[]).map((row) => row.label), awkwardTexts);
  });
});

for (const [name, open] of adapters) {
  test(`conditions skip statements by what an earlier one returned: ${name}`, async () => {
    await withDatabase(open, async (db) => {
      await db.exec("CREATE TABLE items (id BIGINT PRIMARY KEY, value BIGINT NOT NULL); INSERT INTO items VALUES (1, 5)");
      const outcome = await runStatementsInTransaction(db, [
        { text: 'SELECT id FROM items WHERE id = $1', params: [1] },
        { text: 'SELECT id FROM items WHERE id = $1', params: [2] },
        { text: 'INSERT INTO items VALUES (2, 6)', runIf: { statementIndex: 0, returnedRows: true } },
        { text: 'INSERT INTO items VALUES (3, 7)', runIf: { statementIndex: 0, returnedRows: false } },
        { text: 'INSERT INTO items VALUES (4, 8)', runIf: { statementIndex: 1, returnedRows: false } },
        { text: 'INSERT INTO items VALUES (5, 9)', runIf: { statementIndex: 3, returnedRows: true } },
        { text: 'UPDATE items SET value = value + 1 WHERE id = $1', params: [4], rowCountExpected: 1 },
      ]);
      assert.equal(outcome.committed, true);
      if (!outcome.committed) return;
      assert.deepEqual(outcome.results.map((result) => result.rowCount), [1, 0, 1, 0, 1, 0, 1]);
      assert.deepEqual(await values(db), [5, 6, 9]);
    });
  });
}

test('the bound path is what a list takes when a parameter has no literal form', async () => {
  await withDatabase(() => PgliteDatabase.open(), async (db) => {
    await db.exec('CREATE TABLE items (id BIGINT PRIMARY KEY, value BIGINT NOT NULL)');
    const statements: SqlStatement[] = [{ text: 'INSERT INTO items (id, value) SELECT * FROM unnest($1::bigint[], $2::bigint[])', params: [[1, 2], [10, 20]] }];
    const outcome = await runStatementsInTransaction(db, statements);
    assert.equal(outcome.committed, true);
    assert.deepEqual(await values(db), [10, 20]);
    assert.equal((await runStatementsThroughTransaction(db, [{ text: 'SELECT 1 AS one' }])).committed, true);
  });
});
