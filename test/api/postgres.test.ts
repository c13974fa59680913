import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiHarness, RUN1, seededApiHarness, T0 } from './support.js';

/** The API's own SQL (filters, LIKE, GROUP BY, upserts, sessions) on a real Postgres. */
let h: ApiHarness;
beforeAll(async () => {
  h = await seededApiHarness({ dialect: 'postgres' });
});
afterAll(async () => h?.close());

const ids = (body: { items: { dag_id: string }[] }) => body.items.map((d) => d.dag_id);

describe('the API on Postgres', () => {
  it('reports the dialect in /health', async () => {
    const r = await h.request('GET', '/api/v1/health', { as: 'anonymous' });
    expect(r.body).toMatchObject({ status: 'ok', db: { ok: true, dialect: 'postgres' } });
  });

  it('filters DAGs by tag and case-insensitive id substring, with LIKE characters taken literally', async () => {
    expect(ids((await h.request('GET', '/api/v1/dags?tag=ML', { as: 'viewer' })).body)).toEqual(['train']);
    expect(ids((await h.request('GET', '/api/v1/dags?search=TR', { as: 'viewer' })).body)).toEqual(['train']);
    expect(ids((await h.request('GET', '/api/v1/dags?search=_', { as: 'viewer' })).body)).toEqual([]);
    const page = await h.request('GET', '/api/v1/dags?limit=1', { as: 'viewer' });
    expect(page.body.total).toBe(2);
  });

  it('lists runs and task instances with totals, and counts by state', async () => {
    const runs = await h.request('GET', '/api/v1/runs?state=queued', { as: 'viewer' });
    expect(runs.body.total).toBe(1);
    const tis = await h.request('GET', `${RUN1}/taskInstances?state=failed&limit=2`, { as: 'viewer' });
    expect(tis.body.total).toBe(10);
    expect(tis.body.items.map((t: { map_index: number }) => t.map_index)).toEqual([0, 3]);
    expect((await h.request('GET', RUN1, { as: 'viewer' })).body.task_counts).toEqual({ success: 21, failed: 10, running: 1 });
  });

  it('computes the mapped-task summary in SQL', async () => {
    const r = await h.request('GET', `${RUN1}/taskInstances/fit/summary?buckets=3`, { as: 'viewer' });
    expect(r.status).toBe(200);
    expect(r.body.counts).toEqual({ success: 20, failed: 10 });
    expect(r.body.duration).toMatchObject({ finished: 30, min_ms: 0, max_ms: 2900, mean_ms: 1450 });
    expect(r.body.duration.buckets.map((b: { count: number }) => b.count)).toEqual([10, 10, 10]);
    expect(r.body.top_errors.map((e: { reason: string; count: number }) => [e.reason, e.count])).toEqual([
      ['exit code 137', 5],
      ['used 2GiB of 1GiB', 5],
    ]);
  });

  it('triggers, refuses a bad conf, and reports a duplicate run id as 409', async () => {
    expect((await h.request('POST', '/api/v1/dags/etl/runs', { as: 'op', body: { run_id: 'pg1' } })).status).toBe(201);
    expect((await h.request('POST', '/api/v1/dags/etl/runs', { as: 'op', body: { run_id: 'pg1' } })).status).toBe(409);
    const bad = await h.request('POST', '/api/v1/dags/train/runs', { as: 'op', body: { conf: { epochs: 'x' } } });
    expect(bad.body.error.details).toEqual([{ field: 'body.conf.epochs', reason: 'must be integer' }]);
  });

  it('creates variables, connections, users and tokens once each, and signs in', async () => {
    expect((await h.request('POST', '/api/v1/variables', { body: { key: 'api_token', value: 'v' } })).body.value).toBe('***');
    expect((await h.request('POST', '/api/v1/variables', { body: { key: 'api_token', value: 'v' } })).status).toBe(409);
    expect((await h.request('POST', '/api/v1/connections', { body: { conn_id: 'c', conn_type: 'http', password: 'p' } })).body.password).toBe('***');
    expect((await h.request('POST', '/api/v1/connections', { body: { conn_id: 'c', conn_type: 'http' } })).status).toBe(409);
    expect((await h.request('GET', '/api/v1/variables')).body.total).toBe(1);
    expect((await h.request('POST', '/api/v1/users', { body: { username: 'pg', password: 'twelve chars!', role: 'viewer' } })).status).toBe(201);
    expect((await h.request('POST', '/api/v1/users', { body: { username: 'pg', password: 'twelve chars!', role: 'viewer' } })).status).toBe(409);
    const login = await h.server.app.request('http://127.0.0.1/api/v1/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'pg', password: 'twelve chars!' }),
    });
    expect(login.status).toBe(200);
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
    expect((await h.server.app.request('http://127.0.0.1/api/v1/auth/me', { headers: { cookie } })).status).toBe(200);
    const token = await h.request('POST', '/api/v1/tokens', { body: { name: 'ci' } });
    const use = await h.server.app.request('http://127.0.0.1/api/v1/dags', { headers: { authorization: `Bearer ${token.body.token}` } });
    expect(use.status).toBe(200);
    h.now = T0 + 120_000;
    await h.request('GET', '/api/v1/dags', { as: 'viewer' });
  });

  it('marks and deletes a run', async () => {
    expect((await h.request('PATCH', RUN1, { as: 'op', body: { state: 'failed' } })).body.state).toBe('failed');
    expect((await h.request('DELETE', RUN1, { as: 'op' })).status).toBe(204);
    expect((await h.request('GET', RUN1, { as: 'viewer' })).status).toBe(404);
  });
});
