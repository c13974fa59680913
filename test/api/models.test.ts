import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ModelAliases, ModelDetail, ModelList, ModelVersion, PromotionResult } from '../../src/api/ml-schemas.js';
import { register } from '../../src/ml/registry.js';
import { type ApiHarness, seededApiHarness, T0 } from './support.js';

let h: ApiHarness;
beforeEach(async () => {
  h = await seededApiHarness();
  // Two versions of one model, the first made by trial 4 of the run's sweep and promoted to production.
  await register(
    h.store,
    {
      name: 'digits',
      uri: 'file:///models/digits/v1',
      metrics: { accuracy: 0.9, loss: 0.3 },
      params: { lr: 0.2 },
      lineage: { dagId: 'train', runId: 'run1', taskId: 'fit', mapIndex: 4, tryNumber: 1, imageDigest: 'sha256:feed' },
      actor: 'task:train/run1/register#1',
      aliases: ['production'],
    },
    T0 + 10_000,
  );
  await register(h.store, { name: 'digits', uri: 'file:///models/digits/v2', metrics: { accuracy: 0.905, loss: 0.25 }, actor: 'someone' }, T0 + 20_000);
  await register(h.store, { name: 'churn', uri: 's3://bucket/churn/1', metrics: { auc: 0.7 } }, T0 + 30_000);
});
afterEach(async () => h.close());

const PROMOTE = '/api/v1/models/digits/versions/2/promote';

describe('GET /models', () => {
  it('lists models with their latest version and aliases', async () => {
    const r = await h.request('GET', '/api/v1/models', { as: 'viewer' });
    expect(r.status).toBe(200);
    ModelList.parse(r.body);
    expect(r.body.total).toBe(2);
    expect(r.body.items.map((m: { name: string; latest_version: number; versions: number; aliases: object }) => [m.name, m.latest_version, m.versions, m.aliases])).toEqual([
      ['churn', 1, 1, {}],
      ['digits', 2, 2, { production: 1 }],
    ]);
  });

  it('needs a signed-in caller', async () => {
    expect((await h.request('GET', '/api/v1/models', { as: 'anonymous' })).status).toBe(401);
  });
});

