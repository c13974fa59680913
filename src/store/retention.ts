import { clearCacheKeys, reusedRuns, type RunKeyRow } from './reused-runs.js';
import type { Store } from './store.js';

/** What a deleted run left outside its rows, counted by kind. */
export interface LeftoverCounts {
  /** Its log folder under $TRAINYARD_HOME/logs (0 or 1). */
  readonly logDirs: number;
  /** Its other folders under $TRAINYARD_HOME: work, artifacts, checkpoints. */
  readonly folders: number;
  /** Its tries' logs shipped to a remote log store. */
  readonly remoteLogs: number;
  /** Its tries' results offloaded to an artifact store. */
  readonly results: number;
}

/** Finds what a run left behind (from its rows, before they go) and removes it. */
export interface RunFiles<T extends LeftoverCounts = LeftoverCounts> {
  find(dagId: string, runId: string): Promise<T>;
  /** Removes everything found, or throws saying what could not be removed. */
  remove(found: T): Promise<void>;
}

export interface CleanResult {
  /** Runs deleted (with dryRun: that would be). */
  readonly runs: number;
  readonly batches: number;
  readonly leftovers: LeftoverCounts;
  /** Old runs kept because a cached task instance of a run that stays reuses their result and artifacts. */
  readonly kept: number;
  /** Runs whose leftovers could not be removed: their rows stay, for a later clean. */
  readonly failed: { readonly runs: number; readonly firstError?: string };
}

interface RunRow {
  readonly dag_id: string;
  readonly run_id: string;
  readonly end_date: number | null;
}

const runId = (r: { dag_id: string; run_id: string }): string => JSON.stringify([r.dag_id, r.run_id]);
const NO_LEFTOVERS: LeftoverCounts = { logDirs: 0, folders: 0, remoteLogs: 0, results: 0 };
const addCounts = (a: LeftoverCounts, b: LeftoverCounts): LeftoverCounts => ({
  logDirs: a.logDirs + b.logDirs,
  folders: a.folders + b.folders,
  remoteLogs: a.remoteLogs + b.remoteLogs,
  results: a.results + b.results,
});

/**
 * Finished runs that ended before `before`, newest first ((end_date, dag_id, run_id)
 * descending), after `from`. Newest first, because a run that reuses another's result is
 * almost always the newer: it goes first, and the run it reused can go in the same pass.
 */
function candidates(store: Store, before: number, limit: number, from?: RunRow) {
  let q = store.db
    .selectFrom('dag_run')
    .select(['dag_id', 'run_id', 'end_date'])
    .where('state', 'in', ['success', 'failed'])
    .where('end_date', '<', before);
  if (from) {
    const end = from.end_date ?? 0;
    q = q.where((eb) =>
      eb.or([
        eb('end_date', '<', end),
        eb.and([eb('end_date', '=', end), eb.or([eb('dag_id', '<', from.dag_id), eb.and([eb('dag_id', '=', from.dag_id), eb('run_id', '<', from.run_id)])])]),
      ]),
    );
  }
  return q.orderBy('end_date', 'desc').orderBy('dag_id', 'desc').orderBy('run_id', 'desc').limit(limit).execute();
}

/**
 * Deletes finished runs that ended before `before`, with their task instances, tries and
 * metrics, in batches of `batchSize` runs, each run in its own short transaction, so scheduling
 * is never blocked for long. With `files`, what each run left outside the database is removed
 * first, and a run whose leftovers cannot all be removed keeps its rows (so that a later clean
 * finds it again) while the clean goes on with the others. A run whose result another run's
 * cached task instance reuses is kept whole until that run goes (see reusedRuns).
 */
export async function cleanOldRuns(store: Store, opts: { before: number; batchSize: number; dryRun: boolean; files?: RunFiles }): Promise<CleanResult> {
  if (opts.dryRun) return countOldRuns(store, opts);
  const tally: Tally = { runs: 0, batches: 0, leftovers: NO_LEFTOVERS, kept: new Set(), failed: new Set() };
  // A run kept for one that was deleted after it (an older reuser) goes in another pass.
  for (;;) {
    const deleted = await cleanPass(store, opts, tally);
    if (deleted === 0 || tally.kept.size === 0) break;
  }
  return { runs: tally.runs, batches: tally.batches, leftovers: tally.leftovers, kept: tally.kept.size, failed: { runs: tally.failed.size, firstError: tally.firstError } };
}

interface Tally {
  runs: number;
  batches: number;
  leftovers: LeftoverCounts;
  /** Runs kept because other runs reuse them. */
  readonly kept: Set<string>;
  /** Runs whose leftovers could not be removed: not tried again in this clean. */
  readonly failed: Set<string>;
  firstError?: string;
}

