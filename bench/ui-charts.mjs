#!/usr/bin/env node
/**
 * The sweep chart of the web UI (a benchmark, not a test).
 *
 *   node bench/ui-charts.mjs [--trials 64] [--steps 1000] [--reps 5] [--screenshot FILE]
 *
 * Seeds a SQLite store with a finished run whose mapped task has `trials` trials, each with
 * `steps` points of `loss` and `val_accuracy`, serves the API and the built UI (dist/web;
 * `npm run --prefix web build` first) on 127.0.0.1, and opens the sweep view
 * (`/dags/…/runs/…/sweeps/train`) in headless Chromium (Debian's, via playwright-core) with a
 * cold cache. Reported per repetition:
 *   - `drawn_ms`: navigation start → every trial's curve is on the canvas
 *     (`canvas[data-drawn="<trials>"]`) and the main thread answers (a frame and a task after);
 *   - `draw_ms`: the canvas drawing alone (the component's own timing of one full redraw);
 *   - the bytes of the series request, and the long tasks' total.
 * Target: drawn_ms < 1,000 for 64 trials × 1,000 steps. Prints JSON on stdout.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';
import { machineInfo } from './lib/machine.js';
import { optionNumber } from './lib/args.js';

register();
const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');
const src = (p) => import(path.join(repo, 'src', p));
const { chromium } = await import('playwright-core').catch(() => import(path.join(repo, 'web/node_modules/playwright-core/index.mjs')));

const TRIALS = optionNumber('trials', 64);
const STEPS = optionNumber('steps', 1000);
const REPS = optionNumber('reps', 5);
const SHOT = (() => {
  const i = process.argv.indexOf('--screenshot');
  return i >= 0 ? path.resolve(process.argv[i + 1]) : undefined;
})();
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const TARGET_MS = 1000;
const log = (line) => process.stderr.write(`${line}\n`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

async function seed(home) {
  const { migrateToLatest, openSqlite } = await src('store/db.ts');
  const { Store } = await src('store/store.ts');
  const { dag } = await src('index.ts');
  const { triggerRun } = await src('scheduler/trigger.ts');
  const opened = openSqlite(path.join(home, 'trainyard.db'));
  await migrateToLatest(opened.db);
  const store = new Store(opened.db, 'sqlite');
  const lrs = Array.from({ length: TRIALS }, (_, i) => Number((0.001 * 1.1 ** i).toPrecision(3)));
  const d = dag('chart_sweep', { tags: ['bench'] });
  d.command('train', { command: 'true', expand: { lr: lrs } });
  const spec = d.toSpec();
  const hash = crypto.createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 16);
  const t0 = Date.now() - 3600_000;
  await store.upsertDag(spec, '/dags/chart_sweep.ts', hash, t0);
  const runId = 'sweep';
  await triggerRun(store, 'chart_sweep', { runId, logicalDate: t0 }, t0);
  const base = { dag_id: 'chart_sweep', run_id: runId, task_id: 'train', budget_tries: 1, free_retries: 0, priority_weight: 1, pool: 'default_pool', pool_slots: 1, next_retry_at: null, queued_at: t0, failure_class: null, reason: null, result: null, params: null, resource_overrides: null, updated_at: t0 };
  const tis = [{ ...base, map_index: -1, state: 'removed', try_number: 0, start_date: null, end_date: null, item: null }];
  const points = [];
  for (let i = 0; i < TRIALS; i++) {
    tis.push({ ...base, map_index: i, state: 'success', try_number: 1, start_date: t0, end_date: t0 + 60_000 + i * 1000, item: JSON.stringify({ lr: lrs[i], batch: [32, 64, 128, 256][i % 4] }) });
    const rate = 0.002 + (i % 16) * 0.0015;
    for (let s = 1; s <= STEPS; s++) {
      const loss = 2.3 * Math.exp(-rate * s) + 0.05 + 0.02 * Math.sin(s / 7 + i);
      const at = t0 + s * 50;
      points.push({ dag_id: 'chart_sweep', run_id: runId, task_id: 'train', map_index: i, try_number: 1, name: 'loss', step: s, value: loss, at });
      points.push({ dag_id: 'chart_sweep', run_id: runId, task_id: 'train', map_index: i, try_number: 1, name: 'val_accuracy', step: s, value: 1 - loss / 2.5, at });
    }
  }
  await store.insertTaskInstances(tis);
  for (let i = 0; i < points.length; i += 20_000) await store.transaction((tx) => tx.insertMetrics(points.slice(i, i + 20_000)));
  await store.db.updateTable('dag_run').set({ state: 'success', start_date: t0, end_date: t0 + 200_000 }).where('run_id', '=', runId).execute();
  return { opened, url: `/dags/chart_sweep/runs/${runId}/sweeps/train?metric=loss` };
}

/** In the page: once all curves are drawn, a frame and a task later, record the time. */
function drawnProbe(selector) {
  const check = () => {
    if (!document.querySelector(selector)) return;
    obs.disconnect();
    requestAnimationFrame(() =>
      setTimeout(() => {
        window.__drawnAt = performance.now();
      }, 0),
    );
  };
  const obs = new MutationObserver(check);
  const start = () => {
    obs.observe(document.documentElement, { childList: true, subtree: true, attributes: true });
    check();
  };
  if (document.documentElement) start();
  else document.addEventListener('readystatechange', start, { once: true });
  window.__longTasks = 0;
  try {
    new PerformanceObserver((l) => {
      for (const e of l.getEntries()) window.__longTasks += e.duration;
    }).observe({ type: 'longtask', buffered: true });
  } catch {
    /* no long-task timing */
  }
}

