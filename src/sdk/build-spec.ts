import { z } from 'zod';
import { DagValidationError } from '../core/errors.js';
import { parseDuration } from '../core/retry.js';
import {
  type CommandSpec,
  DEFAULT_MAX_MAP_LENGTH,
  DEFAULT_POOL,
  type DagSpec,
  type JsonSchema,
  type MappingSpec,
  type MapSource,
  type Resources,
  SPEC_VERSION,
  type TaskSpec,
  type ValueExpr,
} from '../core/spec.js';
import { validateDagSpec } from '../core/validate.js';
import { validateSchedule } from '../core/schedule-validate.js';
import { validateAssetUri } from '../core/assets.js';
import { referencedTasks } from '../core/values.js';
import { parseSchedule } from './schedule-option.js';
import { type CustomCheckOptionsInput, type SensorOptionsInput, validateCustomCheckOptions, validateSensorOptions } from '../sensors/options.js';
import { CALLBACK_OPTIONS, type CallbackEvent } from './user-code.js';
import type { DagOptions } from './dag.js';
import type { CacheOption, Duration, MapList, ResourcesInput, TaskDefaults } from './options.js';
import { zippedLists } from './options.js';
import { isRef, refExpr, toExpr } from './refs.js';
import { type Dependable, GroupHandle, type TaskDraft } from './task.js';
import { parseCpu, parseMemoryMb } from './quantity.js';
import { cacheOf } from './cache.js';
import { exposeSecretRefs } from './secret.js';

export interface GroupDraft {
  readonly groupId: string;
  readonly parent?: string;
  readonly defaults: TaskDefaults;
}

interface BuilderState {
  readonly tasks: readonly TaskDraft[];
  readonly groups: readonly GroupDraft[];
  readonly edges: readonly (readonly [Dependable, Dependable])[];
}

const FUNCTION_EXPR = { $expr: 'function' } as const;
const DEFAULT_SKIP_EXIT_CODE = 99;

/** Builds and validates the serialisable spec of a DAG from what the SDK recorded. */
export function buildDagSpec(dagId: string, options: DagOptions<z.ZodType | undefined>, state: BuilderState): DagSpec {
  const params = paramsOf(dagId, options.params);
  const explicit = explicitEdges(state);
  const tasks = state.tasks.map((draft) => taskSpec(draft, mergedDefaults(options.defaultArgs, state.groups, draft.groupId), explicit));
  const when = validateSchedule({
    dagId,
    schedule: parseSchedule(dagId, options.schedule, options.timezone),
    startDate: options.startDate,
    endDate: options.endDate,
    timezone: options.timezone,
  });
  const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
  const spec: DagSpec = {
    specVersion: SPEC_VERSION,
    dagId,
    description: options.description,
    docs: options.docs,
    tags: [...(options.tags ?? [])],
    schedule: when.schedule,
    timezone: when.timezone,
    startDate: iso(when.startDate),
    endDate: iso(when.endDate),
    catchup: options.catchup ?? false,
    maxActiveTasks: options.maxActiveTasks ?? 16,
    maxActiveRuns: options.maxActiveRuns ?? 16,
    dagrunTimeoutMs: options.dagrunTimeout === undefined ? undefined : parseDuration(options.dagrunTimeout),
    paramsSchema: params.schema,
    paramsDefaults: params.defaults,
    executor: options.executor,
    notify: options.notify,
    deadline: options.deadline ? { finishWithinMs: parseDuration(options.deadline.finishWithin), from: options.deadline.from ?? 'logical_date' } : undefined,
    tasks: withPriorityWeights(tasks, state.tasks),
    groups: state.groups.map((g) => ({ groupId: g.groupId, parent: g.parent })),
    ...callbacksOf(options as Record<string, unknown>, ['run_success', 'run_failed'], `DAG '${dagId}'`),
  };
  validateDagSpec(spec);
  return spec;
}

function paramsOf(dagId: string, schema: z.ZodType | undefined): { schema?: JsonSchema; defaults: Record<string, unknown> } {
  if (!schema) return { defaults: {} };
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const defaults: Record<string, unknown> = {};
  const shape = (schema as unknown as { shape?: Record<string, z.ZodType> }).shape;
  if (!shape) throw new DagValidationError('INVALID_PARAMS', `DAG '${dagId}': params must be a zod object, e.g. z.object({ epochs: z.number().default(10) })`, dagId);
  for (const [key, field] of Object.entries(shape)) {
    const parsed = field.safeParse(undefined);
    if (parsed.success && parsed.data !== undefined) defaults[key] = parsed.data;
  }
  return { schema: json, defaults };
}

/** DAG defaults, then each enclosing group's from the outermost in. */
export function mergedDefaults(dagDefaults: TaskDefaults | undefined, groups: readonly GroupDraft[], groupId: string | undefined): TaskDefaults {
  const chainOfGroups: GroupDraft[] = [];
  for (let g = groups.find((x) => x.groupId === groupId); g; g = groups.find((x) => x.groupId === g!.parent)) chainOfGroups.unshift(g);
  return Object.assign({}, dagDefaults, ...chainOfGroups.map((g) => g.defaults));
}

