import type { Kysely } from 'kysely';

/**
 * Task caching: each try of a cached task records its cache key, so a later try with the same
 * key finds it; a task instance that reused an earlier try's result records which one.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('task_try').addColumn('cache_key', 'text').execute();
  await db.schema.createIndex('task_try_cache_key').on('task_try').column('cache_key').execute();
  await db.schema.alterTable('task_instance').addColumn('cached_from', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('task_instance').dropColumn('cached_from').execute();
  await db.schema.dropIndex('task_try_cache_key').execute();
  await db.schema.alterTable('task_try').dropColumn('cache_key').execute();
}
