import { sql, type Kysely } from 'kysely';

/**
 * Task instances that reused another run's try (task caching), indexed on their own:
 * `db clean` looks for the runs that reuse a run before deleting it, and only those few rows
 * of a task_instance table that may hold millions have `cached_from` set.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createIndex('task_instance_cached_from')
    .on('task_instance')
    .column('cached_from')
    .where(sql.ref('cached_from'), 'is not', null)
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('task_instance_cached_from').execute();
}
