import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunDetail, TaskSummary } from '../../src/api/schemas.js';
import { dag, z } from '../../src/index.js';
import { registerDag } from '../support/harness.js';
import { apiHarness, type ApiHarness, registerTestDags, RUN1, seededApiHarness, seedTrainRun, T0 } from './support.js';

/**
 * Cached instances of a mapped task, counted apart in the summary and the grid and filtered
 * in the instance list, on both dialects. seedTrainRun makes `fit` 30 instances, every third
 * failed; here four of its successes and one failure get a `cached_from`: the failure stands
 * for a cached instance marked failed afterwards, which no longer counts as cached. The run
 * is of a version of `train` whose `fit` has `cache`.
 */
const CACHED_SUCCESSES = [1, 2, 4, 5];
const CACHED_THEN_FAILED = 3;

async function markCached(h: ApiHarness): Promise<void> {
  const from = JSON.stringify({ dag_id: 'train', run_id: 'run0', task_id: 'fit', map_index: 0, try_number: 1, artifacts_uri: 'file:///x', cache_key: 'k' });
  await h.store.db
    .updateTable('task_instance')
    .set({ cached_from: from })
    .where('dag_id', '=', 'train')
    .where('run_id', '=', 'run1')
    .where('task_id', '=', 'fit')
    .where('map_index', 'in', [...CACHED_SUCCESSES, CACHED_THEN_FAILED])
    .execute();
}

/** `train` as the shared test DAGs have it, with `cache` on `fit`: a newer version, which the seeded run pins. */
async function registerCachedTrain(h: ApiHarness): Promise<void> {
  const train = dag('train', { tags: ['ml'], params: z.object({ epochs: z.number().int().min(1).default(3), lr: z.number().positive().default(0.1) }) });
  const prep = train.command('prep', { command: 'true' });
  const fit = train.command('fit', { command: 'true', expand: { seed: [1, 2, 3] }, cache: { version: 'v1' } }).after(prep);
  train.group('report', {}, (g) => {
    g.command('publish', { command: 'true', triggerRule: 'all_done' }).after(fit);
  });
  await registerDag(h.store, train, '/dags/train.ts', T0 + 1);
}

const TIS = `${RUN1}/taskInstances`;
const indexes = (body: { items: { map_index: number }[] }) => body.items.map((t) => t.map_index);

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`cached instances of a mapped task (${dialect})`, () => {
    let h: ApiHarness;
    beforeAll(async () => {
      h = await apiHarness({ dialect });
      await registerTestDags(h.store);
      await registerCachedTrain(h);
      await seedTrainRun(h.store, h.layout);
      await markCached(h);
    });
    afterAll(async () => h?.close());

    it('the summary counts cached successes apart, leaving the counts by state as they were', async () => {
      const r = await h.request('GET', `${TIS}/fit/summary`, { as: 'viewer' });
      expect(r.status).toBe(200);
      TaskSummary.parse(r.body);
      expect(r.body).toMatchObject({ total: 30, counts: { success: 20, failed: 10 }, cached_count: CACHED_SUCCESSES.length });
      const plain = await h.request('GET', `${TIS}/report.publish/summary`, { as: 'viewer' });
      expect(plain.body.cached_count).toBe(0);
    });

    it('the grid cell of the mapped task carries the same cached count', async () => {
      const r = await h.request('GET', '/api/v1/dags/train/grid', { as: 'viewer' });
      expect(r.body.cells.run1.fit).toMatchObject({ total: 30, counts: { success: 20, failed: 10 }, cached_count: CACHED_SUCCESSES.length });
      // A task that is not mapped has no count, only its own flag.
      expect(r.body.cells.run1.prep).not.toHaveProperty('cached_count');
    });

    it("the run's detail says how many of its successes were cached, beside its counts by state", async () => {
      const r = await h.request('GET', RUN1, { as: 'viewer' });
      expect(r.status).toBe(200);
      RunDetail.parse(r.body);
      expect(r.body.cached_count).toBe(CACHED_SUCCESSES.length);
      // Cached instances are still successes there, as before.
      const successes = await h.store.db
        .selectFrom('task_instance')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('dag_id', '=', 'train')
        .where('run_id', '=', 'run1')
        .where('state', '=', 'success')
        .executeTakeFirstOrThrow();
      expect(r.body.task_counts.success).toBe(Number(successes.n));
    });

    it('lists only the cached instances, or only the others', async () => {
      const cached = await h.request('GET', `${TIS}?task_id=fit&cached=true`, { as: 'viewer' });
      expect(cached.status).toBe(200);
      expect(indexes(cached.body)).toEqual(CACHED_SUCCESSES);
      expect(cached.body.items.every((t: { cached: boolean; state: string }) => t.cached && t.state === 'success')).toBe(true);
      const successes = await h.request('GET', `${TIS}?task_id=fit&state=success&cached=false`, { as: 'viewer' });
      expect(successes.body.total).toBe(20 - CACHED_SUCCESSES.length);
      expect(indexes(successes.body)).not.toContain(1);
      const others = await h.request('GET', `${TIS}?task_id=fit&cached=false&limit=1000`, { as: 'viewer' });
      expect(others.body.total).toBe(30 - CACHED_SUCCESSES.length);
      expect(indexes(others.body)).toContain(CACHED_THEN_FAILED);
    });

    it('refuses a cached filter that is not true or false, naming the field', async () => {
      const r = await h.request('GET', `${TIS}?cached=yes`, { as: 'viewer' });
      expect(r.status).toBe(400);
      expect(r.body.error.details.map((d: { field: string }) => d.field)).toEqual(['query.cached']);
    });
  });
}

describe('a mapped task without cache', () => {
  let h: ApiHarness;
  beforeAll(async () => {
    h = await seededApiHarness();
  });
  afterAll(async () => h?.close());

  it('has no cached instances to count, and says 0', async () => {
    const r = await h.request('GET', `${TIS}/fit/summary`, { as: 'viewer' });
    expect(r.body).toMatchObject({ total: 30, counts: { success: 20, failed: 10 }, cached_count: 0 });
  });
});
