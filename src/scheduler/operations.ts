import { TrainyardError } from '../core/errors.js';
import type { TaskState } from '../core/states.js';
import { downstreamOf } from '../core/validate.js';
import type { Store } from '../store/store.js';

/** Operations people run on runs and task instances (CLI, API). Each is one transaction. */

async function specOfRun(store: Store, dagId: string, runId: string) {
  const run = await store.getRun(dagId, runId);
  if (!run) throw new TrainyardError('RUN_NOT_FOUND', `DAG '${dagId}' has no run '${runId}'; list runs with \`trainyard runs list --dag ${dagId}\``);
  const spec = await store.getSpec(dagId, run.version_hash);
  if (!spec) throw new TrainyardError('DAG_NOT_FOUND', `the DAG version of run '${runId}' is missing from the store`);
  return { run, spec };
}

/**
 * Clears task instances so they run again: their state goes back to none, their retry
 * budget is renewed, and try numbers keep counting. A mapped task is expanded afresh.
 * A finished run goes back to queued.
 */
export async function clearTasks(
  store: Store,
  dagId: string,
  runId: string,
  taskIds: readonly string[],
  opts: { downstream?: boolean; onlyFailed?: boolean },
  now: number,
): Promise<string[]> {
  return store.transaction(async (tx) => {
    const { run, spec } = await specOfRun(tx, dagId, runId);
    const known = new Set(spec.tasks.map((t) => t.taskId));
    for (const id of taskIds) {
      if (!known.has(id)) throw new TrainyardError('TASK_NOT_FOUND', `DAG '${dagId}' has no task '${id}'`);
    }
    const chosen = new Set(taskIds.length ? taskIds : spec.tasks.map((t) => t.taskId));
    if (opts.downstream) for (const id of [...chosen]) for (const d of downstreamOf(spec, id)) chosen.add(d);
    const rows = await tx.listTaskInstances(dagId, runId);
    const failedStates: TaskState[] = ['failed', 'upstream_failed'];
    const cleared: string[] = [];
    for (const taskId of chosen) {
      const mine = rows.filter((r) => r.task_id === taskId);
      if (opts.onlyFailed && !mine.some((r) => failedStates.includes(r.state))) continue;
      const mapped = spec.tasks.find((t) => t.taskId === taskId)?.mapping !== undefined;
      if (mapped) {
        await tx.db.deleteFrom('task_instance').where('dag_id', '=', dagId).where('run_id', '=', runId).where('task_id', '=', taskId).where('map_index', '>=', 0).execute();
      }
      const reset = { state: 'none' as const, budget_tries: 0, free_retries: 0, next_retry_at: null, end_date: null, failure_class: null, reason: null, result: null, cached_from: null, updated_at: now };
      // A mapped task keeps only its placeholder (map index -1), which is expanded again.
      await tx.db.updateTable('task_instance').set(reset).where('dag_id', '=', dagId).where('run_id', '=', runId).where('task_id', '=', taskId).execute();
      cleared.push(taskId);
    }
    if (run.state === 'success' || run.state === 'failed') await tx.setRunState(dagId, runId, [run.state], { state: 'queued', end_date: null });
    await tx.bumpRunChange(dagId, runId);
    return cleared;
  });
}

/** Marks one task instance (all instances of a mapped task when mapIndex is omitted) success or failed. */
export async function markTask(
  store: Store,
  k: { dagId: string; runId: string; taskId: string; mapIndex?: number },
  state: 'success' | 'failed',
  now: number,
): Promise<number> {
  return store.transaction(async (tx) => {
    await specOfRun(tx, k.dagId, k.runId);
    let q = tx.db
      .updateTable('task_instance')
      .set({ state, end_date: now, updated_at: now, reason: `marked ${state} by a user` })
      .where('dag_id', '=', k.dagId)
      .where('run_id', '=', k.runId)
      .where('task_id', '=', k.taskId)
      .where('state', '!=', 'removed');
    if (k.mapIndex !== undefined) q = q.where('map_index', '=', k.mapIndex);
    const r = await q.executeTakeFirst();
    const n = Number(r.numUpdatedRows);
    if (n === 0) throw new TrainyardError('TASK_NOT_FOUND', `no task instance ${k.taskId}${k.mapIndex !== undefined ? `[${k.mapIndex}]` : ''} in run '${k.runId}'`);
    await tx.bumpRunChange(k.dagId, k.runId);
    return n;
  });
}

/** Marks a run success or failed. Unfinished task instances end too: success, or skipped when marking failed. */
export async function markRun(store: Store, dagId: string, runId: string, state: 'success' | 'failed', now: number): Promise<void> {
  await store.transaction(async (tx) => {
    await specOfRun(tx, dagId, runId);
    const unfinished: TaskState[] = ['none', 'scheduled', 'queued', 'running', 'deferred', 'up_for_retry'];
    await tx.db
      .updateTable('task_instance')
      .set({ state: state === 'success' ? 'success' : 'skipped', end_date: now, updated_at: now, reason: `run marked ${state} by a user` })
      .where('dag_id', '=', dagId)
      .where('run_id', '=', runId)
      .where('state', 'in', unfinished)
      .execute();
    await tx.db.updateTable('dag_run').set({ state, end_date: now }).where('dag_id', '=', dagId).where('run_id', '=', runId).execute();
    await tx.bumpRunChange(dagId, runId);
  });
}
