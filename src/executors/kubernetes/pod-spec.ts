/**
 * Builds the pod of one try. Pure: no I/O, no clock. Layers, lowest first:
 *
 *   1. the pod template (the task's `template`, else the executor's `podTemplate`);
 *   2. the machine preset (`machine`, by name from the executor's `machines`);
 *   3. the task: its `resources`, image, command, args, env, and its `pod` options;
 *   4. the trigger's overrides (`pod.triggerOverrides`, set by the scheduler from the run).
 *
 * Scalars (image, serviceAccountName, affinity...) are replaced by a higher layer. Maps
 * (labels, annotations, nodeSelector) merge by key. Named lists merge by name (env, volumes,
 * containers, imagePullSecrets; volumeMounts by mountPath); tolerations and envFrom are
 * appended without duplicates. Requests and limits merge per resource name; a preset only
 * raises the task's figures (it is a machine shape), raw `resources` in task or trigger
 * options replace them. Last of all, Trainyard's own fields win: the name, namespace,
 * labels `trainyard.dev/*`, restartPolicy Never, the termination message path and the
 * contract's identity env vars.
 */
import type { V1Container, V1EnvVar, V1LocalObjectReference, V1Pod, V1ResourceRequirements, V1Toleration } from '@kubernetes/client-node';
import { TrainyardError } from '../../core/errors.js';
import { parseDuration } from '../../core/retry.js';
import type { Resources } from '../../core/spec.js';
import { toSecretKeyRef } from '../../secrets/resolver.js';
import type { CommandLaunch } from '../types.js';
import { podName, tryAnnotations, tryLabels } from './naming.js';
import type { CleanupPolicy, MachinePreset, PodLayer, TaskPodOptions } from './options.js';
import { cpuQuantity, memoryQuantity, quantityValue } from './quantity.js';

export const GPU_RESOURCE = 'nvidia.com/gpu';

/** A pod option that cannot be turned into a pod; the try fails with class `config`. */
export class PodSpecError extends TrainyardError {
  constructor(message: string) {
    super('POD_SPEC', message);
    this.name = 'PodSpecError';
  }
}

export interface PodBuildDefaults {
  readonly executorId: string;
  readonly namespace: string;
  readonly image?: string;
  /** Main container name when the template names none. */
  readonly containerName?: string;
  readonly resultPath: string;
  readonly cpuLimits: boolean;
  readonly localOnlyEnv: readonly string[];
  readonly machines: Readonly<Record<string, MachinePreset>>;
  readonly unscheduledTimeoutMs: number;
  readonly startupTimeoutMs: number;
  readonly onFinish: CleanupPolicy;
}

export interface PodBuildInput {
  readonly req: CommandLaunch;
  /** The base pod, already loaded (a YAML template file is read by the executor). */
  readonly template?: V1Pod;
  readonly defaults: PodBuildDefaults;
  /** Values of the request's `secret(name)` env, read from the backends by the executor. */
  readonly secretValues?: Readonly<Record<string, string>>;
}

/** The pod, plus the settings the executor applies around it. */
export interface BuiltPod {
  readonly pod: V1Pod;
  readonly name: string;
  readonly namespace: string;
  readonly containerName: string;
  readonly unscheduledTimeoutMs: number;
  readonly startupTimeoutMs: number;
  readonly onFinish: CleanupPolicy;
}

const LAYER_KEYS: readonly (keyof PodLayer)[] = [
  'image',
  'imagePullPolicy',
  'imagePullSecrets',
  'serviceAccountName',
  'priorityClassName',
  'nodeSelector',
  'affinity',
  'tolerations',
  'env',
  'envFrom',
  'volumes',
  'volumeMounts',
  'resources',
  'securityContext',
  'containerSecurityContext',
  'labels',
  'annotations',
  'initContainers',
  'sidecars',
  'activeDeadlineSeconds',
  'terminationGracePeriodSeconds',
  'unscheduledTimeout',
  'startupTimeout',
  'onFinish',
];
const TASK_KEYS = new Set<string>([...LAYER_KEYS, 'namespace', 'machine', 'template', 'triggerOverrides']);
const TRIGGER_KEYS = new Set<string>([...LAYER_KEYS, 'machine']);
const PRESET_KEYS = new Set<string>(LAYER_KEYS);

