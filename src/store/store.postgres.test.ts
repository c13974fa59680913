import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TrainyardError } from '../core/errors.js';
import { migrateToLatest, openDatabase } from './db.js';
import { MIGRATION_LOCK_KEY, withMigrationLock } from './migrate-lock.js';
import { MIGRATIONS } from './migrations/index.js';
import { openPostgres } from './postgres.js';
import { claimsConformance } from './claims.conformance.js';
import { guardedUpdateConformance } from './guarded-update.conformance.js';
import { type OpenedStore, storeConformance } from './store.conformance.js';
import { Store } from './store.js';
import { closedPort } from '../../test/support/ports.js';

// The helper lives in test/support, outside the build's rootDir (src), so it is loaded by a
// path the compiler does not follow; this is the part of its API used here.
interface TestDatabase {
  readonly url: string;
  readonly name: string;
  drop(): Promise<void>;
}
interface PostgresSupport {
  freshPostgresDatabase(opts?: { migrated?: boolean }): Promise<TestDatabase>;
  postgresServerUrl(): Promise<string>;
  withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T>;
  withDatabaseName(url: string, name: string): string;
}
const supportPath = '../../test/support/postgres.js';
const { freshPostgresDatabase, postgresServerUrl, withAdmin, withDatabaseName } = (await import(supportPath)) as PostgresSupport;

const openFreshStore = async (): Promise<OpenedStore> => {
  const database = await freshPostgresDatabase();
  const opened = await openPostgres(database.url, 4);
  return {
    store: new Store(opened.db, 'postgres'),
    close: async () => {
      await opened.close();
      await database.drop();
    },
  };
};
storeConformance('postgres', openFreshStore);
claimsConformance('postgres', openFreshStore);
guardedUpdateConformance('postgres', openFreshStore);


async function rejection(p: Promise<unknown>): Promise<TrainyardError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(TrainyardError);
  return e as TrainyardError;
}

function withPassword(url: string, password: string): string {
  const u = new URL(url);
  u.password = password;
  return u.toString();
}

describe('Postgres migrations', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await freshPostgresDatabase({ migrated: false });
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('four processes migrating one fresh database at once all succeed, and the schema is made once', async () => {
    const opened = await Promise.all(Array.from({ length: 4 }, () => openPostgres(database.url, 2)));
    try {
      const results = await Promise.allSettled(opened.map((o) => migrateToLatest(o.db)));
      expect(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'))).toEqual(['ok', 'ok', 'ok', 'ok']);
      for (const r of results) expect((r as PromiseFulfilledResult<string[]>).value).toEqual(Object.keys(MIGRATIONS));
      const db = opened[0].db;
      const applied = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db);
      expect(applied.rows.map((r) => r.name)).toEqual(Object.keys(MIGRATIONS));
      const pools = await sql<{ name: string }>`select name from pool`.execute(db);
      expect(pools.rows).toEqual([{ name: 'default_pool' }]);
      // 0001 as written gives Postgres the intended types: epoch ms in int8, floats in float8.
      const types = await sql<{ column_name: string; data_type: string }>`
        select column_name, data_type from information_schema.columns
        where table_name in ('dag_run', 'metric') and column_name in ('queued_at', 'change_seq', 'value', 'step')
        order by column_name`.execute(db);
      expect(types.rows).toEqual([
        { column_name: 'change_seq', data_type: 'integer' },
        { column_name: 'queued_at', data_type: 'bigint' },
        { column_name: 'step', data_type: 'bigint' },
        { column_name: 'value', data_type: 'double precision' },
      ]);
    } finally {
      await Promise.all(opened.map((o) => o.close()));
    }
  });

  it('waits for another holder of the migration lock, and names it when it waits too long', async () => {
    const fresh = await freshPostgresDatabase({ migrated: false });
    const opened = await openPostgres(fresh.url, 2);
    const holder = await openPostgres(fresh.url, 1);
    try {
      await holder.db.connection().execute(async (conn) => {
        await sql`select pg_advisory_lock(${MIGRATION_LOCK_KEY}::bigint)`.execute(conn);
        const backend = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(conn);
        const timedOut = await rejection(withMigrationLock(opened.db, async () => 'never', { waitMs: 150 }));
        expect(timedOut.code).toBe('DB_MIGRATION_LOCKED');
        expect(timedOut.message).toContain(`pid ${backend.rows[0].pid}`);

        let done = false;
        const migrating = migrateToLatest(opened.db).then((names) => {
          done = true;
          return names;
        });
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(done).toBe(false);
        const tables = await sql<{ n: number }>`select count(*)::int as n from information_schema.tables where table_name = 'dag'`.execute(conn);
        expect(tables.rows[0].n).toBe(0);
        await sql`select pg_advisory_unlock(${MIGRATION_LOCK_KEY}::bigint)`.execute(conn);
        expect(await migrating).toEqual(Object.keys(MIGRATIONS));
      });
    } finally {
      await holder.close();
      await opened.close();
      await fresh.drop();
    }
  });
});

