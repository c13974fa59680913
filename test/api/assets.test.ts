import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { apiHarness, type ApiHarness } from './support.js';

let h: ApiHarness;
beforeEach(async () => {
  h = await apiHarness();
});
afterEach(async () => h.close());

describe('asset events', () => {
  it('an op records an asset event; a viewer cannot; a bad URI or an unknown field is a 400', async () => {
    const ok = await h.request('POST', '/api/v1/assets/events', { as: 'op', body: { uri: 's3://lake/labels', extra: { rows: 12 } } });
    expect(ok.status).toBe(201);
    expect(ok.body.uri).toBe('s3://lake/labels');
    const stored = await h.store.assetEventsSince(['s3://lake/labels'], 0);
    expect(stored.map((e) => [e.source, JSON.parse(e.extra)])).toEqual([['api', { rows: 12 }]]);
    expect(h.notified).toBe(1);
    expect((await h.request('POST', '/api/v1/assets/events', { as: 'viewer', body: { uri: 's3://lake/labels' } })).status).toBe(403);
    const bad = await h.request('POST', '/api/v1/assets/events', { as: 'op', body: { uri: 'labels today' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/is not an asset URI/);
    expect((await h.request('POST', '/api/v1/assets/events', { as: 'op', body: { uri: 's3://a/b', when: 'now' } })).status).toBe(400);
  });
});
