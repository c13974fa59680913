import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { TrainyardError } from '../core/errors.js';
import type { OpenedDatabase } from './db.js';
import { PreparedStatements } from './prepared.js';
import type { Database } from './schema.js';

// bigint columns hold epoch milliseconds, which fit in a double.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));
pg.types.setTypeParser(pg.types.builtins.FLOAT8, (v) => Number(v));

export interface PostgresOptions {
  /** How long to wait for a new connection before giving up (default 10 s). */
  readonly connectTimeoutMs?: number;
  /** Idle connections are closed after this long (default 30 s). */
  readonly idleTimeoutMs?: number;
  /**
   * Called when a pooled connection that nobody is using fails (the server restarted, or
   * an admin ended the backend). The pool drops that connection and opens a new one on
   * the next query. Default: one line on stderr.
   */
  readonly onIdleError?: (err: Error) => void;
  /** Run repeated statements as server-side prepared statements (default true; see prepared.ts). */
  readonly prepare?: boolean;
}

/** Where a Postgres URL points, without its password. */
export function describePostgresUrl(url: string): string {
  try {
    const u = new URL(url);
    return `postgres://${u.username ? `${u.username}@` : ''}${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return 'postgres://(unparseable URL)';
  }
}

/**
 * Opens a pool of at most `poolSize` connections and checks that one can be made, so a
 * wrong URL fails at startup with a message that says what to fix. Messages name the
 * host, port, user and database, never the password.
 */
export async function openPostgres(url: string, poolSize: number, opts: PostgresOptions = {}): Promise<OpenedDatabase> {
  const target = parseTarget(url);
  if (!Number.isInteger(poolSize) || poolSize < 1) {
    throw new TrainyardError('DB_CONFIG_INVALID', `the Postgres pool size must be a positive integer, got ${poolSize}; check TRAINYARD_DATABASE_POOL_SIZE`);
  }
  const connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
  await checkConnection(url, connectTimeoutMs, target);
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    connectionTimeoutMillis: connectTimeoutMs,
    idleTimeoutMillis: opts.idleTimeoutMs ?? 30_000,
    application_name: 'trainyard',
  });
  // Without a listener, an error on an idle connection would crash the process.
  const onIdleError =
    opts.onIdleError ??
    ((err: Error) => process.stderr.write(`trainyard: a pooled Postgres connection to ${target.where} failed (${redact(err.message, target.password)}); it will be replaced\n`));
  pool.on('error', (err) => onIdleError(err));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: opts.prepare === false ? pool : new PreparedStatements().wrap(pool) }) });
  return { db, dialect: 'postgres', description: describePostgresUrl(url), close: () => db.destroy() };
}

/**
 * One connection made and closed, outside the pool: a client that fails half-way through
 * authentication must be ended by hand, or its server backend lingers until the server's
 * authentication_timeout (and holds up DROP DATABASE meanwhile).
 */
async function checkConnection(url: string, connectTimeoutMs: number, target: Target): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: connectTimeoutMs, application_name: 'trainyard' });
  client.on('error', () => undefined); // reported through connect()'s rejection
  let failure: unknown;
  try {
    await client.connect();
  } catch (e) {
    failure = e;
  }
  await Promise.race([client.end().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
  if (failure !== undefined) throw connectionError(failure, target);
}

interface Target {
  /** host:port */
  readonly where: string;
  readonly user: string;
  readonly database: string;
  readonly password: string;
}

function parseTarget(url: string): Target {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TrainyardError('DB_CONFIG_INVALID', 'the Postgres URL cannot be parsed; check TRAINYARD_DATABASE_URL (postgres://USER:PASSWORD@HOST:PORT/DATABASE)');
  }
  const host = u.hostname || 'localhost';
  return {
    where: `${host}:${u.port || '5432'}`,
    user: decodeURIComponent(u.username) || '(default user)',
    database: decodeURIComponent(u.pathname.replace(/^\//, '')) || '(default database)',
    password: decodeURIComponent(u.password),
  };
}

/** Turns a failed first connection into an error that says what to check. */
function connectionError(e: unknown, t: Target): TrainyardError {
  const err = e as { code?: string; message?: string };
  const code = err.code ?? '';
  const detail = redact(err.message ?? String(e), t.password);
  switch (code) {
    case '28P01': // invalid_password
    case '28000': // invalid_authorization_specification (no pg_hba entry, unknown role)
      return new TrainyardError(
        'DB_AUTH_FAILED',
        `Postgres at ${t.where} refused user '${t.user}' (${detail}): check the user and password in TRAINYARD_DATABASE_URL`,
      );
    case '3D000': // invalid_catalog_name
      return new TrainyardError(
        'DB_NOT_FOUND',
        `Postgres at ${t.where} has no database '${t.database}': create it (createdb ${t.database}) or fix the database name in TRAINYARD_DATABASE_URL`,
      );
    default:
      break;
  }
  if (/password must be a string|SASL/i.test(detail)) {
    return new TrainyardError(
      'DB_AUTH_FAILED',
      `Postgres at ${t.where} asked user '${t.user}' for a password and none was given: put it in TRAINYARD_DATABASE_URL (postgres://USER:PASSWORD@HOST:PORT/DATABASE)`,
    );
  }
  const why = code || (/timeout/i.test(detail) ? 'timed out' : detail);
  return new TrainyardError(
    'DB_UNREACHABLE',
    `cannot reach Postgres at ${t.where} (${why}): check TRAINYARD_DATABASE_URL and that the server is running`,
  );
}

/** Removes the password from a message, in case a driver ever echoes it. */
function redact(message: string, password: string): string {
  if (password.length < 3) return message; // too short to tell apart from ordinary text
  return message.split(password).join('***').split(encodeURIComponent(password)).join('***');
}
