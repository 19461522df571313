// The SqlDatabase contract: one suite for PGlite and the PostgreSQL server adapter. The
// factory returns a fresh, empty database (or schema) each time; `cleanup` removes it.
// Besides the port's behaviour it checks what our code relies on: BIGINT values come back
// as decimal strings (node-postgres' convention), SQLSTATE codes on errors, array
// parameters with unnest, and the migration runner on the real migrations.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SqlDatabase } from '../../src/ports/sql.ts';
import { loadMigrations, migrate } from '../../src/adapters/sql/migrate.ts';
import { sqlBigInt, sqlInteger } from '../../src/adapters/sql/convert.ts';

export interface SqlUnderTest {
  db: SqlDatabase;
  cleanup: () => Promise<void>;
}

export type SqlFactory = () => Promise<SqlUnderTest>;

async function withDatabase(factory: SqlFactory, body: (db: SqlDatabase) => Promise<void>): Promise<void> {
  const subject = await factory();
  try {
    await body(subject.db);
  } finally {
    await subject.cleanup();
  }
}

function sqlState(error: unknown): string | undefined {
  return (error as { code?: string }).code;
}

export function runSqlContract(name: string, factory: SqlFactory): void {
  describe(`SqlDatabase contract: ${name}`, () => {
    test('queries take parameters; BIGINT comes back as an exact decimal string, INTEGER as a number', async () => {
      await withDatabase(factory, async (db) => {
        const result = await db.query<{ big: unknown; small: unknown; sum: unknown; label: string }>(
          'SELECT $1::bigint AS big, $2::integer AS small, ($1::bigint + $1::bigint)::numeric AS sum, $3::text AS label',
          [Number.MAX_SAFE_INTEGER, 42, 'hello'],
        );
        assert.equal(result.rowCount, 1);
        const row = result.rows[0]!;
        assert.equal(row.big, String(Number.MAX_SAFE_INTEGER));
        assert.equal(sqlInteger(row.big), Number.MAX_SAFE_INTEGER);
        assert.equal(row.small, 42);
        assert.equal(sqlBigInt(row.sum), 2n * BigInt(Number.MAX_SAFE_INTEGER));
        assert.throws(() => sqlInteger(row.sum), /safe integer/);
        assert.equal(row.label, 'hello');
      });
    });

    test('exec runs a script of several statements; rowCount counts affected rows', async () => {
      await withDatabase(factory, async (db) => {
        await db.exec(`CREATE TABLE items (id BIGINT PRIMARY KEY, label TEXT); INSERT INTO items VALUES (1, 'a'), (2, 'b');`);
        const update = await db.query(`UPDATE items SET label = 'c'`);
        assert.equal(update.rowCount, 2);
        const select = await db.query<{ id: unknown }>('SELECT id FROM items ORDER BY id');
        assert.deepEqual(select.rows.map((row) => sqlInteger(row.id)), [1, 2]);
      });
    });

    test('array parameters work with unnest (batched writes), including NULLs and quotes', async () => {
      await withDatabase(factory, async (db) => {
        await db.exec('CREATE TABLE items (id BIGINT PRIMARY KEY, label TEXT)');
        const inserted = await db.query('INSERT INTO items (id, label) SELECT * FROM unnest($1::bigint[], $2::text[])', [
          [1, 2, 3, 2 ** 40],
          ['plain', 'a,"quoted" {x}', null, 'ü'],
        ]);
        assert.equal(inserted.rowCount, 4);
        const rows = (await db.query<{ id: unknown; label: string | null }>('SELECT id, label FROM items ORDER BY id')).rows;
        assert.deepEqual(
          rows.map((row) => [sqlInteger(row.id), row.label]),
          [
            [1, 'plain'],
            [2, 'a,"quoted" {x}'],
            [3, null],
            [2 ** 40, 'ü'],
          ],
        );
      });
    });

    test('a transaction commits its work and returns its value', async () => {
      await withDatabase(factory, async (db) => {
        await db.exec('CREATE TABLE items (id BIGINT PRIMARY KEY)');
        const value = await db.transaction(async (tx) => {
          await tx.query('INSERT INTO items VALUES ($1)', [1]);
          await tx.query('INSERT INTO items VALUES ($1)', [2]);
          return (await tx.query<{ count: unknown }>('SELECT count(*) AS count FROM items')).rows[0]!.count;
        });
        assert.equal(sqlInteger(value), 2);
        assert.equal(sqlInteger((await db.query<{ count: unknown }>('SELECT count(*) AS count FROM items')).rows[0]!.count), 2);
      });
    });

    test('a transaction that throws rolls back everything and rethrows', async () => {
      await withDatabase(factory, async (db) => {
        await db.exec('CREATE TABLE items (id BIGINT PRIMARY KEY)');
        await assert.rejects(
          db.transaction(async (tx) => {
            await tx.query('INSERT INTO items VALUES (1)');
            throw new Error('application failure');
          }),
          /application failure/,
        );
        await assert.rejects(
          db.transaction(async (tx) => {
            await tx.query('INSERT INTO items VALUES (2)');
            await tx.query('INSERT INTO items VALUES (2)');
          }),
          (error: unknown) => sqlState(error) === '23505',
        );
        assert.equal(sqlInteger((await db.query<{ count: unknown }>('SELECT count(*) AS count FROM items')).rows[0]!.count), 0);
        // The database is usable afterwards.
        await db.query('INSERT INTO items VALUES (3)');
      });
    });

    test('constraint violations carry their SQLSTATE (unique 23505, check 23514)', async () => {
      await withDatabase(factory, async (db) => {
        await db.exec('CREATE TABLE items (id BIGINT PRIMARY KEY, amount BIGINT NOT NULL CHECK (amount >= 0))');
        await db.query('INSERT INTO items VALUES (1, 5)');
        await assert.rejects(db.query('INSERT INTO items VALUES (1, 5)'), (error: unknown) => sqlState(error) === '23505');
        await assert.rejects(db.query('INSERT INTO items VALUES (2, -1)'), (error: unknown) => sqlState(error) === '23514');
      });
    });

    test('migrate applies every migration once, in order, and records it', async () => {
      await withDatabase(factory, async (db) => {
        const files = (await loadMigrations()).map((migration) => migration.file);
        assert.ok(files.includes('001_ledger.sql'));
        assert.deepEqual((await migrate(db)).applied, files);
        assert.deepEqual((await migrate(db)).applied, []);
        const recorded = await db.query<{ version: unknown }>('SELECT version FROM schema_migrations ORDER BY version');
        assert.deepEqual(
          recorded.rows.map((row) => sqlInteger(row.version)),
          (await loadMigrations()).map((migration) => migration.version),
        );
        // The ledger schema refuses a negative balance.
        await assert.rejects(
          db.query('INSERT INTO balances (account_id, asset_id, available_atoms, held_atoms, event_sequence, updated_at_ms) VALUES (1, 1, -1, 0, 1, 0)'),
          (error: unknown) => sqlState(error) === '23514',
        );
      });
    });

    test('migrate picks up new files, and a failing migration leaves nothing behind', async () => {
      const directory = await mkdtemp(join(tmpdir(), 'bourse-migrations-'));
      try {
        await withDatabase(factory, async (db) => {
          await writeFile(join(directory, '001_first.sql'), 'CREATE TABLE first_table (id BIGINT PRIMARY KEY);');
          await writeFile(join(directory, '010_second.sql'), 'CREATE TABLE second_table (id BIGINT PRIMARY KEY);\nINSERT INTO second_table VALUES (1);');
          assert.deepEqual((await migrate(db, { directory })).applied, ['001_first.sql', '010_second.sql']);
          await writeFile(join(directory, '002_broken.sql'), 'CREATE TABLE broken_table (id BIGINT);\nINSERT INTO missing_table VALUES (1);');
          await assert.rejects(migrate(db, { directory }), /002_broken\.sql/);
          const broken = await db.query<{ present: boolean }>(`SELECT to_regclass('broken_table') IS NOT NULL AS present`);
          assert.equal(broken.rows[0]!.present, false, 'the failed migration was rolled back');
          const versions = await db.query<{ version: unknown }>('SELECT version FROM schema_migrations ORDER BY version');
          assert.deepEqual(versions.rows.map((row) => sqlInteger(row.version)), [1, 10]);
          await writeFile(join(directory, '002_broken.sql'), 'CREATE TABLE broken_table (id BIGINT);');
          assert.deepEqual((await migrate(db, { directory })).applied, ['002_broken.sql']);
          await db.query('INSERT INTO broken_table VALUES (1)');
        });
      } finally {
        await rm(directory, { recursive: true, force: true });
      }
    });

    test('two runners at once apply each migration exactly once', async () => {
      await withDatabase(factory, async (db) => {
        const [first, second] = await Promise.all([migrate(db), migrate(db)]);
        const files = (await loadMigrations()).map((migration) => migration.file);
        assert.deepEqual([...first.applied, ...second.applied].sort(), files);
      });
    });
  });
}
