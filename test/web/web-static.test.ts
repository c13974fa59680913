/** serveWebAssets: the built UI as static files, beside the API. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { serveWebAssets } from '../../src/web-static.js';

let dir: string;
let app: Hono;
const big = `console.log(${JSON.stringify('x'.repeat(5000))});`;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-web-static-'));
  fs.mkdirSync(path.join(dir, 'assets'));
  fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><div id="root"></div>');
  fs.writeFileSync(path.join(dir, 'assets/index-abc123.js'), big);
  fs.writeFileSync(path.join(dir, 'assets/index-abc123.css'), 'body{}');
  fs.writeFileSync(path.join(dir, 'robots.txt'), 'User-agent: *');
  fs.writeFileSync(path.join(os.tmpdir(), 'trainyard-secret.txt'), 'secret');
  app = new Hono();
  app.get('/api/v1/health', (c) => c.json({ ok: true }));
  app.get('*', serveWebAssets(dir));
  app.notFound((c) => c.json({ error: { code: 'ROUTE_NOT_FOUND' } }, 404));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const get = (p: string, headers: Record<string, string> = {}) => app.request(`http://127.0.0.1${p}`, { headers });

describe('serveWebAssets', () => {
  test('serves hashed assets with their type, cached for a year', async () => {
    const r = await get('/assets/index-abc123.js');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(r.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await r.text()).toBe(big);
    expect((await get('/assets/index-abc123.css')).headers.get('content-type')).toBe('text/css; charset=utf-8');
  });

  test('answers every page path with index.html, revalidated, with a content security policy', async () => {
    for (const p of ['/', '/dags/x', '/dags/x/runs/manual__2026-11-21T10:56:49.365Z', '/dags/a%20b/runs/r/tasks/t/-1']) {
      const r = await get(p);
      expect(r.status, p).toBe(200);
      expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(r.headers.get('cache-control')).toBe('no-cache');
      expect(r.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(await r.text()).toContain('id="root"');
    }
  });

  test('leaves /api to the API, including its 404s', async () => {
    expect(await (await get('/api/v1/health')).json()).toEqual({ ok: true });
    const r = await get('/api/v1/nope');
    expect(r.status).toBe(404);
    expect(await r.json()).toEqual({ error: { code: 'ROUTE_NOT_FOUND' } });
  });

  test('a missing asset is a 404, never the HTML page', async () => {
    expect((await get('/assets/gone-123.js')).status).toBe(404);
    expect((await get('/favicon.ico')).status).toBe(404);
  });

  test('never serves a file outside its folder', async () => {
    for (const p of ['/../trainyard-secret.txt', '/%2e%2e/trainyard-secret.txt', '/assets/..%2f..%2ftrainyard-secret.txt']) {
      const r = await get(p);
      expect(await r.text(), p).not.toBe('secret');
    }
  });

  test('compresses text with brotli or gzip, as accepted', async () => {
    const br = await get('/assets/index-abc123.js', { 'accept-encoding': 'gzip, deflate, br' });
    expect(br.headers.get('content-encoding')).toBe('br');
    const brBody = Buffer.from(await br.arrayBuffer());
    expect(brBody.length).toBeLessThan(big.length / 10);
    expect(zlib.brotliDecompressSync(brBody).toString()).toBe(big);
    const gz = await get('/assets/index-abc123.js', { 'accept-encoding': 'gzip' });
    expect(gz.headers.get('content-encoding')).toBe('gzip');
    expect(zlib.gunzipSync(Buffer.from(await gz.arrayBuffer())).toString()).toBe(big);
    expect(gz.headers.get('vary')).toBe('accept-encoding');
  });

  test('answers 304 to a matching ETag', async () => {
    const first = await get('/robots.txt');
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^W\//);
    const again = await get('/robots.txt', { 'if-none-match': etag });
    expect(again.status).toBe(304);
  });

  test('says how to build the UI when it is not built', async () => {
    const empty = new Hono();
    empty.get('*', serveWebAssets(path.join(dir, 'nothing-here')));
    const r = await empty.request('http://127.0.0.1/');
    expect(r.status).toBe(503);
    expect(await r.text()).toContain('npm run build:web');
  });
});
