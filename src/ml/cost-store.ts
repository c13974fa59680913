/**
 * Reads tries from the store as cost records: each try's wall time, its task's resources from
 * the DAG version its run was pinned to (with the instance's overrides, such as the larger
 * memory after an OOM, on its latest try), its pool, and whether it failed. Failed tries are
 * included: they used the machine all the same.
 */
import type { DagSpec } from '../core/spec.js';
import type { Store } from '../store/store.js';
import { type CostGroup, type CostRow, type PriceTable, summarizeCost, type TryRecord } from './cost.js';

export interface CostFilter {
  readonly dagId?: string;
  readonly runId?: string;
  readonly taskId?: string;
  /** Only tries that started at or after this time (epoch ms). */
  readonly since?: number;
  /** Only tries that started before this time (epoch ms). */
  readonly until?: number;
}

async function specOf(store: Store, cache: Map<string, Promise<DagSpec | undefined>>, dagId: string, hash: string): Promise<DagSpec | undefined> {
  const key = `${dagId}\0${hash}`;
  let p = cache.get(key);
  if (!p) cache.set(key, (p = store.getSpec(dagId, hash)));
  return p;
}

/** The tries matching the filter as cost records (tries that never started cost nothing but are counted). */
export async function loadTryRecords(store: Store, f: CostFilter = {}): Promise<TryRecord[]> {
  let q = store.db
    .selectFrom('task_try as t')
    .innerJoin('task_instance as i', (j) =>
      j.onRef('i.dag_id', '=', 't.dag_id').onRef('i.run_id', '=', 't.run_id').onRef('i.task_id', '=', 't.task_id').onRef('i.map_index', '=', 't.map_index'),
    )
    .innerJoin('dag_run as r', (j) => j.onRef('r.dag_id', '=', 't.dag_id').onRef('r.run_id', '=', 't.run_id'))
    .select(['t.dag_id', 't.run_id', 't.task_id', 't.map_index', 't.try_number', 't.state', 't.failure_class', 't.start_date', 't.end_date', 'i.pool', 'i.try_number as latest_try', 'i.resource_overrides', 'r.version_hash']);
  if (f.dagId !== undefined) q = q.where('t.dag_id', '=', f.dagId);
  if (f.runId !== undefined) q = q.where('t.run_id', '=', f.runId);
  if (f.taskId !== undefined) q = q.where('t.task_id', '=', f.taskId);
  if (f.since !== undefined) q = q.where('t.start_date', '>=', f.since);
  if (f.until !== undefined) q = q.where('t.start_date', '<', f.until);
  const rows = await q.execute();
  const specs = new Map<string, Promise<DagSpec | undefined>>();
  const out: TryRecord[] = [];
  for (const r of rows) {
    const spec = await specOf(store, specs, r.dag_id, r.version_hash);
    const task = spec?.tasks.find((t) => t.taskId === r.task_id);
    const base = task?.resources ?? { cpu: 1, memoryMb: 0, gpu: 0 };
    const overrides = Number(r.try_number) === Number(r.latest_try) && r.resource_overrides ? (JSON.parse(r.resource_overrides) as Partial<typeof base>) : {};
    const res = { ...base, ...overrides };
    out.push({
      dagId: r.dag_id,
      runId: r.run_id,
      taskId: r.task_id,
      mapIndex: Number(r.map_index),
      tryNumber: Number(r.try_number),
      pool: r.pool,
      startDate: r.start_date === null ? null : Number(r.start_date),
      endDate: r.end_date === null ? null : Number(r.end_date),
      failed: r.state === 'failed' && r.failure_class !== 'early_stopped',
      resources: { cpu: res.cpu, memory: res.memoryMb, gpu: res.gpu },
    });
  }
  return out;
}

/** Cost rows of the tries matching the filter, grouped. */
export async function costBy(store: Store, by: CostGroup, f: CostFilter, o: { now: number; prices?: PriceTable }): Promise<CostRow[]> {
  return summarizeCost(await loadTryRecords(store, f), by, o);
}