/** Identity env vars of the contract; no layer may change them. */
const IDENTITY_ENV = ['TRAINYARD_DAG_ID', 'TRAINYARD_RUN_ID', 'TRAINYARD_TASK_ID', 'TRAINYARD_MAP_INDEX', 'TRAINYARD_TRY_NUMBER'];

const clone = <T>(v: T): T => (v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T));

function checkKeys(obj: Readonly<Record<string, unknown>>, allowed: Set<string>, where: string): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.has(k)) {
      throw new PodSpecError(`unknown key ${JSON.stringify(k)} in ${where}; known keys: ${[...allowed].sort().join(', ')}`);
    }
  }
}

/** The task's pod options, checked for unknown keys. */
export function taskPodOptions(pod: Readonly<Record<string, unknown>> | undefined): TaskPodOptions {
  if (pod === undefined || pod === null) return {};
  if (typeof pod !== 'object' || Array.isArray(pod)) throw new PodSpecError('the task\'s pod options must be an object');
  checkKeys(pod, TASK_KEYS, "the task's pod options");
  const o = pod as TaskPodOptions;
  if (o.triggerOverrides !== undefined) checkKeys(o.triggerOverrides as Record<string, unknown>, TRIGGER_KEYS, 'the trigger\'s pod overrides');
  return o;
}

/** Checks a machine preset (used when the executor starts, so a typo fails early). */
export function checkMachinePreset(name: string, preset: MachinePreset): void {
  checkKeys(preset as Record<string, unknown>, PRESET_KEYS, `machine preset ${JSON.stringify(name)}`);
}

function durationOption(v: number | string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  try {
    return parseDuration(v);
  } catch (err) {
    throw new PodSpecError(`${what}: ${(err as Error).message}`);
  }
}

/** Requests and limits from the task's Resources (cpu in cores, memory in MiB, gpus). */
export function resourcesToRequirements(r: Resources, cpuLimits: boolean): V1ResourceRequirements {
  const requests: Record<string, string> = {};
  const limits: Record<string, string> = {};
  if (r.cpu > 0) {
    requests.cpu = cpuQuantity(r.cpu);
    if (cpuLimits) limits.cpu = requests.cpu;
  }
  if (r.memoryMb > 0) {
    requests.memory = memoryQuantity(r.memoryMb);
    limits.memory = requests.memory;
  }
  if (r.gpu > 0) {
    requests[GPU_RESOURCE] = String(r.gpu);
    limits[GPU_RESOURCE] = String(r.gpu);
  }
  for (const [name, q] of Object.entries(r.extra ?? {})) {
    requests[name] = q;
    limits[name] = q;
  }
  return { requests, limits };
}

type QuantityMap = Record<string, string>;
const asQuantityMap = (m: unknown): QuantityMap => Object.fromEntries(Object.entries((m ?? {}) as Record<string, unknown>).map(([k, v]) => [k, String(v)]));

/** Per resource name: `over` replaces `base`. */
function replaceResources(base: V1ResourceRequirements | undefined, over: V1ResourceRequirements | undefined): V1ResourceRequirements {
  const out: V1ResourceRequirements = { ...clone(base ?? {}) };
  const requests = { ...asQuantityMap(base?.requests), ...asQuantityMap(over?.requests) };
  const limits = { ...asQuantityMap(base?.limits), ...asQuantityMap(over?.limits) };
  if (Object.keys(requests).length > 0) out.requests = requests;
  if (Object.keys(limits).length > 0) out.limits = limits;
  return out;
}

