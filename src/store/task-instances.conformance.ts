/**
 * Store conformance: Task instances and their tries: inserts, guarded changes and the exactly-once try key.
 *
 * Part of the store conformance suite (store.conformance.ts), which calls it inside its
 * `Store conformance: <dialect>` block; `current()` is the fresh store of the running test.
 * Not a runtime module: it imports vitest.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { key, run, T0, ti, tryRow } from './fixtures.conformance.js';
import type { Store, TiChange } from './store.js';

/** Task instances and their tries. */
export function taskInstancesConformance(current: () => Store): void {
  let store: Store;
  beforeEach(() => {
    store = current();
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
}
