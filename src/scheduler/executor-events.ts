/**
 * Executor events applied in the tick: a try started, printed metrics or params, waits for a
 * reason, or finished. A finished try moves its task instance on (success, skipped, up for
 * retry, failed), records the try, and notifies; a try whose instance moved on meanwhile
 * (cleared, marked, run deleted) is recorded and nothing else.
 */
import { tryKeyString, type ExecutorEvent } from '../executors/types.js';
import type { Store } from '../store/store.js';
import type { TaskTryTable } from '../store/schema.js';
import type { ActiveRuns } from './active-runs.js';
import { LIVE_STATES, type LiveTry } from './live-tries.js';
import { notifiersFor, type Outbox } from './notifications.js';
import { type OutcomePolicy, resolveTry, type TryResolution } from './outcome.js';
import type { RunModel, TaskModel, TiModel } from './run-model.js';

type Finished = Extract<ExecutorEvent, { type: 'finished' }>;

/** What applying events needs from the scheduler. */
export interface EventContext {
  readonly active: ActiveRuns;
  readonly outbox: Outbox;
  /** Run time of tries finished in this tick, for duration metrics. */
  readonly runSeconds: Map<string, number>;
  readonly policy: OutcomePolicy;
  /** The most memory, in MiB, the retry of an OOM-killed try asks for. */
  readonly oomMemoryCapMb: number;
  /** Asks for a re-read of the store on the next tick (an asset was updated). */
  requestSync(): void;
}

export async function applyEvent(c: EventContext, tx: Store, ev: ExecutorEvent, now: number): Promise<void> {
  const { active } = c;
  const k = ev.key;
  const live = active.live.get(k);
  switch (ev.type) {
    case 'started': {
      active.writes.tryChange({ key: k, from: ['queued'], set: { state: 'running', start_date: ev.at, host: ev.host, pid: ev.pid ?? null, external: ev.external ?? null } });
      if (!live) return;
      live.startedAt = ev.at;
      if (live.ti.state === 'queued') active.setTi(live.ti, 'running', { start_date: ev.at }, ['queued']);
      return;
    }
    case 'telemetry': {
      if (ev.metrics.length) {
        await tx.insertMetrics(ev.metrics.map((m) => ({ dag_id: k.dagId, run_id: k.runId, task_id: k.taskId, map_index: k.mapIndex, try_number: k.tryNumber, ...m })));
      }
      if (ev.params && live) active.setTi(live.ti, live.ti.state, { params: JSON.stringify(ev.params) }, [live.ti.state]);
      return;
    }
    case 'pending_reason':
      if (live) active.setTi(live.ti, live.ti.state, { reason: ev.reason }, [live.ti.state]);
      return;
    case 'finished':
      return applyFinished(c, tx, ev, live, now);
  }
}

async function applyFinished(c: EventContext, tx: Store, ev: Finished, live: LiveTry | undefined, now: number): Promise<void> {
  const { active } = c;
  const tryFields: Partial<TaskTryTable> = { end_date: ev.at, exit_code: ev.exitCode, signal: ev.signal, reason: ev.reason ?? null };
  if (live) active.live.untrack(live);
  if (live?.startedAt != null) c.runSeconds.set(tryKeyString(ev.key), (ev.at - live.startedAt) / 1000);
  const ti = live?.ti;
  const current = ti && active.isCurrent(ti) && ti.tryNumber === ev.key.tryNumber && LIVE_STATES.includes(ti.state);
  if (!ti || !current) {
    // The instance moved on (cleared, marked, run deleted): record the try only.
    active.writes.tryChange({ key: ev.key, from: ['queued', 'running'], set: { ...tryFields, state: ev.outcome === 'success' ? 'success' : ev.outcome, failure_class: ev.failureClass ?? null } });
    return;
  }
  const run = ti.task.run;
  const r = resolveTry(run, ti, ev, now, c.policy);
  const budget = r.state === 'up_for_retry' || r.state === 'failed' ? r.countsAgainstBudget : true;
  active.writes.tryChange({
    key: ev.key,
    from: ['queued', 'running'],
    set: {
      ...tryFields,
      state: r.state === 'success' ? 'success' : r.state === 'skipped' ? 'skipped' : 'failed',
      failure_class: ('failureClass' in r ? r.failureClass : null) ?? null,
      reason: ('reason' in r ? r.reason : null) ?? null,
      result: r.state === 'success' ? JSON.stringify(r.result) : null,
      counts_against_budget: budget ? 1 : 0,
    },
  });
  if (budget) ti.budgetTries += 1;
  else ti.freeRetries += 1;
  await applyResolution(c, tx, ti, r, ev, now);
  run.markDownstreamDirty(ti.task.spec.taskId);
  const event = ({ success: 'task_success', skipped: 'task_skipped', up_for_retry: 'task_retry', failed: 'task_failed' } as const)[r.state];
  c.outbox.add(notifiersFor(event, run.spec, ti.task.spec), {
    kind: event,
    dagId: run.dagId,
    runId: run.runId,
    taskId: ti.task.spec.taskId,
    mapIndex: ti.mapIndex,
    tryNumber: ev.key.tryNumber,
    state: r.state,
    reason: 'reason' in r ? r.reason : undefined,
    failureClass: 'failureClass' in r ? r.failureClass : undefined,
    at: ev.at,
  });
}

