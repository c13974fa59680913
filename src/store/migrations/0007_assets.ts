import type { Kysely } from 'kysely';

/** Asset events (from task outlets or posted by other systems), and which run each triggered. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('asset_event')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('uri', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('extra', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('asset_event_uri').on('asset_event').columns(['uri', 'created_at']).execute();
  await db.schema.alterTable('dag').addColumn('asset_cursor', 'bigint').execute();
  await db.schema.alterTable('dag_run').addColumn('triggered_by', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('dag_run').dropColumn('triggered_by').execute();
  await db.schema.alterTable('dag').dropColumn('asset_cursor').execute();
  await db.schema.dropTable('asset_event').execute();
}
