import { type Kysely, PostgresAdapter, SqliteAdapter, sql } from 'kysely';
import { TrainyardError } from '../core/errors.js';

/** The advisory lock key that serialises Trainyard migrations on one Postgres database. */
export const MIGRATION_LOCK_KEY = 0x7472_6169_6e79; // "trainy" in ASCII; fits in a bigint and a double

export interface MigrationLockOptions {
  /** Give up waiting for another process's migration after this long (default 15 min). */
  readonly waitMs?: number;
}

export interface LockedMigration {
  /**
   * True when the lock is an open transaction that `fn` runs in (SQLite): the migrator must
   * not begin its own (Kysely's `disableTransactions`). A throw from `fn` rolls it back.
   */
  readonly inTransaction: boolean;
}

export function isPostgres<DB>(db: Kysely<DB>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

function isSqlite<DB>(db: Kysely<DB>): boolean {
  return db.getExecutor().adapter instanceof SqliteAdapter;
}

/**
 * Runs `fn` (a migration) holding the database's migration lock, so that processes that
 * start together migrate one after another and the later ones find nothing left to do.
 *
 * - Postgres: a session advisory lock, taken and released on the connection `fn` gets.
 * - SQLite: a `BEGIN IMMEDIATE` transaction (the database's write lock) around all of
 *   `fn`, so no other connection can read the migration state between our read and our
 *   writes. Kysely's own SQLite migration lock is a no-op that trusts one connection.
 *
 * `fn` gets the Kysely to migrate with, bound to the locked connection.
 */
export async function withMigrationLock<DB, T>(
  db: Kysely<DB>,
  fn: (db: Kysely<DB>, lock: LockedMigration) => Promise<T>,
  opts: MigrationLockOptions = {},
): Promise<T> {
  const waitMs = opts.waitMs ?? 15 * 60_000;
  if (db.isTransaction) return fn(db, { inTransaction: false });
  if (isPostgres(db)) {
    return db.connection().execute(async (conn) => {
      await acquirePostgres(conn, waitMs);
      try {
        return await fn(conn, { inTransaction: false });
      } finally {
        await sql`select pg_advisory_unlock(${MIGRATION_LOCK_KEY}::bigint)`.execute(conn);
      }
    });
  }
  if (isSqlite(db)) {
    return db.connection().execute(async (conn) => {
      await acquireSqlite(conn, waitMs);
      let result: T;
      try {
        result = await fn(conn, { inTransaction: true });
      } catch (e) {
        await sql`rollback`.execute(conn).catch(() => undefined);
        throw e;
      }
      await sql`commit`.execute(conn);
      return result;
    });
  }
  return fn(db, { inTransaction: false });
}

async function acquirePostgres<DB>(conn: Kysely<DB>, waitMs: number): Promise<void> {
  await poll(waitMs, async () => {
    const r = await sql<{ locked: boolean }>`select pg_try_advisory_lock(${MIGRATION_LOCK_KEY}::bigint) as locked`.execute(conn);
    return r.rows[0]?.locked === true;
  }, async () => {
    const holder = await sql<{ pid: number }>`
      select pid from pg_locks
      where locktype = 'advisory' and granted
        and classid = ${Math.floor(MIGRATION_LOCK_KEY / 2 ** 32)}::bigint::oid
        and objid = ${MIGRATION_LOCK_KEY % 2 ** 32}::bigint::oid`.execute(conn);
    const pid = holder.rows[0]?.pid;
    return pid ? ` (Postgres backend pid ${pid})` : '';
  });
}

/**
 * Takes SQLite's write lock without blocking the event loop: better-sqlite3 waits for a busy
 * database synchronously, which would also stall the holder when it is in this process.
 */
async function acquireSqlite<DB>(conn: Kysely<DB>, waitMs: number): Promise<void> {
  const { rows } = await sql<{ timeout: number }>`pragma busy_timeout`.execute(conn);
  const busyTimeout = Number(rows[0]?.timeout ?? 0);
  await sql`pragma busy_timeout = 0`.execute(conn);
  try {
    await poll(waitMs, async () => {
      try {
        await sql`begin immediate`.execute(conn);
        return true;
      } catch (e) {
        if ((e as { code?: string }).code?.startsWith('SQLITE_BUSY')) return false;
        throw e;
      }
    }, async () => '');
  } finally {
    await sql.raw(`pragma busy_timeout = ${busyTimeout}`).execute(conn);
  }
}

async function poll(waitMs: number, attempt: () => Promise<boolean>, holder: () => Promise<string>): Promise<void> {
  const deadline = Date.now() + waitMs;
  let pause = 20;
  for (;;) {
    if (await attempt()) return;
    if (Date.now() >= deadline) {
      throw new TrainyardError(
        'DB_MIGRATION_LOCKED',
        `another process${await holder()} has held the migration lock for more than ${Math.round(waitMs / 1000)} s: wait for its migration to finish, or stop it if it is stuck`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, pause));
    pause = Math.min(pause * 2, 1000);
  }
}
