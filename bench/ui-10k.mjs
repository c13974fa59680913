#!/usr/bin/env node
/**
 * The web UI on a big run (a benchmark, not a test).
 *
 *   node bench/ui-10k.mjs [--mapped 10000] [--reps 3] [--runs 12] [--screenshots DIR]
 *
 * Seeds a SQLite store with a DAG whose mapped task has 10,000 instances in one running run
 * (mixed states, durations and error messages) plus older finished runs, serves the API and
 * the built UI (dist/web; `npm run --prefix web build` first) on 127.0.0.1, and opens pages
 * in headless Chromium (Debian's, via playwright-core) with a cold cache:
 *   - the run page (task list with the mapped task's counts),
 *   - the DAG's grid (runs × tasks; the mapped task is one cell per run),
 *   - the run page with the mapped task's drill-down open (histogram, top errors, one page).
 * For each it reports the time from navigation start until the page is interactive (its
 * content for the big run is on screen and the main thread answers: a frame and a task after
 * it), for the grid also until every run column has loaded (`complete_ms`), and the
 * bytes the browser received (CDP Network.loadingFinished encodedDataLength: headers and
 * compressed bodies), split into assets and API calls. Prints JSON on stdout.
 *
 * Targets (UI target): interactive < 1,500 ms and < 500 KB received, for the run page and grid.
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
/** playwright-core from the root's dependencies, else from web/'s. */
const { chromium } = await import('playwright-core').catch(() => import(path.join(repo, 'web/node_modules/playwright-core/index.mjs')));

const MAPPED = optionNumber('mapped', 10_000);
const REPS = optionNumber('reps', 3);
const OLD_RUNS = optionNumber('runs', 12) - 1;
const SHOTS = (() => {
  const i = process.argv.indexOf('--screenshots');
  return i >= 0 ? process.argv[i + 1] : undefined;
})();
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const TARGET_MS = 1500;
const TARGET_BYTES = 500 * 1024;
const log = (line) => process.stderr.write(`${line}\n`);

const ERRORS = [
  ['oom_killed', 'the container used 2.1Gi of its 2Gi memory limit'],
  ['user_error', 'exited with code 1; last stderr lines:\nValueError: shard is empty'],
  ['execution_timeout', 'ran longer than its 10m execution timeout'],
  ['user_error', 'exited with code 2; last stderr lines:\nFileNotFoundError: s3://bucket/shard'],
];

