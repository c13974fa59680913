import type { Store } from '../../store/store.js';
import { cachedSuccesses } from './task-instances.js';

export interface GridRunRow {
  readonly run_id: string;
  readonly state: string;
  readonly run_type: string;
  readonly logical_date: number;
  readonly queued_at: number;
  readonly start_date: number | null;
  readonly end_date: number | null;
}

export interface GridCellRow {
  /** The instance with map index −1: an unmapped task, or a mapped task's placeholder. */
  ti?: { state: string; try_number: number; start_date: number | null; end_date: number | null; failure_class: string | null; cached: boolean };
  /** A mapped task's instances by state, once expanded. */
  counts?: Record<string, number>;
  /** Of those counted as `success`, the instances that reused an earlier try's result (task caching). */
  cached?: number;
}

/**
 * The newest `limit` runs of a DAG, and the state of every task in each: three queries in all,
 * whatever the number of runs and instances. Mapped instances are counted by state in the
 * database (GROUP BY); no instance row of a mapped task is loaded.
 */
export async function loadGrid(store: Store, dagId: string, limit: number): Promise<{ runs: GridRunRow[]; cells: Map<string, Map<string, GridCellRow>> }> {
  const runs = await store.db
    .selectFrom('dag_run')
    .select(['run_id', 'state', 'run_type', 'logical_date', 'queued_at', 'start_date', 'end_date'])
    .where('dag_id', '=', dagId)
    .orderBy('queued_at', 'desc')
    .orderBy('run_id', 'desc')
    .limit(limit)
    .execute();
  const cells = new Map<string, Map<string, GridCellRow>>(runs.map((r) => [r.run_id, new Map()]));
  if (!runs.length) return { runs, cells };
  const runIds = runs.map((r) => r.run_id);
  const cell = (runId: string, taskId: string) => {
    const byTask = cells.get(runId)!;
    let c = byTask.get(taskId);
    if (!c) byTask.set(taskId, (c = {}));
    return c;
  };
  const single = await store.db
    .selectFrom('task_instance')
    .select(['run_id', 'task_id', 'state', 'try_number', 'start_date', 'end_date', 'failure_class', 'cached_from'])
    .where('dag_id', '=', dagId)
    .where('run_id', 'in', runIds)
    .where('map_index', '=', -1)
    .execute();
  for (const t of single) {
    cell(t.run_id, t.task_id).ti = { state: t.state, try_number: Number(t.try_number), start_date: t.start_date, end_date: t.end_date, failure_class: t.failure_class, cached: t.cached_from != null };
  }
  const mapped = await store.db
    .selectFrom('task_instance')
    .select((eb) => ['run_id', 'task_id', 'state', eb.fn.countAll<number | string>().as('n'), eb.fn.count<number | string>('cached_from').as('cached')])
    .where('dag_id', '=', dagId)
    .where('run_id', 'in', runIds)
    .where('map_index', '>=', 0)
    .groupBy(['run_id', 'task_id', 'state'])
    .execute();
  for (const m of mapped) {
    const c = cell(m.run_id, m.task_id);
    c.counts ??= {};
    c.counts[m.state] = Number(m.n);
    c.cached = (c.cached ?? 0) + cachedSuccesses([m]);
  }
  return { runs, cells };
}