/** Explicit edges (after/before/chain, groups expanded) as downstream id → upstream ids. */
function explicitEdges(state: BuilderState): Map<string, Set<string>> {
  const inGroup = (groupId: string) => state.tasks.filter((t) => t.groupId === groupId || t.groupId?.startsWith(`${groupId}.`)).map((t) => t.taskId);
  const internal = new Map<string, Set<string>>(); // edges inside groups, to find roots and leaves
  const expand = (d: Dependable): string[] => (d instanceof GroupHandle ? inGroup(d.groupId) : [d.taskId]);
  const result = new Map<string, Set<string>>();
  const add = (up: string, down: string) => {
    if (!result.has(down)) result.set(down, new Set());
    result.get(down)!.add(up);
  };
  for (const [up, down] of state.edges) for (const u of expand(up)) for (const d of expand(down)) if (u !== d) internal.set(`${u}\0${d}`, new Set());
  for (const [up, down] of state.edges) {
    const ups = expand(up);
    const downs = expand(down);
    // A group upstream contributes its leaves; a group downstream, its roots.
    const leaves = up instanceof GroupHandle ? ups.filter((u) => !ups.some((o) => internal.has(`${u}\0${o}`))) : ups;
    const roots = down instanceof GroupHandle ? downs.filter((d) => !downs.some((o) => internal.has(`${o}\0${d}`))) : downs;
    for (const u of leaves) for (const d of roots) add(u, d);
  }
  return result;
}

function durationMs(d: Duration | undefined): number | undefined {
  return d === undefined ? undefined : parseDuration(d);
}

function resourcesOf(r: ResourcesInput | undefined): Resources {
  return {
    cpu: r?.cpu === undefined ? 1 : parseCpu(r.cpu),
    memoryMb: r?.memory === undefined ? 256 : parseMemoryMb(r.memory),
    gpu: r?.gpu ?? 0,
    ...(r?.extra ? { extra: { ...r.extra } } : {}),
  };
}

function resultSchemaOf(decl: unknown): JsonSchema | undefined {
  if (decl instanceof z.ZodType) return z.toJSONSchema(decl, { io: 'output', unrepresentable: 'any' }) as JsonSchema;
  return undefined;
}

function mapSource(key: string, list: MapList, taskId: string): MapSource {
  if (isRef(list)) {
    const expr = refExpr(list);
    if (expr.$expr !== 'result') {
      throw new DagValidationError('MAP_SOURCE_INVALID', `task '${taskId}': expand '${key}' must be a list or an upstream task's result`);
    }
    return { kind: 'result', taskId: expr.taskId, path: expr.path };
  }
  if (!Array.isArray(list)) {
    throw new DagValidationError(
      'MAP_SOURCE_NOT_LIST',
      `task '${taskId}': expand '${key}' must be a list or a ref to an upstream list, got ${list === null ? 'null' : typeof list}`,
    );
  }
  return { kind: 'literal', values: [...(exposeSecretRefs(list) as unknown[])] };
}

function mappingOf(o: Record<string, unknown>, taskId: string): MappingSpec | undefined {
  const partial = exposeSecretRefs(o.partial ?? {}) as Record<string, unknown>;
  if (o.expandKwargs !== undefined) {
    return { mode: 'kwargs', sources: { kwargs: mapSource('expandKwargs', o.expandKwargs as MapList, taskId) }, partial };
  }
  if (o.expand === undefined) return undefined;
  const zipped = zippedLists(o.expand);
  const lists = (zipped ?? o.expand) as Record<string, MapList>;
  for (const key of Object.keys(lists)) {
    if (key in partial) throw new DagValidationError('MAP_PARTIAL_CLASH', `task '${taskId}': '${key}' is both in partial and in expand; keep it in one`);
  }
  const sources = Object.fromEntries(Object.entries(lists).map(([k, v]) => [k, mapSource(k, v, taskId)]));
  return { mode: zipped ? 'zip' : 'product', sources, partial };
}

function commandOf(o: Record<string, unknown>): CommandSpec {
  return {
    command: toExpr(o.command),
    args: typeof o.args === 'function' ? FUNCTION_EXPR : ((o.args as unknown[] | undefined) ?? []).map(toExpr),
    env: typeof o.env === 'function' ? FUNCTION_EXPR : (toExpr(o.env ?? {}) as Record<string, ValueExpr>),
    cwd: o.cwd as string | undefined,
    shell: o.shell === true,
    image: o.image as string | undefined,
    pod: o.pod as Record<string, unknown> | undefined,
  };
}

