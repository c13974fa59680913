import { type Kysely, sql } from 'kysely';

/** The first schema. Released migrations are never edited; add a new numbered file instead. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('dag')
    .addColumn('dag_id', 'text', (c) => c.primaryKey())
    .addColumn('fileloc', 'text', (c) => c.notNull())
    .addColumn('is_paused', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('is_active', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('latest_version', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('tags', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('schedule', 'text', (c) => c.notNull())
    .addColumn('next_run_at', 'bigint')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('dag_version')
    .addColumn('dag_id', 'text', (c) => c.notNull())
    .addColumn('version_hash', 'text', (c) => c.notNull())
    .addColumn('spec', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('dag_version_pk', ['dag_id', 'version_hash'])
    .execute();

  await db.schema
    .createTable('import_error')
    .addColumn('fileloc', 'text', (c) => c.primaryKey())
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('dag_run')
    .addColumn('dag_id', 'text', (c) => c.notNull())
    .addColumn('run_id', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('run_type', 'text', (c) => c.notNull())
    .addColumn('version_hash', 'text', (c) => c.notNull())
    .addColumn('conf', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('params', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('logical_date', 'bigint', (c) => c.notNull())
    .addColumn('data_interval_start', 'bigint', (c) => c.notNull())
    .addColumn('data_interval_end', 'bigint', (c) => c.notNull())
    .addColumn('queued_at', 'bigint', (c) => c.notNull())
    .addColumn('start_date', 'bigint')
    .addColumn('end_date', 'bigint')
    .addColumn('change_seq', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('note', 'text')
    .addPrimaryKeyConstraint('dag_run_pk', ['dag_id', 'run_id'])
    .execute();
  await db.schema.createIndex('dag_run_state').on('dag_run').columns(['state', 'dag_id']).execute();
  await db.schema.createIndex('dag_run_logical').on('dag_run').columns(['dag_id', 'logical_date']).execute();

  await db.schema
    .createTable('task_instance')
    .addColumn('dag_id', 'text', (c) => c.notNull())
    .addColumn('run_id', 'text', (c) => c.notNull())
    .addColumn('task_id', 'text', (c) => c.notNull())
    .addColumn('map_index', 'integer', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('try_number', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('budget_tries', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('free_retries', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('priority_weight', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('pool', 'text', (c) => c.notNull())
    .addColumn('pool_slots', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('next_retry_at', 'bigint')
    .addColumn('queued_at', 'bigint')
    .addColumn('start_date', 'bigint')
    .addColumn('end_date', 'bigint')
    .addColumn('failure_class', 'text')
    .addColumn('reason', 'text')
    .addColumn('result', 'text')
    .addColumn('item', 'text')
    .addColumn('params', 'text')
    .addColumn('resource_overrides', 'text')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('task_instance_pk', ['dag_id', 'run_id', 'task_id', 'map_index'])
    .execute();
  await db.schema.createIndex('task_instance_state').on('task_instance').columns(['state', 'pool']).execute();
  await db.schema.createIndex('task_instance_run_state').on('task_instance').columns(['dag_id', 'run_id', 'state']).execute();

  await db.schema
    .createTable('task_try')
    .addColumn('dag_id', 'text', (c) => c.notNull())
    .addColumn('run_id', 'text', (c) => c.notNull())
    .addColumn('task_id', 'text', (c) => c.notNull())
    .addColumn('map_index', 'integer', (c) => c.notNull())
    .addColumn('try_number', 'integer', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('executor', 'text', (c) => c.notNull())
    .addColumn('queued_at', 'bigint', (c) => c.notNull())
    .addColumn('start_date', 'bigint')
    .addColumn('end_date', 'bigint')
    .addColumn('host', 'text')
    .addColumn('pid', 'integer')
    .addColumn('external', 'text')
    .addColumn('exit_code', 'integer')
    .addColumn('signal', 'text')
    .addColumn('failure_class', 'text')
    .addColumn('reason', 'text')
    .addColumn('result', 'text')
    .addColumn('log_path', 'text', (c) => c.notNull())
    .addColumn('counts_against_budget', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('scheduler_id', 'text')
    // The exactly-once key: a try is launched only after this row exists.
    .addPrimaryKeyConstraint('task_try_pk', ['dag_id', 'run_id', 'task_id', 'map_index', 'try_number'])
    .execute();
  await db.schema.createIndex('task_try_live').on('task_try').columns(['state', 'scheduler_id']).execute();

  await db.schema
    .createTable('pool')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('slots', 'integer', (c) => c.notNull())
    .addColumn('description', 'text')
    .execute();
  await sql`insert into pool (name, slots, description) values ('default_pool', 128, 'The pool tasks use unless they name another')`.execute(db);

  await db.schema
    .createTable('metric')
    .addColumn('dag_id', 'text', (c) => c.notNull())
    .addColumn('run_id', 'text', (c) => c.notNull())
    .addColumn('task_id', 'text', (c) => c.notNull())
    .addColumn('map_index', 'integer', (c) => c.notNull())
    .addColumn('try_number', 'integer', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('step', 'bigint')
    .addColumn('value', 'double precision', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('metric_try')
    .on('metric')
    .columns(['dag_id', 'run_id', 'task_id', 'map_index', 'try_number', 'name'])
    .execute();

  await db.schema
    .createTable('scheduler')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('host', 'text', (c) => c.notNull())
    .addColumn('pid', 'integer', (c) => c.notNull())
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('heartbeat_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['scheduler', 'metric', 'pool', 'task_try', 'task_instance', 'dag_run', 'import_error', 'dag_version', 'dag']) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
