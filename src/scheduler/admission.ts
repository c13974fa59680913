import type { DagSpec, Resources } from '../core/spec.js';
import type { Executor } from '../executors/types.js';
import type { TiModel } from './run-model.js';

/** Slots in use by live tries: per pool, per DAG, per task. */
export class AdmissionCounters {
  readonly poolSlots = new Map<string, number>();
  readonly byDag = new Map<string, number>();
  readonly byTask = new Map<string, number>();

  /** Counters seeded from figures read elsewhere (the store). */
  static from(pools: ReadonlyMap<string, number>, dags: ReadonlyMap<string, number>, tasks: ReadonlyMap<string, number>): AdmissionCounters {
    const c = new AdmissionCounters();
    for (const [k, v] of pools) c.poolSlots.set(k, v);
    for (const [k, v] of dags) c.byDag.set(k, v);
    for (const [k, v] of tasks) c.byTask.set(k, v);
    return c;
  }

  add(ti: TiModel): void {
    this.change(ti, 1);
  }

  remove(ti: TiModel): void {
    this.change(ti, -1);
  }

  private change(ti: TiModel, by: 1 | -1): void {
    const spec = ti.task.spec;
    const dagId = ti.task.run.dagId;
    bump(this.poolSlots, spec.pool, by * spec.poolSlots);
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
  pools: ReadonlyMap<string, number>,
  c: AdmissionCounters,
  executor: Executor,
  admitted: Resources = NO_RESOURCES,
): string | null {
  const spec = ti.task.spec;
  const slots = pools.get(spec.pool);
  if (slots === undefined) return `pool '${spec.pool}' does not exist; create it (trainyard pools set ${spec.pool} <slots>) or use another pool`;
  const used = c.poolSlots.get(spec.pool) ?? 0;
  if (used + spec.poolSlots > slots) return `waiting for pool '${spec.pool}': ${used} of ${slots} slots in use, this task needs ${spec.poolSlots}`;
  const dagActive = c.byDag.get(dag.dagId) ?? 0;
  if (dagActive >= dag.maxActiveTasks) return `waiting: DAG '${dag.dagId}' already runs ${dagActive} tasks (maxActiveTasks ${dag.maxActiveTasks})`;
  if (spec.maxActiveTisPerDag !== undefined) {
    const taskActive = c.byTask.get(`${dag.dagId}\u0000${spec.taskId}`) ?? 0;
    if (taskActive >= spec.maxActiveTisPerDag) return `waiting: ${taskActive} instances of '${spec.taskId}' already run (maxActiveTisPerDag ${spec.maxActiveTisPerDag})`;
  }
  const r = spec.resources;
  if (!executor.hasCapacity(addResources(admitted, r))) {
    const cap = executor.capacity();
    return (
      `waiting for resources on executor '${executor.name}': needs ${r.cpu} CPU, ${r.memoryMb} MiB, ${r.gpu} GPU; ` +
      `free ${round(cap.cpu.total - cap.cpu.used)} CPU, ${round(cap.memoryMb.total - cap.memoryMb.used)} MiB, ${cap.gpu.total - cap.gpu.used} GPU`
    );
  }
  return null;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

/** Why a task can never start on this executor (it asks for more than the executor has in all), or null. */
export function impossibleRequest(ti: TiModel, executor: Executor): string | null {
  const r = ti.task.spec.resources;
  const cap = executor.capacity();
  const over: string[] = [];
  if (r.gpu > cap.gpu.total) over.push(`${r.gpu} GPU (it has ${cap.gpu.total})`);
  if (r.cpu > cap.cpu.total) over.push(`${r.cpu} CPU (it has ${cap.cpu.total})`);
  if (r.memoryMb > cap.memoryMb.total) over.push(`${r.memoryMb} MiB of memory (it has ${Math.floor(cap.memoryMb.total)})`);
  if (!over.length) return null;
  return `the task needs ${over.join(', ')}, more than executor '${executor.name}' has in all; lower its resources or run it on an executor with more (e.g. Kubernetes)`;
}
