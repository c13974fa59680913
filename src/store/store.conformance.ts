/**
 * The conformance suite every store dialect must pass (SQLite, Postgres). Call it from a
 * test file with a function that opens a fresh, migrated store:
 *
 *     storeConformance('sqlite', async () => {
 *       const opened = openSqlite(':memory:');
 *       await migrateToLatest(opened.db);
 *       return { store: new Store(opened.db, 'sqlite'), close: () => opened.close() };
 *     });
 *
 * Each test gets its own store. Not a runtime module: it imports vitest.
 */
import { type Insertable, sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TrainyardError } from '../core/errors.js';
import type { DagSpec } from '../core/spec.js';
import { migrateToLatest } from './db.js';
import { MIGRATIONS } from './migrations/index.js';
import type { DagRunTable, MetricTable } from './schema.js';
import type { NewTaskInstance, NewTry, Store, TiChange, TiKey } from './store.js';

export interface OpenedStore {
  readonly store: Store;
  close(): Promise<void>;
}

/** Epoch milliseconds past 2^31 and past 2^32: must come back as the same JS numbers. */
const T0 = 1_763_700_000_123;

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

function metric(taskId: string, tryNumber: number, name: string, step: number, value: number): Insertable<MetricTable> {
  return { dag_id: 'd', run_id: 'r', task_id: taskId, map_index: -1, try_number: tryNumber, name, step, value, at: T0 + step };
}

const key = (taskId: string, mapIndex = -1, dagId = 'd', runId = 'r'): TiKey => ({ dagId, runId, taskId, mapIndex });

async function expectCode(p: Promise<unknown>, code: string): Promise<TrainyardError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, `expected a TrainyardError ${code}`).toBeInstanceOf(TrainyardError);
  expect((e as TrainyardError).code).toBe(code);
  return e as TrainyardError;
}