async function measure(context, url, shot) {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  const urls = new Map();
  const sentAt = new Map();
  let seriesBytes = 0;
  /** API requests: path, time to first byte and to the last byte (ms). */
  const api = [];
  cdp.on('Network.requestWillBeSent', (e) => {
    urls.set(e.requestId, e.request.url);
    sentAt.set(e.requestId, e.timestamp);
  });
  cdp.on('Network.responseReceived', (e) => {
    const t = e.response.timing;
    if (t && e.response.url.includes('/api/')) api.push({ id: e.requestId, path: new URL(e.response.url).pathname.replace(/^\/api\/v1/, ''), ttfb_ms: Math.round(t.receiveHeadersEnd - t.sendEnd) });
  });
  cdp.on('Network.loadingFinished', (e) => {
    if ((urls.get(e.requestId) ?? '').includes('/series')) seriesBytes += e.encodedDataLength;
    const a = api.find((x) => x.id === e.requestId);
    if (a) a.total_ms = Math.round((e.timestamp - sentAt.get(e.requestId)) * 1000);
  });
  const selector = `[data-testid="sweep-curves"] canvas[data-drawn="${TRIALS}"]`;
  await page.addInitScript(drawnProbe, selector);
  await page.goto(url, { waitUntil: 'commit' });
  await page.waitForFunction(() => window.__drawnAt !== undefined, null, { timeout: 30_000, polling: 50 });
  const r = await page.evaluate((sel) => ({ drawnAt: window.__drawnAt, longTasks: window.__longTasks, drawMs: Number(document.querySelector(sel).dataset.drawMs) }), selector);
  if (shot) {
    fs.mkdirSync(path.dirname(shot), { recursive: true });
    await page.screenshot({ path: shot, fullPage: true });
  }
  await page.close();
  return { drawn_ms: Math.round(r.drawnAt), draw_ms: r.drawMs, series_bytes: seriesBytes, long_tasks_ms: Math.round(r.longTasks), api: api.map(({ id, ...rest }) => rest) };
}

async function main() {
  if (!fs.existsSync(path.join(repo, 'dist/web/index.html'))) throw new Error('the UI is not built: run `npm run --prefix web build` (or npm run build:web) first');
  if (!fs.existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: run scripts/chromium.sh`);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-ui-charts-'));
  log(`seeding ${TRIALS} trials × ${STEPS} steps in ${home}`);
  const seeded = await seed(home);
  const { createApiServer } = await src('api/index.ts');
  const { loadConfig } = await src('config.ts');
  const { HomeLayout } = await src('scheduler/paths.ts');
  const { serveWebAssets } = await src('web-static.ts');
  const { opened } = seeded;
  const server = createApiServer({ store: new (await src('store/store.ts')).Store(opened.db, 'sqlite'), layout: new HomeLayout(home), config: loadConfig({ home }, {}), auth: { mode: 'none' }, log, web: serveWebAssets(path.join(repo, 'dist/web')) });
  const { url } = await server.listen(0, '127.0.0.1');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-ui-charts-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1440, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  const reps = [];
  try {
    await measure(context, `${url}${seeded.url}`); // warm-up: Chromium's own start-up, not counted
    for (let i = 0; i < REPS; i++) {
      reps.push(await measure(context, `${url}${seeded.url}`, SHOT && i === 0 ? SHOT : undefined));
      log(`rep ${i + 1}: drawn at ${reps.at(-1).drawn_ms} ms (drawing ${reps.at(-1).draw_ms} ms)`);
    }
  } finally {
    await context.close();
    await server.close();
    await opened.close();
    fs.rmSync(profile, { recursive: true, force: true });
    fs.rmSync(home, { recursive: true, force: true });
  }
  const drawn = median(reps.map((r) => r.drawn_ms));
  const out = {
    benchmark: 'ui-charts',
    trials: TRIALS,
    steps: STEPS,
    points_drawn: TRIALS * STEPS,
    cache: 'disabled (cold: every load fetches the HTML, JS, CSS and data again)',
    target: { drawn_ms: TARGET_MS },
    pass: Math.max(...reps.map((r) => r.drawn_ms)) < TARGET_MS,
    drawn_ms_median: drawn,
    drawn_ms_max: Math.max(...reps.map((r) => r.drawn_ms)),
    draw_ms_median: median(reps.map((r) => r.draw_ms)),
    series_bytes: reps[0]?.series_bytes,
    reps,
    machine: machineInfo(),
  };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

main().catch((e) => {
  process.stderr.write(`${e.stack ?? e}\n`);
  process.exit(1);
});