/** Per resource name: the larger of `base` and `floor` (a preset raises, never lowers). */
function raiseResources(base: V1ResourceRequirements | undefined, floor: V1ResourceRequirements | undefined): V1ResourceRequirements {
  const raise = (b: QuantityMap, f: QuantityMap): QuantityMap => {
    const out = { ...b };
    for (const [name, q] of Object.entries(f)) {
      const mine = out[name];
      if (mine === undefined || !(quantityValue(mine) >= quantityValue(q))) out[name] = q;
    }
    return out;
  };
  const requests = raise(asQuantityMap(base?.requests), asQuantityMap(floor?.requests));
  const limits = raise(asQuantityMap(base?.limits), asQuantityMap(floor?.limits));
  // A limit below its request is invalid; raising a request raises the matching limit too.
  for (const [name, q] of Object.entries(requests)) {
    if (limits[name] !== undefined && quantityValue(limits[name]) < quantityValue(q)) limits[name] = q;
  }
  const out: V1ResourceRequirements = {};
  if (Object.keys(requests).length > 0) out.requests = requests;
  if (Object.keys(limits).length > 0) out.limits = limits;
  return out;
}

/** Merges named items: a later item with the same key replaces the earlier one in place. */
function mergeByKey<T>(base: readonly T[] | undefined, over: readonly T[] | undefined, keyOf: (t: T) => string): T[] | undefined {
  if (!over || over.length === 0) return base ? [...base] : undefined;
  const out = base ? [...base] : [];
  for (const item of over) {
    const k = keyOf(item);
    const at = out.findIndex((b) => keyOf(b) === k);
    if (at >= 0) out[at] = clone(item);
    else out.push(clone(item));
  }
  return out;
}

const byName = (t: { name?: string }) => t.name ?? '';
const byJson = (t: unknown) => JSON.stringify(t);
const secretRef = (s: string | V1LocalObjectReference): V1LocalObjectReference => (typeof s === 'string' ? { name: s } : { ...s });

function applyLayer(pod: V1Pod, main: V1Container, layer: PodLayer, where: string, raiseOnly: boolean): void {
  const spec = pod.spec!;
  const meta = pod.metadata!;
  if (layer.image !== undefined) main.image = layer.image;
  if (layer.imagePullPolicy !== undefined) main.imagePullPolicy = layer.imagePullPolicy;
  if (layer.imagePullSecrets) spec.imagePullSecrets = mergeByKey(spec.imagePullSecrets, layer.imagePullSecrets.map(secretRef), byName);
  if (layer.serviceAccountName !== undefined) spec.serviceAccountName = layer.serviceAccountName;
  if (layer.priorityClassName !== undefined) spec.priorityClassName = layer.priorityClassName;
  if (layer.nodeSelector) spec.nodeSelector = { ...spec.nodeSelector, ...layer.nodeSelector };
  if (layer.affinity !== undefined) spec.affinity = clone(layer.affinity);
  if (layer.tolerations) spec.tolerations = mergeByKey<V1Toleration>(spec.tolerations, layer.tolerations, byJson);
  if (layer.env) main.env = mergeByKey(main.env, layer.env, byName);
  if (layer.envFrom) main.envFrom = mergeByKey(main.envFrom, layer.envFrom, byJson);
  if (layer.volumes) spec.volumes = mergeByKey(spec.volumes, layer.volumes, byName);
  if (layer.volumeMounts) main.volumeMounts = mergeByKey(main.volumeMounts, layer.volumeMounts, (m) => m.mountPath);
  if (layer.resources) main.resources = raiseOnly ? raiseResources(main.resources, layer.resources) : replaceResources(main.resources, layer.resources);
  if (layer.securityContext) spec.securityContext = { ...spec.securityContext, ...clone(layer.securityContext) };
  if (layer.containerSecurityContext) main.securityContext = { ...main.securityContext, ...clone(layer.containerSecurityContext) };
  if (layer.labels) meta.labels = { ...meta.labels, ...layer.labels };
  if (layer.annotations) meta.annotations = { ...meta.annotations, ...layer.annotations };
  if (layer.initContainers) spec.initContainers = mergeByKey(spec.initContainers, layer.initContainers, byName);
  if (layer.sidecars) {
    for (const s of layer.sidecars) {
      if (s.name === main.name) throw new PodSpecError(`${where}: sidecar ${JSON.stringify(s.name)} has the main container's name; rename it`);
    }
    spec.containers = mergeByKey(spec.containers, layer.sidecars, byName) ?? spec.containers;
  }
  if (layer.activeDeadlineSeconds !== undefined) spec.activeDeadlineSeconds = layer.activeDeadlineSeconds;
  if (layer.terminationGracePeriodSeconds !== undefined) spec.terminationGracePeriodSeconds = layer.terminationGracePeriodSeconds;
}

