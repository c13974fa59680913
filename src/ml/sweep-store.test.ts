import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../store/store.js';
import { loadSweepDecisions, loadTrialSeries, loadTrialSummaries, recordSweepDecision, withObjectiveRange } from './sweep-store.js';

interface Harness {
  tempStore(): Promise<{ home: string; store: Store; close(): Promise<void> }>;
}
interface PostgresSupport {
  freshPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }>;
}
const harnessPath = '../../test/support/harness.js';
const postgresPath = '../../test/support/postgres.js';

async function openStore(dialect: 'sqlite' | 'postgres'): Promise<{ store: Store; close(): Promise<void> }> {
  if (dialect === 'sqlite') return ((await import(harnessPath)) as Harness).tempStore();
  const { freshPostgresDatabase } = (await import(postgresPath)) as PostgresSupport;
  const { openPostgres } = await import('../store/postgres.js');
  const { Store: StoreClass } = await import('../store/store.js');
  const database = await freshPostgresDatabase();
  const opened = await openPostgres(database.url, 2);
  return {
    store: new StoreClass(opened.db, 'postgres'),
    close: async () => {
      await opened.close();
      await database.drop();
    },
  };
}

describe.each(['sqlite', 'postgres'] as const)('reading a sweep from the store (%s)', (dialect) => {
  let store: Store;
  let close: () => Promise<void>;
  const k = { dagId: 'd', runId: 'r', taskId: 'train' };
  const ti = (mapIndex: number, tryNumber: number, item: object | null, params: object | null) => ({
    dag_id: 'd', run_id: 'r', task_id: 'train', map_index: mapIndex, state: 'success' as const, try_number: tryNumber, budget_tries: tryNumber, free_retries: 0, priority_weight: 1,
    pool: 'default_pool', pool_slots: 1, next_retry_at: null, queued_at: 1, start_date: 10, end_date: 20 + mapIndex, failure_class: null, reason: null, result: null,
    item: item === null ? null : JSON.stringify(item), params: params === null ? null : JSON.stringify(params), resource_overrides: null, updated_at: 1,
  });
  const m = (mapIndex: number, tryNumber: number, name: string, step: number | null, value: number, at: number) => ({ dag_id: 'd', run_id: 'r', task_id: 'train', map_index: mapIndex, try_number: tryNumber, name, step, value, at });

  beforeAll(async () => {
    ({ store, close } = await openStore(dialect));
    await store.insertTaskInstances([ti(-1, 0, null, null), ti(0, 1, { lr: 0.1 }, { optimizer: 'adam' }), ti(1, 2, { lr: 0.2 }, null), ti(2, 1, { lr: 0.3 }, null)]);
    await store.insertMetrics([
      // Trial 0: the highest step wins over a later time; a series without steps takes its latest point.
      m(0, 1, 'loss', 5, 0.2, 100), m(0, 1, 'loss', 7, 0.4, 50), m(0, 1, 'loss', 6, 0.1, 200),
      m(0, 1, 'acc', null, 0.5, 10), m(0, 1, 'acc', null, 0.6, 20),
      // Trial 1: its first try's points do not count.
      m(1, 1, 'loss', 9, 0.01, 1), m(1, 2, 'loss', 1, 0.9, 1), m(1, 2, 'loss', 2, 0.8, 2),
    ]);
  });
  afterAll(() => close());

  it('records early-stopping decisions once each and reads them back oldest first; deleting the run deletes them', async () => {
    const k2 = { ...k, runId: 'r2' };
    await recordSweepDecision(store, k2, { mapIndex: 1, tryNumber: 1, kind: 'stop', step: 2.5, reason: 'second', at: 20 });
    await recordSweepDecision(store, k2, { mapIndex: 0, tryNumber: 1, kind: 'stop', step: 2, reason: 'first', at: 10 });
    await recordSweepDecision(store, k2, { mapIndex: 0, tryNumber: 1, kind: 'promote', step: 2, reason: 'promoted', at: 20 });
    // The same try stopped again (a restarted scheduler re-sends its cancel): the first record stays.
    await recordSweepDecision(store, k2, { mapIndex: 0, tryNumber: 1, kind: 'stop', step: 3, reason: 'again', at: 30 });
    await recordSweepDecision(store, k, { mapIndex: 0, tryNumber: 1, kind: 'stop', step: 9, reason: 'other run', at: 5 });
    expect((await loadSweepDecisions(store, k2)).map((d) => [d.kind, d.mapIndex, d.tryNumber, d.step, d.reason, d.at])).toEqual([
      ['stop', 0, 1, 2, 'first', 10],
      ['promote', 0, 1, 2, 'promoted', 20],
      ['stop', 1, 1, 2.5, 'second', 20],
    ]);
    await store.deleteRun('d', 'r2');
    expect(await loadSweepDecisions(store, k2)).toEqual([]);
    expect((await loadSweepDecisions(store, k)).map((d) => d.reason)).toEqual(['other run']);
  });

  it('summarises each trial’s latest try: last values, params merged, the objective’s range', async () => {
    const summaries = await loadTrialSummaries(store, k);
    expect(summaries.map((t) => [t.mapIndex, t.tryNumber, t.params, t.final])).toEqual([
      [0, 1, { lr: 0.1, optimizer: 'adam' }, { acc: 0.6, loss: 0.4 }],
      [1, 2, { lr: 0.2 }, { loss: 0.8 }],
      [2, 1, { lr: 0.3 }, {}],
    ]);
    const ranged = await withObjectiveRange(store, k, summaries, 'loss');
    expect(ranged.map((t) => t.objectiveRange)).toEqual([{ min: 0.1, max: 0.4 }, { min: 0.8, max: 0.9 }, undefined]);
  });

  it('gives the series of the latest tries, filtered by name', async () => {
    const series = await loadTrialSeries(store, k, ['loss']);
    expect(series.map((t) => [t.mapIndex, t.points.map((p) => p.value).sort()])).toEqual([
      [0, [0.1, 0.2, 0.4]],
      [1, [0.8, 0.9]],
      [2, []],
    ]);
    expect(await loadTrialSeries(store, { ...k, taskId: 'nope' })).toEqual([]);
  });
});
