/**
 * Task caching. The cache key of a task instance is a hash of what its try would run with:
 * the DAG's version hash, the task id, the image, the task's resolved command, args, env and
 * inputs (upstream results included), its mapped item, the cache `version` and `key`. Secret
 * env refs count by name, never by value. Context values that differ from one try to the
 * next without changing the work (run id, try number, the try's own directories) count as
 * placeholders; the dates and the conf count by value. Args or env computed by a function
 * count through everything the function may read: params, conf, item and inputs.
 */
import crypto from 'node:crypto';
import type { ContextName, ExprNode, ValueExpr } from '../core/spec.js';
import { isExpr, resolveArgs, resolveValue } from '../core/values.js';
import type { TryKey } from '../executors/types.js';
import type { Store, TaskTryRow, TiChange } from '../store/store.js';
import type { HomeLayout } from './paths.js';
import type { RunModel, TiModel } from './run-model.js';
import { neededResults } from './launch.js';
import { resolveInputs, taskContextData, valueContext } from './task-context.js';

/** Context values that name this try rather than describe its work. */
const PER_TRY: readonly ContextName[] = ['runId', 'tryNumber', 'artifactsDir', 'runArtifactsDir', 'checkpointDir'];

const isFunction = (v: unknown): boolean => isExpr(v) && v.$expr === 'function';
/** Env values that are references to secrets: kept as written. */
const isSecretRef = (v: unknown): boolean => isExpr(v) && !['result', 'item', 'param', 'context', 'template', 'function'].includes((v as ExprNode).$expr);

/** The cache key of a task instance's next try; throws when an input cannot be resolved. */
export function cacheKey(run: RunModel, ti: TiModel, layout: HomeLayout): string {
  const spec = ti.task.spec;
  const key: TryKey = { dagId: run.dagId, runId: run.runId, taskId: spec.taskId, mapIndex: ti.mapIndex, tryNumber: 0 };
  const c = taskContextData(run.row, key, layout, ti.item, {});
  const vc = valueContext(c, (id) => run.results.get(id));
  for (const name of PER_TRY) vc.context[name] = `{${name}}`;
  const cmd = spec.command;
  const byFunction = cmd !== undefined && (isFunction(cmd.args) || isFunction(cmd.env));
  const parts = {
    dag: run.dagId,
    version: run.row.version_hash,
    task: spec.taskId,
    image: cmd?.image ?? null,
    cacheVersion: spec.cache?.version ?? null,
    cacheKey: spec.cache?.key === undefined ? null : resolveValue(spec.cache.key, vc),
    item: ti.item ?? null,
    inputs: resolveInputs(spec.inputs, vc),
    command: cmd ? resolveValue(cmd.command, vc) : null,
    args: cmd && !isFunction(cmd.args) ? resolveArgs(cmd.args as readonly ValueExpr[], vc) : null,
    env: cmd && !isFunction(cmd.env) ? resolveEnv(cmd.env as Readonly<Record<string, ValueExpr>>, vc) : null,
    cwd: cmd?.cwd ?? null,
    shell: cmd?.shell ?? null,
    // A function (inline body, args or env) may read any of these.
    reads: spec.kind === 'inline' || byFunction ? { params: c.params, conf: c.conf } : null,
  };
  return crypto.createHash('sha256').update(stableJson(parts)).digest('hex');
}

function resolveEnv(env: Readonly<Record<string, ValueExpr>>, vc: Parameters<typeof resolveValue>[1]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, isSecretRef(v) ? v : resolveValue(v, vc)]));
}

/** JSON with object keys sorted, so equal values give equal text. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

/** What a cached task instance records about the try whose result it reused. */
export function cachedFrom(source: TaskTryRow, layout: HomeLayout, cacheKeyText: string) {
  const key: TryKey = { dagId: source.dag_id, runId: source.run_id, taskId: source.task_id, mapIndex: source.map_index, tryNumber: source.try_number };
  return {
    dag_id: key.dagId,
    run_id: key.runId,
    task_id: key.taskId,
    map_index: key.mapIndex,
    try_number: key.tryNumber,
    artifacts_uri: `file://${layout.artifactsDir(key)}`,
    cache_key: cacheKeyText,
  };
}

/** What the scheduler lends the cache: its clock, upstream results, and the instance's guarded write. */
export interface CacheHooks {
  readonly now: number;
  ensureResults(taskIds: readonly string[]): Promise<void>;
  /** Moves the instance from scheduled to success with these fields. */
  succeed(fields: TiChange['set']): Promise<void>;
  /** Evaluates what the success lets run next. */
  propagate(): Promise<void>;
}

/**
 * A cached task whose key matches an earlier successful try takes that try's result and does
 * not run; otherwise its key goes on the try it is about to get.
 */
export async function fromCache(tx: Store, ti: TiModel, layout: HomeLayout, hooks: CacheHooks): Promise<{ hit: true } | { hit: false; key?: string }> {
  const run = ti.task.run;
  await hooks.ensureResults(neededResults(ti));
  let key: string;
  try {
    key = cacheKey(run, ti, layout);
  } catch {
    return { hit: false }; // an input that cannot be resolved: the launch says which
  }
  const source = await tx.findCachedTry(key);
  if (!source) return { hit: false, key };
  const from = cachedFrom(source, layout, key);
  const reason = `cached: reused the result of ${from.task_id}[${from.map_index}] try ${from.try_number} of run ${from.run_id}`;
  await hooks.succeed({ start_date: hooks.now, end_date: hooks.now, result: source.result ?? 'null', failure_class: null, reason, cached_from: JSON.stringify(from) });
  if (ti.task.mapped) run.results.delete(ti.task.spec.taskId);
  else run.results.set(ti.task.spec.taskId, source.result === null ? null : JSON.parse(source.result));
  run.markDownstreamDirty(ti.task.spec.taskId);
  await hooks.propagate();
  return { hit: true };
}
