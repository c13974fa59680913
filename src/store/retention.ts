import fs from 'node:fs';
import type { Store } from './store.js';

export interface CleanResult {
  readonly runs: number;
  readonly batches: number;
  readonly logDirsRemoved: number;
}

/**
 * Deletes finished runs that ended before `before`, with their task instances, tries and
 * metrics, in batches of `batchSize` runs, each in its own short transaction, so scheduling
 * is never blocked for long. Log directories of deleted runs go too.
 */
export async function cleanOldRuns(
  store: Store,
  opts: { before: number; batchSize: number; dryRun: boolean; logDirOf?: (dagId: string, runId: string) => string },
): Promise<CleanResult> {
  const candidates = () =>
    store.db
      .selectFrom('dag_run')
      .select(['dag_id', 'run_id'])
      .where('state', 'in', ['success', 'failed'])
      .where('end_date', '<', opts.before)
      .orderBy('end_date')
      .limit(opts.batchSize);
  if (opts.dryRun) {
    const row = await store.db
      .selectFrom('dag_run')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('state', 'in', ['success', 'failed'])
      .where('end_date', '<', opts.before)
      .executeTakeFirst();
    return { runs: Number(row?.n ?? 0), batches: 0, logDirsRemoved: 0 };
  }
  let runs = 0;
  let batches = 0;
  let logDirsRemoved = 0;
  for (;;) {
    const batch = await candidates().execute();
    if (batch.length === 0) break;
    for (const r of batch) await store.deleteRun(r.dag_id, r.run_id);
    for (const r of batch) {
      const dir = opts.logDirOf?.(r.dag_id, r.run_id);
      if (dir && fs.existsSync(dir)) {
        fs.rmSync(dir, { recursive: true, force: true });
        logDirsRemoved += 1;
      }
    }
    runs += batch.length;
    batches += 1;
    // Let the scheduler in between batches.
    await new Promise((r) => setImmediate(r));
  }
  return { runs, batches, logDirsRemoved };
}

/** Outbox rows that are done with: their send ended, one way or another. */
export const FINISHED_OUTBOX_STATES = ['sent', 'failed', 'interrupted'] as const;

/** How long `db clean` keeps finished outbox rows unless told otherwise. */
export const DEFAULT_OUTBOX_RETENTION = '30d';

/**
 * Deletes notification outbox rows that finished (sent, failed or interrupted) before `before`,
 * `batchSize` at a time, each batch in its own statement. Pending rows and rows being sent are
 * never touched, however old: they are still to be delivered. Returns how many rows went (with
 * `dryRun`, how many would go).
 */
export async function cleanOldOutboxRows(store: Store, opts: { before: number; batchSize: number; dryRun: boolean }): Promise<number> {
  const finished = () =>
    store.db.selectFrom('notification_outbox').where('state', 'in', FINISHED_OUTBOX_STATES).where('finished_at', '<', opts.before);
  if (opts.dryRun) {
    const row = await finished()
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }
  let deleted = 0;
  for (;;) {
    const batch = finished().select('id').limit(opts.batchSize);
    const r = await store.db.deleteFrom('notification_outbox').where('id', 'in', batch).executeTakeFirst();
    const n = Number(r.numDeletedRows);
    deleted += n;
    if (n < opts.batchSize) return deleted;
    await new Promise((resolve) => setImmediate(resolve));
  }
}