/** The env of the contract as the pod sees it: local paths dropped, the result path replaced. */
function contractEnv(req: CommandLaunch, d: PodBuildDefaults, secretValues: Readonly<Record<string, string>>): V1EnvVar[] {
  const drop = new Set(d.localOnlyEnv);
  const env: V1EnvVar[] = [];
  for (const [name, value] of Object.entries(req.env)) {
    if (drop.has(name) || name === 'TRAINYARD_RESULT_PATH') continue;
    env.push({ name, value });
  }
  env.push(...secretEnv(req, secretValues));
  env.push({ name: 'TRAINYARD_RESULT_PATH', value: d.resultPath });
  return env;
}

/** Secret env: a Kubernetes Secret's key by reference (the value never enters the pod spec); a backend secret by its value. */
function secretEnv(req: CommandLaunch, values: Readonly<Record<string, string>>): V1EnvVar[] {
  return Object.entries(req.secretEnv ?? {}).map(([name, ref]) => {
    if (ref.$expr === 'secretRef') return toSecretKeyRef(name, ref);
    const value = values[name];
    if (value === undefined) throw new PodSpecError(`env ${name}: the value of secret '${ref.name}' was not resolved before building the pod`);
    return { name, value };
  });
}

/**
 * Builds the pod of a try. Throws PodSpecError for options that cannot make a pod (unknown
 * keys, an unknown machine, no image).
 */
export function buildPod(input: PodBuildInput): BuiltPod {
  const { req, defaults: d } = input;
  const task = taskPodOptions(req.pod);
  const trigger = task.triggerOverrides ?? {};
  const machineName = trigger.machine ?? task.machine;
  const preset = machineName === undefined ? undefined : machinePreset(machineName, d.machines);

  const pod: V1Pod = clone(input.template ?? {}) as V1Pod;
  pod.apiVersion = 'v1';
  pod.kind = 'Pod';
  pod.metadata = { ...(pod.metadata ?? {}) };
  delete pod.metadata.resourceVersion;
  delete pod.metadata.uid;
  delete pod.metadata.generateName;
  delete pod.metadata.creationTimestamp;
  delete pod.status;
  pod.spec = { ...(pod.spec ?? { containers: [] }) };
  pod.spec.containers = [...(pod.spec.containers ?? [])];
  delete pod.spec.nodeName;

  const mainName = d.containerName ?? pod.spec.containers[0]?.name ?? 'task';
  let main = pod.spec.containers.find((c) => c.name === mainName);
  if (!main) {
    main = { name: mainName };
    pod.spec.containers.unshift(main);
  }

  // 2. machine preset (resources only raise the task's figures, so apply them after the task's)
  const taskResources = replaceResources(main.resources, resourcesToRequirements(req.resources, d.cpuLimits));
  main.resources = taskResources;
  if (preset) applyLayer(pod, main, preset, `machine preset ${JSON.stringify(machineName)}`, true);

  // 3. the task
  if (req.image !== undefined && req.image !== '') main.image = req.image;
  if (req.command !== '') {
    if (req.shell) {
      main.command = ['/bin/sh', '-c', req.command, 'sh'];
      main.args = [...req.args];
    } else {
      main.command = [req.command];
      main.args = [...req.args];
    }
  }
  main.env = mergeByKey(main.env, contractEnv(req, d, input.secretValues ?? {}), byName);
  applyLayer(pod, main, task, "the task's pod options", false);

  // 4. the trigger
  applyLayer(pod, main, trigger, "the trigger's pod overrides", false);

  // Trainyard's own fields.
  if (!main.image) main.image = d.image;
  if (!main.image) {
    throw new PodSpecError(
      "no container image: set the task's image, an image in its pod options or machine preset, or the executor's defaultImage",
    );
  }
  const name = podName(req.key, d.executorId);
  const namespace = task.namespace ?? d.namespace;
  pod.metadata.name = name;
  pod.metadata.namespace = namespace;
  pod.metadata.labels = { ...pod.metadata.labels, ...tryLabels(req.key, d.executorId) };
  pod.metadata.annotations = { ...pod.metadata.annotations, ...tryAnnotations(req.key) };
  pod.spec.restartPolicy = 'Never';
  if (pod.spec.terminationGracePeriodSeconds === undefined) pod.spec.terminationGracePeriodSeconds = Math.ceil(req.killGraceMs / 1000);
  main.terminationMessagePath = d.resultPath;
  // On a failed exit with no result written, the kubelet puts the log's tail in the message.
  main.terminationMessagePolicy = 'FallbackToLogsOnError';
  const identity = new Map(IDENTITY_ENV.map((k) => [k, req.env[k]] as const).filter(([, v]) => v !== undefined) as [string, string][]);
  main.env = mergeByKey(main.env, [...[...identity].map(([k, v]) => ({ name: k, value: v })), { name: 'TRAINYARD_RESULT_PATH', value: d.resultPath }], byName);

  const timeoutOf = (key: 'unscheduledTimeout' | 'startupTimeout', fallback: number) =>
    durationOption(trigger[key], `the trigger's ${key}`) ??
    durationOption(task[key], `the task's ${key}`) ??
    durationOption(preset?.[key], `the machine preset's ${key}`) ??
    fallback;
  return {
    pod,
    name,
    namespace,
    containerName: mainName,
    unscheduledTimeoutMs: timeoutOf('unscheduledTimeout', d.unscheduledTimeoutMs),
    startupTimeoutMs: timeoutOf('startupTimeout', d.startupTimeoutMs),
    onFinish: trigger.onFinish ?? task.onFinish ?? preset?.onFinish ?? d.onFinish,
  };
}

