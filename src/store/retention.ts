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
