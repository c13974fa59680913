import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DagDetail, DagPage, ImportErrorList } from '../../src/api/schemas.js';
import { apiHarness, type ApiHarness, registerTestDags, T0 } from './support.js';

let h: ApiHarness;
beforeEach(async () => {
  h = await apiHarness();
  await registerTestDags(h.store);
});
afterEach(async () => h.close());

describe('GET /dags', () => {
  it('lists DAGs with a total, and pages through them', async () => {
    const all = await h.request('GET', '/api/v1/dags', { as: 'viewer' });
    expect(all.status).toBe(200);
    DagPage.parse(all.body);
    expect(all.body.items.map((d: { dag_id: string }) => d.dag_id)).toEqual(['etl', 'train']);
    expect(all.body).toMatchObject({ total: 2, limit: 100, offset: 0 });
    const page2 = await h.request('GET', '/api/v1/dags?limit=1&offset=1', { as: 'viewer' });
    expect(page2.body.items.map((d: { dag_id: string }) => d.dag_id)).toEqual(['train']);
    expect(page2.body.total).toBe(2);
  });

  it('filters by tag (any of several), id substring, paused and active', async () => {
    const ids = async (q: string) => (await h.request('GET', `/api/v1/dags?${q}`, { as: 'viewer' })).body.items.map((d: { dag_id: string }) => d.dag_id);
    expect(await ids('tag=ml')).toEqual(['train']);
    expect(await ids('tag=etl&tag=nightly')).toEqual(['etl', 'train']);
    expect(await ids('tag=nope')).toEqual([]);
    expect(await ids('search=RAI')).toEqual(['train']);
    // LIKE's wildcards are taken literally.
    expect(await ids('search=%25')).toEqual([]);
    await h.store.setPaused('etl', true, T0);
    expect(await ids('paused=true')).toEqual(['etl']);
    expect(await ids('paused=false')).toEqual(['train']);
    await h.store.deactivateDagsExcept('/dags/etl.ts', [], T0);
    expect(await ids('active=false')).toEqual(['etl']);
    expect(await ids('active=true&tag=ml')).toEqual(['train']);
    const r = await h.request('GET', '/api/v1/dags?active=true&limit=1', { as: 'viewer' });
    expect(r.body.total).toBe(1);
  });

  it('rejects bad query parameters, naming each', async () => {
    const r = await h.request('GET', '/api/v1/dags?limit=0&paused=yes&offset=x&color=red', { as: 'viewer' });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('INVALID_REQUEST');
    const fields = r.body.error.details.map((d: { field: string }) => d.field).sort();
    expect(fields).toEqual(['query.color', 'query.limit', 'query.offset', 'query.paused']);
    expect(r.body.error.details.find((d: { field: string }) => d.field === 'query.color').reason).toBe('unknown field');
  });
});

describe('GET /dags/{dag_id}', () => {
  it('returns the DAG with its graph from the stored spec', async () => {
    const r = await h.request('GET', '/api/v1/dags/train', { as: 'viewer' });
    expect(r.status).toBe(200);
    DagDetail.parse(r.body);
    expect(r.body.params_defaults).toEqual({ epochs: 3, lr: 0.1 });
    expect(r.body.params_schema.properties.epochs.type).toBe('integer');
    const byId = Object.fromEntries(r.body.graph.tasks.map((t: { task_id: string }) => [t.task_id, t]));
    expect(byId.prep).toMatchObject({ upstream: [], mapped: false, group: null, trigger_rule: 'all_success' });
    expect(byId.fit).toMatchObject({ upstream: ['prep'], mapped: true });
    expect(byId['report.publish']).toMatchObject({ upstream: ['fit'], group: 'report', trigger_rule: 'all_done' });
    expect(r.body.graph.groups).toEqual([{ group_id: 'report', parent: null }]);
  });

  it('answers 404 for an unknown DAG', async () => {
    const r = await h.request('GET', '/api/v1/dags/nope', { as: 'viewer' });
    expect(r.status).toBe(404);
    expect(r.body.error).toMatchObject({ code: 'DAG_NOT_FOUND' });
    expect(r.body.error.message).toContain("'nope'");
  });
});

describe('PATCH /dags/{dag_id}', () => {
  it('pauses and unpauses for an op, and wakes the scheduler', async () => {
    const r = await h.request('PATCH', '/api/v1/dags/train', { as: 'op', body: { is_paused: true } });
    expect(r.status).toBe(200);
    expect(r.body.is_paused).toBe(true);
    expect((await h.store.getDag('train'))!.is_paused).toBe(1);
    expect(h.notified).toBe(1);
    const back = await h.request('PATCH', '/api/v1/dags/train', { as: 'op', body: { is_paused: false } });
    expect(back.body.is_paused).toBe(false);
  });

  it('refuses a viewer (403) and a caller without credentials (401)', async () => {
    const v = await h.request('PATCH', '/api/v1/dags/train', { as: 'viewer', body: { is_paused: true } });
    expect(v.status).toBe(403);
    expect(v.body.error.code).toBe('FORBIDDEN');
    const a = await h.request('PATCH', '/api/v1/dags/train', { as: 'anonymous', body: { is_paused: true } });
    expect(a.status).toBe(401);
    expect(a.headers.get('www-authenticate')).toContain('Bearer');
    expect((await h.store.getDag('train'))!.is_paused).toBe(0);
  });

  it('validates the body: wrong type, unknown field, malformed JSON; 404 for an unknown DAG', async () => {
    const wrong = await h.request('PATCH', '/api/v1/dags/train', { as: 'op', body: { is_paused: 'yes', extra: 1 } });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.details).toEqual(
      expect.arrayContaining([
        { field: 'body.is_paused', reason: 'must be boolean, not string' },
        { field: 'body.extra', reason: 'unknown field' },
      ]),
    );
    const missing = await h.request('PATCH', '/api/v1/dags/train', { as: 'op', body: {} });
    expect(missing.body.error.details).toEqual([{ field: 'body.is_paused', reason: 'is required' }]);
    const bad = await h.request('PATCH', '/api/v1/dags/train', { as: 'op', rawBody: '{"is_paused": tru', headers: { 'content-type': 'application/json' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0].field).toBe('body');
    expect(bad.body.error.details[0].reason).toMatch(/not valid JSON/);
    const nope = await h.request('PATCH', '/api/v1/dags/nope', { as: 'op', body: { is_paused: true } });
    expect(nope.status).toBe(404);
  });
});

describe('GET /importErrors', () => {
  it('lists files that failed to load', async () => {
    await h.store.setImportError('/dags/broken.ts', 'SyntaxError: Unexpected token', T0);
    const r = await h.request('GET', '/api/v1/importErrors', { as: 'viewer' });
    expect(r.status).toBe(200);
    ImportErrorList.parse(r.body);
    expect(r.body).toEqual({ items: [{ fileloc: '/dags/broken.ts', message: 'SyntaxError: Unexpected token', updated_at: new Date(T0).toISOString() }], total: 1 });
    expect((await h.request('GET', '/api/v1/importErrors', { as: 'anonymous' })).status).toBe(401);
  });
});
