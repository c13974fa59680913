import type { Kysely } from 'kysely';

/** Several schedulers: each active run is claimed by one of them. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('dag_run').addColumn('claimed_by', 'text').execute();
  await db.schema.createIndex('dag_run_claim').on('dag_run').columns(['state', 'claimed_by']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('dag_run_claim').execute();
  await db.schema.alterTable('dag_run').dropColumn('claimed_by').execute();
}
