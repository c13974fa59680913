import type { Kysely } from 'kysely';

/** Missed deadlines, one row each: a deadline alert fires exactly once, whatever restarts. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('deadline_alert')
    .addColumn('dag_id', 'text', (c) => c.notNull())
    .addColumn('run_id', 'text', (c) => c.notNull())
    .addColumn('task_id', 'text', (c) => c.notNull())
    .addColumn('fired_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('deadline_alert_pk', ['dag_id', 'run_id', 'task_id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('deadline_alert').execute();
}
