import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Connection, ConnectionPage, Pool, PoolList, Variable, VariablePage } from '../../src/api/schemas.js';
import { ConfigStore } from '../../src/store/config-store.js';
import { apiHarness, type ApiHarness } from './support.js';

let h: ApiHarness;
beforeEach(async () => {
  h = await apiHarness();
});
afterEach(async () => h.close());

describe('pools', () => {
  it('lists and gets pools for a viewer', async () => {
    const r = await h.request('GET', '/api/v1/pools', { as: 'viewer' });
    PoolList.parse(r.body);
    expect(r.body.items.map((p: { name: string }) => p.name)).toEqual(['default_pool']);
    const one = await h.request('GET', '/api/v1/pools/default_pool', { as: 'viewer' });
    expect(Pool.parse(one.body).slots).toBe(128);
    expect((await h.request('GET', '/api/v1/pools/nope', { as: 'viewer' })).status).toBe(404);
  });

  it('creates, changes and deletes a pool as admin, and wakes the scheduler', async () => {
    const c = await h.request('POST', '/api/v1/pools', { body: { name: 'gpu', slots: 4, description: 'the GPU box' } });
    expect(c.status).toBe(201);
    expect(c.body).toEqual({ name: 'gpu', slots: 4, description: 'the GPU box' });
    expect((await h.request('POST', '/api/v1/pools', { body: { name: 'gpu', slots: 1 } })).status).toBe(409);
    const p = await h.request('PATCH', '/api/v1/pools/gpu', { body: { slots: 8 } });
    expect(p.body).toEqual({ name: 'gpu', slots: 8, description: 'the GPU box' });
    expect((await h.request('DELETE', '/api/v1/pools/gpu')).status).toBe(204);
    expect((await h.request('GET', '/api/v1/pools/gpu')).status).toBe(404);
    expect((await h.request('DELETE', '/api/v1/pools/gpu')).status).toBe(404);
    expect(h.notified).toBe(3);
  });

  it('validates pools and protects the default pool', async () => {
    const bad = await h.request('POST', '/api/v1/pools', { body: { name: 'has space', slots: -1, size: 3 } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.map((d: { field: string }) => d.field).sort()).toEqual(['body.name', 'body.size', 'body.slots']);
    expect((await h.request('PATCH', '/api/v1/pools/nope', { body: { slots: 1 } })).status).toBe(404);
    const d = await h.request('DELETE', '/api/v1/pools/default_pool');
    expect(d.status).toBe(409);
    expect(d.body.error.code).toBe('POOL_REQUIRED');
  });

  it('lets only admins change pools', async () => {
    for (const as of ['viewer', 'op'] as const) {
      expect((await h.request('POST', '/api/v1/pools', { as, body: { name: 'x', slots: 1 } })).status).toBe(403);
      expect((await h.request('PATCH', '/api/v1/pools/default_pool', { as, body: { slots: 1 } })).status).toBe(403);
      expect((await h.request('DELETE', '/api/v1/pools/default_pool', { as })).status).toBe(403);
    }
    expect((await h.request('GET', '/api/v1/pools/default_pool')).body.slots).toBe(128);
  });
});

describe('variables', () => {
  it('stores a sensitive value but never returns it', async () => {
    const c = await h.request('POST', '/api/v1/variables', { body: { key: 'db_password', value: 'hunter2' } });
    expect(c.status).toBe(201);
    expect(c.body).toEqual({ key: 'db_password', value: '***', description: null, is_sensitive: true });
    const plain = await h.request('POST', '/api/v1/variables', { body: { key: 'region', value: 'eu-west-1', description: 'where' } });
    expect(plain.body.value).toBe('eu-west-1');
    const explicit = await h.request('POST', '/api/v1/variables', { body: { key: 'webhook', value: 'https://x', is_sensitive: true } });
    expect(explicit.body.value).toBe('***');
    const list = await h.request('GET', '/api/v1/variables', { as: 'op' });
    VariablePage.parse(list.body);
    expect(list.body.items.map((v: { key: string; value: string }) => [v.key, v.value])).toEqual([
      ['db_password', '***'],
      ['region', 'eu-west-1'],
      ['webhook', '***'],
    ]);
    expect(list.body.total).toBe(3);
    expect(JSON.stringify(list.body)).not.toContain('hunter2');
    const one = await h.request('GET', '/api/v1/variables/db_password', { as: 'op' });
    expect(Variable.parse(one.body).value).toBe('***');
    // The value is stored as given.
    expect((await new ConfigStore(h.store).getVariable('db_password'))?.value).toBe('hunter2');
  });

  it('changes and deletes variables; 409 on a duplicate, 404 on an unknown key', async () => {
    await h.request('POST', '/api/v1/variables', { body: { key: 'k', value: 'v1' } });
    expect((await h.request('POST', '/api/v1/variables', { body: { key: 'k', value: 'v2' } })).status).toBe(409);
    const p = await h.request('PATCH', '/api/v1/variables/k', { body: { value: 'v3', description: 'd' } });
    expect(p.body).toEqual({ key: 'k', value: 'v3', description: 'd', is_sensitive: false });
    const hide = await h.request('PATCH', '/api/v1/variables/k', { body: { is_sensitive: true } });
    expect(hide.body.value).toBe('***');
    expect((await h.request('PATCH', '/api/v1/variables/nope', { body: { value: 'x' } })).status).toBe(404);
    expect((await h.request('DELETE', '/api/v1/variables/k')).status).toBe(204);
    expect((await h.request('GET', '/api/v1/variables/k')).status).toBe(404);
    expect((await h.request('DELETE', '/api/v1/variables/k')).status).toBe(404);
  });

  it('validates variables and enforces roles', async () => {
    const bad = await h.request('POST', '/api/v1/variables', { body: { key: '', value: 3 } });
    // An empty key breaks two rules; each is listed.
    expect(bad.body.error.details.map((d: { field: string }) => d.field).sort()).toEqual(['body.key', 'body.key', 'body.value']);
    expect((await h.request('GET', '/api/v1/variables', { as: 'viewer' })).status).toBe(403);
    expect((await h.request('POST', '/api/v1/variables', { as: 'op', body: { key: 'a', value: 'b' } })).status).toBe(403);
    expect((await h.request('PATCH', '/api/v1/variables/a', { as: 'op', body: { value: 'b' } })).status).toBe(403);
    expect((await h.request('DELETE', '/api/v1/variables/a', { as: 'op' })).status).toBe(403);
  });
});

describe('connections', () => {
  it('masks the password and secret-looking extras on read', async () => {
    const body = { conn_id: 'warehouse', conn_type: 'postgres', host: 'db.internal', port: 5432, login: 'etl', password: 's3cret', schema: 'analytics', extra: { sslmode: 'require', api_key: 'k-123' } };
    const c = await h.request('POST', '/api/v1/connections', { body });
    expect(c.status).toBe(201);
    expect(c.body).toEqual({ ...body, password: '***', extra: { sslmode: 'require', api_key: '***' } });
    const list = await h.request('GET', '/api/v1/connections', { as: 'op' });
    ConnectionPage.parse(list.body);
    expect(JSON.stringify(list.body)).not.toContain('s3cret');
    expect(JSON.stringify(list.body)).not.toContain('k-123');
    const one = await h.request('GET', '/api/v1/connections/warehouse', { as: 'op' });
    expect(Connection.parse(one.body).password).toBe('***');
    expect((await new ConfigStore(h.store).getConnection('warehouse'))?.password).toBe('s3cret');
  });

  it('changes, clears and deletes connections', async () => {
    await h.request('POST', '/api/v1/connections', { body: { conn_id: 'c', conn_type: 'http' } });
    expect((await h.request('GET', '/api/v1/connections/c')).body).toMatchObject({ password: null, host: null, extra: null });
    expect((await h.request('POST', '/api/v1/connections', { body: { conn_id: 'c', conn_type: 'http' } })).status).toBe(409);
    const p = await h.request('PATCH', '/api/v1/connections/c', { body: { host: 'example.org', password: 'pw' } });
    expect(p.body).toMatchObject({ conn_type: 'http', host: 'example.org', password: '***' });
    const cleared = await h.request('PATCH', '/api/v1/connections/c', { body: { password: null } });
    expect(cleared.body.password).toBeNull();
    expect((await h.request('PATCH', '/api/v1/connections/nope', { body: { host: 'x' } })).status).toBe(404);
    expect((await h.request('DELETE', '/api/v1/connections/c')).status).toBe(204);
    expect((await h.request('DELETE', '/api/v1/connections/c')).status).toBe(404);
  });

  it('validates connections and enforces roles', async () => {
    const bad = await h.request('POST', '/api/v1/connections', { body: { conn_id: 'x', port: 70000, extra: 'not an object' } });
    expect(bad.body.error.details.map((d: { field: string }) => d.field).sort()).toEqual(['body.conn_type', 'body.extra', 'body.port']);
    expect((await h.request('GET', '/api/v1/connections', { as: 'viewer' })).status).toBe(403);
    expect((await h.request('POST', '/api/v1/connections', { as: 'op', body: { conn_id: 'x', conn_type: 'http' } })).status).toBe(403);
  });
});
