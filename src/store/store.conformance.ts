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
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dagsConformance } from './dags.conformance.js';
import { migrateToLatest } from './db.js';
import { expectCode, key, metric, type OpenedStore, run, T0, ti } from './fixtures.conformance.js';
import { MIGRATIONS } from './migrations/index.js';
import { runsConformance } from './runs.conformance.js';
import type { Store } from './store.js';
import { taskInstancesConformance } from './task-instances.conformance.js';

export { type OpenedStore, run, spec, ti, tryRow } from './fixtures.conformance.js';

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

    dagsConformance(() => store);
    runsConformance(() => store);
    taskInstancesConformance(() => store);

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
