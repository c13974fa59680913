import type { DagSpec } from '../../core/spec.js';
import type { DagRow, DagRunRow, Store, TaskInstanceRow, TaskTryRow, TiKey } from '../../store/store.js';
import { notFound } from '../errors.js';

/** Lookups that answer 404 with a message naming what is missing. */

export async function requireDag(store: Store, dagId: string): Promise<DagRow> {
  const dag = await store.getDag(dagId);
  if (!dag) throw notFound('DAG_NOT_FOUND', `no DAG '${dagId}'; list DAGs with GET /api/v1/dags`);
  return dag;
}

export async function requireSpec(store: Store, dagId: string, versionHash: string): Promise<DagSpec> {
  const spec = await store.getSpec(dagId, versionHash);
  if (!spec) throw notFound('DAG_VERSION_NOT_FOUND', `DAG '${dagId}' has no stored version ${versionHash}`);
  return spec;
}

export async function requireRun(store: Store, dagId: string, runId: string): Promise<DagRunRow> {
  const run = await store.getRun(dagId, runId);
  if (!run) {
    await requireDag(store, dagId);
    throw notFound('RUN_NOT_FOUND', `DAG '${dagId}' has no run '${runId}'; list its runs with GET /api/v1/dags/${dagId}/runs`);
  }
  return run;
}

export async function requireTaskInstance(store: Store, k: TiKey): Promise<TaskInstanceRow> {
  const ti = await store.getTaskInstance(k);
  if (!ti) {
    await requireRun(store, k.dagId, k.runId);
    throw notFound('TASK_INSTANCE_NOT_FOUND', `run '${k.runId}' has no task instance ${k.taskId}${k.mapIndex >= 0 ? `[${k.mapIndex}]` : ''} (map_index ${k.mapIndex}; -1 when not mapped)`);
  }
  return ti;
}

export async function requireTry(store: Store, k: TiKey & { tryNumber: number }): Promise<TaskTryRow> {
  const tries = await store.listTries(k);
  const t = tries.find((x) => Number(x.try_number) === k.tryNumber);
  if (!t) {
    await requireTaskInstance(store, k);
    throw notFound('TRY_NOT_FOUND', `${k.taskId}[${k.mapIndex}] has no try ${k.tryNumber}${tries.length ? `; tries: ${tries.map((x) => x.try_number).join(', ')}` : ' (it has not run yet)'}`);
  }
  return t;
}

/** Path parameters → the store's task-instance key. */
export function tiKey(p: { dag_id: string; run_id: string; task_id: string; map_index: number }): TiKey {
  return { dagId: p.dag_id, runId: p.run_id, taskId: p.task_id, mapIndex: p.map_index };
}
