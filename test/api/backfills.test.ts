import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dag } from '../../src/index.js';
import { registerDag } from '../support/harness.js';
import { apiHarness, type ApiHarness } from './support.js';

let h: ApiHarness;
beforeEach(async () => {
  h = await apiHarness();
  const d = dag('nightly', { schedule: '@daily', startDate: '2026-01-01' });
  d.command('t', { command: 'true' });
  await registerDag(h.store, d);
});
afterEach(async () => h.close());

describe('backfills', () => {
  it('plans with dry_run, then creates runs; refuses a viewer and bad dates', async () => {
    const body = { from: '2026-01-01', to: '2026-01-03' };
    const dry = await h.request('POST', '/api/v1/dags/nightly/backfills', { as: 'op', body: { ...body, dry_run: true } });
    expect(dry.status).toBe(201);
    expect(dry.body.runs.map((r: { action: string }) => r.action)).toEqual(['create', 'create', 'create']);
    expect(await h.store.listRuns({ dagId: 'nightly' })).toHaveLength(0);
    const real = await h.request('POST', '/api/v1/dags/nightly/backfills', { as: 'op', body: { ...body, max_active_runs: 1, reverse: true } });
    expect(real.body.backfill_id).toMatch(/^bf-/);
    expect((await h.store.listRuns({ dagId: 'nightly' })).map((r) => r.run_type)).toEqual(['backfill', 'backfill', 'backfill']);
    expect((await h.request('POST', '/api/v1/dags/nightly/backfills', { as: 'viewer', body })).status).toBe(403);
    const bad = await h.request('POST', '/api/v1/dags/nightly/backfills', { as: 'op', body: { from: 'yesterday', to: '2026-01-03' } });
    expect(bad.status).toBe(400);
    expect((await h.request('POST', '/api/v1/dags/nope/backfills', { as: 'op', body })).status).toBe(404);
    const big = await h.request('POST', '/api/v1/dags/nightly/backfills', { as: 'op', body: { from: '2020-01-01', to: '2025-12-31' } });
    expect(big.status).toBe(400);
    expect(big.body.error.message).toMatch(/more than 1000/);
  });
});
