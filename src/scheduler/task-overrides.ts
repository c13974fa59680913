/**
 * Trigger-level overrides of a task's machine preset and resources. A run's conf may hold
 * them under the reserved key `trainyard.overrides`, by task id:
 *
 *     { "lr": 0.1, "trainyard.overrides": { "train": { "machine": "gpu-a100-8x", "resources": { "gpu": 8, "memory": "64Gi" } } } }
 *
 * The key is not a param: it is taken out of the conf before the params are validated. The
 * overrides are checked when the run is triggered (unknown task, unknown preset, a bad
 * figure: nothing is created), and applied to every try of the task in that run: the
 * resources replace the task's figures one by one, the machine replaces its preset.
 */
import { TrainyardError } from '../core/errors.js';
import type { DagSpec, Resources, TaskSpec } from '../core/spec.js';
import { parseCpu, parseMemoryMb } from '../sdk/quantity.js';
import type { RunModel, TiModel } from './run-model.js';

export const OVERRIDES_KEY = 'trainyard.overrides';

/** One task's overrides, as applied. */
export interface TaskOverride {
  readonly machine?: string;
  readonly resources?: Partial<Pick<Resources, 'cpu' | 'memoryMb' | 'gpu'>>;
}

export type RunOverrides = Readonly<Record<string, TaskOverride>>;

const OVERRIDE_KEYS = ['machine', 'resources'];
const RESOURCE_KEYS = ['cpu', 'memory', 'gpu'];

const fail = (message: string): never => {
  throw new TrainyardError('INVALID_CONF', `${OVERRIDES_KEY}: ${message}`);
};
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const quoted = (names: Iterable<string>) => [...names].map((n) => `'${n}'`).join(', ');

function unknownKeys(obj: Record<string, unknown>, allowed: readonly string[], where: string): void {
  const extra = Object.keys(obj).filter((k) => !allowed.includes(k));
  if (extra.length) fail(`${where}: unknown key ${quoted(extra)}; known keys: ${quoted(allowed)}`);
}

function parseResources(raw: unknown, where: string): TaskOverride['resources'] {
  if (!isObject(raw)) return fail(`${where}.resources must be an object such as {"gpu": 2, "memory": "16Gi"}`);
  unknownKeys(raw, RESOURCE_KEYS, `${where}.resources`);
  const out: { cpu?: number; memoryMb?: number; gpu?: number } = {};
  try {
    if (raw.cpu !== undefined) out.cpu = parseCpu(raw.cpu as number | string);
    if (raw.memory !== undefined) out.memoryMb = parseMemoryMb(raw.memory as number | string);
  } catch (e) {
    fail(`${where}.resources: ${(e as Error).message}`);
  }
  if (out.cpu !== undefined && !(out.cpu > 0)) fail(`${where}.resources.cpu must be more than 0 cores`);
  if (out.memoryMb !== undefined && !(out.memoryMb > 0)) fail(`${where}.resources.memory must be more than 0`);
  if (raw.gpu !== undefined) {
    if (typeof raw.gpu !== 'number' || !Number.isInteger(raw.gpu) || raw.gpu < 0) fail(`${where}.resources.gpu must be a whole number of GPUs, 0 or more (got ${JSON.stringify(raw.gpu)})`);
    out.gpu = raw.gpu as number;
  }
  return out;
}

/**
 * The overrides of a conf's `trainyard.overrides`, checked against the DAG's tasks and the
 * machine presets known to this process (`machines`; undefined: presets are checked when
 * the pod is built). Throws INVALID_CONF naming what is wrong and what would be right.
 */
export function parseOverrides(spec: DagSpec, raw: unknown, machines?: readonly string[]): RunOverrides {
  if (!isObject(raw)) return fail('must be an object of task ids, e.g. {"train": {"machine": "gpu-a100-8x"}}');
  const tasks = new Set(spec.tasks.map((t) => t.taskId));
  const out: Record<string, TaskOverride> = {};
  for (const [taskId, o] of Object.entries(raw)) {
    if (!tasks.has(taskId)) fail(`DAG '${spec.dagId}' has no task '${taskId}'; its tasks are ${quoted(tasks)}`);
    const where = `task '${taskId}'`;
    if (!isObject(o)) return fail(`${where} must be an object with "machine" and/or "resources"`);
    unknownKeys(o, OVERRIDE_KEYS, where);
    const entry: { machine?: string; resources?: TaskOverride['resources'] } = {};
    if (o.machine !== undefined) {
      if (typeof o.machine !== 'string' || o.machine === '') fail(`${where}.machine must be the name of a machine preset`);
      const machine = o.machine as string;
      if (machines && !machines.includes(machine)) {
        fail(
          `${where}: unknown machine preset '${machine}'; ` +
            (machines.length ? `the known presets are ${quoted(machines)}` : 'no machine presets are configured (TRAINYARD_K8S_MACHINES)'),
        );
      }
      entry.machine = machine;
    }
    if (o.resources !== undefined) entry.resources = parseResources(o.resources, where);
    out[taskId] = entry;
  }
  return out;
}

/** The conf without the overrides key: what the params are made of. */
export function userConf(conf: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const { [OVERRIDES_KEY]: _overrides, ...rest } = conf;
  return rest;
}

const cache = new WeakMap<RunModel, { conf: string; overrides: RunOverrides }>();

/** The overrides of a run (checked when it was triggered; a conf that no longer parses gives none). */
export function runOverrides(run: RunModel): RunOverrides {
  const conf = run.row.conf;
  const hit = cache.get(run);
  if (hit && hit.conf === conf) return hit.overrides;
  let overrides: RunOverrides = {};
  try {
    const raw = (JSON.parse(conf) as Record<string, unknown>)[OVERRIDES_KEY];
    if (raw !== undefined) overrides = parseOverrides(run.spec, raw);
  } catch {
    overrides = {};
  }
  cache.set(run, { conf, overrides });
  return overrides;
}

/** A try's resources: the task's, then the run's overrides, then the instance's own (e.g. memory after an OOM). */
export function effectiveResources(ti: TiModel): Resources {
  const spec = ti.task.spec;
  const run = runOverrides(ti.task.run)[spec.taskId]?.resources;
  return { ...spec.resources, ...(run ?? {}), ...((ti.resourceOverrides ?? {}) as Partial<Resources>) };
}

/** A task's pod options in a run: the run's machine override becomes the trigger layer's `machine`. */
export function effectivePod(run: RunModel, spec: TaskSpec): Readonly<Record<string, unknown>> | undefined {
  const pod = spec.command?.pod;
  const machine = runOverrides(run)[spec.taskId]?.machine;
  if (machine === undefined) return pod;
  const trigger = (pod?.triggerOverrides ?? {}) as Record<string, unknown>;
  return { ...(pod ?? {}), triggerOverrides: { ...trigger, machine } };
}
