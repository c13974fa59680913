/**
 * Serves the built web UI (`dist/web`, made by `vite build` in `web/`) as static files: the
 * API server mounts it at `/` after its own routes. Paths under `/api/` are left to the API.
 * A path that is not a file gets `index.html` (the UI routes in the browser); hashed assets
 * under `/assets/` are cached for a year, everything else is revalidated. Text assets are
 * compressed once (brotli or gzip, as the browser accepts) and kept in memory.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import type { MiddlewareHandler } from 'hono';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.json', '.map', '.svg', '.txt']);
const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';
/** For the HTML document: the UI loads only its own scripts and talks only to its own origin. */
const DOCUMENT_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
};

/** `dist/web` beside the compiled server (`dist/web-static.js`), or from the source tree when run with tsx. */
export function defaultWebDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const beside = path.join(here, 'web');
  if (fs.existsSync(path.join(beside, 'index.html'))) return beside;
  return path.resolve(here, '../dist/web');
}

interface Entry {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
  readonly mtimeMs: number;
  readonly encoded: Map<string, Buffer>;
}

function notBuiltPage(dir: string): string {
  return `<!doctype html><meta charset="utf-8"><title>Trainyard</title><body style="font-family:system-ui;margin:3rem">
<h1>The web UI is not built</h1><p>Build it with <code>npm run build:web</code> (it writes <code>${escapeHtml(path.basename(path.dirname(dir)))}/web</code>), then reload. The REST API is at <a href="/api/v1/openapi.json">/api/v1</a>.</p></body>`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

function pickEncoding(accept: string | undefined): 'br' | 'gzip' | undefined {
  const a = (accept ?? '').toLowerCase();
  if (/\bbr\b/.test(a)) return 'br';
  if (/\bgzip\b/.test(a)) return 'gzip';
  return undefined;
}

/**
 * A Hono handler serving the UI from `dir`. Mount it after the API's routes:
 * `app.get('*', serveWebAssets(dir))` (it answers GET and HEAD, and hands `/api/…` on).
 */
export function serveWebAssets(dir: string = defaultWebDir()): MiddlewareHandler {
  const root = path.resolve(dir);
  const cache = new Map<string, Entry>();

  const load = (file: string): Entry | undefined => {
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch {
      return undefined;
    }
    if (!st.isFile()) return undefined;
    const hit = cache.get(file);
    if (hit && hit.mtimeMs === st.mtimeMs) return hit;
    const ext = path.extname(file).toLowerCase();
    const entry: Entry = {
      body: fs.readFileSync(file),
      type: CONTENT_TYPES[ext] ?? 'application/octet-stream',
      etag: `W/"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`,
      mtimeMs: st.mtimeMs,
      encoded: new Map(),
    };
    cache.set(file, entry);
    return entry;
  };

  return async (c, next) => {
    const method = c.req.method;
    const urlPath = c.req.path;
    if ((method !== 'GET' && method !== 'HEAD') || urlPath === '/api' || urlPath.startsWith('/api/')) return next();

    let rel: string;
    try {
      rel = decodeURIComponent(urlPath);
    } catch {
      return c.text('bad path', 400);
    }
    const file = path.resolve(root, `.${path.posix.normalize(`/${rel}`)}`);
    if (file !== root && !file.startsWith(root + path.sep)) return c.text('not found', 404);

    let entry = rel.endsWith('/') ? undefined : load(file);
    let isDocument = false;
    if (!entry) {
      // A missing asset is a 404, never the HTML page (a browser would try to run it as a script).
      // (Only known file types count: a run id such as `manual__…T10:56:49.365Z` is a page.)
      if (rel.startsWith('/assets/') || CONTENT_TYPES[path.extname(rel).toLowerCase()] !== undefined) return c.text('not found', 404, { 'cache-control': REVALIDATE });
      entry = load(path.join(root, 'index.html'));
      isDocument = true;
      if (!entry) return c.html(notBuiltPage(root), 503, { 'cache-control': 'no-store' });
    } else if (entry.type.startsWith('text/html')) {
      isDocument = true;
    }

    const headers: Record<string, string> = {
      'content-type': entry.type,
      'cache-control': rel.startsWith('/assets/') ? IMMUTABLE : REVALIDATE,
      etag: entry.etag,
      'x-content-type-options': 'nosniff',
      vary: 'accept-encoding',
      ...(isDocument ? DOCUMENT_HEADERS : {}),
    };
    if (c.req.header('if-none-match') === entry.etag) return c.body(null, 304, headers);

    let body = entry.body;
    const ext = path.extname(file).toLowerCase();
    const encoding = (isDocument || COMPRESSIBLE.has(ext)) && body.length > 1024 ? pickEncoding(c.req.header('accept-encoding')) : undefined;
    if (encoding) {
      let enc = entry.encoded.get(encoding);
      if (!enc) {
        enc =
          encoding === 'br'
            ? zlib.brotliCompressSync(body, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 9, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: body.length } })
            : zlib.gzipSync(body, { level: 9 });
        entry.encoded.set(encoding, enc);
      }
      body = enc;
      headers['content-encoding'] = encoding;
    }
    headers['content-length'] = String(body.length);
    if (method === 'HEAD') return c.body(null, 200, headers);
    return c.body(new Uint8Array(body.buffer as ArrayBuffer, body.byteOffset, body.byteLength), 200, headers);
  };
}
