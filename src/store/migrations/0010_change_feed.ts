import { type Kysely, PostgresAdapter, sql } from 'kysely';

/**
 * The change feed: triggers append a row to `change_event` in the same transaction as every
 * state change of a run or task instance, every pause, activation or new version of a DAG,
 * and every import error set or cleared, whoever makes the change (scheduler, API, CLI).
 * The API server reads it with one cheap indexed query per poll. The table prunes itself:
 * every 1,000th row deletes the rows more than 100,000 older.
 *
 * Rows: kind 'run' (state; 'deleted' when the run is deleted), 'ti' (state, try number, map
 * index), 'dag' (state 'paused' or 'unpaused'; detail 'active' or 'inactive'), 'import_error'
 * (state 'set' or 'cleared'; detail: the file).
 *
 * Postgres also records the writing transaction (`txid`): ids from a sequence are not in commit
 * order there, so readers page by (txid, id) and only over transactions that have ended.
 */
export const CHANGE_FEED_KEEP_ROWS = 100_000;
const PRUNE_EVERY = 1000;

interface Source {
  readonly name: string;
  readonly table: string;
  readonly events: readonly ('insert' | 'update' | 'delete')[];
  /** Only rows where this holds (an update that changed something the feed reports). */
  readonly when?: string;
  /** Column values for change_event, in the order of COLUMNS, over NEW or OLD (`R`). */
  readonly values: string;
  /** NEW for insert and update, OLD for delete. */
  readonly row: 'NEW' | 'OLD';
}

const COLUMNS = 'kind, dag_id, run_id, task_id, map_index, state, try_number, detail';

const SOURCES: readonly Source[] = [
  {
    name: 'change_event_ti',
    table: 'task_instance',
    events: ['update'],
    when: 'NEW.state IS DISTINCT FROM OLD.state OR NEW.try_number IS DISTINCT FROM OLD.try_number',
    values: `'ti', R.dag_id, R.run_id, R.task_id, R.map_index, R.state, R.try_number, NULL`,
    row: 'NEW',
  },
  { name: 'change_event_run_new', table: 'dag_run', events: ['insert'], values: `'run', R.dag_id, R.run_id, NULL, NULL, R.state, NULL, NULL`, row: 'NEW' },
  {
    name: 'change_event_run',
    table: 'dag_run',
    events: ['update'],
    when: 'NEW.state IS DISTINCT FROM OLD.state',
    values: `'run', R.dag_id, R.run_id, NULL, NULL, R.state, NULL, NULL`,
    row: 'NEW',
  },
  { name: 'change_event_run_gone', table: 'dag_run', events: ['delete'], values: `'run', R.dag_id, R.run_id, NULL, NULL, 'deleted', NULL, NULL`, row: 'OLD' },
  {
    name: 'change_event_dag_new',
    table: 'dag',
    events: ['insert'],
    values: `'dag', R.dag_id, NULL, NULL, NULL, CASE WHEN R.is_paused = 1 THEN 'paused' ELSE 'unpaused' END, NULL, CASE WHEN R.is_active = 1 THEN 'active' ELSE 'inactive' END`,
    row: 'NEW',
  },
  {
    name: 'change_event_dag',
    table: 'dag',
    events: ['update'],
    when: 'NEW.is_paused IS DISTINCT FROM OLD.is_paused OR NEW.is_active IS DISTINCT FROM OLD.is_active OR NEW.latest_version IS DISTINCT FROM OLD.latest_version',
    values: `'dag', R.dag_id, NULL, NULL, NULL, CASE WHEN R.is_paused = 1 THEN 'paused' ELSE 'unpaused' END, NULL, CASE WHEN R.is_active = 1 THEN 'active' ELSE 'inactive' END`,
    row: 'NEW',
  },
  { name: 'change_event_import_new', table: 'import_error', events: ['insert'], values: `'import_error', NULL, NULL, NULL, NULL, 'set', NULL, R.fileloc`, row: 'NEW' },
  {
    name: 'change_event_import',
    table: 'import_error',
    events: ['update'],
    when: 'NEW.message IS DISTINCT FROM OLD.message',
    values: `'import_error', NULL, NULL, NULL, NULL, 'set', NULL, R.fileloc`,
    row: 'NEW',
  },
  { name: 'change_event_import_gone', table: 'import_error', events: ['delete'], values: `'import_error', NULL, NULL, NULL, NULL, 'cleared', NULL, R.fileloc`, row: 'OLD' },
];

