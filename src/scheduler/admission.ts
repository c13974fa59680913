import type { DagSpec, Resources } from '../core/spec.js';
import type { Executor } from '../executors/types.js';
import type { TiModel } from './run-model.js';
import { effectivePod, effectiveResources } from './task-overrides.js';

/** What a pool allows at once: slots, and GPUs when it has a GPU quota (null: none). */
export interface PoolLimits {
  readonly slots: number;
  readonly gpus: number | null;
}

/**
 * The GPUs a try of this instance asks for: its resources' `gpu` (after the run's
 * overrides), or what the executor makes of its pod options (a machine preset's
 * nvidia.com/gpu).
 */
export function tiGpus(ti: TiModel, executor: Executor | undefined): number {
  const resources = effectiveResources(ti);
  if (!executor?.gpuRequest) return resources.gpu;
  return executor.gpuRequest({ resources, pod: effectivePod(ti.task.run, ti.task.spec) });
}

/** Slots in use by live tries: per pool, per DAG, per task; and GPUs per pool. */
export class AdmissionCounters {
  readonly poolSlots = new Map<string, number>();
  readonly poolGpus = new Map<string, number>();
  readonly byDag = new Map<string, number>();
  readonly byTask = new Map<string, number>();
  /** The GPUs each live instance was counted with, so it gives back what it took. */
  private readonly held = new WeakMap<TiModel, number>();

  /** `gpusOf` says how many GPUs an instance asks for (see tiGpus). */
  constructor(private readonly gpusOf: (ti: TiModel) => number = (ti) => effectiveResources(ti).gpu) {}

  /** Counters seeded from figures read elsewhere (the store). */
  static from(
    usage: { readonly pools: ReadonlyMap<string, number>; readonly dags: ReadonlyMap<string, number>; readonly gpus?: ReadonlyMap<string, number> },
    tasks: ReadonlyMap<string, number>,
    gpusOf?: (ti: TiModel) => number,
  ): AdmissionCounters {
    const c = new AdmissionCounters(gpusOf);
    for (const [k, v] of usage.pools) c.poolSlots.set(k, v);
    for (const [k, v] of usage.gpus ?? []) c.poolGpus.set(k, v);
    for (const [k, v] of usage.dags) c.byDag.set(k, v);
    for (const [k, v] of tasks) c.byTask.set(k, v);
    return c;
  }

  add(ti: TiModel): void {
    const gpus = this.gpusOf(ti);
    this.held.set(ti, gpus);
    this.change(ti, 1, gpus);
  }

  remove(ti: TiModel): void {
    const gpus = this.held.get(ti) ?? this.gpusOf(ti);
    this.held.delete(ti);
    this.change(ti, -1, gpus);
  }

  private change(ti: TiModel, by: 1 | -1, gpus: number): void {
    const spec = ti.task.spec;
    const dagId = ti.task.run.dagId;
    bump(this.poolSlots, spec.pool, by * spec.poolSlots);
    if (gpus > 0) bump(this.poolGpus, spec.pool, by * gpus);
    bump(this.byDag, dagId, by);
    bump(this.byTask, `${dagId}\u0000${spec.taskId}`, by);
  }
}

function bump(m: Map<string, number>, key: string, by: number): void {
  const n = (m.get(key) ?? 0) + by;
  if (n <= 0) m.delete(key);
  else m.set(key, n);
}

/** Resources of several tries together. */
export function addResources(a: Resources, b: Resources): Resources {
  return { cpu: a.cpu + b.cpu, memoryMb: a.memoryMb + b.memoryMb, gpu: a.gpu + b.gpu };
}

export const NO_RESOURCES: Resources = { cpu: 0, memoryMb: 0, gpu: 0 };

/**
 * Why a scheduled task instance cannot start now, in plain words; null when it can.
 * `admitted` is what this admission pass already gave the executor but has not launched yet.
 */
