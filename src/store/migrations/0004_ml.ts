import type { Kysely } from 'kysely';

/**
 * The model registry: models, their versions (artifact URI, metrics, params, lineage),
 * aliases (staging, production, …) with their history, and the decisions of gated
 * promotions. Dialect-neutral, like 0001: times are epoch ms (bigint), booleans 0/1
 * integers, JSON is text. Released migrations are never edited.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('model')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('description', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('model_version')
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('uri', 'text', (c) => c.notNull())
    // JSON objects.
    .addColumn('metrics', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('params', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('description', 'text')
    .addColumn('archived', 'integer', (c) => c.notNull().defaultTo(0))
    // Lineage: the try that made it (all null for a version registered by hand).
    .addColumn('dag_id', 'text')
    .addColumn('run_id', 'text')
    .addColumn('task_id', 'text')
    .addColumn('map_index', 'integer')
    .addColumn('try_number', 'integer')
    .addColumn('logical_date', 'bigint')
    .addColumn('data_interval_start', 'bigint')
    .addColumn('data_interval_end', 'bigint')
    .addColumn('ds', 'text')
    .addColumn('dag_version_hash', 'text')
    .addColumn('image_digest', 'text')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('model_version_pk', ['name', 'version'])
    .execute();
  await db.schema.createIndex('model_version_run').on('model_version').columns(['dag_id', 'run_id']).execute();

  await db.schema
    .createTable('model_alias')
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('alias', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('updated_by', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('model_alias_pk', ['name', 'alias'])
    .execute();

  await db.schema
    .createTable('model_alias_history')
    .addColumn('name', 'text', (c) => c.notNull())
    // 1, 2, … per model, in the order of the changes.
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('alias', 'text', (c) => c.notNull())
    .addColumn('from_version', 'integer')
    .addColumn('to_version', 'integer')
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('note', 'text')
    .addPrimaryKeyConstraint('model_alias_history_pk', ['name', 'seq'])
    .execute();

  await db.schema
    .createTable('promotion_decision')
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('alias', 'text', (c) => c.notNull())
    .addColumn('metric', 'text', (c) => c.notNull())
    .addColumn('direction', 'text', (c) => c.notNull())
    .addColumn('margin', 'double precision', (c) => c.notNull())
    .addColumn('candidate_value', 'double precision', (c) => c.notNull())
    .addColumn('baseline_alias', 'text', (c) => c.notNull())
    .addColumn('baseline_version', 'integer')
    .addColumn('baseline_value', 'double precision')
    // 'promoted' or 'rejected'.
    .addColumn('decision', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('promotion_decision_pk', ['name', 'seq'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['promotion_decision', 'model_alias_history', 'model_alias']) await db.schema.dropTable(t).ifExists().execute();
  await db.schema.dropIndex('model_version_run').ifExists().execute();
  for (const t of ['model_version', 'model']) await db.schema.dropTable(t).ifExists().execute();
}
