/**
 * Reads what the MLflow bridge mirrors from the store: a try's times and outcome, its task
 * instance's params (the mapped item merged with the params the task reported) and its metric
 * series. The scheduler (or a CLI command) calls `mirrorTryFromStore` when a try ends.
 */
import type { Store, TiKey } from '../store/store.js';
import { type MirroredTry, type MirrorOptions, mirrorTry, type MlflowClient, type TryToMirror } from './mlflow.js';

export async function tryForMirror(store: Store, key: TiKey & { tryNumber: number }): Promise<TryToMirror | undefined> {
  const [ti, tr, metrics] = await Promise.all([
    store.getTaskInstance(key),
    store.db
      .selectFrom('task_try')
      .selectAll()
      .where('dag_id', '=', key.dagId)
      .where('run_id', '=', key.runId)
      .where('task_id', '=', key.taskId)
      .where('map_index', '=', key.mapIndex)
      .where('try_number', '=', key.tryNumber)
      .executeTakeFirst(),
    store.metricPoints(key),
  ]);
  if (!ti || !tr) return undefined;
  const params = { ...(ti.item ? (JSON.parse(ti.item) as Record<string, unknown>) : {}), ...(ti.params ? (JSON.parse(ti.params) as Record<string, unknown>) : {}) };
  const state = tr.failure_class === 'early_stopped' ? 'early_stopped' : tr.state;
  return {
    dagId: key.dagId,
    runId: key.runId,
    taskId: key.taskId,
    mapIndex: key.mapIndex,
    tryNumber: key.tryNumber,
    startTime: Number(tr.start_date ?? tr.queued_at),
    endTime: tr.end_date === null ? undefined : Number(tr.end_date),
    state,
    params,
    metrics,
    tags: tr.failure_class ? { 'trainyard.failure_class': tr.failure_class } : undefined,
  };
}

/** Mirrors one try from the store to MLflow; undefined when the try does not exist. */
export async function mirrorTryFromStore(store: Store, client: MlflowClient, key: TiKey & { tryNumber: number }, opts: MirrorOptions = {}): Promise<MirroredTry | undefined> {
  const t = await tryForMirror(store, key);
  return t ? mirrorTry(client, t, opts) : undefined;
}
