import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApiServer } from '../../src/api/index.js';
import { Pool } from '../../src/api/schemas.js';
import { loadConfig } from '../../src/config.js';
import { apiHarness, registerTestDags, type ApiHarness } from './support.js';

let h: ApiHarness;
beforeEach(async () => {
  h = await apiHarness();
  await registerTestDags(h.store);
});
afterEach(async () => h.close());

describe('pools with a GPU quota', () => {
  it('creates a pool with a GPU quota, changes it, removes it with null, and keeps it through other changes', async () => {
    const c = await h.request('POST', '/api/v1/pools', { body: { name: 'team-a', slots: 64, gpus: 8 } });
    expect(c.status).toBe(201);
    expect(Pool.parse(c.body)).toEqual({ name: 'team-a', slots: 64, description: null, gpus: 8 });
    expect((await h.request('PATCH', '/api/v1/pools/team-a', { body: { slots: 32 } })).body).toEqual({ name: 'team-a', slots: 32, description: null, gpus: 8 });
    expect((await h.request('PATCH', '/api/v1/pools/team-a', { body: { gpus: 16 } })).body.gpus).toBe(16);
    expect((await h.request('PATCH', '/api/v1/pools/team-a', { body: { gpus: null } })).body).toEqual({ name: 'team-a', slots: 32, description: null });
    expect((await h.store.listPools()).find((p) => p.name === 'team-a')?.gpus).toBeNull();
  });

  it('refuses a negative or fractional quota with the field and what to give, and changes nothing', async () => {
    await h.request('POST', '/api/v1/pools', { body: { name: 'team-a', slots: 64, gpus: 8 } });
    for (const [gpus, reason] of [
      [-1, 'must be 0 or more GPUs (null removes the quota)'],
      [2.5, 'must be a whole number of GPUs, e.g. 8'],
    ] as const) {
      const bad = await h.request('PATCH', '/api/v1/pools/team-a', { body: { gpus } });
      expect(bad.status).toBe(400);
      expect(bad.body.error.details).toEqual([{ field: 'body.gpus', reason }]);
      const created = await h.request('POST', '/api/v1/pools', { body: { name: 'team-b', slots: 1, gpus } });
      expect(created.status).toBe(400);
    }
    expect((await h.request('GET', '/api/v1/pools/team-a')).body.gpus).toBe(8);
    expect((await h.request('GET', '/api/v1/pools/team-b')).status).toBe(404);
  });
});

describe('trigger overrides of machine presets', () => {
  /** The same store behind a server whose config knows two presets. */
  const withPresets = () =>
    createApiServer({
      store: h.store,
      layout: h.layout,
      config: loadConfig({ home: h.home, k8sMachines: { 'gpu-a100-1x': {}, 'gpu-a100-8x': {} } }, {}),
      auth: { mode: 'password' },
      scheduler: { notify: () => {} },
      now: () => h.now,
      log: () => {},
    });
  const trigger = async (server: ReturnType<typeof withPresets>, conf: unknown) => {
    const res = await server.app.request('http://127.0.0.1/api/v1/dags/etl/runs', {
      method: 'POST',
      headers: { authorization: `Bearer ${h.tokens.admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ conf, run_id: 'r1' }),
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  it('an unknown preset is a 400 that names it and lists the known ones; no run is created', async () => {
    const server = withPresets();
    const bad = await trigger(server, { 'trainyard.overrides': { extract: { machine: 'gpu-h100-8x' } } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toBe("trainyard.overrides: task 'extract': unknown machine preset 'gpu-h100-8x'; the known presets are 'gpu-a100-1x', 'gpu-a100-8x'");
    expect(bad.body.error.details).toEqual([{ field: 'body.conf.trainyard.overrides', reason: bad.body.error.message }]);
    expect(await h.store.getRun('etl', 'r1')).toBeUndefined();

    const good = await trigger(server, { 'trainyard.overrides': { extract: { machine: 'gpu-a100-8x', resources: { gpu: 8 } } } });
    expect(good.status).toBe(201);
    const run = (await h.store.getRun('etl', 'r1'))!;
    expect(JSON.parse(run.conf)).toEqual({ 'trainyard.overrides': { extract: { machine: 'gpu-a100-8x', resources: { gpu: 8 } } } });
    expect(JSON.parse(run.params)).toEqual({});
  });

  it('without configured presets a machine override is refused, saying where presets come from', async () => {
    const bad = await h.request('POST', '/api/v1/dags/etl/runs', { body: { conf: { 'trainyard.overrides': { extract: { machine: 'gpu-a100-1x' } } } } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/unknown machine preset 'gpu-a100-1x'; no machine presets are configured \(TRAINYARD_K8S_MACHINES\)/);
  });

  it('overrides are not params: a DAG with a params schema accepts them beside its params', async () => {
    const res = await h.request('POST', '/api/v1/dags/train/runs', { body: { conf: { epochs: 5, 'trainyard.overrides': { prep: { resources: { cpu: 2 } } } } } });
    expect(res.status).toBe(201);
    const bad = await h.request('POST', '/api/v1/dags/train/runs', { body: { conf: { epochs: 0, 'trainyard.overrides': { prep: { resources: { cpu: 2 } } } } } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.map((d: { field: string }) => d.field)).toEqual(['body.conf.epochs']);
  });
});