export function storeConformance(name: string, open: () => Promise<OpenedStore>): void {
  describe(`Store conformance: ${name}`, () => {
    let opened: OpenedStore;
    let store: Store;
    beforeEach(async () => {
      opened = await open();
      store = opened.store;
    });
    afterEach(async () => {
      await opened.close();
    });

    describe('DAGs', () => {
      it('upsertDag reports a new version as true and the same version again as false', async () => {
        expect(await store.upsertDag(spec('train'), 'dags/train.ts', 'h1', T0)).toBe(true);
        expect(await store.upsertDag(spec('train'), 'dags/train.ts', 'h1', T0 + 1)).toBe(false);
        expect(await store.upsertDag(spec('train', { description: 'changed' }), 'dags/train.ts', 'h2', T0 + 2)).toBe(true);
        const row = await store.getDag('train');
        expect(row).toMatchObject({
          dag_id: 'train',
          fileloc: 'dags/train.ts',
          is_active: 1,
          is_paused: 0,
          latest_version: 'h2',
          description: 'changed',
          updated_at: T0 + 2,
          next_run_at: null,
        });
        expect(JSON.parse(row!.tags)).toEqual(['ml', 'nightly']);
        expect(JSON.parse(row!.schedule)).toEqual({ kind: 'interval', everyMs: 3_600_000 });
        expect(await store.getDag('nope')).toBeUndefined();
      });

      it('upsertDag keeps the paused flag of an existing DAG', async () => {
        await store.upsertDag(spec('train'), 'dags/train.ts', 'h1', T0);
        expect(await store.setPaused('train', true, T0 + 1)).toBe(true);
        await store.upsertDag(spec('train'), 'dags/train.ts', 'h2', T0 + 2);
        expect((await store.getDag('train'))?.is_paused).toBe(1);
      });

      it('getSpec returns the stored spec of each version, and undefined for unknown ones', async () => {
        const s1 = spec('train', { paramsSchema: { type: 'object', properties: { lr: { type: 'number' } } }, tags: ['ü', 'emoji 🚂'] });
        const s2 = spec('train', { maxActiveRuns: 4 });
        await store.upsertDag(s1, 'dags/train.ts', 'h1', T0);
        await store.upsertDag(s2, 'dags/train.ts', 'h2', T0);
        expect(await store.getSpec('train', 'h1')).toEqual(s1);
        expect(await store.getSpec('train', 'h2')).toEqual(s2);
        expect(await store.getSpec('train', 'h3')).toBeUndefined();
        expect(await store.getSpec('other', 'h1')).toBeUndefined();
      });

      it('listDags orders by id and hides inactive DAGs unless asked', async () => {
        for (const id of ['c', 'a', 'b']) await store.upsertDag(spec(id), 'dags/one.ts', `h-${id}`, T0);
        await store.upsertDag(spec('z'), 'dags/two.ts', 'h-z', T0);
        expect((await store.listDags()).map((d) => d.dag_id)).toEqual(['a', 'b', 'c', 'z']);

        await store.deactivateDagsExcept('dags/one.ts', ['b'], T0 + 5);
        expect((await store.listDags()).map((d) => d.dag_id)).toEqual(['b', 'z']);
        const all = await store.listDags({ includeInactive: true });
        expect(all.map((d) => [d.dag_id, d.is_active])).toEqual([
          ['a', 0],
          ['b', 1],
          ['c', 0],
          ['z', 1],
        ]);
        expect(all.find((d) => d.dag_id === 'a')?.updated_at).toBe(T0 + 5);
        expect(all.find((d) => d.dag_id === 'b')?.updated_at).toBe(T0);
      });

      it('deactivateDagsExcept with nothing to keep deactivates the whole file; upsertDag reactivates', async () => {
        await store.upsertDag(spec('a'), 'dags/one.ts', 'h', T0);
        await store.upsertDag(spec('b'), 'dags/one.ts', 'h', T0);
        await store.upsertDag(spec('z'), 'dags/two.ts', 'h', T0);
        await store.deactivateDagsExcept('dags/one.ts', [], T0 + 1);
        expect((await store.listDags()).map((d) => d.dag_id)).toEqual(['z']);
        await store.upsertDag(spec('a'), 'dags/one.ts', 'h', T0 + 2);
        expect((await store.listDags()).map((d) => d.dag_id)).toEqual(['a', 'z']);
      });

      it('setPaused sets the flag and reports an unknown DAG as false', async () => {
        await store.upsertDag(spec('train'), 'dags/train.ts', 'h1', T0);
        expect(await store.setPaused('train', true, T0 + 7)).toBe(true);
        expect(await store.getDag('train')).toMatchObject({ is_paused: 1, updated_at: T0 + 7 });
        expect(await store.setPaused('train', false, T0 + 8)).toBe(true);
        expect((await store.getDag('train'))?.is_paused).toBe(0);
        expect(await store.setPaused('ghost', true, T0)).toBe(false);
      });

      it('import errors: set replaces the message, list orders by file, clear removes', async () => {
        await store.setImportError('dags/b.ts', 'SyntaxError: b', T0);
        await store.setImportError('dags/a.ts', 'SyntaxError: a', T0);
        await store.setImportError('dags/b.ts', 'TypeError: b again', T0 + 1);
        expect(await store.listImportErrors()).toEqual([
          { fileloc: 'dags/a.ts', message: 'SyntaxError: a', updated_at: T0 },
          { fileloc: 'dags/b.ts', message: 'TypeError: b again', updated_at: T0 + 1 },
        ]);
        await store.clearImportError('dags/a.ts');
        await store.clearImportError('dags/never.ts');
        expect((await store.listImportErrors()).map((e) => e.fileloc)).toEqual(['dags/b.ts']);
      });
    });

    describe('runs', () => {
      it('createRun stores the row with defaults; a duplicate id fails with RUN_EXISTS', async () => {
        await store.createRun(run('d', 'r1'));
        const row = await store.getRun('d', 'r1');
        expect(row).toMatchObject({ state: 'queued', change_seq: 0, start_date: null, end_date: null, note: null, conf: '{"lr":0.01}' });
        const e = await expectCode(store.createRun(run('d', 'r1', { queued_at: T0 + 1 })), 'RUN_EXISTS');
        expect(e.message).toContain("'r1'");
        expect((await store.getRun('d', 'r1'))?.queued_at).toBe(T0);
        // The same run id under another DAG is another run.
        await store.createRun(run('other', 'r1'));
        expect(await store.getRun('other', 'r1')).toBeDefined();
        expect(await store.getRun('d', 'nope')).toBeUndefined();
      });

      it('listRuns filters by DAG and state, orders newest first, and pages', async () => {
        await store.createRun(run('d', 'r1', { queued_at: T0 + 1, state: 'success' }));
        await store.createRun(run('d', 'r2', { queued_at: T0 + 3, state: 'running' }));
        await store.createRun(run('d', 'r3', { queued_at: T0 + 2, state: 'failed' }));
        await store.createRun(run('d', 'r4', { queued_at: T0 + 3, state: 'queued' })); // ties r2: run_id desc
        await store.createRun(run('e', 'r5', { queued_at: T0 + 9, state: 'running' }));
        const ids = (rows: { run_id: string }[]) => rows.map((r) => r.run_id);
        expect(ids(await store.listRuns())).toEqual(['r5', 'r4', 'r2', 'r3', 'r1']);
        expect(ids(await store.listRuns({ dagId: 'd' }))).toEqual(['r4', 'r2', 'r3', 'r1']);
        expect(ids(await store.listRuns({ states: ['running', 'queued'] }))).toEqual(['r5', 'r4', 'r2']);
        expect(ids(await store.listRuns({ dagId: 'd', states: ['running'] }))).toEqual(['r2']);
        expect(ids(await store.listRuns({ limit: 2 }))).toEqual(['r5', 'r4']);
        expect(ids(await store.listRuns({ limit: 2, offset: 2 }))).toEqual(['r2', 'r3']);
        expect(ids(await store.listRuns({ offset: 4 }))).toEqual(['r1']);
        expect(ids(await store.listRuns({ states: [] }))).toHaveLength(5);
      });

      it('listRuns returns at most 100 runs unless told otherwise', async () => {
        await store.transaction(async (tx) => {
          for (let i = 0; i < 105; i++) await tx.createRun(run('d', `r${String(i).padStart(3, '0')}`, { queued_at: T0 + i }));
        });
        const page = await store.listRuns();
        expect(page).toHaveLength(100);
        expect(page[0].run_id).toBe('r104');
        expect(await store.listRuns({ limit: 200 })).toHaveLength(105);
      });

      it('activeRuns lists queued and running runs, oldest first', async () => {
        await store.createRun(run('d', 'done', { queued_at: T0, state: 'success' }));
        await store.createRun(run('d', 'late', { queued_at: T0 + 20, state: 'queued' }));
        await store.createRun(run('e', 'early', { queued_at: T0 + 10, state: 'running' }));
        await store.createRun(run('d', 'bad', { queued_at: T0 + 5, state: 'failed' }));
        expect((await store.activeRuns()).map((r) => r.run_id)).toEqual(['early', 'late']);
      });

      it('setRunState applies only from an expected state; otherwise the row is unchanged', async () => {
        await store.createRun(run('d', 'r1'));
        expect(await store.setRunState('d', 'r1', ['queued'], { state: 'running', start_date: T0 + 1 })).toBe(true);
        const before = await store.getRun('d', 'r1');
        expect(before).toMatchObject({ state: 'running', start_date: T0 + 1 });
        expect(await store.setRunState('d', 'r1', ['queued', 'success'], { state: 'failed', end_date: T0 + 2, note: 'x' })).toBe(false);
        expect(await store.getRun('d', 'r1')).toEqual(before);
        expect(await store.setRunState('d', 'ghost', ['queued', 'running'], { state: 'failed' })).toBe(false);
        expect(await store.setRunState('d', 'r1', ['running'], { state: 'success', end_date: T0 + 3 })).toBe(true);
        expect(await store.getRun('d', 'r1')).toMatchObject({ state: 'success', end_date: T0 + 3 });
      });

      it('bumpRunChange increments the change counter of that run only', async () => {
        await store.createRun(run('d', 'r1'));
        await store.createRun(run('d', 'r2'));
        await store.bumpRunChange('d', 'r1');
        await store.bumpRunChange('d', 'r1');
        await store.bumpRunChange('d', 'ghost');
        expect((await store.getRun('d', 'r1'))?.change_seq).toBe(2);
        expect((await store.getRun('d', 'r2'))?.change_seq).toBe(0);
      });

      it('deleteRun removes the run with its task instances, tries and metrics, and nothing else', async () => {
        for (const r of ['r', 'keep']) {
          await store.createRun(run('d', r));
          await store.insertTaskInstances([ti('d', r, 't'), ti('d', r, 'u', 0), ti('d', r, 'u', 1)]);
          await store.insertTries([tryRow('d', r, 't', -1, 1), tryRow('d', r, 'u', 0, 1)]);
          await store.insertMetrics([{ ...metric('t', 1, 'loss', 1, 0.5), run_id: r }]);
        }
        expect(await store.deleteRun('d', 'r')).toBe(true);
        expect(await store.getRun('d', 'r')).toBeUndefined();
        expect(await store.listTaskInstances('d', 'r')).toEqual([]);
        expect(await store.listTries(key('t', -1, 'd', 'r'))).toEqual([]);
        expect(await store.listMetrics(key('t', -1, 'd', 'r'))).toEqual([]);
        expect(await store.getRun('d', 'keep')).toBeDefined();
        expect(await store.listTaskInstances('d', 'keep')).toHaveLength(3);
        expect(await store.listTries(key('t', -1, 'd', 'keep'))).toHaveLength(1);
        expect(await store.listMetrics(key('t', -1, 'd', 'keep'))).toHaveLength(1);
        expect(await store.deleteRun('d', 'r')).toBe(false);
      });
    });

    describe('task instances', () => {
      it('insertTaskInstances writes more rows than one statement holds, all of them', async () => {
        await store.createRun(run('d', 'r'));
        const rows = Array.from({ length: 1234 }, (_, i) => ti('d', 'r', 'fan', i, { item: JSON.stringify({ shard: i }), priority_weight: i % 7 }));
        await store.insertTaskInstances(rows);
        const all = await store.listTaskInstances('d', 'r');
        expect(all).toHaveLength(1234);
        expect(all.map((r) => r.map_index)).toEqual(rows.map((r) => r.map_index));
        expect(JSON.parse(all[1233].item!)).toEqual({ shard: 1233 });
        expect(all[1233]).toMatchObject({ try_number: 0, budget_tries: 0, free_retries: 0, pool_slots: 1, priority_weight: 1233 % 7, state: 'none' });
      });

      it('insertTaskInstances of a batch with a duplicate key writes nothing inside a transaction', async () => {
        await store.createRun(run('d', 'r'));
        await store.insertTaskInstances([ti('d', 'r', 'a', 5)]);
        const batch = Array.from({ length: 450 }, (_, i) => ti('d', 'r', 'a', i)); // index 5 exists: fails in the 1st chunk
        await expect(store.transaction((tx) => tx.insertTaskInstances([...batch.slice(6), ...batch.slice(0, 6)]))).rejects.toThrow();
        expect(await store.listTaskInstances('d', 'r')).toHaveLength(1);
      });

      it('listTaskInstances orders by task and numeric map index, filters and pages', async () => {
        await store.createRun(run('d', 'r'));
        await store.createRun(run('d', 'r2'));
        await store.insertTaskInstances([
          ti('d', 'r', 'b', 10, { state: 'success' }),
          ti('d', 'r', 'b', 2, { state: 'failed' }),
          ti('d', 'r', 'a', -1, { state: 'running' }),
          ti('d', 'r', 'b', -1, { state: 'removed' }),
          ti('d', 'r', 'c', -1, { state: 'success' }),
          ti('d', 'r2', 'a', -1, { state: 'success' }),
        ]);
        const k = (rows: { task_id: string; map_index: number }[]) => rows.map((r) => `${r.task_id}[${r.map_index}]`);
        expect(k(await store.listTaskInstances('d', 'r'))).toEqual(['a[-1]', 'b[-1]', 'b[2]', 'b[10]', 'c[-1]']);
        expect(k(await store.listTaskInstances('d', 'r', { taskId: 'b' }))).toEqual(['b[-1]', 'b[2]', 'b[10]']);
        expect(k(await store.listTaskInstances('d', 'r', { states: ['success', 'failed'] }))).toEqual(['b[2]', 'b[10]', 'c[-1]']);
        expect(k(await store.listTaskInstances('d', 'r', { taskId: 'b', states: ['success'] }))).toEqual(['b[10]']);
        expect(k(await store.listTaskInstances('d', 'r', { limit: 2 }))).toEqual(['a[-1]', 'b[-1]']);
        expect(k(await store.listTaskInstances('d', 'r', { limit: 2, offset: 2 }))).toEqual(['b[2]', 'b[10]']);
        expect(k(await store.listTaskInstances('d', 'r', { limit: 10, offset: 4 }))).toEqual(['c[-1]']);
        expect(await store.listTaskInstances('d', 'none')).toEqual([]);
      });

      it('getTaskInstance finds one instance by its full key', async () => {
        await store.createRun(run('d', 'r'));
        await store.insertTaskInstances([ti('d', 'r', 't', -1, { reason: 'why' }), ti('d', 'r', 't', 0)]);
        expect(await store.getTaskInstance(key('t'))).toMatchObject({ map_index: -1, reason: 'why' });
        expect(await store.getTaskInstance(key('t', 0))).toMatchObject({ map_index: 0, reason: null });
        expect(await store.getTaskInstance(key('t', 1))).toBeUndefined();
      });

      it('applyTiChanges applies guarded changes and returns the ones whose row had moved on, untouched', async () => {
        await store.createRun(run('d', 'r'));
        await store.insertTaskInstances([ti('d', 'r', 'a', -1, { state: 'scheduled' }), ti('d', 'r', 'b', -1, { state: 'running' }), ti('d', 'r', 'c', -1)]);
        const before = await store.getTaskInstance(key('b'));
        const toQueued: TiChange = { key: key('a'), from: ['scheduled'], set: { state: 'queued', try_number: 1, queued_at: T0 + 1 } };
        const stale: TiChange = { key: key('b'), from: ['scheduled', 'queued'], set: { state: 'queued', reason: 'should not land' } };
        const ghost: TiChange = { key: key('zz'), from: ['none'], set: { state: 'scheduled' } };
        const toScheduled: TiChange = { key: key('c'), from: ['none'], set: { state: 'scheduled', updated_at: T0 + 2 } };
        const missed = await store.applyTiChanges([toQueued, stale, ghost, toScheduled]);
        expect(missed).toEqual([stale, ghost]);
        expect(missed[0]).toBe(stale);
        expect(await store.getTaskInstance(key('a'))).toMatchObject({ state: 'queued', try_number: 1, queued_at: T0 + 1 });
        expect(await store.getTaskInstance(key('b'))).toEqual(before);
        expect(await store.getTaskInstance(key('c'))).toMatchObject({ state: 'scheduled', updated_at: T0 + 2 });
        expect(await store.applyTiChanges([])).toEqual([]);
      });

      it('concurrent guarded changes of one instance: exactly one applies', async () => {
        await store.createRun(run('d', 'r'));
        await store.insertTaskInstances([ti('d', 'r', 't', -1, { state: 'scheduled' })]);
        const results = await Promise.all(
          Array.from({ length: 8 }, (_, i) =>
            store.transaction((tx) => tx.applyTiChanges([{ key: key('t'), from: ['scheduled'], set: { state: 'queued', reason: `claimed by ${i}` } }])),
          ),
        );
        const winners = results.map((m, i) => (m.length === 0 ? i : -1)).filter((i) => i >= 0);
        expect(winners).toHaveLength(1);
        expect(await store.getTaskInstance(key('t'))).toMatchObject({ state: 'queued', reason: `claimed by ${winners[0]}` });
      });

      it('taskResults returns successful instances only, in map-index order, parsed', async () => {
        await store.createRun(run('d', 'r'));
        await store.insertTaskInstances([
          ti('d', 'r', 'm', 10, { state: 'success', result: '{"acc":0.9}' }),
          ti('d', 'r', 'm', 2, { state: 'success', result: '[1,2]' }),
          ti('d', 'r', 'm', 3, { state: 'failed', result: '"no"' }),
          ti('d', 'r', 'm', 0, { state: 'success', result: null }),
          ti('d', 'r', 'm', -1, { state: 'removed' }),
          ti('d', 'r', 'other', 1, { state: 'success', result: '1' }),
        ]);
        expect(await store.taskResults('d', 'r', 'm')).toEqual([
          { mapIndex: 0, result: null },
          { mapIndex: 2, result: [1, 2] },
          { mapIndex: 10, result: { acc: 0.9 } },
        ]);
        expect(await store.taskResults('d', 'r', 'ghost')).toEqual([]);
      });
    });

    describe('tries', () => {
      it('insertTries enforces the exactly-once key (dag, run, task, map index, try)', async () => {
        await store.createRun(run('d', 'r'));
        await store.insertTries([tryRow('d', 'r', 't', -1, 1)]);
        await expect(store.insertTries([tryRow('d', 'r', 't', -1, 1, { executor: 'kubernetes' })])).rejects.toThrow(/unique|duplicate/i);
        // Each part of the key tells tries apart.
        await store.insertTries([
          tryRow('d', 'r', 't', -1, 2),
          tryRow('d', 'r', 't', 0, 1),
          tryRow('d', 'r', 'u', -1, 1),
          tryRow('d', 'r2', 't', -1, 1),
          tryRow('e', 'r', 't', -1, 1),
        ]);
        expect((await store.listTries(key('t'))).map((t) => [t.try_number, t.executor])).toEqual([
          [1, 'local'],
          [2, 'local'],
        ]);
      });

      it('a duplicate try inside a transaction undoes the whole transaction', async () => {
        await store.createRun(run('d', 'r'));
        await store.insertTaskInstances([ti('d', 'r', 't', -1, { state: 'scheduled' })]);
        await store.insertTries([tryRow('d', 'r', 't', -1, 1)]);
        await expect(
          store.transaction(async (tx) => {
            await tx.applyTiChanges([{ key: key('t'), from: ['scheduled'], set: { state: 'queued', try_number: 1 } }]);
            await tx.insertTries([tryRow('d', 'r', 't', -1, 1)]);
          }),
        ).rejects.toThrow();
        expect(await store.getTaskInstance(key('t'))).toMatchObject({ state: 'scheduled', try_number: 0 });
        expect(await store.listTries(key('t'))).toHaveLength(1);
      });

      it('insertTries writes large batches', async () => {
        await store.createRun(run('d', 'r'));
        await store.insertTries(Array.from({ length: 901 }, (_, i) => tryRow('d', 'r', 'fan', i, 1)));
        expect(await store.liveTries()).toHaveLength(901);
      });

      it('updateTry applies only from an expected state', async () => {
        await store.createRun(run('d', 'r'));
        await store.insertTries([tryRow('d', 'r', 't', -1, 1)]);
        const k = { ...key('t'), tryNumber: 1 };
        expect(await store.updateTry(k, ['queued'], { state: 'running', start_date: T0 + 1, pid: 4242, host: 'node-1' })).toBe(true);
        const before = (await store.listTries(key('t')))[0];
        expect(before).toMatchObject({ state: 'running', pid: 4242, host: 'node-1', start_date: T0 + 1 });
        expect(await store.updateTry(k, ['queued'], { state: 'failed' })).toBe(false);
        expect((await store.listTries(key('t')))[0]).toEqual(before);
        expect(await store.updateTry({ ...k, tryNumber: 2 }, ['running'], { state: 'failed' })).toBe(false);
        expect(
          await store.updateTry(k, ['running'], { state: 'failed', end_date: T0 + 9, exit_code: 137, failure_class: 'oom_killed', reason: 'OOMKilled', counts_against_budget: 0 }),
        ).toBe(true);
        expect((await store.listTries(key('t')))[0]).toMatchObject({ state: 'failed', exit_code: 137, failure_class: 'oom_killed', counts_against_budget: 0 });
      });

      it('liveTries lists queued and running tries only; listTries orders by try number', async () => {
        await store.createRun(run('d', 'r'));
        await store.insertTries([
          tryRow('d', 'r', 't', -1, 3, { state: 'running', scheduler_id: 's1' }),
          tryRow('d', 'r', 't', -1, 1, { state: 'failed' }),
          tryRow('d', 'r', 't', -1, 2, { state: 'success' }),
          tryRow('d', 'r', 'u', 4, 1, { state: 'queued' }),
          tryRow('d', 'r', 'v', -1, 1, { state: 'skipped' }),
        ]);
        const live = (await store.liveTries()).map((t) => `${t.task_id}[${t.map_index}]#${t.try_number}:${t.state}`).sort();
        expect(live).toEqual(['t[-1]#3:running', 'u[4]#1:queued']);
        expect((await store.listTries(key('t'))).map((t) => t.try_number)).toEqual([1, 2, 3]);
        expect(await store.listTries(key('t', 0))).toEqual([]);
      });
    });

    describe('pools', () => {
      it('the migration creates default_pool; upsert creates and updates; delete removes', async () => {
        expect(await store.listPools()).toEqual([{ name: 'default_pool', slots: 128, description: 'The pool tasks use unless they name another', gpus: null }]);
        await store.upsertPool('gpu', 4, 'the A100s');
        await store.upsertPool('cpu', 64, null);
        await store.upsertPool('gpu', 8, 'more A100s', 16);
        expect(await store.listPools()).toEqual([
          { name: 'cpu', slots: 64, description: null, gpus: null },
          { name: 'default_pool', slots: 128, description: 'The pool tasks use unless they name another', gpus: null },
          { name: 'gpu', slots: 8, description: 'more A100s', gpus: 16 },
        ]);
        expect(await store.deletePool('gpu')).toBe(true);
        expect(await store.deletePool('gpu')).toBe(false);
        expect((await store.listPools()).map((p) => p.name)).toEqual(['cpu', 'default_pool']);
      });

      it('a GPU quota must be a whole number, 0 or more; activeUsage sums the GPUs live instances hold per pool', async () => {
        await expect(store.upsertPool('gpu', 4, null, -2)).rejects.toThrow("pool 'gpu': the GPU quota must be a whole number of GPUs, 0 or more, or null for no quota (got -2)");
        await expect(store.upsertPool('gpu', 4, null, 0.5)).rejects.toThrow(/got 0\.5/);
        expect((await store.listPools()).map((p) => p.name)).toEqual(['default_pool']);
        await store.upsertPool('gpu', 4, null, 8);
        await store.createRun(run('d', 'r'));
        await store.insertTaskInstances([
          ti('d', 'r', 'a', 0, { pool: 'gpu', state: 'queued', pool_gpus: 2 }),
          ti('d', 'r', 'a', 1, { pool: 'gpu', state: 'running', pool_gpus: 1 }),
          ti('d', 'r', 'a', 2, { pool: 'gpu', state: 'success', pool_gpus: 4 }),
          ti('d', 'r', 'b', -1, { state: 'running', pool_gpus: 0 }),
        ]);
        const usage = await store.transaction((tx) => tx.activeUsage(['gpu', 'default_pool']));
        expect(usage.gpus).toEqual(new Map([['gpu', 3]]));
        expect(usage.pools).toEqual(new Map([['gpu', 2], ['default_pool', 1]]));
      });
    });

    describe('metrics', () => {
      it('lists by try, name and step, with float values intact', async () => {
        await store.createRun(run('d', 'r'));
        await store.insertMetrics([
          metric('t', 2, 'loss', 1, 0.25),
          metric('t', 1, 'loss', 10, 0.1 + 0.2),
          metric('t', 1, 'acc', 2, 0.875),
          metric('t', 1, 'loss', 2, 1e-12),
          metric('t', 1, 'loss', 1, -3.5),
          metric('u', 1, 'loss', 1, 9),
        ]);
        const all = await store.listMetrics(key('t'));
        expect(all.map((m) => `${m.try_number}:${m.name}@${m.step}=${m.value}`)).toEqual([
          '1:acc@2=0.875',
          '1:loss@1=-3.5',
          '1:loss@2=1e-12',
          `1:loss@10=${0.1 + 0.2}`,
          '2:loss@1=0.25',
        ]);
        expect(all[0].at).toBe(T0 + 2);
        expect((await store.listMetrics({ ...key('t'), tryNumber: 2 })).map((m) => m.value)).toEqual([0.25]);
      });

      it('writes large batches', async () => {
        await store.createRun(run('d', 'r'));
        await store.insertMetrics(Array.from({ length: 1001 }, (_, i) => metric('t', 1, 'loss', i, 1 / (i + 1))));
        const rows = await store.listMetrics(key('t'));
        expect(rows).toHaveLength(1001);
        expect(rows[1000]).toMatchObject({ step: 1000, value: 1 / 1001 });
      });
    });

    describe('transactions and types', () => {
      it('a transaction that throws leaves nothing behind', async () => {
        await expect(
          store.transaction(async (tx) => {
            await tx.createRun(run('d', 'r'));
            await tx.insertTaskInstances(Array.from({ length: 500 }, (_, i) => ti('d', 'r', 't', i)));
            await tx.upsertPool('gpu', 2, null);
            await tx.bumpRunChange('d', 'r');
            throw new Error('the scheduler crashed mid-tick');
          }),
        ).rejects.toThrow('the scheduler crashed mid-tick');
        expect(await store.getRun('d', 'r')).toBeUndefined();
        expect(await store.listTaskInstances('d', 'r')).toEqual([]);
        expect((await store.listPools()).map((p) => p.name)).toEqual(['default_pool']);
      });

      it('a transaction returns its value, and nested transaction() calls join the outer one', async () => {
        const v = await store.transaction(async (tx) => {
          await tx.createRun(run('d', 'r'));
          const inner = await tx.transaction(async (tx2) => {
            expect(tx2).toBe(tx);
            await tx2.bumpRunChange('d', 'r');
            return 'inner';
          });
          return `${inner}+outer`;
        });
        expect(v).toBe('inner+outer');
        expect((await store.getRun('d', 'r'))?.change_seq).toBe(1);
      });

      it('epoch-millisecond bigints and integers come back as JS numbers', async () => {
        const big = 4_102_444_800_000; // 2100-01-01
        await store.createRun(run('d', 'r', { logical_date: big, queued_at: T0, start_date: 2 ** 53 - 1, end_date: 0 }));
        await store.insertTaskInstances([ti('d', 'r', 't', 2 ** 31 - 1, { next_retry_at: big + 1, updated_at: T0 })]);
        await store.insertMetrics([{ ...metric('t', 1, 'loss', 2 ** 40, 1.5), at: big }]);
        const r = await store.getRun('d', 'r');
        expect(r).toMatchObject({ logical_date: big, queued_at: T0, start_date: 2 ** 53 - 1, end_date: 0, change_seq: 0 });
        for (const v of [r!.logical_date, r!.queued_at, r!.start_date, r!.data_interval_start, r!.change_seq]) expect(typeof v).toBe('number');
        const row = await store.getTaskInstance(key('t', 2 ** 31 - 1));
        expect(row).toMatchObject({ next_retry_at: big + 1, updated_at: T0, map_index: 2 ** 31 - 1 });
        expect(typeof row!.next_retry_at).toBe('number');
        const [m] = await store.listMetrics(key('t', -1));
        expect(m).toMatchObject({ step: 2 ** 40, at: big, value: 1.5 });
        expect(typeof m.step).toBe('number');
        expect(typeof m.at).toBe('number');
      });
    });

    describe('migrations', () => {
      it('migrateToLatest on a migrated database applies nothing new and keeps the data', async () => {
        await store.createRun(run('d', 'r'));
        expect(await migrateToLatest(store.db)).toEqual(Object.keys(MIGRATIONS));
        expect(await store.getRun('d', 'r')).toBeDefined();
      });

      it('migrateToLatest refuses a database migrated by a newer Trainyard (DB_NEWER_THAN_CODE)', async () => {
        await sql`insert into kysely_migration (name, timestamp) values (${'9999_from_the_future'}, ${new Date(T0).toISOString()})`.execute(store.db);
        const e = await expectCode(migrateToLatest(store.db), 'DB_NEWER_THAN_CODE');
        expect(e.message).toContain('9999_from_the_future');
        expect(e.message).toMatch(/upgrade trainyard/i);
      });
    });
  });
}