async function seed(home) {
  const { migrateToLatest, openSqlite } = await src('store/db.ts');
  const { Store } = await src('store/store.ts');
  const { dag, z } = await src('index.ts');
  const { triggerRun } = await src('scheduler/trigger.ts');
  const opened = openSqlite(path.join(home, 'trainyard.db'));
  await migrateToLatest(opened.db);
  const store = new Store(opened.db, 'sqlite');

  const d = dag('big_sweep', { description: 'a sweep with a 10k fan-out', tags: ['bench'] });
  const prep = d.command('prepare', { command: 'true', result: z.object({ shards: z.array(z.number()) }) });
  const fan = d.command('train_shard', { command: 'true', expand: { shard: prep.out('shards') } });
  d.group('report', {}, (g) => {
    const agg = g.command('aggregate', { command: 'true' }).after(fan);
    g.command('publish', { command: 'true' }).after(agg);
  });
  const spec = d.toSpec();
  const hash = crypto.createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 16);
  const t0 = Date.now() - 3600_000;
  await store.upsertDag(spec, '/dags/big_sweep.ts', hash, t0);

  const ti = (runId, taskId, mapIndex, set) => ({
    dag_id: 'big_sweep', run_id: runId, task_id: taskId, map_index: mapIndex, state: 'none', try_number: 0, budget_tries: 0, free_retries: 0,
    priority_weight: 1, pool: 'default_pool', pool_slots: 1, next_retry_at: null, queued_at: null, start_date: null, end_date: null,
    failure_class: null, reason: null, result: null, item: null, params: null, resource_overrides: null, updated_at: t0, ...set,
  });
  const setRun = (runId, set) => store.db.updateTable('dag_run').set(set).where('dag_id', '=', 'big_sweep').where('run_id', '=', runId).execute();

  // Older finished runs with a small fan-out, for the grid's other columns.
  for (let r = 0; r < OLD_RUNS; r++) {
    const runId = `old_${String(r).padStart(2, '0')}`;
    const start = t0 + r * 60_000;
    await triggerRun(store, 'big_sweep', { runId, logicalDate: start }, start);
    const rows = [ti(runId, 'prepare', -1, { state: 'success', try_number: 1, start_date: start, end_date: start + 2000 }), ti(runId, 'train_shard', -1, { state: 'removed' })];
    for (let i = 0; i < 50; i++) rows.push(ti(runId, 'train_shard', i, { state: 'success', try_number: 1, start_date: start + 2000, end_date: start + 5000 + i * 20, item: JSON.stringify({ shard: i }) }));
    rows.push(ti(runId, 'report.aggregate', -1, { state: 'success', try_number: 1, start_date: start + 7000, end_date: start + 8000 }));
    rows.push(ti(runId, 'report.publish', -1, { state: r % 4 === 3 ? 'failed' : 'success', try_number: 1, start_date: start + 8000, end_date: start + 9000, failure_class: r % 4 === 3 ? 'user_error' : null }));
    await store.insertTaskInstances(rows);
    await setRun(runId, { state: r % 4 === 3 ? 'failed' : 'success', start_date: start, end_date: start + 9000 });
  }

  // The big run: running, 10k mapped instances.
  const runId = 'big_run';
  const start = t0 + 30 * 60_000;
  await triggerRun(store, 'big_sweep', { runId, logicalDate: start }, start);
  const rows = [ti(runId, 'prepare', -1, { state: 'success', try_number: 1, start_date: start, end_date: start + 3000 }), ti(runId, 'train_shard', -1, { state: 'removed' })];
  for (let i = 0; i < MAPPED; i++) {
    const s = start + 3000 + Math.floor(i / 32) * 500;
    let set;
    if (i < MAPPED * 0.9) set = { state: 'success', try_number: 1, start_date: s, end_date: s + 20_000 + ((i * 7919) % 40_000) };
    else if (i < MAPPED * 0.96) {
      const [cls, reason] = ERRORS[i % ERRORS.length];
      set = { state: 'failed', try_number: 2, start_date: s, end_date: s + 5_000 + (i % 900) * 10, failure_class: cls, reason };
    } else if (i < MAPPED * 0.99) set = { state: 'running', try_number: 1, start_date: Date.now() - (i % 60) * 1000 };
    else set = { state: 'queued', try_number: 1, queued_at: Date.now() };
    rows.push(ti(runId, 'train_shard', i, { ...set, item: JSON.stringify({ shard: i }) }));
  }
  rows.push(ti(runId, 'report.aggregate', -1), ti(runId, 'report.publish', -1));
  await store.insertTaskInstances(rows);
  await setRun(runId, { state: 'running', start_date: start });
  return { opened, store, runId };
}

/**
 * In the page: when `selector` first matches, wait for a frame and a task after it (the main
 * thread is free to answer input), then record the time; the same for `completeSelector`.
 */
function interactiveProbe([selector, completeSelector]) {
  const mark = (key) =>
    requestAnimationFrame(() =>
      setTimeout(() => {
        window[key] = performance.now();
      }, 0),
    );
  const pending = [
    [selector, '__interactiveAt'],
    [completeSelector, '__completeAt'],
  ];
  const check = () => {
    for (let i = pending.length - 1; i >= 0; i--) {
      if (document.querySelector(pending[i][0])) {
        mark(pending[i][1]);
        pending.splice(i, 1);
      }
    }
    if (!pending.length) obs.disconnect();
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
    /* no long-task timing in this browser */
  }
}

async function measure(context, url, selector, completeSelector, shot) {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  const requests = new Map();
  let assetBytes = 0;
  let apiBytes = 0;
  let count = 0;
  const waits = [];
  cdp.on('Network.requestWillBeSent', (e) => requests.set(e.requestId, e.request.url));
  cdp.on('Network.responseReceived', (e) => {
    const t = e.response.timing;
    if (t && e.response.url.includes('/api/')) waits.push({ path: new URL(e.response.url).pathname.replace(/^\/api\/v1/, '') + new URL(e.response.url).search, ms: Math.round(t.receiveHeadersEnd - t.sendEnd) });
  });
  cdp.on('Network.loadingFinished', (e) => {
    const u = new URL(requests.get(e.requestId) ?? 'http://x/');
    count++;
    if (u.pathname.startsWith('/api/')) apiBytes += e.encodedDataLength;
    else assetBytes += e.encodedDataLength;
  });
  await page.addInitScript(interactiveProbe, [selector, completeSelector ?? selector]);
  await page.goto(url, { waitUntil: 'commit' });
  await page.waitForFunction(() => window.__interactiveAt !== undefined && window.__completeAt !== undefined, null, { timeout: 30_000, polling: 50 });
  const interactiveMs = await page.evaluate(() => window.__interactiveAt);
  const completeMs = await page.evaluate(() => window.__completeAt);
  const longTasksMs = await page.evaluate(() => window.__longTasks);
  // Let in-flight requests of the first render finish before counting bytes.
  await page.waitForLoadState('networkidle', { timeout: 3000 }).catch(() => {});
  if (shot) {
    fs.mkdirSync(path.dirname(shot), { recursive: true });
    await page.screenshot({ path: shot, fullPage: true });
  }
  const result = {
    interactive_ms: Math.round(interactiveMs),
    complete_ms: Math.round(completeMs),
    received_bytes: assetBytes + apiBytes,
    asset_bytes: assetBytes,
    api_bytes: apiBytes,
    requests: count,
    long_tasks_ms: Math.round(longTasksMs),
    /** The slowest API answers (time to first byte after the request was sent). */
    slowest_api: waits.sort((a, b) => b.ms - a.ms).slice(0, 3),
  };
  await page.close();
  return result;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
}

