/**
 * A real Postgres for tests: starts the local test server with scripts/postgres/up.sh (once
 * per test process; a running one is reused) and hands out fresh databases cloned from a
 * migrated template, which takes milliseconds instead of a migration per test.
 *
 * No Postgres, no silent skip: if the server cannot be started the helper throws, and the
 * message says what to install.
 */
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { migrateToLatest } from '../../src/store/db.js';
import { MIGRATIONS } from '../../src/store/migrations/index.js';
import { openPostgres } from '../../src/store/postgres.js';

const UP_SCRIPT = fileURLToPath(new URL('../../scripts/postgres/up.sh', import.meta.url));
/** Serialises template creation across test processes; not the migration lock's key. */
const TEMPLATE_LOCK_KEY = 0x7479_7470_6c31;
const TEST_DB_PREFIX = 'ty_t_';

export interface TestDatabase {
  /** URL of the new database, password included. */
  readonly url: string;
  readonly name: string;
  /** Drops the database. Fails the test if connections to it are still open (a leaked pool). */
  drop(): Promise<void>;
}

let serverUrl: Promise<string> | undefined;
let templateName: Promise<string> | undefined;
let counter = 0;

/** The URL of the server's `trainyard_test` database; starts the server on first use. */
export function postgresServerUrl(): Promise<string> {
  serverUrl ??= startServer().then(async (url) => {
    await dropOrphans(url);
    return url;
  });
  return serverUrl;
}

/** `url` pointing at another database of the same server. */
export function withDatabaseName(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Runs `fn` with a connection to the server's `postgres` database. */
export async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: withDatabaseName(await postgresServerUrl(), 'postgres'), application_name: 'trainyard-test-admin' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * A new database for one test or suite. Migrated (a clone of the template) by default;
 * `{ migrated: false }` gives an empty one, for migration tests.
 */
export async function freshPostgresDatabase(opts: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const base = await postgresServerUrl();
  const template = opts.migrated === false ? 'template0' : await migratedTemplate();
  const name = `${TEST_DB_PREFIX}${process.pid}_${++counter}_${crypto.randomBytes(3).toString('hex')}`;
  await withAdmin((c) => c.query(`create database "${name}" template "${template}"`));
  return { url: withDatabaseName(base, name), name, drop: () => dropDatabase(name) };
}

async function dropDatabase(name: string): Promise<void> {
  await withAdmin(async (c) => {
    let open = 0;
    // A closed pool's backends exit a moment after the client hangs up.
    for (let i = 0; i < 40; i++) {
      const r = await c.query<{ n: number }>('select count(*)::int as n from pg_stat_activity where datname = $1', [name]);
      open = r.rows[0]?.n ?? 0;
      if (open === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await c.query(`drop database if exists "${name}" with (force)`);
    if (open > 0) throw new Error(`database ${name} still had ${open} open connection(s) when the test ended: a pool or client was not closed`);
  });
}

function startServer(): Promise<string> {
  const args = [UP_SCRIPT];
  if (process.env.TRAINYARD_PG_STATE_DIR) args.push(process.env.TRAINYARD_PG_STATE_DIR);
  return new Promise((resolve, reject) => {
    execFile('bash', args, { timeout: 300_000, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      const url = stdout.trim().split('\n').pop() ?? '';
      if (err || !url.startsWith('postgres://')) {
        reject(
          new Error(
            `could not start the Postgres test server with scripts/postgres/up.sh (${err ? err.message.split('\n')[0] : 'it printed no URL'}).\n` +
              `Its output:\n${stderr.trim().split('\n').slice(-15).join('\n')}\n` +
              'Store tests need a real Postgres: install the server (Debian/Ubuntu: apt-get install postgresql), or set TRAINYARD_PG_BIN to the directory that holds pg_ctl.',
          ),
        );
        return;
      }
      resolve(url);
    });
  });
}

/** Test databases left behind by test processes that died. */
async function dropOrphans(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: withDatabaseName(url, 'postgres') });
  await client.connect();
  try {
    const r = await client.query<{ datname: string }>('select datname from pg_database where datname like $1', [`${TEST_DB_PREFIX}%`]);
    for (const { datname } of r.rows) {
      const pid = Number(datname.slice(TEST_DB_PREFIX.length).split('_')[0]);
      if (pid && !processAlive(pid)) await client.query(`drop database if exists "${datname}" with (force)`);
    }
  } finally {
    await client.end();
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The template: named by a hash of the migrations, so changing them makes a new one. */
function migratedTemplate(): Promise<string> {
  templateName ??= createTemplate();
  return templateName;
}

async function createTemplate(): Promise<string> {
  const hash = crypto.createHash('sha256');
  for (const [name, m] of Object.entries(MIGRATIONS)) hash.update(`${name}\n${m.up.toString()}\n${m.down?.toString() ?? ''}\n`);
  const name = `trainyard_tpl_${hash.digest('hex').slice(0, 12)}`;
  const base = await postgresServerUrl();
  await withAdmin(async (c) => {
    await c.query('select pg_advisory_lock($1)', [TEMPLATE_LOCK_KEY]);
    try {
      const r = await c.query<{ datistemplate: boolean }>('select datistemplate from pg_database where datname = $1', [name]);
      if (r.rows[0]?.datistemplate) return;
      // Absent, or half-made by a process that died: (re)build it.
      await c.query(`drop database if exists "${name}" with (force)`);
      await c.query(`create database "${name}" template template0`);
      const opened = await openPostgres(withDatabaseName(base, name), 2);
      try {
        await migrateToLatest(opened.db);
      } finally {
        await opened.close();
      }
      // No connections from now on: CREATE DATABASE … TEMPLATE needs the template idle.
      await c.query(`alter database "${name}" with is_template true allow_connections false`);
      // Templates of earlier migrations are of no more use here.
      const stale = await c.query<{ datname: string }>("select datname from pg_database where datname like 'trainyard\\_tpl\\_%' and datname <> $1", [name]);
      for (const { datname } of stale.rows) {
        await c.query(`alter database "${datname}" is_template false`);
        await c.query(`drop database if exists "${datname}" with (force)`);
      }
    } finally {
      await c.query('select pg_advisory_unlock($1)', [TEMPLATE_LOCK_KEY]);
    }
  });
  return name;
}
