import type { Kysely } from 'kysely';

/**
 * Sweep decisions: each early stop and each ASHA promotion, written in the same transaction
 * that makes it, so a scheduler that restarts mid-sweep rebuilds the rungs from the store:
 * the step a stopped try was stopped at (points it prints while it winds down do not count),
 * and the rung a promoted trial left (it is never judged there again).
 * kind 'stop': try_number is the stopped try, step the last step counted.
 * kind 'promote': try_number is the stopped try the trial resumes from, step the rung it left.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('sweep_decision')
    .addColumn('dag_id', 'text', (c) => c.notNull())
    .addColumn('run_id', 'text', (c) => c.notNull())
    .addColumn('task_id', 'text', (c) => c.notNull())
    .addColumn('map_index', 'integer', (c) => c.notNull())
    .addColumn('try_number', 'integer', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('step', 'double precision', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('sweep_decision_pk', ['dag_id', 'run_id', 'task_id', 'map_index', 'try_number', 'kind'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('sweep_decision').execute();
}