const isPostgres = (db: Kysely<unknown>) => db.getExecutor().adapter instanceof PostgresAdapter;

export async function up(db: Kysely<unknown>): Promise<void> {
  if (isPostgres(db)) await upPostgres(db);
  else await upSqlite(db);
}

async function upSqlite(db: Kysely<unknown>): Promise<void> {
  // A plain rowid, not AUTOINCREMENT (which writes sqlite_sequence on every insert and made
  // each state change half again as slow): ids still only grow, since pruning never deletes
  // the newest row, and writers take turns, so ids are in commit order.
  await sql`CREATE TABLE change_event (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL, dag_id TEXT, run_id TEXT, task_id TEXT, map_index INTEGER, state TEXT, try_number INTEGER, detail TEXT
  )`.execute(db);
  for (const s of SOURCES) {
    const event = s.events[0].toUpperCase();
    // SQLite spells IS DISTINCT FROM as IS NOT.
    const when = s.when ? `WHEN ${s.when.replaceAll('IS DISTINCT FROM', 'IS NOT')}` : '';
    await sql
      .raw(`CREATE TRIGGER ${s.name} AFTER ${event} ON ${s.table} ${when} BEGIN INSERT INTO change_event (${COLUMNS}) VALUES (${s.values.replaceAll('R.', `${s.row}.`)}); END`)
      .execute(db);
  }
  await sql
    .raw(
      `CREATE TRIGGER change_event_prune AFTER INSERT ON change_event WHEN NEW.id % ${PRUNE_EVERY} = 0 BEGIN DELETE FROM change_event WHERE id <= NEW.id - ${CHANGE_FEED_KEEP_ROWS}; END`,
    )
    .execute(db);
}

async function upPostgres(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE change_event (
    id BIGSERIAL PRIMARY KEY,
    txid XID8 NOT NULL DEFAULT pg_current_xact_id(),
    kind TEXT NOT NULL, dag_id TEXT, run_id TEXT, task_id TEXT, map_index INTEGER, state TEXT, try_number INTEGER, detail TEXT
  )`.execute(db);
  await sql`CREATE INDEX change_event_order ON change_event (txid, id)`.execute(db);
  for (const s of SOURCES) {
    await sql
      .raw(
        `CREATE FUNCTION ${s.name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO change_event (${COLUMNS}) VALUES (${s.values.replaceAll('R.', `${s.row}.`)}); RETURN NULL; END $$`,
      )
      .execute(db);
    const when = s.when ? `WHEN (${s.when})` : '';
    await sql.raw(`CREATE TRIGGER ${s.name} AFTER ${s.events[0].toUpperCase()} ON ${s.table} FOR EACH ROW ${when} EXECUTE FUNCTION ${s.name}()`).execute(db);
  }
  await sql
    .raw(
      `CREATE FUNCTION change_event_prune() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN DELETE FROM change_event WHERE id <= NEW.id - ${CHANGE_FEED_KEEP_ROWS}; RETURN NULL; END $$`,
    )
    .execute(db);
  await sql.raw(`CREATE TRIGGER change_event_prune AFTER INSERT ON change_event FOR EACH ROW WHEN (NEW.id % ${PRUNE_EVERY} = 0) EXECUTE FUNCTION change_event_prune()`).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  const pg = isPostgres(db);
  for (const s of [...SOURCES, { name: 'change_event_prune', table: 'change_event' }]) {
    await sql.raw(pg ? `DROP TRIGGER IF EXISTS ${s.name} ON ${s.table}` : `DROP TRIGGER IF EXISTS ${s.name}`).execute(db);
    if (pg) await sql.raw(`DROP FUNCTION IF EXISTS ${s.name}()`).execute(db);
  }
  await sql`DROP TABLE IF EXISTS change_event`.execute(db);
}
