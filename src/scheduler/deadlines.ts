import { formatMs } from './format.js';
import type { RunModel } from './run-model.js';

export interface Deadline {
  /** '' for the run's own deadline. */
  readonly taskId: string;
  readonly at: number;
  /** What was missed, in plain words. */
  readonly what: string;
}

const NOT_STARTED = new Set(['none', 'scheduled', 'up_for_retry', 'removed']);

/** The deadlines of an active run: its own finish deadline, and the start deadlines of tasks not started yet. */
export function* runDeadlines(run: RunModel): Generator<Deadline> {
  if (run.row.state !== 'running' && run.row.state !== 'queued') return;
  const d = run.spec.deadline;
  if (d) {
    const from = d.from === 'queued_at' ? run.row.queued_at : run.row.logical_date;
    yield { taskId: '', at: from + d.finishWithinMs, what: `the run did not finish within ${formatMs(d.finishWithinMs)} of its ${d.from === 'queued_at' ? 'queue time' : 'logical date'}` };
  }
  if (run.row.start_date === null) return;
  for (const t of run.tasks.values()) {
    const ms = t.spec.startWithinMs;
    if (ms === undefined) continue;
    const started = [...t.instances.values()].some((ti) => !NOT_STARTED.has(ti.state) || ti.tryNumber > 0);
    if (!started) yield { taskId: t.spec.taskId, at: run.row.start_date + ms, what: `task '${t.spec.taskId}' did not start within ${formatMs(ms)} of the run's start` };
  }
}

const doneKey = (run: RunModel, taskId: string) => `${run.key}\u0000${taskId}`;

/** Deadlines of a run that are due now and not yet handled; marks them handled. */
export function dueDeadlines(run: RunModel, now: number, done: Set<string>): Deadline[] {
  const due: Deadline[] = [];
  for (const d of runDeadlines(run)) {
    if (now < d.at || done.has(doneKey(run, d.taskId))) continue;
    done.add(doneKey(run, d.taskId));
    due.push(d);
  }
  return due;
}

/** When the run's next unhandled deadline falls (Infinity if none). */
export function nextDeadline(run: RunModel, done: ReadonlySet<string>): number {
  let at = Number.POSITIVE_INFINITY;
  for (const d of runDeadlines(run)) if (!done.has(doneKey(run, d.taskId))) at = Math.min(at, d.at);
  return at;
}
