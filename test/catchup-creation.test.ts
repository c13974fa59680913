import { afterEach, describe, expect, it } from 'vitest';
import { dag } from '../src/index.js';
import { createDueRuns } from '../src/scheduler/scheduled-runs.js';
import type { Store } from '../src/store/store.js';
import { registerDag, tempStore } from './support/harness.js';

const DAY = 86_400_000;
const NOW = Date.parse('2026-03-02T00:00:30Z');
let t: Awaited<ReturnType<typeof tempStore>> | undefined;

afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function setup(): Promise<Store> {
  t = await tempStore();
  const big = dag('minutely', { schedule: '* * * * *', startDate: new Date(NOW - DAY - 30_000), catchup: true });
  big.command('t', { command: 'true' });
  const small = dag('hourly', { schedule: '@hourly', startDate: new Date(NOW - 3 * 3_600_000 - 30_000), catchup: true });
  small.command('t', { command: 'true' });
  await registerDag(t.store, big);
  await registerDag(t.store, small);
  return t.store;
}

const call = (store: Store, budget: number, maxMs = Number.POSITIVE_INFINITY, clock?: () => number) =>
  store.listDags({ includeInactive: true }).then((dags) => createDueRuns(store, dags, (id, h) => store.getSpec(id, h), NOW, budget, maxMs, clock));

const starts = async (store: Store, dagId: string) =>
  (await store.db.selectFrom('dag_run').select('data_interval_start').where('dag_id', '=', dagId).orderBy('data_interval_start').execute()).map((r) => r.data_interval_start);

describe('catch-up run creation in bounded slices', () => {
  it('DAGs take turns: a long catch-up does not hold back another DAG, and every interval gets exactly one run', async () => {
    const store = await setup();
    const first = await call(store, 1000);
    expect(first).toEqual({ created: 1000, more: true });
    // The hourly DAG's three due runs were made in the first call, next to the catch-up.
    expect(await starts(store, 'hourly')).toHaveLength(3);
    let calls = 1;
    for (let r = first; r.more; calls++) r = await call(store, 1000);
    expect(calls).toBe(2);
    const minutes = await starts(store, 'minutely');
    expect(minutes).toHaveLength(1440);
    expect(new Set(minutes).size).toBe(1440);
    expect(minutes.every((s, i) => i === 0 || s - minutes[i - 1] === 60_000)).toBe(true);
    expect(minutes[minutes.length - 1] + 60_000).toBeLessThanOrEqual(NOW);
    expect((await store.getDag('minutely'))!.next_run_at).toBe(Date.parse('2026-03-02T00:01:00Z'));
    expect(await call(store, 1000)).toEqual({ created: 0, more: false });
  });

  it('starts no new slice past the time budget, but always makes one', async () => {
    const store = await setup();
    let fake = 0;
    const clock = () => (fake += 4); // every reading is 4 ms later
    const bounded = await call(store, 1000, 10, clock);
    expect(bounded.more).toBe(true);
    expect(bounded.created).toBeGreaterThan(0);
    expect(bounded.created).toBeLessThan(1000);
    const once = await call(store, 1000, 0, clock);
    expect(once.created).toBeGreaterThan(0);
    expect(once.created).toBeLessThanOrEqual(100);
  });
});
