/**
 * The `cache` option of a task, checked when the DAG is built: like Flyte's `cache=True,
 * cache_version=…` or Kubeflow's caching, a try whose key matches an earlier successful try
 * reuses that try's result instead of running.
 */
import { DagValidationError } from '../core/errors.js';
import type { CacheSpec } from '../core/spec.js';
import { referencedTasks } from '../core/values.js';
import type { CacheOption } from './options.js';
import { toExpr } from './refs.js';
import type { TaskDraft } from './task.js';

const CACHE_OPTIONS = ['version', 'key'];

/** The spec of a task's `cache` option; throws DagValidationError naming the field. */
export function cacheOf(option: CacheOption | undefined, draft: TaskDraft): CacheSpec | undefined {
  if (option === undefined) return undefined;
  const fail = (field: string, message: string): never => {
    throw new DagValidationError('CACHE_INVALID', `task '${draft.taskId}': ${field} ${message}`);
  };
  if (draft.kind === 'sensor') fail('cache', 'is not for sensors: a sensor waits for something outside, which a cached result cannot tell');
  if (draft.sweep || draft.sweepBestOf) fail('cache', "is not for sweeps: trials are judged on the metrics they print while they run");
  if (draft.branch) fail('cache', 'is not for branches');
  if (option === true) return {};
  if (typeof option !== 'object' || option === null) return fail('cache', `must be true or { version?, key? }, got ${JSON.stringify(option)}`);
  for (const k of Object.keys(option)) if (!CACHE_OPTIONS.includes(k)) fail(`cache.${k}`, `is not an option of cache; its options are ${CACHE_OPTIONS.join(', ')}`);
  if (option.version !== undefined && (typeof option.version !== 'string' || option.version === '')) fail('cache.version', `must be a non-empty string, got ${JSON.stringify(option.version)}`);
  const key = option.key === undefined ? undefined : toExpr(option.key);
  const reads = key === undefined ? [] : referencedTasks(key);
  if (reads.length) fail('cache.key', `reads the result of '${reads[0]}'; results the task reads through its args, env or inputs are in the key already`);
  return { ...(option.version !== undefined ? { version: option.version } : {}), ...(key !== undefined ? { key } : {}) };
}