function taskSpec(draft: TaskDraft, defaults: TaskDefaults, explicit: Map<string, Set<string>>): TaskSpec {
  const o = { ...defaults, ...draft.options } as Record<string, unknown> & TaskDefaults;
  const command = draft.kind === 'command' ? commandOf(o) : undefined;
  const sensor = draft.kind === 'sensor' ? sensorOf(o, draft.taskId) : undefined;
  const inputs = toExpr(o.inputs ?? {}) as Record<string, ValueExpr>;
  const mapping = mappingOf(o, draft.taskId);
  const upstream = new Set(explicit.get(draft.taskId) ?? []);
  const implicitFrom: ValueExpr[] = [inputs];
  if (command) implicitFrom.push(command.command, command.args as ValueExpr, command.env as ValueExpr);
  if (sensor) implicitFrom.push(sensor.check);
  for (const e of implicitFrom) for (const id of referencedTasks(e)) upstream.add(id);
  for (const src of Object.values(mapping?.sources ?? {})) if (src.kind === 'result') upstream.add(src.taskId);
  upstream.delete(draft.taskId);
  return {
    taskId: draft.taskId,
    kind: draft.kind,
    upstream: [...upstream].sort(),
    triggerRule: (o.triggerRule as TaskSpec['triggerRule']) ?? 'all_success',
    retries: o.retries ?? 0,
    retryDelayMs: durationMs(o.retryDelay) ?? 300_000,
    retryExponentialBackoff: o.retryExponentialBackoff ?? false,
    maxRetryDelayMs: durationMs(o.maxRetryDelay),
    executionTimeoutMs: durationMs(o.executionTimeout),
    pool: o.pool ?? DEFAULT_POOL,
    poolSlots: o.poolSlots ?? 1,
    priorityWeight: o.priorityWeight ?? 1,
    resources: resourcesOf(o.resources),
    maxActiveTisPerDag: o.maxActiveTisPerDag as number | undefined,
    branch: draft.branch,
    skipExitCode: draft.kind === 'command' ? ((o.skipExitCode as number | undefined) ?? DEFAULT_SKIP_EXIT_CODE) : undefined,
    command,
    sensor,
    inputs,
    resultSchema: resultSchemaOf(o.result),
    mapping,
    maxMapLength: (o.maxMapLength as number | undefined) ?? DEFAULT_MAX_MAP_LENGTH,
    group: draft.groupId,
    executor: o.executor,
    doc: o.doc as string | undefined,
    definedAt: draft.definedAt,
    notify: o.notify as TaskSpec['notify'],
    outlets: (o.outlets as string[] | undefined)?.map((u, i) => validateAssetUri(u, `task '${draft.taskId}': outlets[${i}]`)),
    startWithinMs: durationMs(o.startWithin as Duration | undefined),
    sweep: draft.sweep,
    sweepBestOf: draft.sweepBestOf,
    cache: cacheOf(o.cache as CacheOption | undefined, draft),
    ...callbacksOf(o, ['task_success', 'task_failed', 'task_retry', 'task_skipped'], `task '${draft.taskId}'`),
  };
}

/** A sensor's spec: a built-in check as data, or the marker of a custom check function. */
function sensorOf(o: Record<string, unknown>, taskId: string): NonNullable<TaskSpec['sensor']> {
  const options = validateSensorOptions(o as SensorOptionsInput, { taskId });
  if (typeof o.check !== 'function') return { check: toExpr(o.check), options };
  return { check: FUNCTION_EXPR, options: { ...options, ...validateCustomCheckOptions(o as CustomCheckOptionsInput, { taskId }) } };
}

/** Which events have a user function (`callbacks` in the spec); a value that is not a function is refused. */
function callbacksOf(o: Record<string, unknown>, events: readonly CallbackEvent[], where: string): { callbacks?: CallbackEvent[] } {
  const found = events.filter((event) => {
    const value = o[CALLBACK_OPTIONS[event]];
    if (value === undefined) return false;
    if (typeof value !== 'function') {
      throw new DagValidationError('CALLBACK_INVALID', `${where}: ${CALLBACK_OPTIONS[event]} must be a function, e.g. (ctx) => { ... }, not ${JSON.stringify(value)}`);
    }
    return true;
  });
  return found.length ? { callbacks: found } : {};
}

/**
 * Effective priority by each task's weight rule: its own weight plus that of everything
 * downstream (the default) or upstream, or just its own.
 */
function withPriorityWeights(tasks: TaskSpec[], drafts: readonly TaskDraft[]): TaskSpec[] {
  const byId = new Map(tasks.map((t) => [t.taskId, t]));
  const downstream = new Map<string, string[]>();
  for (const t of tasks) for (const u of t.upstream) downstream.set(u, [...(downstream.get(u) ?? []), t.taskId]);
  const reach = (start: string, next: (id: string) => readonly string[]): Set<string> => {
    const seen = new Set<string>();
    const stack = [...next(start)];
    while (stack.length) {
      const id = stack.pop()!;
      if (seen.has(id) || id === start) continue;
      seen.add(id);
      stack.push(...next(id));
    }
    return seen;
  };
  return tasks.map((t, i) => {
    const rule = (drafts[i].options.weightRule as string | undefined) ?? 'downstream';
    if (rule === 'absolute') return t;
    const others =
      rule === 'upstream' ? reach(t.taskId, (id) => byId.get(id)?.upstream ?? []) : reach(t.taskId, (id) => downstream.get(id) ?? []);
    let weight = t.priorityWeight;
    for (const id of others) weight += byId.get(id)?.priorityWeight ?? 0;
    return { ...t, priorityWeight: weight };
  });
}
