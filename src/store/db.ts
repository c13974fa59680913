import fs from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, NO_MIGRATIONS, SqliteDialect } from 'kysely';
import { TrainyardError } from '../core/errors.js';
import { withMigrationLock } from './migrate-lock.js';
import { migrationProvider, MIGRATIONS } from './migrations/index.js';
import type { Database } from './schema.js';

export type DialectName = 'sqlite' | 'postgres';

export interface OpenedDatabase {
  readonly db: Kysely<Database>;
  readonly dialect: DialectName;
  /** Where the database is, with any password removed; for messages. */
  readonly description: string;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** A `postgres://` URL, or a SQLite file path (or `sqlite:` URL). */
  readonly url: string;
  readonly poolSize?: number;
}

/** Opens the metadata database. Postgres support lives in its own module, loaded on demand. */
export async function openDatabase(opts: DatabaseOptions): Promise<OpenedDatabase> {
  if (/^postgres(ql)?:\/\//.test(opts.url)) {
    const { openPostgres } = await import('./postgres.js');
    return openPostgres(opts.url, opts.poolSize ?? 10);
  }
  return openSqlite(opts.url.replace(/^sqlite:(\/\/)?/, ''));
}

export function openSqlite(file: string): OpenedDatabase {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const sqlite = new SqliteDatabase(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  return {
    db,
    dialect: 'sqlite',
    description: `sqlite:${file}`,
    close: () => db.destroy(),
  };
}

/**
 * better-sqlite3 with prepared statements reused by SQL text (an LRU of 256), so the
 * scheduler's and the API's repeated queries are not compiled again each time.
 */
function withStatementCache(sqlite: SqliteDatabase.Database) {
  const cache = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(sql: string) {
      let stmt = cache.get(sql);
      if (stmt) {
        cache.delete(sql);
      } else {
        stmt = sqlite.prepare(sql);
        if (cache.size >= 256) cache.delete(cache.keys().next().value!);
      }
      cache.set(sql, stmt);
      return stmt;
    },
  };
}

/**
 * Applies pending migrations. Refuses a database migrated by a newer Trainyard. Safe when
 * several processes start at once: they take turns under the migration lock (an advisory
 * lock on Postgres, the write lock on SQLite; see migrate-lock.ts).
 */
export async function migrateToLatest(db: Kysely<Database>): Promise<string[]> {
  const known = Object.keys(MIGRATIONS).sort();
  // Already up to date (the usual start): a plain read, no lock to wait for.
  const before = await db
    .selectFrom('kysely_migration' as never)
    .select('name' as never)
    .execute()
    .then((rows) => (rows as { name: string }[]).map((r) => r.name).sort(), () => []);
  if (before.length === known.length && before.every((n, i) => n === known[i])) return known;

  return withMigrationLock(db, async (db, lock) => {
    const migrator = new Migrator({ db, provider: migrationProvider, disableTransactions: lock.inTransaction });
    const applied = await migrator.getMigrations();
    const executed = applied.filter((m) => m.executedAt).map((m) => m.name);
    // Kysely lists only migrations it knows; unknown executed ones are in its own table.
    const tableRows = await db
      .selectFrom('kysely_migration' as never)
      .select('name' as never)
      .execute()
      .catch(() => [] as { name: string }[]);
    const unknown = (tableRows as { name: string }[]).map((r) => r.name).filter((n) => !known.includes(n));
    if (unknown.length > 0) {
      throw new TrainyardError(
        'DB_NEWER_THAN_CODE',
        `the database was migrated by a newer Trainyard (it has migration ${unknown.join(', ')}, which this version does not know). Upgrade Trainyard, or point it at another database`,
      );
    }
    const { error, results } = await migrator.migrateToLatest();
    if (error) {
      throw new TrainyardError('DB_MIGRATION_FAILED', `database migration failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    return [...executed, ...(results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName)];
  });
}

/** Undoes every migration, then applies them again: an empty database. */
export async function resetDatabase(db: Kysely<Database>): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error } = await migrator.migrateTo(NO_MIGRATIONS);
  if (error) throw new TrainyardError('DB_RESET_FAILED', `could not reset the database: ${error instanceof Error ? error.message : String(error)}`);
  await migrateToLatest(db);
}
