import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { triggerRun } from '../../src/scheduler/trigger.js';
import { apiHarness, type ApiHarness, registerTestDags, seedTrainRun, T0 } from './support.js';

let h: ApiHarness;
beforeEach(async () => {
  h = await apiHarness();
  await registerTestDags(h.store);
});
afterEach(async () => h.close());

describe('GET /api/v1/dags/{dag_id}/grid', () => {
  it('gives a mapped task one cell with its instances counted by state, and the other tasks their own state', async () => {
    await seedTrainRun(h.store, h.layout, 'run1', 3000);
    const r = await h.request('GET', '/api/v1/dags/train/grid', { as: 'viewer' });
    expect(r.status).toBe(200);
    expect(r.body.runs.map((x: { run_id: string }) => x.run_id)).toEqual(['run1']);
    const cells = r.body.cells.run1;
    // seedTrainRun fails every third instance.
    expect(cells.fit).toEqual({ state: 'removed', try_number: 0, duration_ms: null, failure: null, total: 3000, counts: { success: 2000, failed: 1000 }, cached_count: 0 });
    expect(cells.prep).toEqual({ state: 'success', try_number: 1, duration_ms: 990, failure: null });
    expect(cells['report.publish']).toMatchObject({ state: 'running', try_number: 1, duration_ms: null });
    expect(Object.keys(cells).sort()).toEqual(['fit', 'prep', 'report.publish']);
    // No instance rows: the answer stays small however wide the fan-out.
    expect(JSON.stringify(r.body).length).toBeLessThan(2000);
    // And it is what the OpenAPI document says.
    const doc = (await h.request('GET', '/api/v1/openapi.json', { as: 'anonymous' })).body;
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    ajv.addSchema({ $id: 'doc', components: doc.components });
    const ref: string = doc.paths['/api/v1/dags/{dag_id}/grid'].get.responses['200'].content['application/json'].schema.$ref;
    const validate = ajv.compile({ $ref: ref.replace('#', 'doc#') });
    expect(validate(r.body), JSON.stringify(validate.errors)).toBe(true);
  });

  it('lists runs newest first, at most `limit`, with a cell per task that has instances', async () => {
    for (let i = 0; i < 5; i++) await triggerRun(h.store, 'train', { runId: `r${i}` }, T0 + i * 60_000);
    const r = await h.request('GET', '/api/v1/dags/train/grid?limit=3', { as: 'viewer' });
    expect(r.status).toBe(200);
    expect(r.body.runs.map((x: { run_id: string }) => x.run_id)).toEqual(['r4', 'r3', 'r2']);
    expect(r.body.runs[0]).toEqual({
      run_id: 'r4',
      state: 'queued',
      run_type: 'manual',
      logical_date: new Date(T0 + 4 * 60_000).toISOString(),
      queued_at: new Date(T0 + 4 * 60_000).toISOString(),
      start_date: null,
      end_date: null,
    });
    // Queued runs have no task instances yet.
    expect(r.body.cells).toEqual({ r4: {}, r3: {}, r2: {} });
    const all = await h.request('GET', '/api/v1/dags/train/grid', { as: 'viewer' });
    expect(all.body.runs).toHaveLength(5);
    const none = await h.request('GET', '/api/v1/dags/etl/grid', { as: 'viewer' });
    expect(none.body).toEqual({ dag_id: 'etl', runs: [], cells: {} });
  });

  it('refuses a limit out of range, naming the field', async () => {
    for (const bad of ['0', '101', 'ten', '2.5']) {
      const r = await h.request('GET', `/api/v1/dags/train/grid?limit=${bad}`, { as: 'viewer' });
      expect(r.status, bad).toBe(400);
      expect(r.body.error.code).toBe('INVALID_REQUEST');
      expect(r.body.error.details.map((d: { field: string }) => d.field)).toEqual(['query.limit']);
    }
    const unknown = await h.request('GET', '/api/v1/dags/train/grid?runs=3', { as: 'viewer' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.details).toEqual([{ field: 'query.runs', reason: 'unknown field' }]);
  });

  it('answers 404 for an unknown DAG and 401 without credentials', async () => {
    const missing = await h.request('GET', '/api/v1/dags/nope/grid', { as: 'viewer' });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('DAG_NOT_FOUND');
    expect(missing.body.error.message).toContain("no DAG 'nope'");
    const anon = await h.request('GET', '/api/v1/dags/train/grid', { as: 'anonymous' });
    expect(anon.status).toBe(401);
  });
});
