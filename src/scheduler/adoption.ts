import type { Executor, ExecutorEvent, TryKey } from '../executors/types.js';
import type { Store, TaskTryRow } from '../store/store.js';
import type { ActiveRuns } from './active-runs.js';
import { runKey } from './run-model.js';

type Finished = Extract<ExecutorEvent, { type: 'finished' }>;

/** What taking back live tries needs from the scheduler. */
export interface AdoptionContext {
  readonly store: Store;
  readonly schedulerId: string;
  readonly executors: Readonly<Record<string, Executor>>;
  readonly active: ActiveRuns;
  /** Where a lost try's finished event goes, for the next tick to apply. */
  readonly inbox: ExecutorEvent[];
}

/**
 * Hands live tries of earlier or dead schedulers to their executors; what they cannot adopt
 * (or whose executor is not configured here) is lost, and retried. Only tries of runs this
 * scheduler has loaded, and not tracked yet, are taken.
 */
export async function adoptTries(c: AdoptionContext, tries: readonly TaskTryRow[], now: number): Promise<void> {
  const { active } = c;
  tries = tries.filter((t) => active.runs.has(runKey(t.dag_id, t.run_id)) && !active.live.get(tryKeyOf(t)));
  const byExecutor = new Map<string, TaskTryRow[]>();
  for (const t of tries) byExecutor.set(t.executor, [...(byExecutor.get(t.executor) ?? []), t]);
  for (const [name, rows] of byExecutor) {
    const executor = c.executors[name];
    const records = rows.map((r) => ({ key: tryKeyOf(r), pid: r.pid, host: r.host, external: r.external, startedAt: r.start_date }));
    const results = executor
      ? await executor.adopt(records)
      : records.map((r) => ({ key: r.key, adopted: false as const, reason: `executor '${name}' is not configured here` }));
    for (const res of results) {
      const ti = active.findTi(res.key);
      await c.store.updateTry(res.key, ['queued', 'running'], { scheduler_id: c.schedulerId });
      if (ti && res.adopted) active.live.track(ti, res.key, name, now);
      if (!res.adopted) {
        if (ti) active.live.track(ti, res.key, name, null);
        c.inbox.push(lostEvent(res.key, now, res.reason));
      }
    }
  }
}

function tryKeyOf(t: TaskTryRow): TryKey {
  return { dagId: t.dag_id, runId: t.run_id, taskId: t.task_id, mapIndex: t.map_index, tryNumber: t.try_number };
}

function lostEvent(key: TryKey, now: number, reason: string): Finished {
  return { type: 'finished', key, at: now, outcome: 'failed', exitCode: null, signal: null, failureClass: 'lost', reason };
}