describe('GET /models/{name} and its versions', () => {
  it('gives every version with URI, metrics, params and lineage from the run', async () => {
    const r = await h.request('GET', '/api/v1/models/digits', { as: 'viewer' });
    expect(r.status).toBe(200);
    ModelDetail.parse(r.body);
    expect(r.body.aliases).toEqual({ production: 1 });
    const [v1, v2] = r.body.versions;
    expect(v1).toMatchObject({ version: 1, uri: 'file:///models/digits/v1', metrics: { accuracy: 0.9, loss: 0.3 }, params: { lr: 0.2 }, aliases: ['production'], created_by: 'task:train/run1/register#1' });
    // Lineage: what the registration named, completed from the run (logical date, data interval, DAG version).
    const run = await h.store.getRun('train', 'run1');
    expect(v1.lineage).toEqual({
      dag_id: 'train',
      run_id: 'run1',
      task_id: 'fit',
      map_index: 4,
      try_number: 1,
      logical_date: new Date(Number(run!.logical_date)).toISOString(),
      data_interval_start: new Date(Number(run!.data_interval_start)).toISOString(),
      data_interval_end: new Date(Number(run!.data_interval_end)).toISOString(),
      ds: new Date(Number(run!.logical_date)).toISOString().slice(0, 10),
      dag_version_hash: run!.version_hash,
      image_digest: 'sha256:feed',
    });
    expect(v2.lineage.run_id).toBeNull();
    expect(r.body.history).toMatchObject([{ seq: 1, alias: 'production', from_version: null, to_version: 1, note: 'set at registration' }]);

    const list = await h.request('GET', '/api/v1/models/digits/versions', { as: 'viewer' });
    expect(list.body.total).toBe(2);
    expect(list.body.items).toEqual(r.body.versions);
    const one = await h.request('GET', '/api/v1/models/digits/versions/2', { as: 'viewer' });
    expect(one.status).toBe(200);
    ModelVersion.parse(one.body);
    expect(one.body).toEqual(v2);
  });

  it('answers 404 naming what exists for an unknown model or version, and 400 for a bad name or number', async () => {
    const model = await h.request('GET', '/api/v1/models/nope', { as: 'viewer' });
    expect(model.status).toBe(404);
    expect(model.body.error.code).toBe('MODEL_NOT_FOUND');
    expect(model.body.error.message).toContain('registered models: churn, digits');
    const version = await h.request('GET', '/api/v1/models/digits/versions/9', { as: 'viewer' });
    expect(version.status).toBe(404);
    expect(version.body.error).toMatchObject({ code: 'MODEL_VERSION_NOT_FOUND', message: expect.stringContaining('its versions are 1, 2') });
    expect((await h.request('GET', '/api/v1/models/nope/versions/1', { as: 'viewer' })).body.error.code).toBe('MODEL_NOT_FOUND');
    const bad = await h.request('GET', '/api/v1/models/digits/versions/0', { as: 'viewer' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.map((d: { field: string }) => d.field)).toEqual(['path.version']);
    const badName = await h.request('GET', `/api/v1/models/${encodeURIComponent('-dash')}`, { as: 'viewer' });
    expect(badName.status).toBe(400);
    expect(badName.body.error.details[0].field).toBe('path.name');
  });

  it('lists aliases with their history', async () => {
    const r = await h.request('GET', '/api/v1/models/digits/aliases', { as: 'viewer' });
    expect(r.status).toBe(200);
    ModelAliases.parse(r.body);
    expect(r.body.aliases).toEqual([{ alias: 'production', version: 1, updated_by: 'task:train/run1/register#1', updated_at: new Date(T0 + 10_000).toISOString() }]);
    expect(r.body.history).toHaveLength(1);
  });
});

describe('POST /models/{name}/versions/{version}/promote', () => {
  it('promotes past the gate, recording the decision, both figures and the margin', async () => {
    h.now = T0 + 60_000;
    const r = await h.request('POST', PROMOTE, { as: 'op', body: { alias: 'production', gate: { metric: 'accuracy', margin: 0.005 }, note: 'weekly' } });
    expect(r.status).toBe(200);
    PromotionResult.parse(r.body);
    expect(r.body).toMatchObject({ name: 'digits', version: 2, alias: 'production', promoted: true, previous: 1 });
    expect(r.body.decision).toMatchObject({ metric: 'accuracy', direction: 'max', margin: 0.005, candidate_value: 0.905, baseline_alias: 'production', baseline_version: 1, baseline_value: 0.9, decision: 'promoted', actor: 'op' });
    const d = await h.request('GET', '/api/v1/models/digits', { as: 'viewer' });
    expect(d.body.aliases).toEqual({ production: 2 });
    expect(d.body.decisions).toHaveLength(1);
    expect(d.body.history.at(-1)).toMatchObject({ alias: 'production', from_version: 1, to_version: 2, actor: 'op', at: new Date(T0 + 60_000).toISOString(), note: 'weekly' });
  });

  it('rejects below the margin: records the decision and leaves the alias', async () => {
    const r = await h.request('POST', PROMOTE, { as: 'op', body: { alias: 'production', gate: { metric: 'accuracy', margin: 0.01 } } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ promoted: false, previous: 1, decision: { decision: 'rejected', candidate_value: 0.905, baseline_value: 0.9, margin: 0.01 } });
    expect(r.body.reason).toContain('short of the margin 0.01');
    const d = await h.request('GET', '/api/v1/models/digits', { as: 'viewer' });
    expect(d.body.aliases).toEqual({ production: 1 });
    expect(d.body.decisions.map((x: { decision: string }) => x.decision)).toEqual(['rejected']);
  });

  it('moves an alias without a gate, and archives', async () => {
    const staging = await h.request('POST', PROMOTE, { as: 'op', body: { alias: 'staging' } });
    expect(staging.body).toMatchObject({ promoted: true, previous: null, reason: "'staging' moved from no version to version 2" });
    const archived = await h.request('POST', '/api/v1/models/digits/versions/2/promote', { as: 'op', body: { alias: 'archived' } });
    expect(archived.body.promoted).toBe(true);
    const v2 = await h.request('GET', '/api/v1/models/digits/versions/2', { as: 'viewer' });
    expect(v2.body).toMatchObject({ archived: true, aliases: [] });
  });

  it('answers 400 naming the field for bad input, and changes nothing', async () => {
    const cases: [unknown, string[]][] = [
      [{ alias: 'Prod!' }, ['body.alias']],
      [{ alias: 'latest' }, ['body.alias']],
      [{}, ['body.alias']],
      [{ alias: 'production', gate: { metric: 'accuracy', margin: -1 } }, ['body.gate.margin']],
      [{ alias: 'production', gate: { metric: 'accuracy', direction: 'up' } }, ['body.gate.direction']],
      [{ alias: 'production', gate: { metric: 'accuracy' }, extra: 1 }, ['body.extra']],
      [{ alias: 'production', gate: { metric: 'f1' } }, ['body.gate.metric']],
      [{ alias: 'archived', gate: { metric: 'accuracy' } }, ['body.gate']],
    ];
    for (const [body, fields] of cases) {
      const r = await h.request('POST', PROMOTE, { as: 'op', body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.details.map((d: { field: string }) => d.field), JSON.stringify(body)).toEqual(fields);
    }
    const unknownMetric = await h.request('POST', PROMOTE, { as: 'op', body: { alias: 'production', gate: { metric: 'f1' } } });
    expect(unknownMetric.body.error.message).toContain('its metrics are accuracy, loss');
    const d = await h.request('GET', '/api/v1/models/digits', { as: 'viewer' });
    expect(d.body.aliases).toEqual({ production: 1 });
    expect(d.body.decisions).toEqual([]);
    expect(d.body.history).toHaveLength(1);
  });

  it('answers 404 for an unknown version or model', async () => {
    const r = await h.request('POST', '/api/v1/models/digits/versions/7/promote', { as: 'op', body: { alias: 'staging' } });
    expect(r.status).toBe(404);
    expect(r.body.error).toMatchObject({ code: 'MODEL_VERSION_NOT_FOUND', message: expect.stringContaining('its versions are 1, 2') });
    expect((await h.request('POST', '/api/v1/models/nope/versions/1/promote', { as: 'op', body: { alias: 'staging' } })).status).toBe(404);
  });

  it('needs the op role: viewers read but may not promote', async () => {
    const viewer = await h.request('POST', PROMOTE, { as: 'viewer', body: { alias: 'staging' } });
    expect(viewer.status).toBe(403);
    expect(viewer.body.error.message).toContain('needs the op role');
    expect((await h.request('POST', PROMOTE, { as: 'anonymous', body: { alias: 'staging' } })).status).toBe(401);
    expect((await h.request('POST', PROMOTE, { as: 'admin', body: { alias: 'staging' } })).status).toBe(200);
    const d = await h.request('GET', '/api/v1/models/digits', { as: 'viewer' });
    expect(d.body.history.filter((x: { alias: string }) => x.alias === 'staging')).toHaveLength(1);
  });
});
