/**
 * The tick's timers: retries that are due, tries past their execution timeout, runs past their
 * dagrunTimeout, and missed deadlines; and when the next of them falls, so the real-time loop
 * sleeps until then.
 */
import type { Store } from '../store/store.js';
import { type ActiveRuns, allInstances } from './active-runs.js';
import { dueDeadlines, nextDeadline } from './deadlines.js';
import { formatMs } from './format.js';
import type { Cancel } from './live-tries.js';
import { notifiersFor, type Outbox } from './notifications.js';
import type { SchedulerLog } from './scheduler-options.js';

/** What the timers need from the scheduler. */
export interface TimerContext {
  readonly active: ActiveRuns;
  readonly outbox: Outbox;
  /** Deadlines already handled (fired, or found fired in the store). */
  readonly deadlinesDone: Set<string>;
  readonly log: SchedulerLog;
}

/** Fires what is due at `now`; the live tries to stop go to `cancels`, cancelled after the commit. */
export async function fireTimers(c: TimerContext, tx: Store, now: number, cancels: Cancel[]): Promise<void> {
  const { active } = c;
  await fireDeadlines(c, tx, now);
  for (let ti = active.retryTimers.pop(); ti; ti = active.retryTimers.pop()) {
    if ((ti.nextRetryAt ?? 0) > now) {
      active.retryTimers.push(ti);
      break;
    }
    if (ti.state === 'up_for_retry' && active.isCurrent(ti)) active.schedule(ti, ['up_for_retry']);
  }
  for (const l of active.live.values()) {
    const timeout = l.ti.task.spec.executionTimeoutMs;
    if (timeout === undefined || l.startedAt === null || l.cancelling || now < l.startedAt + timeout) continue;
    l.cancelling = true;
    cancels.push({ live: l, cls: 'execution_timeout', reason: `ran longer than its execution timeout of ${formatMs(timeout)}` });
  }
  for (const run of active.runs.values()) {
    const t = run.spec.dagrunTimeoutMs;
    if (t === undefined || run.row.start_date === null || run.row.state !== 'running' || now < run.row.start_date + t || run.timedOut) continue;
    run.timedOut = true;
    for (const l of active.live.values()) {
      if (l.ti.task.run !== run || l.cancelling) continue;
      l.cancelling = true;
      cancels.push({ live: l, cls: 'cancelled', reason: `the run exceeded its dagrunTimeout of ${formatMs(t)}` });
    }
    for (const ti of allInstances(run)) {
      if (['none', 'scheduled', 'up_for_retry', 'deferred'].includes(ti.state)) {
        active.setTi(ti, 'skipped', { end_date: now, reason: `the run exceeded its dagrunTimeout of ${formatMs(t)}` });
      }
    }
  }
}

/** Fires each missed deadline once: the store's row is the proof it fired. */
async function fireDeadlines(c: TimerContext, tx: Store, now: number): Promise<void> {
  for (const run of c.active.runs.values()) {
    for (const d of dueDeadlines(run, now, c.deadlinesDone)) {
      if (!(await tx.recordDeadlineMissed(run.dagId, run.runId, d.taskId, now))) continue;
      const task = d.taskId ? run.tasks.get(d.taskId)?.spec : undefined;
      c.log(`deadline missed: ${run.dagId}/${run.runId}: ${d.what}`, { dag_id: run.dagId, run_id: run.runId });
      c.outbox.add(notifiersFor('deadline_missed', run.spec, task), { kind: 'deadline_missed', dagId: run.dagId, runId: run.runId, taskId: d.taskId || undefined, state: run.row.state, reason: d.what, at: now });
    }
  }
}

/** The earliest of `at` and the time the next timer falls. */
export function nextTimerAt(c: Pick<TimerContext, 'active' | 'deadlinesDone'>, at: number): number {
  const { active } = c;
  const retry = active.retryTimers.peek();
  if (retry?.nextRetryAt != null) at = Math.min(at, retry.nextRetryAt);
  for (const l of active.live.values()) {
    const timeout = l.ti.task.spec.executionTimeoutMs;
    if (l.startedAt !== null && timeout !== undefined && !l.cancelling) at = Math.min(at, l.startedAt + timeout);
  }
  for (const run of active.runs.values()) {
    const t = run.spec.dagrunTimeoutMs;
    if (t !== undefined && run.row.start_date !== null) at = Math.min(at, run.row.start_date + t);
    at = Math.min(at, nextDeadline(run, c.deadlinesDone));
  }
  return at;
}