/** A machine preset by name; an unknown name is a PodSpecError that lists the known ones. */
export function machinePreset(name: string, machines: Readonly<Record<string, MachinePreset>>): MachinePreset {
  const preset = machines[name];
  if (preset) return preset;
  const known = Object.keys(machines);
  throw new PodSpecError(
    `unknown machine preset ${JSON.stringify(name)}; ${known.length > 0 ? `the executor knows ${known.map((k) => JSON.stringify(k)).join(', ')}` : 'the executor has no machine presets configured'}`,
  );
}

/** GPUs in one container's resources: the limit, else the request. */
function requirementGpus(r: V1ResourceRequirements | undefined): number {
  const q = (r?.limits as QuantityMap | undefined)?.[GPU_RESOURCE] ?? (r?.requests as QuantityMap | undefined)?.[GPU_RESOURCE];
  return q === undefined ? 0 : quantityValue(q) || 0;
}

/** The GPUs a try's pod asks for (for a GPU quota), from its containers' limits or requests. */
export function podGpus(pod: V1Pod): number {
  return (pod.spec?.containers ?? []).reduce((n, c) => n + requirementGpus(c.resources), 0);
}

/**
 * The GPUs the main container of a try will ask for, without building the pod: the task's
 * `resources`, raised by its machine preset, replaced by raw `resources` in its pod options
 * and then the trigger's (the order buildPod merges them in). A pod template's figures are
 * not seen. Throws PodSpecError for pod options buildPod would refuse.
 */
export function requestedGpus(resources: Resources, podOptions: Readonly<Record<string, unknown>> | undefined, machines: Readonly<Record<string, MachinePreset>>): number {
  const task = taskPodOptions(podOptions);
  const trigger = task.triggerOverrides ?? {};
  const machineName = trigger.machine ?? task.machine;
  let r = resourcesToRequirements(resources, false);
  if (machineName !== undefined) r = raiseResources(r, machinePreset(machineName, machines).resources);
  r = replaceResources(replaceResources(r, task.resources), trigger.resources);
  return requirementGpus(r);
}
