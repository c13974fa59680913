/**
 * Store conformance: DAG runs: creation, listing, guarded state changes and deletion.
 *
 * Part of the store conformance suite (store.conformance.ts), which calls it inside its
 * `Store conformance: <dialect>` block; `current()` is the fresh store of the running test.
 * Not a runtime module: it imports vitest.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { expectCode, key, metric, run, T0, ti, tryRow } from './fixtures.conformance.js';
import type { Store } from './store.js';

/** DAG runs: creation, listing, guarded state changes and deletion. */
export function runsConformance(current: () => Store): void {
  let store: Store;
  beforeEach(() => {
    store = current();
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
}
