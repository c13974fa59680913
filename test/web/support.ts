/**
 * Browser end-to-end support: a real Trainyard (DAG processor, scheduler and local executor
 * over SQLite, the API with password auth, and the built UI) on a loopback port, and a
 * headless Debian Chromium driven by playwright-core.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { ensureAdmin, startApi, type ApiServer, type AuthMode } from '../../src/api/index.js';
import { openRuntime, startSchedulerServices, type Runtime, type SchedulerServices } from '../../src/app/runtime.js';
import { loadConfig } from '../../src/config.js';
import { serveWebAssets } from '../../src/web-static.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const WEB_DIST = path.join(REPO, 'dist/web');
export const ARTIFACTS = path.join(REPO, 'test-artifacts/web');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Flags that keep Chromium quiet on a closed network and working as root in a container. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-extensions',
  '--disable-dev-shm-usage',
  '--metrics-recording-only',
  '--no-default-browser-check',
];

function newest(dir: string): number {
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
  }
  return t;
}

/** Builds the UI when `dist/web` is missing or older than `web/src`. */
export function ensureWebBuilt(): void {
  const index = path.join(WEB_DIST, 'index.html');
  const built = fs.existsSync(index) ? fs.statSync(index).mtimeMs : 0;
  const sources = Math.max(newest(path.join(REPO, 'web/src')), fs.statSync(path.join(REPO, 'web/index.html')).mtimeMs);
  if (built >= sources) return;
  if (!fs.existsSync(path.join(REPO, 'web/node_modules'))) {
    execFileSync('npm', ['ci', '--prefix', 'web', '--no-audit', '--no-fund'], { cwd: REPO, stdio: 'inherit' });
  }
  // NODE_ENV=production: under vitest it is `test`, which would bundle React's development build.
  execFileSync('npm', ['run', '--prefix', 'web', 'build'], { cwd: REPO, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } });
}

export interface Trainyard {
  readonly url: string;
  readonly home: string;
  readonly username: string;
  readonly password: string;
  readonly rt: Runtime;
  readonly server: ApiServer;
  close(): Promise<void>;
}

/** A DAG folder whose files re-export DAG files from elsewhere (so their own relative paths keep working), plus `raw` files as given. */
export function dagFolder(files: readonly string[], raw: Readonly<Record<string, string>> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-web-dags-'));
  for (const [name, text] of Object.entries(raw)) fs.writeFileSync(path.join(dir, name), text);
  for (const f of files) {
    const abs = path.resolve(REPO, f);
    fs.writeFileSync(path.join(dir, path.basename(f)), `export { default } from ${JSON.stringify(abs)};\n`);
  }
  return dir;
}

/** Starts Trainyard as `standalone` does, on a free loopback port. */
export async function startTrainyard(o: { dagsFolder: string; auth?: AuthMode; log?: (line: string) => void }): Promise<Trainyard> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-web-home-'));
  const log = o.log ?? (() => {});
  const config = loadConfig({ home, dagsFolder: o.dagsFolder, dagScanIntervalMs: 500, killGraceMs: 2000 }, {});
  const rt = await openRuntime(config);
  let services: SchedulerServices | undefined;
  let server: ApiServer | undefined;
  try {
    services = await startSchedulerServices(rt, { processDags: true, log });
    const auth = o.auth ?? 'password';
    const password = auth === 'password' ? ((await ensureAdmin(rt.store, () => {})) ?? '') : '';
    const started = await startApi(rt, { port: 0, host: '127.0.0.1', scheduler: services.scheduler, auth, log, web: serveWebAssets(WEB_DIST) });
    server = started.server;
    const s = services;
    const srv = server;
    return {
      url: started.url,
      home,
      username: 'admin',
      password,
      rt,
      server: srv,
      async close() {
        await srv.close();
        await s.stop(2000);
        await rt.close();
        fs.rmSync(home, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await server?.close();
    await services?.stop(1000);
    await rt.close();
    throw e;
  }
}

/** Waits until the DAG processor has stored these DAGs. */
export async function waitForDags(rt: Runtime, dagIds: readonly string[], timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const missing: string[] = [];
    for (const id of dagIds) if (!(await rt.store.getDag(id))) missing.push(id);
    if (!missing.length) return;
    if (Date.now() > until) throw new Error(`DAGs not loaded after ${timeoutMs} ms: ${missing.join(', ')}; import errors: ${JSON.stringify(await rt.store.listImportErrors())}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Waits until the DAG processor has recorded `n` import errors. */
export async function waitForImportErrors(rt: Runtime, n: number, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while ((await rt.store.listImportErrors()).length < n) {
    if (Date.now() > until) throw new Error(`fewer than ${n} import errors after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** playwright-core from the root's dependencies, else from web/'s (where web/package.json lists it too). */
async function playwright(): Promise<typeof import('playwright-core')> {
  try {
    return await import('playwright-core');
  } catch {
    return (await import(pathToFileURL(path.join(REPO, 'web/node_modules/playwright-core/index.mjs')).href)) as typeof import('playwright-core');
  }
}

export interface BrowserHandle {
  readonly context: BrowserContext;
  readonly page: Page;
  close(): Promise<void>;
}

/** Headless Chromium with a fresh profile directory; only loopback traffic. */
export async function openBrowser(o: { colorScheme?: 'light' | 'dark'; viewport?: { width: number; height: number } } = {}): Promise<BrowserHandle> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: run scripts/chromium.sh (Debian's chromium package), or set CHROMIUM_PATH`);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-chromium-'));
  const { chromium } = await playwright();
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: o.viewport ?? { width: 1440, height: 900 },
    colorScheme: o.colorScheme ?? 'light',
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}
