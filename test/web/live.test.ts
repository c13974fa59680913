/**
 * Live updates in Chromium against a real Trainyard: the page follows a run over the API's
 * event stream (no reload, no polling), an idle page makes no API requests, and the DAG's
 * grid is one request that stays live.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type ApiServer, startApi } from '../../src/api/index.js';
import { serveWebAssets } from '../../src/web-static.js';
import { cellState, gridRunCount, groupCounts } from '../../web/src/lib/grid-cells.js';
import { backoffMs, refreshAt, touches } from '../../web/src/lib/live-match.js';
import { type BrowserHandle, dagFolder, ensureWebBuilt, openBrowser, screenshot, startTrainyard, type Trainyard, WEB_DIST, waitForDags } from './support.js';

let ty: Trainyard;
let b: BrowserHandle;
let page: Page;
/** API requests the page made (the event stream itself left out), with when. */
const requests: { url: string; at: number }[] = [];
const TIMEOUT = 180_000;
const gates: string[] = [];
/** The API server started again by the reconnect test. */
let restarted: ApiServer | undefined;

/** Lets run `runId` of live_grid past its first task. */
function openGate(runId: string): void {
  const f = path.join(os.tmpdir(), `trainyard-live-gate-${runId}`);
  fs.writeFileSync(f, '');
  gates.push(f);
}

/** Waits until the page has made no API request for 2 s (the refetches of the last change are done); returns when. */
async function settled(): Promise<number> {
  for (let i = 0; i < 60; i++) {
    const last = requests.at(-1)?.at ?? 0;
    if (Date.now() - last >= 2000) return Date.now();
    await page.waitForTimeout(500);
  }
  throw new Error(`the page kept requesting: ${apiRequestsSince(Date.now() - 5000).join(', ')}`);
}

function apiRequestsSince(t: number): string[] {
  return requests.filter((r) => r.at >= t).map((r) => new URL(r.url).pathname + new URL(r.url).search);
}

/** Triggers a run of live_grid from the page's session (CSRF token included). */
async function trigger(runId: string): Promise<void> {
  const status = await page.evaluate(async (id) => {
    const me = await (await fetch('/api/v1/auth/me')).json();
    const res = await fetch('/api/v1/dags/live_grid/runs', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrf_token },
      body: JSON.stringify({ run_id: id }),
    });
    return res.status;
  }, runId);
  expect(status).toBe(201);
}

beforeAll(async () => {
  ensureWebBuilt();
  ty = await startTrainyard({ dagsFolder: dagFolder(['test/web/fixtures/live_grid.ts']) });
  await waitForDags(ty.rt, ['live_grid']);
  b = await openBrowser();
  page = b.page;
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname.startsWith('/api/v1/') && u.pathname !== '/api/v1/events') requests.push({ url: r.url(), at: Date.now() });
  });
  await page.goto(`${ty.url}/`);
  await page.getByLabel('Username').fill(ty.username);
  await page.getByLabel('Password').fill(ty.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('link', { name: 'live_grid', exact: true }).waitFor();
}, TIMEOUT);

afterAll(async () => {
  await b?.close();
  await restarted?.close();
  await ty?.close();
  for (const f of gates) fs.rmSync(f, { force: true });
}, TIMEOUT);

