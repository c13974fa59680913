import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RunDetail, RunPage } from '../../src/api/schemas.js';
import { triggerRun } from '../../src/scheduler/trigger.js';
import { apiHarness, type ApiHarness, registerTestDags, RUN1, seedTrainRun, T0 } from './support.js';

let h: ApiHarness;
beforeEach(async () => {
  h = await apiHarness();
  await registerTestDags(h.store);
});
afterEach(async () => h.close());

describe('listing runs', () => {
  beforeEach(async () => {
    for (let i = 0; i < 5; i++) await triggerRun(h.store, 'train', { runId: `r${i}` }, T0 + i);
    await triggerRun(h.store, 'etl', { runId: 'e0' }, T0 + 10);
    await h.store.setRunState('train', 'r1', ['queued'], { state: 'failed' });
    await h.store.setRunState('train', 'r2', ['queued'], { state: 'success' });
  });

  it("lists one DAG's runs newest first, with state filters and pages", async () => {
    const r = await h.request('GET', '/api/v1/dags/train/runs', { as: 'viewer' });
    expect(r.status).toBe(200);
    RunPage.parse(r.body);
    expect(r.body.items.map((x: { run_id: string }) => x.run_id)).toEqual(['r4', 'r3', 'r2', 'r1', 'r0']);
    expect(r.body.total).toBe(5);
    const failed = await h.request('GET', '/api/v1/dags/train/runs?state=failed&state=success', { as: 'viewer' });
    expect(failed.body.items.map((x: { run_id: string }) => x.run_id)).toEqual(['r2', 'r1']);
    const page = await h.request('GET', '/api/v1/dags/train/runs?limit=2&offset=2', { as: 'viewer' });
    expect(page.body.items.map((x: { run_id: string }) => x.run_id)).toEqual(['r2', 'r1']);
    expect(page.body.total).toBe(5);
  });

  it('lists runs across DAGs, optionally of one', async () => {
    const r = await h.request('GET', '/api/v1/runs?limit=3', { as: 'viewer' });
    expect(r.body.items.map((x: { run_id: string }) => x.run_id)).toEqual(['e0', 'r4', 'r3']);
    expect(r.body.total).toBe(6);
    const etl = await h.request('GET', '/api/v1/runs?dag_id=etl', { as: 'viewer' });
    expect(etl.body.total).toBe(1);
  });

  it('rejects an unknown state and answers 404 for an unknown DAG', async () => {
    const r = await h.request('GET', '/api/v1/dags/train/runs?state=exploded', { as: 'viewer' });
    expect(r.status).toBe(400);
    expect(r.body.error.details[0].field).toBe('query.state');
    expect((await h.request('GET', '/api/v1/dags/nope/runs', { as: 'viewer' })).status).toBe(404);
  });
});

