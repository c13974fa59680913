/**
 * What every part of the store conformance suite builds on: the opener's result, rows with
 * sensible defaults (a DAG spec, a run, a task instance, a try, a metric point) and an
 * assertion on error codes. Not a runtime module: it imports vitest.
 */
import type { Insertable } from 'kysely';
import { expect } from 'vitest';
import { TrainyardError } from '../core/errors.js';
import type { DagSpec } from '../core/spec.js';
import type { DagRunTable, MetricTable } from './schema.js';
import type { NewTaskInstance, NewTry, Store, TiKey } from './store.js';

export interface OpenedStore {
  readonly store: Store;
  close(): Promise<void>;
}

/** Epoch milliseconds past 2^31 and past 2^32: must come back as the same JS numbers. */
export const T0 = 1_763_700_000_123;

export function spec(dagId: string, extra: Partial<DagSpec> = {}): DagSpec {
  return {
    specVersion: 1,
    dagId,
    description: `the ${dagId} pipeline`,
    tags: ['ml', 'nightly'],
    schedule: { kind: 'interval', everyMs: 3_600_000 },
    catchup: false,
    maxActiveTasks: 16,
    maxActiveRuns: 1,
    paramsDefaults: { lr: 0.001, epochs: 3 },
    tasks: [],
    groups: [],
    ...extra,
  };
}

export function run(dagId: string, runId: string, extra: Partial<Insertable<DagRunTable>> = {}): Insertable<DagRunTable> {
  return {
    dag_id: dagId,
    run_id: runId,
    state: 'queued',
    run_type: 'manual',
    version_hash: 'v1',
    conf: '{"lr":0.01}',
    params: '{"lr":0.01,"epochs":3}',
    logical_date: T0,
    data_interval_start: T0 - 3_600_000,
    data_interval_end: T0,
    queued_at: T0,
    change_seq: 0,
    ...extra,
  } as Insertable<DagRunTable>;
}

export function ti(dagId: string, runId: string, taskId: string, mapIndex = -1, extra: Partial<NewTaskInstance> = {}): NewTaskInstance {
  return {
    dag_id: dagId,
    run_id: runId,
    task_id: taskId,
    map_index: mapIndex,
    state: 'none',
    try_number: 0,
    budget_tries: 0,
    free_retries: 0,
    priority_weight: 1,
    pool: 'default_pool',
    pool_slots: 1,
    updated_at: T0,
    ...extra,
  } as NewTaskInstance;
}

export function tryRow(dagId: string, runId: string, taskId: string, mapIndex: number, tryNumber: number, extra: Partial<NewTry> = {}): NewTry {
  return {
    dag_id: dagId,
    run_id: runId,
    task_id: taskId,
    map_index: mapIndex,
    try_number: tryNumber,
    state: 'queued',
    executor: 'local',
    queued_at: T0,
    log_path: `logs/${taskId}/${mapIndex}/${tryNumber}.log`,
    counts_against_budget: 1,
    ...extra,
  } as NewTry;
}

export function metric(taskId: string, tryNumber: number, name: string, step: number, value: number): Insertable<MetricTable> {
  return { dag_id: 'd', run_id: 'r', task_id: taskId, map_index: -1, try_number: tryNumber, name, step, value, at: T0 + step };
}

export const key = (taskId: string, mapIndex = -1, dagId = 'd', runId = 'r'): TiKey => ({ dagId, runId, taskId, mapIndex });

export async function expectCode(p: Promise<unknown>, code: string): Promise<TrainyardError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, `expected a TrainyardError ${code}`).toBeInstanceOf(TrainyardError);
  expect((e as TrainyardError).code).toBe(code);
  return e as TrainyardError;
}