/** One pass over the candidates, batch by batch; returns how many runs it deleted. */
async function cleanPass(store: Store, opts: { before: number; batchSize: number; files?: RunFiles }, tally: Tally): Promise<number> {
  let deletedInPass = 0;
  for (let from: RunRow | undefined; ; ) {
    const batch = await candidates(store, opts.before, opts.batchSize, from);
    if (batch.length === 0) return deletedInPass;
    from = batch[batch.length - 1];
    tally.batches += 1;
    const todo = batch.filter((r) => !tally.failed.has(runId(r)));
    const users = await planBatch(store, todo);
    const deleted = new Set<string>();
    for (const r of todo) {
      // Runs of this batch that reuse r went before it (newest first); any other keeps it.
      if ((users.get(runId(r)) ?? []).some((u) => !deleted.has(runId(u)))) {
        tally.kept.add(runId(r));
        continue;
      }
      tally.kept.delete(runId(r));
      if (await deleteWithLeftovers(store, r, opts.files, tally)) deleted.add(runId(r));
    }
    deletedInPass += deleted.size;
    // Let the scheduler in between batches.
    await new Promise((r) => setImmediate(r));
  }
}

/** Removes what a run left, then its rows; on a failure to remove, keeps the rows and notes why. */
async function deleteWithLeftovers(store: Store, r: RunRow, files: RunFiles | undefined, tally: Tally): Promise<boolean> {
  let found = NO_LEFTOVERS;
  try {
    if (files) {
      found = await files.find(r.dag_id, r.run_id);
      await files.remove(found);
    }
  } catch (e) {
    tally.failed.add(runId(r));
    tally.firstError ??= (e as Error).message;
    return false;
  }
  await store.deleteRun(r.dag_id, r.run_id);
  tally.leftovers = addCounts(tally.leftovers, found);
  tally.runs += 1;
  return true;
}

/**
 * Who reuses each run of a batch. Runs that only runs of the same batch reuse may go in this
 * batch: their cache keys are cleared first, so that no new run starts reusing them while
 * their files go, and then they are looked at once more for a reuse that came in meanwhile.
 */
async function planBatch(store: Store, batch: readonly RunRow[]): Promise<Map<string, RunKeyRow[]>> {
  const users = await reusedRuns(store, batch);
  const inBatch = new Set(batch.map(runId));
  const mayGo = batch.filter((r) => (users.get(runId(r)) ?? []).every((u) => inBatch.has(runId(u))));
  await clearCacheKeys(store, mayGo);
  for (const [id, late] of await reusedRuns(store, mayGo)) users.set(id, late);
  return users;
}

/** With dryRun: what cleanOldRuns would delete and keep, nothing changed. */
async function countOldRuns(store: Store, opts: { before: number; batchSize: number; files?: RunFiles }): Promise<CleanResult> {
  const keptMemo = new Map<string, boolean>();
  let leftovers = NO_LEFTOVERS;
  let runs = 0;
  let kept = 0;
  for (let from: RunRow | undefined; ; ) {
    const batch = await candidates(store, opts.before, opts.batchSize, from);
    if (batch.length === 0) break;
    from = batch[batch.length - 1];
    const users = await reusedRuns(store, batch);
    for (const r of batch) {
      if (users.has(runId(r)) && (await keptInDryRun(store, r, opts.before, keptMemo, new Set(), users.get(runId(r))))) {
        kept += 1;
        continue;
      }
      if (opts.files) leftovers = addCounts(leftovers, await opts.files.find(r.dag_id, r.run_id));
      runs += 1;
    }
  }
  return { runs, batches: 0, leftovers, kept, failed: { runs: 0 } };
}

/** Whether a run would be kept: reused by a run that stays (not to be deleted, or itself kept). */
async function keptInDryRun(
  store: Store,
  r: { dag_id: string; run_id: string },
  before: number,
  memo: Map<string, boolean>,
  visiting: Set<string>,
  users?: readonly { dag_id: string; run_id: string }[],
): Promise<boolean> {
  const id = runId(r);
  const known = memo.get(id);
  if (known !== undefined) return known;
  if (visiting.has(id)) return false;
  visiting.add(id);
  let keep = false;
  for (const user of users ?? (await reusedRuns(store, [r])).get(id) ?? []) {
    const run = await store.db.selectFrom('dag_run').select(['state', 'end_date']).where('dag_id', '=', user.dag_id).where('run_id', '=', user.run_id).executeTakeFirst();
    const goes = run !== undefined && (run.state === 'success' || run.state === 'failed') && run.end_date !== null && run.end_date < before;
    if (!goes || (await keptInDryRun(store, user, before, memo, visiting))) {
      keep = true;
      break;
    }
  }
  memo.set(id, keep);
  return keep;
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
