import type { TaskContextData, TryKey } from '../executors/types.js';
import type { DagRunRow } from '../store/store.js';
import type { HomeLayout } from './paths.js';

/** The run-time context of one try, as user functions and value expressions see it. */
export function taskContextData(
  run: DagRunRow,
  key: TryKey,
  layout: HomeLayout,
  item: unknown,
  inputs: Record<string, unknown>,
): TaskContextData {
  const logical = new Date(run.logical_date).toISOString();
  return {
    dagId: key.dagId,
    runId: key.runId,
    taskId: key.taskId,
    mapIndex: key.mapIndex,
    tryNumber: key.tryNumber,
    ds: logical.slice(0, 10),
    logicalDate: logical,
    dataIntervalStart: new Date(run.data_interval_start).toISOString(),
    dataIntervalEnd: new Date(run.data_interval_end).toISOString(),
    params: JSON.parse(run.params),
    conf: JSON.parse(run.conf),
    ...(item === undefined ? {} : { item }),
    inputs,
    artifactsDir: layout.artifactsDir(key),
    runArtifactsDir: layout.runArtifactsDir(key.dagId, key.runId),
    checkpointDir: layout.checkpointDir(key),
    ...(run.triggered_by ? { triggeringAssetEvents: JSON.parse(run.triggered_by) as unknown[] } : {}),
  };
}

export { resolveInputs, valueContext } from '../executors/deferred.js';

/** The task contract's environment variables (docs/task-contract.md). */
export function contractEnv(c: TaskContextData, resultPath: string, resume: boolean): Record<string, string> {
  return {
    TRAINYARD_DAG_ID: c.dagId,
    TRAINYARD_RUN_ID: c.runId,
    TRAINYARD_TASK_ID: c.taskId,
    TRAINYARD_MAP_INDEX: String(c.mapIndex),
    TRAINYARD_TRY_NUMBER: String(c.tryNumber),
    TRAINYARD_LOGICAL_DATE: c.logicalDate,
    TRAINYARD_DS: c.ds,
    TRAINYARD_PARAMS: JSON.stringify(c.params),
    ...(c.item === undefined ? {} : { TRAINYARD_ITEM: JSON.stringify(c.item) }),
    TRAINYARD_RESULT_PATH: resultPath,
    TRAINYARD_ARTIFACTS_URI: `file://${c.artifactsDir}`,
    TRAINYARD_ARTIFACTS_DIR: c.artifactsDir,
    TRAINYARD_RUN_ARTIFACTS_DIR: c.runArtifactsDir,
    TRAINYARD_CHECKPOINT_DIR: c.checkpointDir,
    ...(resume ? { TRAINYARD_RESUME: '1' } : {}),
    ...(c.triggeringAssetEvents ? { TRAINYARD_TRIGGERING_ASSET_EVENTS: JSON.stringify(c.triggeringAssetEvents) } : {}),
  };
}
