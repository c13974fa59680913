import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApiServer } from '../../src/api/index.js';
import { CostReport, RunCost, SweepSeries, SweepTrials, TrySeries } from '../../src/api/ml-schemas.js';
import { loadConfig } from '../../src/config.js';
import type { NewTry } from '../../src/store/store.js';
import { type ApiHarness, RUN1, seededApiHarness, T0 } from './support.js';

let h: ApiHarness;

/**
 * The run's sweep `fit` has 30 trials (seed = map index; every third failed). Trials 1, 2, 4
 * and 5 report `loss` over 1,000 steps, falling to 1/(seed+1) with a spike at step 500, and
 * `acc`; trial 2's first try failed and its second try is the one that counts. Trial i ended at
 * T0 + i*100.
 */
async function seedSweep(): Promise<void> {
  const trials = [1, 2, 4, 5];
  const tries: NewTry[] = [];
  const metric = (mapIndex: number, tryNumber: number, name: string, step: number, value: number) => ({ dag_id: 'train', run_id: 'run1', task_id: 'fit', map_index: mapIndex, try_number: tryNumber, name, step, value, at: T0 + step });
  const points = [];
  for (const i of trials) {
    const tryNumber = i === 2 ? 2 : 1;
    for (let step = 1; step <= 1000; step++) {
      const loss = step === 500 ? 50 : 1 / (i + 1) + 1 / step;
      points.push(metric(i, tryNumber, 'loss', step, loss));
    }
    points.push(metric(i, tryNumber, 'acc', 1000, 1 - 1 / (i + 1)));
    tries.push(tryRow(i, tryNumber, { start_date: T0, end_date: T0 + i * 100 }));
  }
  // Trial 2's first try: failed after a minute, with metrics that must not show.
  points.push(metric(2, 1, 'loss', 1, 99));
  tries.push(tryRow(2, 1, { state: 'failed', failure_class: 'oom_killed', start_date: T0 - 60_000, end_date: T0 }));
  // Trial 3 failed (its one try, an hour long).
  tries.push(tryRow(3, 1, { state: 'failed', failure_class: 'user_error', start_date: T0, end_date: T0 + 3_600_000 }));
  await h.store.insertTries(tries);
  await h.store.insertMetrics(points);
  await h.store.db.updateTable('task_instance').set({ try_number: 2 }).where('task_id', '=', 'fit').where('map_index', '=', 2).execute();
}

function tryRow(mapIndex: number, tryNumber: number, set: Partial<NewTry>): NewTry {
  return {
    dag_id: 'train',
    run_id: 'run1',
    task_id: 'fit',
    map_index: mapIndex,
    try_number: tryNumber,
    state: 'success',
    executor: 'local',
    queued_at: T0,
    start_date: T0,
    end_date: T0 + 1000,
    host: 'localhost',
    pid: 1,
    external: null,
    exit_code: 0,
    signal: null,
    failure_class: null,
    reason: null,
    result: null,
    log_path: '/dev/null',
    counts_against_budget: 1,
    scheduler_id: 'test',
    ...set,
  };
}

beforeEach(async () => {
  h = await seededApiHarness();
  await seedSweep();
});
afterEach(async () => h.close());

const SWEEP = `${RUN1}/sweeps/fit`;

