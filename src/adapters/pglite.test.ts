import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PgliteDatabase } from './pglite.ts';
import { migrate } from './sql/migrate.ts';
import { sqlInteger } from './sql/convert.ts';

test('a PGlite data directory keeps tables, rows and applied migrations across a reopen', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'bourse-pglite-'));
  try {
    const first = await PgliteDatabase.open({ dataDirectory: directory });
    const applied = (await migrate(first)).applied;
    assert.ok(applied.includes('001_ledger.sql'));
    await first.query(
      'INSERT INTO balances (account_id, asset_id, available_atoms, held_atoms, event_sequence, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6)',
      [1, 2, Number.MAX_SAFE_INTEGER, 0, 1, 0],
    );
    await first.close();

    const second = await PgliteDatabase.open({ dataDirectory: directory });
    assert.deepEqual((await migrate(second)).applied, []);
    const row = (await second.query<{ available_atoms: unknown }>('SELECT available_atoms FROM balances WHERE account_id = 1')).rows[0];
    assert.equal(sqlInteger(row?.available_atoms), Number.MAX_SAFE_INTEGER);
    await second.close();
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
});
