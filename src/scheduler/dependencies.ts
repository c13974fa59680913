import { expandMapping } from '../core/mapping.js';
import type { MapSource } from '../core/spec.js';
import { emptySummary, evaluateTriggerRule, type UpstreamSummary } from '../core/trigger-rules.js';
import { walkPath } from '../core/values.js';
import type { RunModel, TaskModel } from './run-model.js';

/** What to do with a task's not-yet-started instances. */
export type TaskAction =
  | { readonly kind: 'wait' }
  | { readonly kind: 'schedule' }
  | { readonly kind: 'expand'; readonly items: readonly Record<string, unknown>[] }
  | { readonly kind: 'finish'; readonly state: 'skipped' | 'upstream_failed'; readonly reason: string };

const WAIT: TaskAction = { kind: 'wait' };

/** Adds up the states of every upstream instance, straight from the per-state counts. */
export function upstreamSummary(run: RunModel, task: TaskModel): UpstreamSummary {
  const s = emptySummary();
  for (const upId of task.spec.upstream) {
    const up = run.tasks.get(upId);
    if (!up) continue;
    for (const [state, n] of up.stateCounts()) {
      s.total += n;
      if (state === 'success') s.success += n;
      else if (state === 'failed') s.failed += n;
      else if (state === 'upstream_failed') s.upstreamFailed += n;
      else if (state === 'skipped') s.skipped += n;
      else if (state === 'removed') s.removed += n;
      if (state === 'success' || state === 'failed' || state === 'upstream_failed' || state === 'skipped' || state === 'removed') s.done += n;
    }
  }
  return s;
}

/**
 * Decides, from the upstream states and the trigger rule, what happens to a task's
 * instances that have not started. Results of mapping sources must be in `run.results`.
 */
export function decideTask(run: RunModel, task: TaskModel): TaskAction {
  if (task.count('none') === 0) return WAIT;
  const decision = evaluateTriggerRule(task.spec.triggerRule, upstreamSummary(run, task));
  switch (decision) {
    case 'wait':
      return WAIT;
    case 'skip':
      return { kind: 'finish', state: 'skipped', reason: `skipped by trigger rule ${task.spec.triggerRule}` };
    case 'upstream_failed':
      return { kind: 'finish', state: 'upstream_failed', reason: `an upstream task failed (trigger rule ${task.spec.triggerRule})` };
    case 'run':
      return task.mapped && !task.expanded ? expansion(run, task) : { kind: 'schedule' };
  }
}

function expansion(run: RunModel, task: TaskModel): TaskAction {
  const mapping = task.spec.mapping!;
  for (const src of Object.values(mapping.sources)) {
    if (src.kind !== 'result') continue;
    const up = run.tasks.get(src.taskId);
    const succeeded = up !== undefined && up.count('success') > 0;
    if (!succeeded) {
      const failed = up !== undefined && (up.count('failed') > 0 || up.count('upstream_failed') > 0);
      return failed
        ? { kind: 'finish', state: 'upstream_failed', reason: `'${src.taskId}', which produces this task's mapping input, failed` }
        : { kind: 'finish', state: 'skipped', reason: `'${src.taskId}', which produces this task's mapping input, did not run` };
    }
  }
  const resolved = expandMapping(mapping, (src) => resolveSource(run, src), task.spec.maxMapLength);
  if (!resolved.ok) return { kind: 'finish', state: 'upstream_failed', reason: resolved.message };
  if (resolved.items.length === 0) return { kind: 'finish', state: 'skipped', reason: 'the mapping input is empty' };
  return { kind: 'expand', items: resolved.items };
}

export function resolveSource(run: RunModel, src: MapSource): unknown {
  if (src.kind === 'literal') return src.values;
  const found = walkPath(run.results.get(src.taskId), src.path);
  return found.ok ? found.value : undefined;
}