describe('GET …/tries/{try_number}/series', () => {
  const URL = `${RUN1}/taskInstances/fit/4/tries/1/series`;

  it('gives every point of each series as arrays, in step order', async () => {
    const r = await h.request('GET', URL, { as: 'viewer' });
    expect(r.status).toBe(200);
    TrySeries.parse(r.body);
    expect(r.body.series.map((s: { name: string; total_points: number; value: number[] }) => [s.name, s.total_points, s.value.length])).toEqual([
      ['acc', 1, 1],
      ['loss', 1000, 1000],
    ]);
    const loss = r.body.series[1];
    expect(loss.step.slice(0, 3)).toEqual([1, 2, 3]);
    expect(loss.at[0]).toBe(T0 + 1);
  });

  it('downsamples to max_points per series, keeping the ends and the spike', async () => {
    const r = await h.request('GET', `${URL}?max_points=50&name=loss`, { as: 'viewer' });
    expect(r.status).toBe(200);
    const [loss] = r.body.series;
    expect(r.body.series).toHaveLength(1);
    expect(loss.total_points).toBe(1000);
    expect(loss.value).toHaveLength(50);
    expect(loss.step[0]).toBe(1);
    expect(loss.step[49]).toBe(1000);
    expect(loss.value).toContain(50);
    expect([...loss.step].sort((a: number, b: number) => a - b)).toEqual(loss.step);
  });

  it('rejects a bad max_points and answers 404 for a try that does not exist', async () => {
    const bad = await h.request('GET', `${URL}?max_points=1&extra=2`, { as: 'viewer' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.map((d: { field: string }) => d.field).sort()).toEqual(['query.extra', 'query.max_points']);
    const missing = await h.request('GET', `${RUN1}/taskInstances/fit/4/tries/3/series`, { as: 'viewer' });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('TRY_NOT_FOUND');
    expect((await h.request('GET', URL, { as: 'anonymous' })).status).toBe(401);
  });
});

describe('GET …/sweeps/{task_id}/series', () => {
  it("answers every trial's latest try in one request, downsampled", async () => {
    const r = await h.request('GET', `${SWEEP}/series?max_points=100&name=loss`, { as: 'viewer' });
    expect(r.status).toBe(200);
    SweepSeries.parse(r.body);
    expect(r.body.trials).toHaveLength(30);
    const byIndex = new Map(r.body.trials.map((t: { map_index: number }) => [t.map_index, t]));
    const two = byIndex.get(2) as { try_number: number; params: object; series: { value: number[]; total_points: number }[] };
    expect(two.try_number).toBe(2);
    expect(two.params).toEqual({ seed: 2 });
    expect(two.series[0].total_points).toBe(1000); // not the failed first try's point
    expect(two.series[0].value).toHaveLength(100);
    expect(two.series[0].value).not.toContain(99);
    expect((byIndex.get(0) as { series: unknown[] }).series).toEqual([]);
    expect((two.series[0] as { at?: number[] }).at).toHaveLength(100);
    // Without times: a third less to send.
    const lean = await h.request('GET', `${SWEEP}/series?max_points=100&name=loss&times=false`, { as: 'viewer' });
    SweepSeries.parse(lean.body);
    const leanTwo = lean.body.trials.find((t: { map_index: number }) => t.map_index === 2);
    expect(leanTwo.series[0].at).toBeUndefined();
    expect(leanTwo.series[0].value).toEqual(two.series[0].value);
  });

  it('answers 404 for a task that is not mapped, a missing task or run', async () => {
    const unmapped = await h.request('GET', `${RUN1}/sweeps/prep/series`, { as: 'viewer' });
    expect(unmapped.status).toBe(404);
    expect(unmapped.body.error).toMatchObject({ code: 'SWEEP_NOT_FOUND', message: expect.stringContaining('is not mapped') });
    expect((await h.request('GET', `${RUN1}/sweeps/nope/series`, { as: 'viewer' })).body.error.message).toContain("has no task 'nope'");
    expect((await h.request('GET', '/api/v1/dags/train/runs/nope/sweeps/fit/series', { as: 'viewer' })).body.error.code).toBe('RUN_NOT_FOUND');
  });
});

describe('GET …/sweeps/{task_id}/trials', () => {
  it('gives params and final metrics per trial, the best trial and the best so far', async () => {
    const r = await h.request('GET', `${SWEEP}/trials?objective=loss`, { as: 'viewer' });
    expect(r.status).toBe(200);
    SweepTrials.parse(r.body);
    expect(r.body).toMatchObject({ objective: 'loss', direction: 'min', params: ['seed'], metrics: ['acc', 'loss'] });
    const four = r.body.trials.find((t: { map_index: number }) => t.map_index === 4);
    expect(four).toMatchObject({ params: { seed: 4 }, state: 'success', final: { acc: 0.8, loss: 0.2 + 0.001 } });
    expect(four.best_value).toBeCloseTo(0.2 + 0.001);
    expect(r.body.best).toEqual({ map_index: 5, value: 1 / 6 + 0.001 });
    // Trials ended at T0 + i*100: 1, 2, 4, 5 in that order, each better than the last.
    expect(r.body.best_so_far.map((b: { map_index: number; best_map_index: number }) => [b.map_index, b.best_map_index])).toEqual([
      [1, 1],
      [2, 2],
      [4, 4],
      [5, 5],
    ]);
    const max = await h.request('GET', `${SWEEP}/trials?objective=loss&direction=max`, { as: 'viewer' });
    expect(max.body.best.map_index).toBe(1);
    expect(max.body.best_so_far.every((b: { best_map_index: number }) => b.best_map_index === 1)).toBe(true);
  });

  it('picks an objective when none is named', async () => {
    const r = await h.request('GET', `${SWEEP}/trials`, { as: 'viewer' });
    expect(r.body).toMatchObject({ objective: 'acc', direction: 'max', best: { map_index: 5 } });
  });

  it('names the field for an unknown objective or direction', async () => {
    const r = await h.request('GET', `${SWEEP}/trials?objective=f1&direction=up`, { as: 'viewer' });
    expect(r.status).toBe(400);
    expect(r.body.error.details.map((d: { field: string }) => d.field)).toEqual(['query.direction']);
    const unknown = await h.request('GET', `${SWEEP}/trials?objective=f1`, { as: 'viewer' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.details).toEqual([{ field: 'query.objective', reason: 'is not a metric of this sweep; its metrics are acc, loss' }]);
  });
});

describe('cost', () => {
  it("adds up a run's CPU- and memory-hours per task and pool, failed tries included", async () => {
    const r = await h.request('GET', `${RUN1}/cost`, { as: 'viewer' });
    expect(r.status).toBe(200);
    RunCost.parse(r.body);
    expect(r.body).toMatchObject({ priced: false, currency: null });
    const fit = r.body.by_task.find((t: { key: string }) => t.key === 'fit');
    // fit's tries: 0.1+0.2+0.4+0.5 s of successes, a 60 s failure and a one-hour failure; 1 CPU each.
    expect(fit.tries).toBe(6);
    expect(fit.failed_tries).toBe(2);
    const hours = (ms: number) => ms / 3_600_000;
    expect(fit.cpu_hours).toBeCloseTo(hours(100 + 200 + 400 + 500 + 60_000 + 3_600_000), 9);
    expect(fit.failed.cpu_hours).toBeCloseTo(hours(60_000 + 3_600_000), 9);
    expect(fit.gpu_hours).toBe(0);
    expect(r.body.total.tries).toBe(8); // with prep and the running publish
    expect(r.body.by_pool.map((p: { key: string }) => p.key)).toEqual(['default_pool']);
    expect((await h.request('GET', '/api/v1/dags/train/runs/nope/cost', { as: 'viewer' })).status).toBe(404);
  });

  it('groups by DAG, pool, run or sweep, and prices with a price table', async () => {
    const bySweep = await h.request('GET', '/api/v1/cost?by=sweep', { as: 'viewer' });
    expect(bySweep.status).toBe(200);
    CostReport.parse(bySweep.body);
    expect(bySweep.body.rows.map((x: { key: string; tries: number }) => [x.key, x.tries])).toEqual([['train/run1/fit', 6]]);
    const byDag = await h.request('GET', '/api/v1/cost?by=dag&dag_id=train', { as: 'viewer' });
    expect(byDag.body.rows.map((x: { key: string }) => x.key)).toEqual(['train']);
    expect(byDag.body.total.tries).toBe(8);

    // The same store behind a server configured with prices.
    const priced = createApiServer({
      store: h.store,
      layout: h.layout,
      config: loadConfig({ home: h.home }, { TRAINYARD_PRICES: '{"currency": "EUR", "cpuHour": 2, "memoryGibHour": 0.5}' }),
      auth: { mode: 'password' },
      now: () => T0 + 10_000,
      log: () => {},
    });
    const res = await priced.app.request('http://127.0.0.1/api/v1/cost?by=run', { headers: { authorization: `Bearer ${h.tokens.viewer}` } });
    type Hours = { cpu_hours: number; memory_gib_hours: number };
    const body = (await res.json()) as { priced: boolean; currency: string; rows: (Hours & { key: string; cost: number; failed_cost: number; failed: Hours })[] };
    expect(body).toMatchObject({ priced: true, currency: 'EUR' });
    const [run] = body.rows;
    expect(run.key).toBe('train/run1');
    expect(run.memory_gib_hours).toBeGreaterThan(0);
    expect(run.cost).toBeCloseTo(run.cpu_hours * 2 + run.memory_gib_hours * 0.5, 9);
    expect(run.failed_cost).toBeCloseTo(run.failed.cpu_hours * 2 + run.failed.memory_gib_hours * 0.5, 9);
    await priced.close();
  });

  it('rejects a bad grouping or time filter', async () => {
    const r = await h.request('GET', '/api/v1/cost?by=team&since=yesterday', { as: 'viewer' });
    expect(r.status).toBe(400);
    expect(r.body.error.details.map((d: { field: string }) => d.field).sort()).toEqual(['query.by', 'query.since']);
    expect((await h.request('GET', '/api/v1/cost', { as: 'anonymous' })).status).toBe(401);
  });
});

describe('the price table setting', () => {
  it('names what is wrong with it', () => {
    expect(() => loadConfig({}, { TRAINYARD_PRICES: '{"cpuHour": -1}' })).toThrow(/TRAINYARD_PRICES.*cpuHour must be a number ≥ 0/);
    expect(() => loadConfig({}, { TRAINYARD_PRICES: '{"gpu": 1}' })).toThrow(/unknown field 'gpu'/);
    expect(() => loadConfig({}, { TRAINYARD_PRICES: '{not json' })).toThrow(/not valid JSON/);
  });
});
