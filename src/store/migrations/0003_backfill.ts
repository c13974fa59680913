import type { Kysely } from 'kysely';

/** Backfills: a date range of runs with its own limit on active runs. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('backfill')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('dag_id', 'text', (c) => c.notNull())
    .addColumn('from_date', 'bigint', (c) => c.notNull())
    .addColumn('to_date', 'bigint', (c) => c.notNull())
    .addColumn('reprocess', 'text', (c) => c.notNull())
    .addColumn('max_active_runs', 'integer', (c) => c.notNull())
    .addColumn('reverse', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.alterTable('dag_run').addColumn('backfill_id', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('dag_run').dropColumn('backfill_id').execute();
  await db.schema.dropTable('backfill').execute();
}