describe('live updates in the browser', () => {
  test('a run page follows the run to success over the event stream, without a reload', async () => {
    await trigger('live1');
    await page.goto(`${ty.url}/dags/live_grid/runs/live1`);
    await page.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));
    await page.locator('.live-indicator.stream').waitFor({ timeout: 30_000 });
    await page.locator('tr[data-task="gate"][data-state="running"]').waitFor({ timeout: 60_000 });
    await screenshot(page, 'live-01-gate-running');

    // Nothing changes while the gate holds the run: the page must not poll.
    // (the old page polled running runs every 2.5 s, and the fallback polls every 5 s)
    const quietFrom = await settled();
    await page.waitForTimeout(7000);
    expect(apiRequestsSince(quietFrom)).toEqual([]);

    const before = Date.now();
    openGate('live1');
    await page.locator('.page-head .badge[data-state="success"]').waitFor({ timeout: 60_000 });
    await expect.poll(() => page.locator('tr[data-task="fan"] .counts').getAttribute('aria-label'), { timeout: 15_000 }).toContain('20 instances: 20 success');
    expect(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload)).toBe(true);
    // 20 mapped instances, each through four states: a handful of refetches, not one per change.
    const during = apiRequestsSince(before);
    expect(during.length).toBeGreaterThan(0);
    expect(during.length).toBeLessThan(40);
    await screenshot(page, 'live-02-run-success');
  }, TIMEOUT);

  test('the grid is one request, updates live, and an idle DAG page makes no requests', async () => {
    const loaded = Date.now();
    await page.goto(`${ty.url}/dags/live_grid`);
    const grid = page.getByTestId('grid');
    await grid.locator('.grid-col.run[data-run="live1"] .cell.mapped[data-task="fan"]').waitFor();
    expect(await grid.locator('[data-run="live1"] .cell.mapped[data-task="fan"]').getAttribute('aria-label')).toBe('fan: 20 mapped instances');
    const first = apiRequestsSince(loaded);
    expect(first.filter((u) => u.includes('/grid'))).toEqual(['/api/v1/dags/live_grid/grid?limit=12']);
    // No request per run column, no per-task summary.
    expect(first.filter((u) => /\/runs|\/summary|\/taskInstances/.test(u))).toEqual([]);

    await page.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));
    await trigger('live2');
    await grid.locator('.grid-col.run[data-run="live2"] .cell[data-task="gate"][data-state="running"]').waitFor({ timeout: 60_000 });
    const quietFrom = await settled();
    await page.waitForTimeout(7000);
    expect(apiRequestsSince(quietFrom)).toEqual([]);

    openGate('live2');
    await grid.locator('.grid-col.run[data-run="live2"] .run-bar[data-state="success"]').waitFor({ timeout: 60_000 });
    await grid.locator('.grid-col.run[data-run="live2"] .cell.mapped[data-task="fan"][data-state="success"]').waitFor({ timeout: 15_000 });
    expect(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload)).toBe(true);
    await screenshot(page, 'live-03-grid');
  }, TIMEOUT);

  test('reconnects with backoff when the API server restarts, and the new stream carries changes', async () => {
    await page.goto(`${ty.url}/dags/live_grid`);
    await page.getByTestId('grid').locator('.grid-col.run[data-run="live2"]').waitFor();
    await page.locator('.live-indicator.stream').waitFor({ timeout: 30_000 });
    await page.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));
    const port = Number(new URL(ty.url).port);
    await ty.server.close();
    await page.locator('.live-indicator.poll').waitFor({ timeout: 30_000 });
    await page.waitForTimeout(3000);
    restarted = (await startApi(ty.rt, { port, host: '127.0.0.1', auth: 'password', log: () => {}, web: serveWebAssets(WEB_DIST) })).server;
    await page.locator('.live-indicator.stream').waitFor({ timeout: 60_000 });
    // The new stream carries changes again: a run triggered now shows up in the grid.
    await trigger('live3');
    openGate('live3');
    await page.getByTestId('grid').locator('.grid-col.run[data-run="live3"] .run-bar[data-state="success"]').waitFor({ timeout: 60_000 });
    expect(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload)).toBe(true);
  }, TIMEOUT);
});

describe('live update rules, in process', () => {
  test('a change refreshes only the queries it touches', () => {
    const grid = { dagId: 'a', on: ['run', 'ti', 'task'] as const };
    expect(touches(grid, { kind: 'task', dag_id: 'a', run_id: 'r' })).toBe(true);
    expect(touches(grid, { kind: 'task', dag_id: 'b', run_id: 'r' })).toBe(false);
    expect(touches(grid, { kind: 'import_errors' })).toBe(false);
    expect(touches({ dagId: 'a', runId: 'r1' }, { kind: 'ti', dag_id: 'a', run_id: 'r2' })).toBe(false);
    expect(touches({ on: ['import_errors'] }, { kind: 'import_errors' })).toBe(true);
    expect(touches({ dagId: 'a', on: ['dag'] }, { kind: 'dag', dag_id: 'a' })).toBe(true);
    expect(touches({ dagId: 'a' }, { kind: 'dag', dag_id: 'a' })).toBe(false);
  });

  test('refreshes are coalesced and spaced, reconnects back off', () => {
    expect(refreshAt(10_000, 0)).toBe(10_250);
    // Refreshed 100 ms ago: the next waits until a second has passed.
    expect(refreshAt(10_000, 9_900)).toBe(10_900);
    expect([0, 1, 2, 3, 10].map((a) => backoffMs(a, () => 0))).toEqual([1000, 2000, 4000, 8000, 30_000]);
    expect(backoffMs(0, () => 1)).toBe(1200);
    expect(gridRunCount(new URLSearchParams('runs=500'))).toBe(50);
    expect(gridRunCount(new URLSearchParams(''))).toBe(12);
  });

  test('grid cells: a mapped task shows its counts, a collapsed group adds its tasks up', () => {
    const cells = {
      prep: { state: 'success', try_number: 1 },
      fan: { state: 'removed', total: 5, counts: { success: 3, running: 2 } },
      waiting: { state: 'removed', total: 0 },
    };
    expect(cellState(cells.prep)).toBe('success');
    expect(cellState(cells.fan)).toBe('running');
    expect(cellState({ state: 'scheduled' })).toBe('scheduled');
    expect(groupCounts(cells, ['prep', 'fan', 'absent'])).toEqual({ success: 4, running: 2 });
  });
});