export function blockReason(
  ti: TiModel,
  dag: DagSpec,
  pools: ReadonlyMap<string, PoolLimits>,
  c: AdmissionCounters,
  executor: Executor,
  admitted: Resources = NO_RESOURCES,
): string | null {
  const spec = ti.task.spec;
  const pool = pools.get(spec.pool);
  if (pool === undefined) return `pool '${spec.pool}' does not exist; create it (POST /api/v1/pools) or use another pool`;
  const used = c.poolSlots.get(spec.pool) ?? 0;
  if (used + spec.poolSlots > pool.slots) return `waiting for pool '${spec.pool}': ${used} of ${pool.slots} slots in use, this task needs ${spec.poolSlots}`;
  const gpuWait = poolGpuReason(ti, spec.pool, pool, c, executor);
  if (gpuWait) return gpuWait;
  const dagActive = c.byDag.get(dag.dagId) ?? 0;
  if (dagActive >= dag.maxActiveTasks) return `waiting: DAG '${dag.dagId}' already runs ${dagActive} tasks (maxActiveTasks ${dag.maxActiveTasks})`;
  if (spec.maxActiveTisPerDag !== undefined) {
    const taskActive = c.byTask.get(`${dag.dagId}\u0000${spec.taskId}`) ?? 0;
    if (taskActive >= spec.maxActiveTisPerDag) return `waiting: ${taskActive} instances of '${spec.taskId}' already run (maxActiveTisPerDag ${spec.maxActiveTisPerDag})`;
  }
  const r = effectiveResources(ti);
  if (!executor.hasCapacity(addResources(admitted, r))) {
    const cap = executor.capacity();
    return (
      `waiting for resources on executor '${executor.name}': needs ${r.cpu} CPU, ${r.memoryMb} MiB, ${r.gpu} GPU; ` +
      `free ${round(cap.cpu.total - cap.cpu.used)} CPU, ${round(cap.memoryMb.total - cap.memoryMb.used)} MiB, ${cap.gpu.total - cap.gpu.used} GPU`
    );
  }
  return null;
}

/** Why the pool's GPU quota holds the instance back, or null. */
function poolGpuReason(ti: TiModel, name: string, pool: PoolLimits, c: AdmissionCounters, executor: Executor): string | null {
  if (pool.gpus === null) return null;
  const needs = tiGpus(ti, executor);
  if (needs === 0) return null;
  if (needs > pool.gpus) {
    return `waiting for pool '${name}': this task needs ${needs} GPUs, more than the pool's GPU quota of ${pool.gpus}; raise the quota (PATCH /api/v1/pools/${name}) or ask for fewer`;
  }
  const used = c.poolGpus.get(name) ?? 0;
  if (used + needs > pool.gpus) return `waiting for pool '${name}': ${used} of ${pool.gpus} GPUs in use, this task needs ${needs}`;
  return null;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

/**
 * Why a task can never start on this executor (it asks for more than the executor has in
 * all), or null. A figure counts only when the executor refuses it alone: an executor that
 * does not count CPU or memory (Kubernetes reports 0 of them) never makes a task impossible.
 */
export function impossibleRequest(ti: TiModel, executor: Executor): string | null {
  const r = effectiveResources(ti);
  const cap = executor.capacity();
  const refuses = (only: Partial<Resources>) => !executor.hasCapacity({ ...NO_RESOURCES, ...only });
  const over: string[] = [];
  if (r.gpu > cap.gpu.total && refuses({ gpu: r.gpu })) over.push(`${r.gpu} GPU (it has ${cap.gpu.total})`);
  if (r.cpu > cap.cpu.total && refuses({ cpu: r.cpu })) over.push(`${r.cpu} CPU (it has ${cap.cpu.total})`);
  if (r.memoryMb > cap.memoryMb.total && refuses({ memoryMb: r.memoryMb })) over.push(`${r.memoryMb} MiB of memory (it has ${Math.floor(cap.memoryMb.total)})`);
  if (!over.length) return null;
  return `the task needs ${over.join(', ')}, more than executor '${executor.name}' has in all; lower its resources or run it on an executor with more (e.g. Kubernetes)`;
}
