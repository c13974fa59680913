import { DagValidationError, TrainyardError } from '../core/errors.js';
import { parseDuration } from '../core/retry.js';
import { RUN_STATES, TASK_STATES, type TaskState } from '../core/states.js';
import { SensorFailed } from './errors.js';
import type { SensorCheck } from './types.js';

export interface ExternalTaskSensorOptions {
  /** The other DAG. */
  dagId: string;
  /** A task of it; without one, the sensor waits on the whole run. */
  taskId?: string;
  /** The other run's logical date is this run's minus the delta (Airflow's execution_delta); default 0. */
  executionDelta?: string | number;
  /** States that mean done. Default ['success']. */
  allowedStates?: readonly string[];
  /**
   * States that mean it will never be done: the sensor fails at once with SensorFailed.
   * Default ['failed'] for a run, ['failed', 'upstream_failed'] for a task; [] waits until the timeout.
   */
  failedStates?: readonly string[];
}

/**
 * Waits for another DAG's run at logicalDate − executionDelta (or one of its tasks) to reach an
 * allowed state. When several runs share that logical date, one that is done is enough. A mapped
 * task is done when all its instances are.
 */
export function externalTaskSensor(opts: ExternalTaskSensorOptions): SensorCheck {
  if (typeof opts?.dagId !== 'string' || opts.dagId === '') {
    throw new DagValidationError('SENSOR_OPTION_INVALID', 'externalTaskSensor needs dagId: the DAG to wait on.');
  }
  const { dagId, taskId } = opts;
  let deltaMs: number;
  try {
    deltaMs = parseDuration(opts.executionDelta ?? 0);
  } catch {
    throw new DagValidationError(
      'SENSOR_OPTION_INVALID',
      `externalTaskSensor on '${dagId}': executionDelta ${JSON.stringify(opts.executionDelta)} is not a duration. Use milliseconds or text like "1d" or "6h".`,
    );
  }
  const known: readonly string[] = taskId ? TASK_STATES : RUN_STATES;
  const allowed = stateList('allowedStates', opts.allowedStates ?? ['success'], known, dagId, taskId);
  const failed = stateList('failedStates', opts.failedStates ?? (taskId ? ['failed', 'upstream_failed'] : ['failed']), known, dagId, taskId);
  const both = allowed.filter((s) => failed.includes(s));
  if (both.length) {
    throw new DagValidationError(
      'SENSOR_OPTION_INVALID',
      `externalTaskSensor on '${dagId}': ${both.join(', ')} is in both allowedStates and failedStates; a state can mean only one of done or failed.`,
    );
  }
  if (allowed.length === 0) {
    throw new DagValidationError('SENSOR_OPTION_INVALID', `externalTaskSensor on '${dagId}': allowedStates is empty, so it could never be done. List at least one state.`);
  }
  const target = taskId ? `task '${taskId}' of DAG '${dagId}'` : `DAG '${dagId}'`;

  return async (ctx) => {
    const store = ctx.store;
    if (!store) throw new TrainyardError('SENSOR_NO_STORE', `externalTaskSensor on ${target} needs the metadata store; run it in the scheduler's check loop.`);
    const logicalDate = ctx.logicalDate - deltaMs;
    const when = new Date(logicalDate).toISOString();
    const runs = await store.db
      .selectFrom('dag_run')
      .select(['run_id', 'state'])
      .where('dag_id', '=', dagId)
      .where('logical_date', '=', logicalDate)
      .orderBy('queued_at')
      .execute();
    ctx.signal.throwIfAborted();
    if (runs.length === 0) return { done: false, detail: `DAG '${dagId}' has no run with logical date ${when} yet` };

    const seen: string[] = [];
    let failure: { runId: string; state: string } | undefined;
    for (const run of runs) {
      const state = taskId ? await taskState(store, dagId, run.run_id, taskId) : run.state;
      if (state === undefined) {
        seen.push(`run '${run.run_id}' has no task '${taskId}' yet`);
        continue;
      }
      if (allowed.includes(state)) return { done: true, value: { dagId, runId: run.run_id, ...(taskId ? { taskId } : {}), state } };
      if (failed.includes(state)) failure ??= { runId: run.run_id, state };
      seen.push(`${taskId ? `task '${taskId}' in ` : ''}run '${run.run_id}' is ${state}`);
    }
    if (failure) {
      throw new SensorFailed(
        `${target} at logical date ${when} ended ${failure.state} (run '${failure.runId}'), so it will not reach ${allowed.join(' or ')}. ` +
          `Clear and rerun it, then clear this sensor; or add '${failure.state}' to allowedStates if that is good enough.`,
        { dagId, runId: failure.runId, ...(taskId ? { taskId } : {}), state: failure.state },
      );
    }
    return { done: false, detail: `${seen.join('; ')} (waiting for ${allowed.join(' or ')})` };
  };
}

/** The state of a task across its instances: one state when they agree, else the least finished. */
async function taskState(store: NonNullable<Parameters<SensorCheck>[0]['store']>, dagId: string, runId: string, taskId: string): Promise<string | undefined> {
  const rows = (await store.listTaskInstances(dagId, runId, { taskId })).filter((r) => r.state !== 'removed');
  if (rows.length === 0) return undefined;
  const states = new Set<TaskState>(rows.map((r) => r.state));
  if (states.size === 1) return rows[0].state;
  // A mapped task: any failed instance fails it; otherwise it is not done until all are.
  for (const s of ['failed', 'upstream_failed'] as const) if (states.has(s)) return s;
  const pending = rows.find((r) => r.state !== 'success' && r.state !== 'skipped');
  return pending?.state ?? 'success';
}

function stateList(field: string, value: readonly string[], known: readonly string[], dagId: string, taskId?: string): string[] {
  if (!Array.isArray(value)) {
    throw new DagValidationError('SENSOR_OPTION_INVALID', `externalTaskSensor on '${dagId}': ${field} must be a list of states.`);
  }
  for (const s of value) {
    if (!known.includes(s)) {
      throw new DagValidationError(
        'SENSOR_OPTION_INVALID',
        `externalTaskSensor on '${dagId}': ${field} has '${s}', which is not a ${taskId ? 'task' : 'run'} state. Use one of: ${known.join(', ')}.`,
      );
    }
  }
  return [...value];
}
