// The migration runner: applies src/adapters/sql/migrations/NNN_name.sql in version order,
// each in its own transaction together with its row in `schema_migrations`, so a
// migration is applied entirely or not at all. Any file matching the pattern is picked
// up (other roles add 002_accounts.sql, 003_notifications.sql...). Several processes may
// start at once: a transaction-scoped advisory lock makes them apply each file once.
//
// Rules for migration files: plain PostgreSQL 15 (it also runs on PGlite), no BEGIN/COMMIT
// (the runner adds them), never edited after release (add a new file instead).

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashText } from '../../lib/hash.ts';
import type { SqlDatabase } from '../../ports/sql.ts';
import { createLogger, type Logger } from '../logger.ts';
import { sqlInteger } from './convert.ts';

export const migrationsDirectory = fileURLToPath(new URL('./migrations/', import.meta.url));

const migrationFilePattern = /^(\d{3,})_([a-z0-9_]+)\.sql$/;
/** Any fixed number works; all runners must agree on it. */
const migrationLockKey = 7_262_000_001;

export interface Migration {
  version: number;
  name: string;
  file: string;
  script: string;
  checksum: string;
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

export async function loadMigrations(directory: string = migrationsDirectory): Promise<Migration[]> {
  const migrations: Migration[] = [];
  for (const file of await readdir(directory)) {
    if (!file.endsWith('.sql')) continue;
    const match = migrationFilePattern.exec(file);
    if (!match) throw new MigrationError(`${join(directory, file)}: migration files are named NNN_lower_snake.sql`);
    const script = await readFile(join(directory, file), 'utf8');
    migrations.push({ version: Number(match[1]), name: match[2]!, file, script, checksum: hashText(script) });
  }
  migrations.sort((left, right) => left.version - right.version);
  for (let index = 1; index < migrations.length; index++) {
    if (migrations[index]!.version === migrations[index - 1]!.version) {
      throw new MigrationError(`two migrations share version ${migrations[index]!.version}: ${migrations[index - 1]!.file} and ${migrations[index]!.file}`);
    }
  }
  return migrations;
}

export interface MigrateOptions {
  directory?: string;
  logger?: Logger;
}

export interface MigrateResult {
  /** Files applied by this call, in order. */
  applied: string[];
}

export async function migrate(db: SqlDatabase, options: MigrateOptions = {}): Promise<MigrateResult> {
  const logger = options.logger ?? createLogger('migrate');
  const migrations = await loadMigrations(options.directory);
  await db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at_ms BIGINT NOT NULL
  )`).catch(async (error: unknown) => {
    // Two processes creating the table at once: one wins, the other sees a duplicate.
    const rows = await db.query(`SELECT to_regclass('schema_migrations') IS NOT NULL AS present`);
    if (!rows.rows[0]?.present) throw error;
  });
  const applied: string[] = [];
  for (const migration of migrations) {
    const existing = await appliedVersion(db, migration.version);
    if (existing) {
      if (existing.checksum !== migration.checksum) {
        logger.warn({ file: migration.file }, 'migration file changed after it was applied; add a new migration instead of editing one');
      }
      continue;
    }
    // One script, one transaction: the lock serialises concurrent runners, the INSERT
    // fails (unique version) for the loser, which then sees the migration as applied.
    const script = [
      'BEGIN;',
      `SELECT pg_advisory_xact_lock(${migrationLockKey});`,
      `INSERT INTO schema_migrations (version, name, checksum, applied_at_ms) VALUES (${migration.version}, '${migration.name}', '${migration.checksum}', ${Date.now()});`,
      migration.script,
      ';',
      'COMMIT;',
    ].join('\n');
    try {
      await db.exec(script);
    } catch (error) {
      await db.exec('ROLLBACK').catch(() => undefined);
      if (await appliedVersion(db, migration.version)) continue;
      throw new MigrationError(`migration ${migration.file} failed and was rolled back: ${(error as Error).message}`, { cause: error });
    }
    logger.info({ file: migration.file }, 'migration applied');
    applied.push(migration.file);
  }
  return { applied };
}

async function appliedVersion(db: SqlDatabase, version: number): Promise<{ checksum: string } | null> {
  const result = await db.query<{ version: unknown; checksum: string }>('SELECT version, checksum FROM schema_migrations WHERE version = $1', [version]);
  const row = result.rows[0];
  return row && sqlInteger(row.version) === version ? { checksum: row.checksum } : null;
}
