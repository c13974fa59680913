import fs from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ACCESS } from '../../src/api/auth/access.js';
import { TriggerRunBody } from '../../src/api/schemas.js';
import { type ApiHarness, RUN1, seededApiHarness } from './support.js';

let h: ApiHarness;
let doc: { openapi: string; paths: Record<string, Record<string, any>>; components: { schemas: Record<string, any> } };

beforeAll(async () => {
  h = await seededApiHarness();
  const r = await h.request('GET', '/api/v1/openapi.json', { as: 'anonymous' });
  expect(r.status).toBe(200);
  doc = r.body;
});
afterAll(async () => h.close());

describe('/api/v1/openapi.json', () => {
  it('documents every route the router serves, and nothing else', () => {
    const served = h.server.app.routes
      // /metrics is Prometheus's text format, outside the REST API.
      .filter((r) => r.method !== 'ALL' && r.path !== '/metrics')
      .map((r) => `${r.method.toLowerCase()} ${r.path.replaceAll(/:([a-z_]+)/g, '{$1}')}`)
      .sort();
    const documented = Object.entries(doc.paths)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`))
      .sort();
    expect(served.length).toBeGreaterThan(40);
    expect(documented).toEqual(served);
  });

  it('is OpenAPI 3.1 with a summary, a minimum role and responses for every operation', () => {
    expect(doc.openapi).toBe('3.1.0');
    const ids = new Set<string>();
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        expect(op.summary, `${method} ${path}`).toBeTruthy();
        expect(['public', 'viewer', 'op', 'admin']).toContain(op['x-min-role']);
        expect(Object.keys(op.responses).length).toBeGreaterThan(0);
        expect(ids.has(op.operationId), op.operationId).toBe(false);
        ids.add(op.operationId);
        for (const p of (path.match(/\{[a-z_]+\}/g) ?? []).map((s) => s.slice(1, -1))) {
          expect(op.parameters.some((x: { name: string; in: string }) => x.name === p && x.in === 'path'), `${method} ${path} documents {${p}}`).toBe(true);
        }
      }
    }
  });

  it('is generated from the zod schemas that validate requests', () => {
    const body = doc.components.schemas.TriggerRunBody;
    const fromZod = z.toJSONSchema(TriggerRunBody, { io: 'input' }) as Record<string, unknown>;
    delete fromZod.$schema;
    expect(body).toEqual(fromZod);
    expect(body.additionalProperties).toBe(false);
    const trigger = doc.paths['/api/v1/dags/{dag_id}/runs'].post;
    expect(trigger.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/TriggerRunBody' });
    expect(trigger['x-min-role']).toBe('op');
    const list = doc.paths['/api/v1/dags'].get.parameters.map((p: { name: string }) => p.name);
    expect(list).toEqual(['tag', 'search', 'paused', 'active', 'limit', 'offset']);
    expect(doc.paths['/api/v1/health'].get.security).toEqual([]);
  });

  it('describes what the endpoints really return', async () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    ajv.addSchema({ $id: 'doc', components: doc.components });
    const check = async (url: string, schema: string) => {
      const r = await h.request('GET', url, { as: 'admin' });
      expect(r.status, url).toBe(200);
      const validate = ajv.compile({ $ref: `doc#/components/schemas/${schema}` });
      expect(validate(r.body), `${url}: ${JSON.stringify(validate.errors)}`).toBe(true);
    };
    await check('/api/v1/dags', 'DagPage');
    await check('/api/v1/dags/train', 'DagDetail');
    await check(RUN1, 'RunDetail');
    await check('/api/v1/runs', 'RunPage');
    await check(`${RUN1}/taskInstances`, 'TaskInstancePage');
    await check(`${RUN1}/taskInstances/fit/summary`, 'TaskSummary');
    await check(`${RUN1}/taskInstances/prep/-1/tries`, 'TryList');
    await check(`${RUN1}/taskInstances/prep/-1/tries/1/logs`, 'LogChunk');
    await check(`${RUN1}/taskInstances/prep/-1/tries/1/metrics`, 'Metrics');
    await check('/api/v1/pools', 'PoolList');
    await check('/api/v1/users', 'UserList');
    await check('/api/v1/health', 'Health');
    const err = await h.request('GET', '/api/v1/dags/nope');
    expect(ajv.compile({ $ref: 'doc#/components/schemas/Error' })(err.body)).toBe(true);
  });
});

describe('docs/api.md', () => {
  it('lists every endpoint with its minimum role', () => {
    const text = fs.readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');
    const rows = Object.fromEntries([...text.matchAll(/^\| `(GET|POST|PATCH|PUT|DELETE) ([^`]+)` \| (\w+) \|/gm)].map((m) => [`${m[1]} ${m[2]}`, m[3]]));
    expect(rows).toEqual(ACCESS);
  });
});
