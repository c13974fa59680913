/**
 * Store conformance: DAGs: versions, activation, pausing and import errors.
 *
 * Part of the store conformance suite (store.conformance.ts), which calls it inside its
 * `Store conformance: <dialect>` block; `current()` is the fresh store of the running test.
 * Not a runtime module: it imports vitest.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { spec, T0 } from './fixtures.conformance.js';
import type { Store } from './store.js';

/** DAG rows, versions, import errors and pausing. */
export function dagsConformance(current: () => Store): void {
  let store: Store;
  beforeEach(() => {
    store = current();
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
}
