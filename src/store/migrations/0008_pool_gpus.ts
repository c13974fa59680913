import type { Kysely } from 'kysely';

/**
 * Pools that count GPUs: a pool's GPU quota (null: no quota), and the GPUs each queued or
 * running task instance holds in its pool, so several schedulers can sum them.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('pool').addColumn('gpus', 'integer').execute();
  // Nullable (null counts as 0): a batch insert of rows that do not all name it writes null.
  await db.schema
    .alterTable('task_instance')
    .addColumn('pool_gpus', 'integer', (c) => c.defaultTo(0))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('task_instance').dropColumn('pool_gpus').execute();
  await db.schema.alterTable('pool').dropColumn('gpus').execute();
}