/** Moves the instance of a finished try to the state its resolution says. */
async function applyResolution(c: EventContext, tx: Store, ti: TiModel, r: TryResolution, ev: Finished, now: number): Promise<void> {
  const { active } = c;
  const run = ti.task.run;
  const common = { end_date: ev.at, budget_tries: ti.budgetTries, free_retries: ti.freeRetries };
  switch (r.state) {
    case 'success':
      ti.stoppedEarly = r.failureClass === 'early_stopped';
      active.setTi(ti, 'success', { ...common, result: JSON.stringify(r.result), failure_class: r.failureClass ?? null, reason: r.reason ?? null });
      if (ti.task.mapped) run.results.delete(ti.task.spec.taskId);
      else run.results.set(ti.task.spec.taskId, r.result);
      if (r.follow) skipUnfollowed(active, run, ti.task, r.follow, now);
      // Outlets: the assets this task updated, recorded only on success.
      const outlets = ti.task.spec.outlets ?? [];
      if (outlets.length) {
        await tx.insertAssetEvents(outlets.map((uri) => ({ uri, source: `${run.dagId}/${run.runId}/${ti.task.spec.taskId}`, extra: { map_index: ti.mapIndex, try_number: ev.key.tryNumber }, at: ev.at })));
        c.requestSync();
      }
      break;
    case 'skipped':
      active.setTi(ti, 'skipped', { ...common, reason: r.reason });
      break;
    case 'up_for_retry': {
      ti.nextRetryAt = r.nextRetryAt;
      let reason = r.reason;
      if (r.failureClass === 'oom_killed') {
        const memoryMb = oomRetryMemory(ti, c.oomMemoryCapMb);
        ti.resourceOverrides = { ...(ti.resourceOverrides ?? {}), memoryMb };
        reason = `${reason} The retry asks for ${memoryMb} MiB of memory.`;
      }
      active.setTi(ti, 'up_for_retry', {
        ...common,
        next_retry_at: r.nextRetryAt,
        failure_class: r.failureClass,
        reason,
        resource_overrides: ti.resourceOverrides ? JSON.stringify(ti.resourceOverrides) : null,
      });
      active.retryTimers.push(ti);
      break;
    }
    case 'failed':
      active.setTi(ti, 'failed', { ...common, failure_class: r.failureClass, reason: r.reason });
      break;
  }
}

/** A branch's unchosen direct downstream tasks are skipped; trigger rules carry it on. */
function skipUnfollowed(active: ActiveRuns, run: RunModel, branch: TaskModel, follow: readonly string[], now: number): void {
  for (const downId of run.downstream.get(branch.spec.taskId) ?? []) {
    if (follow.includes(downId)) continue;
    const down = run.task(downId);
    for (const ti of down.instances.values()) {
      if (ti.state === 'none') active.setTi(ti, 'skipped', { end_date: now, reason: `not chosen by branch '${branch.spec.taskId}'` });
    }
    run.markDownstreamDirty(downId);
  }
}

/** Memory for the retry of an OOM-killed try: 1.5 × what it had, up to the cap. */
export function oomRetryMemory(ti: TiModel, capMb: number): number {
  const had = Number(ti.resourceOverrides?.memoryMb ?? ti.task.spec.resources.memoryMb) || 256;
  return Math.min(capMb, Math.ceil(had * 1.5));
}
