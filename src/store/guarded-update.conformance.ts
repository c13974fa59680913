import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { OpenedStore } from './store.conformance.js';
import { run, ti } from './store.conformance.js';
import type { NewTry, Store, TiChange, TryChange } from './store.js';

const T = 1_763_700_000_123;

/** Guarded writes of many rows at once (one statement per kind of change on Postgres). */
export function guardedUpdateConformance(dialect: string, open: () => Promise<OpenedStore>): void {
  describe(`guarded batch updates (${dialect})`, () => {
    let opened: OpenedStore;
    let store: Store;
    beforeEach(async () => {
      opened = await open();
      store = opened.store;
      await store.createRun(run('d', 'r'));
    });
    afterEach(() => opened.close());

    const key = (taskId: string, mapIndex = -1) => ({ dagId: 'd', runId: 'r', taskId, mapIndex });

    it('applies a batch of like changes with their own values, and returns exactly the misses', async () => {
      await store.insertTaskInstances([
        ...[0, 1, 2].map((i) => ti('d', 'r', 'm', i, { state: 'scheduled' })),
        ti('d', 'r', 'm', 3, { state: 'running' }),
      ]);
      const toQueued = (i: number): TiChange => ({
        key: key('m', i),
        from: ['scheduled'],
        set: { state: 'queued', try_number: i + 1, queued_at: T + i, reason: i === 1 ? null : `it's "${i}"`, updated_at: T },
      });
      const changes = [0, 1, 2, 3, 4].map(toQueued);
      const missed = await store.applyTiChanges(changes);
      expect(missed).toEqual([changes[3], changes[4]]);
      const rows = await store.listTaskInstances('d', 'r', { taskId: 'm' });
      expect(rows.map((r) => [r.map_index, r.state, r.try_number, r.queued_at, r.reason])).toEqual([
        [0, 'queued', 1, T, `it's "0"`],
        [1, 'queued', 2, T + 1, null],
        [2, 'queued', 3, T + 2, `it's "2"`],
        [3, 'running', 0, null, null],
      ]);
    });

    it('mixes kinds of change in one call, each guarded by its own states', async () => {
      await store.insertTaskInstances([ti('d', 'r', 'a', -1, { state: 'queued' }), ti('d', 'r', 'b', -1, { state: 'running' }), ti('d', 'r', 'c', -1, { state: 'running' })]);
      const changes: TiChange[] = [
        { key: key('a'), from: ['queued'], set: { state: 'running', start_date: T } },
        { key: key('b'), from: ['running'], set: { state: 'success', end_date: T, result: '{"acc":0.97}' } },
        { key: key('c'), from: ['queued'], set: { state: 'running', start_date: T } },
      ];
      expect(await store.applyTiChanges(changes)).toEqual([changes[2]]);
      expect(await store.getTaskInstance(key('a'))).toMatchObject({ state: 'running', start_date: T });
      expect(await store.getTaskInstance(key('b'))).toMatchObject({ state: 'success', end_date: T, result: '{"acc":0.97}' });
      expect(await store.getTaskInstance(key('c'))).toMatchObject({ state: 'running', start_date: null });
    });

    it('changes more rows than one statement carries', async () => {
      const n = 2_345;
      await store.insertTaskInstances(Array.from({ length: n }, (_, i) => ti('d', 'r', 'big', i, { state: 'scheduled' })));
      const changes = Array.from({ length: n }, (_, i): TiChange => ({ key: key('big', i), from: ['scheduled'], set: { state: 'queued', try_number: 1 } }));
      expect(await store.applyTiChanges(changes)).toEqual([]);
      expect(await store.listTaskInstances('d', 'r', { taskId: 'big', states: ['queued'] })).toHaveLength(n);
    });

    it('activeUsage counts live instances per DAG and per pool, and with no pools per DAG only', async () => {
      await store.createRun(run('e', 'r'));
      await store.upsertPool('team', 2, null, null);
      await store.insertTaskInstances([
        ti('d', 'r', 'a', 0, { state: 'queued', pool: 'team' }),
        ti('d', 'r', 'a', 1, { state: 'running', pool: 'team', pool_slots: 3 }),
        ti('d', 'r', 'a', 2, { state: 'scheduled', pool: 'team' }),
        ti('e', 'r', 'b', -1, { state: 'running' }),
      ]);
      const usage = await store.transaction((tx) => tx.activeUsage(['team', 'default_pool', 'empty']));
      expect(usage.pools).toEqual(new Map([['team', 4], ['default_pool', 1]]));
      expect(usage.dags).toEqual(new Map([['d', 2], ['e', 1]]));
      expect(usage.gpus).toEqual(new Map());
      const dagsOnly = await store.transaction((tx) => tx.activeUsage([]));
      expect(dagsOnly.pools).toEqual(new Map());
      expect(dagsOnly.dags).toEqual(usage.dags);
    });

    it('applies guarded changes to tries, keyed by try number', async () => {
      await store.insertTaskInstances([ti('d', 'r', 't', 0, { state: 'running' }), ti('d', 'r', 't', 1, { state: 'running' })]);
      const newTry = (mapIndex: number, tryNumber: number): NewTry => ({
        dag_id: 'd', run_id: 'r', task_id: 't', map_index: mapIndex, try_number: tryNumber, state: 'running',
        executor: 'local', queued_at: T, log_path: `/logs/${mapIndex}.${tryNumber}`, counts_against_budget: 1,
      });
      await store.insertTries([newTry(0, 1), newTry(0, 2), newTry(1, 1)]);
      const done = (mapIndex: number, tryNumber: number): TryChange => ({
        key: { ...key('t', mapIndex), tryNumber },
        from: ['queued', 'running'],
        set: { state: 'success', end_date: T + tryNumber, exit_code: 0 },
      });
      const changes = [done(0, 2), done(1, 1), done(1, 7)];
      expect(await store.applyTryChanges(changes)).toEqual([changes[2]]);
      const states = async (mapIndex: number) => (await store.listTries(key('t', mapIndex))).map((t) => [t.try_number, t.state, t.end_date]);
      expect(await states(0)).toEqual([
        [1, 'running', null],
        [2, 'success', T + 2],
      ]);
      expect(await states(1)).toEqual([[1, 'success', T + 1]]);
    });
  });
}