describe('POST /dags/{dag_id}/runs (trigger)', () => {
  it('creates a queued run with merged params, and wakes the scheduler', async () => {
    const r = await h.request('POST', '/api/v1/dags/train/runs', { as: 'op', body: { conf: { epochs: 7 }, run_id: 'mine' } });
    expect(r.status).toBe(201);
    RunDetail.parse(r.body);
    expect(r.body).toMatchObject({ run_id: 'mine', state: 'queued', conf: { epochs: 7 }, params: { epochs: 7, lr: 0.1 }, run_type: 'manual' });
    expect(h.notified).toBe(1);
    expect((await h.store.getRun('train', 'mine'))?.state).toBe('queued');
  });

  it('accepts an empty body, and a logical date', async () => {
    const r = await h.request('POST', '/api/v1/dags/etl/runs', { as: 'op' });
    expect(r.status).toBe(201);
    expect(r.body.run_id).toBe(`manual__${new Date(T0).toISOString()}`);
    const d = await h.request('POST', '/api/v1/dags/etl/runs', { as: 'op', body: { logical_date: '2026-01-02T03:04:05Z' } });
    expect(d.body.logical_date).toBe('2026-01-02T03:04:05.000Z');
    // Run ids with ':' and '+' work in paths, encoded or not.
    const got = await h.request('GET', `/api/v1/dags/etl/runs/${encodeURIComponent(r.body.run_id)}`, { as: 'viewer' });
    expect(got.body.run_id).toBe(r.body.run_id);
    await h.request('POST', '/api/v1/dags/etl/runs', { as: 'op', body: { run_id: 'a+b:c.d' } });
    expect((await h.request('GET', '/api/v1/dags/etl/runs/a+b:c.d', { as: 'viewer' })).body.run_id).toBe('a+b:c.d');
  });

  it('lists every wrong conf field and creates nothing', async () => {
    const r = await h.request('POST', '/api/v1/dags/train/runs', { as: 'op', body: { conf: { epochs: 0, lr: 'fast' }, run_id: 'bad' } });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('INVALID_REQUEST');
    expect(r.body.error.details).toEqual([
      { field: 'body.conf.epochs', reason: 'must be >= 1' },
      { field: 'body.conf.lr', reason: 'must be number' },
    ]);
    expect(await h.store.getRun('train', 'bad')).toBeUndefined();
    expect((await h.store.listRuns()).length).toBe(0);
    expect(h.notified).toBe(0);
  });

  it('validates the body itself: conf must be an object, run_id its characters, no unknown fields', async () => {
    const r = await h.request('POST', '/api/v1/dags/train/runs', { as: 'op', body: { conf: [1], run_id: 'a b', colour: 'red' } });
    expect(r.status).toBe(400);
    const fields = r.body.error.details.map((d: { field: string }) => d.field).sort();
    expect(fields).toEqual(['body.colour', 'body.conf', 'body.run_id']);
  });

  it('answers 409 for a run id in use and 404 for an unknown DAG', async () => {
    await h.request('POST', '/api/v1/dags/etl/runs', { as: 'op', body: { run_id: 'x' } });
    const again = await h.request('POST', '/api/v1/dags/etl/runs', { as: 'op', body: { run_id: 'x' } });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('RUN_EXISTS');
    const nope = await h.request('POST', '/api/v1/dags/nope/runs', { as: 'op', body: {} });
    expect(nope.status).toBe(404);
  });

  it('refuses a viewer and a caller without credentials', async () => {
    expect((await h.request('POST', '/api/v1/dags/etl/runs', { as: 'viewer', body: {} })).status).toBe(403);
    expect((await h.request('POST', '/api/v1/dags/etl/runs', { as: 'anonymous', body: {} })).status).toBe(401);
    expect((await h.store.listRuns()).length).toBe(0);
  });

  it('refuses a body that is not JSON (415) or larger than 1 MiB (413)', async () => {
    const form = await h.request('POST', '/api/v1/dags/etl/runs', { as: 'op', rawBody: 'conf=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.status).toBe(415);
    expect(form.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    const big = await h.request('POST', '/api/v1/dags/etl/runs', { as: 'op', body: { conf: { blob: 'x'.repeat(1024 * 1024 + 10) } } });
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('BODY_TOO_LARGE');
    expect((await h.store.listRuns()).length).toBe(0);
  });
});

describe('one run', () => {
  beforeEach(async () => {
    await seedTrainRun(h.store, h.layout);
  });

  it('gets a run with task instances counted by state', async () => {
    const r = await h.request('GET', RUN1, { as: 'viewer' });
    expect(r.status).toBe(200);
    RunDetail.parse(r.body);
    expect(r.body.task_counts).toEqual({ success: 21, failed: 10, running: 1 });
    const missing = await h.request('GET', '/api/v1/dags/train/runs/nope', { as: 'viewer' });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('RUN_NOT_FOUND');
    expect((await h.request('GET', '/api/v1/dags/nope/runs/run1', { as: 'viewer' })).body.error.code).toBe('DAG_NOT_FOUND');
  });

  it('marks a run failed (op), ending unfinished task instances', async () => {
    expect((await h.request('PATCH', RUN1, { as: 'viewer', body: { state: 'failed' } })).status).toBe(403);
    const r = await h.request('PATCH', RUN1, { as: 'op', body: { state: 'failed' } });
    expect(r.status).toBe(200);
    expect(r.body.state).toBe('failed');
    expect(r.body.task_counts).toEqual({ success: 21, failed: 10, skipped: 1 });
    expect(h.notified).toBe(1);
    const bad = await h.request('PATCH', RUN1, { as: 'op', body: { state: 'running' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0].field).toBe('body.state');
  });

  it('deletes a finished run, refuses an active one', async () => {
    const active = await h.request('DELETE', RUN1, { as: 'op' });
    expect(active.status).toBe(409);
    expect(active.body.error.code).toBe('RUN_ACTIVE');
    await h.request('PATCH', RUN1, { as: 'op', body: { state: 'success' } });
    expect((await h.request('DELETE', RUN1, { as: 'viewer' })).status).toBe(403);
    const del = await h.request('DELETE', RUN1, { as: 'op' });
    expect(del.status).toBe(204);
    expect(await h.store.getRun('train', 'run1')).toBeUndefined();
    expect(await h.store.listTaskInstances('train', 'run1')).toEqual([]);
    expect((await h.request('DELETE', RUN1, { as: 'op' })).status).toBe(404);
  });
});