describe('Postgres connection faults', () => {
  const secret = 's3cret-Pa55word';

  it('an unreachable port fails at open with host:port named and no password', async () => {
    const port = await closedPort();
    const e = await rejection(openDatabase({ url: `postgres://trainyard:${secret}@127.0.0.1:${port}/trainyard_test` }));
    expect(e.code).toBe('DB_UNREACHABLE');
    expect(e.message).toBe(`cannot reach Postgres at 127.0.0.1:${port} (ECONNREFUSED): check TRAINYARD_DATABASE_URL and that the server is running`);
    expect(e.message).not.toContain(secret);
  });

  it('a wrong password fails with DB_AUTH_FAILED naming the user, not the password', async () => {
    const url = withPassword(await postgresServerUrl(), secret);
    const e = await rejection(openDatabase({ url }));
    expect(e.code).toBe('DB_AUTH_FAILED');
    expect(e.message).toContain("user 'trainyard'");
    expect(e.message).toContain(`127.0.0.1:${new URL(url).port}`);
    expect(e.message).not.toContain(secret);
    expect(e.stack ?? '').not.toContain(secret);
  });

  it('a missing password fails with DB_AUTH_FAILED and says to add one', async () => {
    const e = await rejection(openDatabase({ url: withPassword(await postgresServerUrl(), '') }));
    expect(e.code).toBe('DB_AUTH_FAILED');
    expect(e.message).toMatch(/none was given/);
  });

  it('an unknown database fails with DB_NOT_FOUND naming it, not the password', async () => {
    const base = await postgresServerUrl();
    const e = await rejection(openDatabase({ url: withDatabaseName(base, 'no_such_db') }));
    expect(e.code).toBe('DB_NOT_FOUND');
    expect(e.message).toContain("no database 'no_such_db'");
    expect(e.message).not.toContain(new URL(base).password);
  });

  it('a pool size that is not a positive integer is refused', async () => {
    const e = await rejection(openDatabase({ url: await postgresServerUrl(), poolSize: 0 }));
    expect(e.code).toBe('DB_CONFIG_INVALID');
    expect(e.message).toContain('TRAINYARD_DATABASE_POOL_SIZE');
  });

  it('the pool holds at most poolSize connections', async () => {
    const database = await freshPostgresDatabase();
    const opened = await openPostgres(database.url, 3);
    try {
      let finished = 0;
      const sleepers = Array.from({ length: 6 }, () => sql`select pg_sleep(0.3)`.execute(opened.db).then(() => finished++));
      let most = 0;
      await withAdmin(async (c) => {
        while (finished < 6) {
          const r = await c.query<{ n: number }>('select count(*)::int as n from pg_stat_activity where datname = $1', [database.name]);
          most = Math.max(most, r.rows[0].n);
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
      });
      await Promise.all(sleepers);
      expect(most).toBe(3);
    } finally {
      await opened.close();
      await database.drop();
    }
  });

  it('connections killed by the server are replaced: no crash, and the next queries succeed', async () => {
    const database = await freshPostgresDatabase();
    const idleErrors: Error[] = [];
    const opened = await openPostgres(database.url, 4, { onIdleError: (e) => idleErrors.push(e) });
    const store = new Store(opened.db, 'postgres');
    try {
      await Promise.all(Array.from({ length: 4 }, () => store.listPools())); // 4 idle connections
      const killed = await withAdmin((c) =>
        c.query('select pg_terminate_backend(pid, 5000) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [database.name]),
      );
      expect(killed.rowCount).toBeGreaterThanOrEqual(1);
      for (let i = 0; i < 50 && idleErrors.length < killed.rowCount!; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(idleErrors.length).toBe(killed.rowCount);
      await store.upsertPool('after', 1, null);
      expect((await store.listPools()).map((p) => p.name)).toEqual(['after', 'default_pool']);
    } finally {
      await opened.close();
      await database.drop();
    }
  });
});

describe('Postgres restarted under a running pool (scripts/postgres up.sh, down.sh)', () => {
  const scripts = fileURLToPath(new URL('../../scripts/postgres/', import.meta.url));
  let stateDir: string;
  let port: number;
  const run = (script: string, arg = '', env: Record<string, string> = {}) =>
    new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
      const args = [path.join(scripts, script), stateDir, ...(arg ? [arg] : [])];
      execFile('bash', args, { env: { ...process.env, TRAINYARD_PG_PORT: String(port), ...env }, timeout: 120_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${script} failed: ${err.message}\n${stderr}`)) : resolve({ stdout, stderr }),
      );
    });

  beforeAll(async () => {
    // A server of its own, so that stopping it disturbs no other test file.
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-pg-restart-'));
    fs.chmodSync(stateDir, 0o755);
    port = await closedPort();
  });
  afterAll(async () => {
    if (stateDir) await run('down.sh', '--purge').catch(() => fs.rmSync(stateDir, { recursive: true, force: true }));
  });

  it('up.sh fails with a clear message when the port is taken or the binaries are missing', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', resolve));
    try {
      await expect(run('up.sh')).rejects.toThrow(`port ${port} on 127.0.0.1 is taken by another program; set TRAINYARD_PG_PORT to a free port`);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
    const noBin = path.join(stateDir, 'no-such-bin');
    await expect(run('up.sh', '', { TRAINYARD_PG_BIN: noBin })).rejects.toThrow(`TRAINYARD_PG_BIN=${noBin} has no pg_ctl`);
    expect(fs.existsSync(path.join(stateDir, 'data'))).toBe(false);
  });

  it('up.sh is idempotent; after down.sh and up.sh the same pool works again', async () => {
    const first = await run('up.sh');
    const url = first.stdout.trim();
    expect(url).toBe(`postgres://trainyard:trainyard@127.0.0.1:${port}/trainyard_test`);
    expect(fs.readFileSync(path.join(stateDir, 'url'), 'utf8').trim()).toBe(url);
    const again = await run('up.sh');
    expect(again.stdout.trim()).toBe(url);
    expect(again.stderr).not.toMatch(/starting|initialising/);

    const idleErrors: Error[] = [];
    const opened = await openPostgres(url, 2, { onIdleError: (e) => idleErrors.push(e) });
    try {
      await migrateToLatest(opened.db);
      const store = new Store(opened.db, 'postgres');
      await store.upsertPool('before', 1, null);

      await run('down.sh');
      await expect(store.listPools()).rejects.toThrow();
      await run('up.sh');

      await store.upsertPool('after', 2, null);
      expect((await store.listPools()).map((p) => p.name)).toEqual(['after', 'before', 'default_pool']);
    } finally {
      await opened.close();
    }
  });
});
