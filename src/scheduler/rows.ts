import type { TaskSpec } from '../core/spec.js';
import type { TaskState } from '../core/states.js';
import type { NewTaskInstance } from '../store/store.js';
import type { RunModel } from './run-model.js';

/** A new task-instance row with every column set, so it can also seed the run model. */
export function newTaskInstanceRow(run: RunModel, task: TaskSpec, mapIndex: number, state: TaskState, now: number, item?: unknown): NewTaskInstance {
  return {
    dag_id: run.dagId,
    run_id: run.runId,
    task_id: task.taskId,
    map_index: mapIndex,
    state,
    try_number: 0,
    budget_tries: 0,
    free_retries: 0,
    priority_weight: task.priorityWeight,
    pool: task.pool,
    pool_slots: task.poolSlots,
    next_retry_at: null,
    queued_at: null,
    start_date: null,
    end_date: null,
    failure_class: null,
    reason: null,
    result: null,
    item: item === undefined ? null : JSON.stringify(item),
    params: null,
    resource_overrides: null,
    updated_at: now,
  };
}
