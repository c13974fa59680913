import type { Kysely } from 'kysely';

/**
 * Tables of the REST API: variables and connections (configuration tasks read), and the
 * API's users, tokens and sessions. Dialect-neutral, like 0001: times are epoch ms (bigint),
 * booleans 0/1 integers, JSON is text. Released migrations are never edited.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('variable')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('is_sensitive', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();

  await db.schema
    .createTable('connection')
    .addColumn('conn_id', 'text', (c) => c.primaryKey())
    .addColumn('conn_type', 'text', (c) => c.notNull())
    .addColumn('host', 'text')
    .addColumn('port', 'integer')
    .addColumn('login', 'text')
    .addColumn('password', 'text')
    .addColumn('schema', 'text')
    // JSON object.
    .addColumn('extra', 'text')
    .execute();

  await db.schema
    .createTable('api_user')
    .addColumn('username', 'text', (c) => c.primaryKey())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('api_token')
    // sha256 of the token; the token itself is shown once and never stored.
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('username', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_used_at', 'bigint')
    .execute();
  await db.schema.createIndex('api_token_user').on('api_token').column('username').execute();

  await db.schema
    .createTable('api_session')
    // sha256 of the session cookie's value.
    .addColumn('session_hash', 'text', (c) => c.primaryKey())
    .addColumn('username', 'text', (c) => c.notNull())
    .addColumn('csrf_token', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('api_session_user').on('api_session').column('username').execute();

  // Run lists page newest first, across DAGs and per DAG; without these every page sorts all runs.
  await db.schema.createIndex('dag_run_queued').on('dag_run').columns(['queued_at', 'run_id']).execute();
  await db.schema.createIndex('dag_run_dag_queued').on('dag_run').columns(['dag_id', 'queued_at', 'run_id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('dag_run_dag_queued').ifExists().execute();
  await db.schema.dropIndex('dag_run_queued').ifExists().execute();
  for (const t of ['api_session', 'api_token', 'api_user', 'connection', 'variable']) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
