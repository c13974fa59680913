import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileArtifactStore } from '../artifacts/file-store.js';
import { DagValidationError } from '../core/errors.js';
import { SensorFailed } from './errors.js';
import { fileSensor } from './file.js';
import { httpSensor } from './http.js';
import { objectKeySensor } from './object-key.js';
import { sensorFromSpec } from './spec.js';
import { dateTimeSensor, timeDeltaSensor } from './time.js';
import type { SensorContext } from './types.js';

const T0 = Date.UTC(2026, 10, 21);

function ctx(extra: Partial<SensorContext> = {}): SensorContext {
  return { now: T0, signal: new AbortController().signal, logicalDate: T0, ...extra };
}

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-sensors-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('fileSensor', () => {
  it('waits with a plain reason, then is done with the matching path', async () => {
    const check = fileSensor({ path: `${dir}/2026-11-21/*.parquet` });
    expect(await check(ctx())).toEqual({ done: false, detail: `no file matches ${dir}/2026-11-21/*.parquet yet` });
    fs.mkdirSync(path.join(dir, '2026-11-21'));
    fs.writeFileSync(path.join(dir, '2026-11-21/part-0.parquet'), 'x');
    expect(await check(ctx())).toEqual({ done: true, value: { path: path.join(dir, '2026-11-21/part-0.parquet') } });
  });

  it('says a literal path does not exist yet; a relative path is taken from baseDir', async () => {
    expect(await fileSensor({ path: `${dir}/_SUCCESS` })(ctx())).toEqual({ done: false, detail: `${dir}/_SUCCESS does not exist yet` });
    fs.writeFileSync(path.join(dir, '_SUCCESS'), '');
    expect(await fileSensor({ path: '_SUCCESS', baseDir: dir })(ctx())).toEqual({ done: true, value: { path: path.join(dir, '_SUCCESS') } });
  });

  it('refuses an empty path', () => {
    expect(() => fileSensor({ path: ' ' })).toThrow(DagValidationError);
  });
});

describe('objectKeySensor', () => {
  it('checks the artifact store (a real file store)', async () => {
    const store = new FileArtifactStore(path.join(dir, 'artifacts'));
    const check = objectKeySensor({ key: 'datasets/2026-11-21/_SUCCESS' });
    expect(await check(ctx({ artifacts: store }))).toEqual({ done: false, detail: "object 'datasets/2026-11-21/_SUCCESS' does not exist in the artifact store yet" });
    await store.put('datasets/2026-11-21/_SUCCESS', Buffer.from(''));
    expect(await check(ctx({ artifacts: store }))).toEqual({ done: true, value: { key: 'datasets/2026-11-21/_SUCCESS' } });
  });

  it('keeps waiting through a transient error, and fails on a key that can never exist or no store', async () => {
    const flaky = { exists: async () => Promise.reject(new Error('connect ECONNREFUSED')) };
    expect(await objectKeySensor({ key: 'a' })(ctx({ artifacts: flaky }))).toMatchObject({ done: false, detail: expect.stringContaining('ECONNREFUSED') });
    const store = new FileArtifactStore(path.join(dir, 'artifacts'));
    await expect(objectKeySensor({ key: '../escape' })(ctx({ artifacts: store }))).rejects.toMatchObject({ code: 'ARTIFACT_KEY_INVALID' });
    await expect(objectKeySensor({ key: 'a' })(ctx())).rejects.toMatchObject({ code: 'SENSOR_NO_ARTIFACT_STORE' });
  });
});

