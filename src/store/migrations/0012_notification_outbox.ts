import type { Kysely } from 'kysely';

/**
 * The notification outbox: one row per notification or callback to deliver, written in the
 * same transaction as the state change it reports, so a restart neither loses nor repeats it.
 * state: pending → sending (claimed by one scheduler) → sent | failed; a row left `sending` by
 * a scheduler that died becomes `interrupted` and is not sent again.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('notification_outbox')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('dag_id', 'text', (c) => c.notNull())
    .addColumn('run_id', 'text', (c) => c.notNull())
    .addColumn('event', 'text', (c) => c.notNull())
    .addColumn('target', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('claimed_by', 'text')
    .addColumn('error', 'text')
    .addColumn('finished_at', 'bigint')
    .execute();
  await db.schema.createIndex('notification_outbox_state').on('notification_outbox').columns(['state', 'created_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('notification_outbox').execute();
}
