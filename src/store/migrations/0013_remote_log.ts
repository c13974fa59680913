import type { Kysely } from 'kysely';

/**
 * Remote logging: where a finished try's log was shipped (an object URI in the remote log
 * store), null while it has not been. Indexed so that a restarted scheduler finds the ended
 * tries it still has to ship without scanning every try.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('task_try').addColumn('remote_log_uri', 'text').execute();
  await db.schema.createIndex('task_try_remote_log').on('task_try').column('remote_log_uri').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('task_try_remote_log').execute();
  await db.schema.alterTable('task_try').dropColumn('remote_log_uri').execute();
}