describe('time sensors', () => {
  it('timeDeltaSensor is done at logicalDate + delta and says when it will be', async () => {
    const check = timeDeltaSensor({ delta: '2h' });
    expect(await check(ctx({ now: T0 + 3_600_000 }))).toEqual({
      done: false,
      detail: 'waiting until 2026-11-21T02:00:00.000Z (the logical date + 2h): 1h to go',
      nextCheckAt: T0 + 7_200_000,
    });
    expect(await check(ctx({ now: T0 + 7_200_000 }))).toEqual({ done: true, value: { at: T0 + 7_200_000 } });
  });

  it('dateTimeSensor takes ms, Date or ISO text with a zone, and refuses text without one', async () => {
    for (const at of [T0 + 1000, new Date(T0 + 1000), '2026-11-21T00:00:01Z', '2026-11-21T01:00:01+01:00']) {
      const check = dateTimeSensor({ at });
      expect((await check(ctx({ now: T0 + 999 }))).done).toBe(false);
      expect((await check(ctx({ now: T0 + 1000 }))).done).toBe(true);
    }
    expect(() => dateTimeSensor({ at: '2026-11-21 00:00' })).toThrow(/ISO-8601 text with a zone/);
    expect(() => timeDeltaSensor({ delta: 'tomorrow' })).toThrow(DagValidationError);
  });
});

describe('httpSensor (a real local HTTP server)', () => {
  let server: http.Server;
  let base: string;
  let status = 503;
  let body = '{"ready":false}';
  const seen: { method?: string; url?: string; auth?: string; body: string }[] = [];
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let b = '';
      req.on('data', (c) => (b += c));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, auth: req.headers.authorization, body: b });
        if (req.url === '/hang') return; // never answers
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(body);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('waits on a wrong status, then on responseCheck, then is done; sends method, headers and body', async () => {
    const check = httpSensor({
      url: `${base}/ready?token=s3cret-token`,
      method: 'post',
      headers: { authorization: 'Bearer abc' },
      body: { dataset: 'd1' },
      responseCheck: (b) => (b as { ready: boolean }).ready === true,
      timeoutMs: 2000,
    });
    status = 503;
    const first = await check(ctx());
    expect(first).toEqual({ done: false, detail: `POST ${base}/ready?token=*** answered 503, waiting for 2xx` });
    status = 200;
    expect(await check(ctx())).toEqual({ done: false, detail: `POST ${base}/ready?token=*** answered 200, but responseCheck says not yet` });
    body = '{"ready":true}';
    expect(await check(ctx())).toEqual({ done: true, value: { status: 200 } });
    expect(seen.at(-1)).toEqual({ method: 'POST', url: '/ready?token=s3cret-token', auth: 'Bearer abc', body: '{"dataset":"d1"}' });
  });

  it('expectStatus and failStatus', async () => {
    status = 404;
    expect((await httpSensor({ url: `${base}/x`, expectStatus: 204, timeoutMs: 1000 })(ctx())).done).toBe(false);
    await expect(httpSensor({ url: `${base}/x`, failStatus: [404], timeoutMs: 1000 })(ctx())).rejects.toBeInstanceOf(SensorFailed);
    status = 204;
    body = '';
    expect(await httpSensor({ url: `${base}/x`, expectStatus: [200, 204], timeoutMs: 1000 })(ctx())).toEqual({ done: true, value: { status: 204 } });
  });

  it('a hung endpoint and a closed port are "not yet", with the reason', async () => {
    const hung = await httpSensor({ url: `${base}/hang`, timeoutMs: 200 })(ctx());
    expect(hung).toEqual({ done: false, detail: `GET ${base}/hang failed: no answer within 200ms; checking again` });
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const refused = await httpSensor({ url: `http://127.0.0.1:${port}/`, timeoutMs: 1000 })(ctx());
    expect(refused).toMatchObject({ done: false, detail: expect.stringContaining('ECONNREFUSED') });
  });

  it('the runner abort signal stops a request', async () => {
    const ac = new AbortController();
    const p = httpSensor({ url: `${base}/hang`, timeoutMs: 10_000 })(ctx({ signal: ac.signal }));
    setTimeout(() => ac.abort(new Error('deadline')), 50);
    await expect(p).rejects.toThrow('deadline');
  });

  it('is built from a spec too', async () => {
    status = 200;
    body = '{"phase":"Succeeded"}';
    expect(await sensorFromSpec({ kind: 'http', url: `${base}/status`, bodyContains: 'Succeeded' })(ctx())).toEqual({ done: true, value: { status: 200 } });
    expect(() => sensorFromSpec({ kind: 'nope' } as never)).toThrow(/Unknown sensor kind "nope"/);
  });
});
