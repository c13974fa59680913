/**
 * How runs move in the tick: queued runs start within their limits, the dependencies of dirty
 * tasks are evaluated until nothing changes (scheduling, finishing or expanding instances),
 * and runs with nothing left to do finish.
 */
import type { Store } from '../store/store.js';
import { type ActiveRuns, allInstances } from './active-runs.js';
import { decideTask } from './dependencies.js';
import { notifiersFor, type Outbox } from './notifications.js';
import { newTaskInstanceRow } from './rows.js';
import type { RunModel, TaskModel, TiModel } from './run-model.js';
import type { SchedulerLog } from './scheduler-options.js';

/** What moving runs on needs from the scheduler. */
export interface ProgressContext {
  readonly active: ActiveRuns;
  readonly outbox: Outbox;
  readonly log: SchedulerLog;
  /** DAGs that are paused: their queued runs wait. */
  readonly pausedDags: ReadonlySet<string>;
  /** Gives a sweep's best-trial task its result, once every trial is done. */
  completeBest(tx: Store, task: TaskModel, now: number): Promise<void>;
  /** Asks for a re-read of the store on the next tick (a run changed elsewhere). */
  requestSync(): void;
}

/**
 * Starts queued runs within limits: a DAG's maxActiveRuns for its scheduled and manual runs,
 * and each backfill's own max active runs for the runs it made.
 */
export async function startQueuedRuns(c: ProgressContext, tx: Store, now: number): Promise<void> {
  const { active } = c;
  const limitKey = (r: RunModel) => r.row.backfill_id ?? `dag:${r.dagId}`;
  const running = new Map<string, number>();
  for (const r of active.runs.values()) if (r.row.state === 'running') running.set(limitKey(r), (running.get(limitKey(r)) ?? 0) + 1);
  const queued = [...active.runs.values()].filter((r) => r.row.state === 'queued' && !c.pausedDags.has(r.dagId));
  const backfillIds = [...new Set(queued.flatMap((r) => (r.row.backfill_id ? [r.row.backfill_id] : [])))];
  const backfillLimits = await tx.backfillLimits(backfillIds);
  queued.sort((a, b) => a.row.queued_at - b.row.queued_at);
  for (const run of queued) {
    const key = limitKey(run);
    const limit = run.row.backfill_id ? (backfillLimits.get(run.row.backfill_id) ?? 1) : run.spec.maxActiveRuns;
    const count = running.get(key) ?? 0;
    if (count >= limit) continue;
    if (!(await tx.setRunState(run.dagId, run.runId, ['queued'], { state: 'running', start_date: now }))) {
      c.requestSync();
      continue;
    }
    running.set(key, count + 1);
    run.row = { ...run.row, state: 'running', start_date: now };
    // A cleared run keeps its task instances; a new one gets one per task.
    const existing = await tx.listTaskInstances(run.dagId, run.runId);
    const present = new Set(existing.map((r) => r.task_id));
    const rows = run.spec.tasks.filter((t) => !present.has(t.taskId)).map((t) => newTaskInstanceRow(run, t, -1, 'none', now));
    await tx.insertTaskInstances(rows);
    run.load([...existing, ...(rows as typeof existing)], active.nextSeq);
    for (const ti of allInstances(run)) if (ti.state === 'scheduled') active.queue.push(ti);
  }
}

/** Evaluates dependencies of every dirty task until nothing changes. */
export async function propagate(c: ProgressContext, tx: Store, now: number): Promise<void> {
  const { active } = c;
  for (const run of active.runs.values()) {
    if (run.row.state !== 'running') continue;
    while (run.dirty.size > 0) {
      const [taskId] = run.dirty;
      run.dirty.delete(taskId);
      const task = run.task(taskId);
      if (task.count('none') === 0) continue;
      await loadMappingResults(tx, run, task);
      const action = decideTask(run, task);
      if (action.kind === 'wait') continue;
      const pending = [...task.instances.values()].filter((ti) => ti.state === 'none');
      if (action.kind === 'schedule' && task.spec.sweepBestOf !== undefined) await c.completeBest(tx, task, now);
      else if (action.kind === 'schedule') for (const ti of pending) active.schedule(ti, ['none']);
      else if (action.kind === 'finish') {
        for (const ti of pending) active.setTi(ti, action.state, { end_date: now, reason: action.reason });
      } else await expand(active, tx, run, task, action.items, now);
      run.markDownstreamDirty(taskId);
    }
  }
}

async function loadMappingResults(tx: Store, run: RunModel, task: TaskModel): Promise<void> {
  if (!task.mapped || task.expanded) return;
  const ids = Object.values(task.spec.mapping!.sources).flatMap((s) => (s.kind === 'result' ? [s.taskId] : []));
  await ensureResults(tx, run, ids);
}

/** Reads into the run's model the results of these upstream tasks that it does not hold yet. */
export async function ensureResults(tx: Store, run: RunModel, ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    if (run.results.has(id)) continue;
    const up = run.tasks.get(id);
    if (!up) continue;
    const rows = await tx.taskResults(run.dagId, run.runId, id);
    if (up.mapped) run.results.set(id, rows.map((r) => r.result));
    else if (rows.length) run.results.set(id, rows[0].result);
  }
}

async function expand(active: ActiveRuns, tx: Store, run: RunModel, task: TaskModel, items: readonly Record<string, unknown>[], now: number): Promise<void> {
  const placeholder = task.instances.get(-1);
  if (placeholder) active.setTi(placeholder, 'removed', { end_date: now, reason: `expanded into ${items.length} instances` });
  const rows = items.map((item, i) => newTaskInstanceRow(run, task.spec, i, 'scheduled', now, item));
  await tx.insertTaskInstances(rows);
  task.expanded = true;
  items.forEach((item, i) => {
    const ti: TiModel = { task, mapIndex: i, state: 'scheduled', tryNumber: 0, budgetTries: 0, freeRetries: 0, nextRetryAt: null, seq: active.nextSeq(), item, resourceOverrides: null };
    task.add(ti);
    active.queue.push(ti);
  });
}

/** Ends the running runs that have nothing left to do: failed when a final task failed or the run timed out. */
export async function finishRuns(c: ProgressContext, tx: Store, now: number): Promise<void> {
  for (const run of [...c.active.runs.values()]) {
    if (run.row.state !== 'running' || run.unfinished > 0) continue;
    const failedLeaf = run.leaves().some((t) => t.count('failed') + t.count('upstream_failed') > 0);
    const state = failedLeaf || run.timedOut ? 'failed' : 'success';
    if (await tx.setRunState(run.dagId, run.runId, ['running'], { state, end_date: now })) {
      c.log(`run ${run.dagId}/${run.runId} finished: ${state}`, { dag_id: run.dagId, run_id: run.runId, state });
      const event = state === 'success' ? 'run_success' : 'run_failed';
      const reason = run.timedOut ? 'the run exceeded its dagrunTimeout' : failedLeaf ? 'a final task failed' : undefined;
      c.outbox.add(notifiersFor(event, run.spec), { kind: event, dagId: run.dagId, runId: run.runId, state, reason, at: now });
    }
    c.active.runs.delete(run.key);
  }
}
