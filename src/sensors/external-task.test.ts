import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../store/store.js';
import { tempStore } from '../../test/support/harness.js';
import { DagValidationError } from '../core/errors.js';
import type { TaskState, RunState } from '../core/states.js';
import { SensorFailed } from './errors.js';
import { externalTaskSensor } from './external-task.js';
import { ManualClock } from './clock.js';
import { validateSensorOptions } from './options.js';
import { SensorRunner } from './runner.js';
import type { SensorContext } from './types.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 21);

let t: Awaited<ReturnType<typeof tempStore>>;
let store: Store;
beforeAll(async () => {
  t = await tempStore();
  store = t.store;
});
afterAll(() => t.close());

function ctx(logicalDate = T0): SensorContext {
  return { now: T0 + DAY, signal: new AbortController().signal, logicalDate, store };
}

async function addRun(dagId: string, runId: string, logicalDate: number, state: RunState) {
  await store.createRun({
    dag_id: dagId,
    run_id: runId,
    state,
    run_type: 'scheduled',
    version_hash: 'v1',
    conf: '{}',
    params: '{}',
    logical_date: logicalDate,
    data_interval_start: logicalDate - DAY,
    data_interval_end: logicalDate,
    queued_at: logicalDate,
    change_seq: 0,
  });
}

async function addTi(dagId: string, runId: string, taskId: string, state: TaskState, mapIndex = -1) {
  await store.insertTaskInstances([
    { dag_id: dagId, run_id: runId, task_id: taskId, map_index: mapIndex, state, try_number: 1, budget_tries: 0, free_retries: 0, priority_weight: 1, pool: 'default_pool', pool_slots: 1, updated_at: T0 },
  ]);
}

async function setTi(dagId: string, runId: string, taskId: string, state: TaskState, mapIndex = -1) {
  await store.db.updateTable('task_instance').set({ state }).where('dag_id', '=', dagId).where('run_id', '=', runId).where('task_id', '=', taskId).where('map_index', '=', mapIndex).execute();
}

describe('externalTaskSensor (real SQLite store)', () => {
  it('waits for the run at logical date − delta, then is done when it succeeds', async () => {
    const check = externalTaskSensor({ dagId: 'ingest', executionDelta: '1d' });
    expect(await check(ctx())).toEqual({ done: false, detail: "DAG 'ingest' has no run with logical date 2026-11-20T00:00:00.000Z yet" });
    await addRun('ingest', 'scheduled__2026-11-20', T0 - DAY, 'running');
    await addRun('ingest', 'scheduled__2026-11-21', T0, 'success'); // another date: ignored
    expect(await check(ctx())).toEqual({ done: false, detail: "run 'scheduled__2026-11-20' is running (waiting for success)" });
    await store.setRunState('ingest', 'scheduled__2026-11-20', ['running'], { state: 'success' });
    expect(await check(ctx())).toEqual({ done: true, value: { dagId: 'ingest', runId: 'scheduled__2026-11-20', state: 'success' } });
  });

  it('a failed run fails the sensor at once, saying what to do', async () => {
    await addRun('etl', 'scheduled__2026-11-21', T0, 'failed');
    const err = await externalTaskSensor({ dagId: 'etl' })(ctx()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SensorFailed);
    expect((err as SensorFailed).code).toBe('SENSOR_FAILED');
    expect((err as SensorFailed).message).toMatch(/^DAG 'etl' at logical date 2026-11-21T00:00:00.000Z ended failed \(run 'scheduled__2026-11-21'\)/);
    // failedStates [] waits until the timeout instead.
    expect(await externalTaskSensor({ dagId: 'etl', failedStates: [] })(ctx())).toMatchObject({ done: false });
  });

  it('waits on one task, mapped instances included', async () => {
    await addRun('train', 'r1', T0, 'running');
    const check = externalTaskSensor({ dagId: 'train', taskId: 'evaluate' });
    expect(await check(ctx())).toEqual({ done: false, detail: "run 'r1' has no task 'evaluate' yet (waiting for success)" });
    await addTi('train', 'r1', 'evaluate', 'removed');
    await addTi('train', 'r1', 'evaluate', 'success', 0);
    await addTi('train', 'r1', 'evaluate', 'running', 1);
    expect(await check(ctx())).toEqual({ done: false, detail: "task 'evaluate' in run 'r1' is running (waiting for success)" });
    await setTi('train', 'r1', 'evaluate', 'success', 1);
    expect(await check(ctx())).toEqual({ done: true, value: { dagId: 'train', runId: 'r1', taskId: 'evaluate', state: 'success' } });
  });

  it('an upstream_failed task fails it; allowedStates can accept skipped', async () => {
    await addRun('train2', 'r1', T0, 'running');
    await addTi('train2', 'r1', 'deploy', 'upstream_failed');
    await expect(externalTaskSensor({ dagId: 'train2', taskId: 'deploy' })(ctx())).rejects.toThrow(/ended upstream_failed/);
    await addTi('train2', 'r1', 'notify', 'skipped');
    expect((await externalTaskSensor({ dagId: 'train2', taskId: 'notify', allowedStates: ['success', 'skipped'] })(ctx())).done).toBe(true);
  });

  it('runs in a SensorRunner, which hands it the store', async () => {
    const clock = new ManualClock(T0 + DAY);
    const events: unknown[] = [];
    const runner = new SensorRunner({
      clock,
      store,
      onPoke: (id, p) => events.push(['poke', id, p.detail]),
      onDone: (id, r) => events.push(['done', id, r.value]),
      onError: (id, e) => events.push(['error', id, (e as Error).message]),
    });
    runner.add('wait', externalTaskSensor({ dagId: 'upstream', executionDelta: '1d' }), { ...validateSensorOptions({ pokeInterval: '1m', timeout: '1h' }), logicalDate: T0 + DAY });
    await clock.advance(0);
    await addRun('upstream', 'r', T0, 'running');
    await clock.advance(60_000);
    await store.setRunState('upstream', 'r', ['running'], { state: 'success' });
    await clock.advance(60_000);
    // SQLite answers on its own thread: let the last check finish.
    for (let i = 0; i < 50 && events.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
    expect(events).toEqual([
      ['poke', 'wait', "DAG 'upstream' has no run with logical date 2026-11-21T00:00:00.000Z yet"],
      ['poke', 'wait', "run 'r' is running (waiting for success)"],
      ['done', 'wait', { dagId: 'upstream', runId: 'r', state: 'success' }],
    ]);
    runner.close();
  });

  it('refuses bad options with the field named', () => {
    expect(() => externalTaskSensor({ dagId: 'x', allowedStates: ['done'] })).toThrow(/allowedStates has 'done', which is not a run state/);
    expect(() => externalTaskSensor({ dagId: 'x', allowedStates: ['failed'] })).toThrow(/in both allowedStates and failedStates/);
    expect(() => externalTaskSensor({ dagId: 'x', executionDelta: 'yesterday' })).toThrow(DagValidationError);
    expect(() => externalTaskSensor({ dagId: '' })).toThrow(/needs dagId/);
  });
});