async function main() {
  if (!fs.existsSync(path.join(repo, 'dist/web/index.html'))) throw new Error('the UI is not built: run `npm run --prefix web build` (or npm run build:web) first');
  if (!fs.existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: run scripts/chromium.sh`);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-ui-bench-'));
  log(`seeding ${MAPPED.toLocaleString()} mapped instances in ${home}`);
  const seeded = await seed(home);
  const { createApiServer } = await src('api/index.ts');
  const { loadConfig } = await src('config.ts');
  const { HomeLayout } = await src('scheduler/paths.ts');
  const { serveWebAssets } = await src('web-static.ts');
  const server = createApiServer({
    store: seeded.store,
    layout: new HomeLayout(home),
    config: loadConfig({ home }, {}),
    auth: { mode: 'none' },
    log,
    web: serveWebAssets(path.join(repo, 'dist/web')),
  });
  const { url } = await server.listen(0, '127.0.0.1');

  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-ui-bench-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1440, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  const pages = {
    run_page: { url: `${url}/dags/big_sweep/runs/big_run`, selector: 'tr[data-task="train_shard"] .counts' },
    grid: {
      url: `${url}/dags/big_sweep`,
      selector: '.grid-col.run[data-run="big_run"] .cell.mapped[data-task="train_shard"]',
      complete: '[data-testid="grid"]:not(:has(.cell.loading)) .grid-col.run[data-run="big_run"] .cell.mapped[data-task="train_shard"]',
    },
    drilldown: { url: `${url}/dags/big_sweep/runs/big_run?task=train_shard`, selector: '[data-testid="drilldown"] tbody tr' },
  };
  const results = {};
  try {
    // One warm-up load (Chromium's own start-up), not counted.
    await measure(context, pages.grid.url, pages.grid.selector, pages.grid.complete);
    for (const [name, p] of Object.entries(pages)) {
      const reps = [];
      for (let i = 0; i < REPS; i++) reps.push(await measure(context, p.url, p.selector, p.complete, SHOTS && i === 0 ? path.resolve(SHOTS, `ui-10k-${name}.png`) : undefined));
      results[name] = {
        interactive_ms_median: median(reps.map((r) => r.interactive_ms)),
        interactive_ms_max: Math.max(...reps.map((r) => r.interactive_ms)),
        complete_ms_median: median(reps.map((r) => r.complete_ms)),
        received_bytes_max: Math.max(...reps.map((r) => r.received_bytes)),
        reps,
      };
      log(`${name}: ${results[name].interactive_ms_median} ms, ${results[name].received_bytes_max} bytes`);
    }
  } finally {
    await context.close();
    await server.close();
    await seeded.opened.close();
    fs.rmSync(profile, { recursive: true, force: true });
    fs.rmSync(home, { recursive: true, force: true });
  }
  const pass = ['run_page', 'grid'].every((k) => results[k].interactive_ms_max < TARGET_MS && results[k].received_bytes_max < TARGET_BYTES);
  const out = {
    benchmark: 'ui-10k',
    mapped_instances: MAPPED,
    runs_in_grid: OLD_RUNS + 1,
    cache: 'disabled (cold: every load fetches the HTML, JS and CSS again)',
    targets: { interactive_ms: TARGET_MS, received_bytes: TARGET_BYTES, pages: ['run_page', 'grid'] },
    pass,
    results,
    machine: machineInfo(),
  };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

main().catch((e) => {
  process.stderr.write(`${e.stack ?? e}\n`);
  process.exit(1);
});
