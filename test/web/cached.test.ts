/**
 * Cached task instances in the browser: a DAG with a cached task runs twice; on the second
 * run the cached instance shows as "cached" (its own word and colour) in the run's task
 * table, the grid (with a legend entry) and the graph, and its page links to the first run's
 * try it reused. The task that is not cached shows its plain state everywhere.
 *
 * A cached mapped task runs over 3 shards, then 5 (shards 1–3 cached, 4–5 run), then 3 again
 * (all cached): its counts show the cached instances apart from the successes, in the cached
 * colour, in the task table, the drill-down (whose filters split them), the grid and the graph.
 */
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type BrowserHandle, dagFolder, ensureWebBuilt, openBrowser, screenshot, startTrainyard, type Trainyard, waitForDags } from './support.js';

const TIMEOUT = 120_000;
const DAG = 'cached_pipeline';
const FAN = 'cached_fanout';

let ty: Trainyard;
let b: BrowserHandle;
let page: Page;
let first: string;
let second: string;
/** Runs of FAN with 3, 5 and 3 shards. */
let fan3: string;
let fan5: string;
let fan3again: string;

async function api<T>(path: string, init?: RequestInit): Promise<T> {
  const r = await fetch(`${ty.url}/api/v1${path}`, { ...init, headers: { 'content-type': 'application/json', ...init?.headers } });
  if (!r.ok) throw new Error(`${init?.method ?? 'GET'} ${path}: ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
}

async function runToSuccess(dagId = DAG, conf: Record<string, unknown> = {}): Promise<string> {
  const runId = (await api<{ run_id: string }>(`/dags/${dagId}/runs`, { method: 'POST', body: JSON.stringify({ conf }) })).run_id;
  for (let state = ''; state !== 'success'; ) {
    state = (await api<{ state: string }>(`/dags/${dagId}/runs/${encodeURIComponent(runId)}`)).state;
    if (state === 'failed') throw new Error(`run ${runId} failed`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return runId;
}

const runPath = (runId: string, dagId = DAG) => `/dags/${dagId}/runs/${encodeURIComponent(runId)}`;
const background = (l: Locator) => l.evaluate((e) => getComputedStyle(e).backgroundColor);

beforeAll(async () => {
  ensureWebBuilt();
  ty = await startTrainyard({ dagsFolder: dagFolder(['test/web/fixtures/cached_pipeline.ts', 'test/web/fixtures/cached_fanout.ts']), auth: 'none' });
  await waitForDags(ty.rt, [DAG, FAN]);
  first = await runToSuccess();
  second = await runToSuccess();
  fan3 = await runToSuccess(FAN, { n: 3 });
  fan5 = await runToSuccess(FAN, { n: 5 });
  fan3again = await runToSuccess(FAN, { n: 3 });
  b = await openBrowser();
  page = b.page;
}, TIMEOUT);

afterAll(async () => {
  await b?.close();
  await ty?.close();
}, TIMEOUT);

describe('cached task instances in the UI', () => {
  test('the API says which instance of the second run was cached, and from which try', async () => {
    const prep = await api<{ cached: boolean; cached_from: { run_id: string; try_number: number } | null }>(`${runPath(second)}/taskInstances/prep/-1`);
    expect(prep.cached).toBe(true);
    expect(prep.cached_from).toMatchObject({ run_id: first, try_number: 1 });
    const report = await api<{ cached: boolean }>(`${runPath(second)}/taskInstances/report/-1`);
    expect(report.cached).toBe(false);
    const firstPrep = await api<{ cached: boolean }>(`${runPath(first)}/taskInstances/prep/-1`);
    expect(firstPrep.cached).toBe(false);
  });

  test("the second run's task table shows the cached instance as cached, and the other as success", async () => {
    await page.goto(`${ty.url}${runPath(second)}`);
    const prepRow = page.locator('[data-testid="task-list"] tr[data-task="prep"]');
    const reportRow = page.locator('[data-testid="task-list"] tr[data-task="report"]');
    await prepRow.locator('.badge').filter({ hasText: 'cached' }).waitFor();
    expect(await prepRow.getAttribute('data-cached')).toBe('true');
    expect(await prepRow.locator('.badge').textContent()).toBe('cached');
    expect(await reportRow.locator('.badge').textContent()).toBe('success');
    expect(await reportRow.getAttribute('data-cached')).toBeNull();
    // Distinct colours for the two badges' dots.
    expect(await background(prepRow.locator('.badge .dot'))).not.toBe(await background(reportRow.locator('.badge .dot')));
    await screenshot(page, 'cached-01-run');
  });

  test("the cached instance's page says it did not run and links to the first run's try; the link leads there", async () => {
    await page.goto(`${ty.url}${runPath(second)}`);
    await page.locator('[data-testid="task-list"] tr[data-task="prep"] a', { hasText: 'prep' }).click();
    const box = page.getByTestId('cached-from');
    await box.waitFor();
    expect(await box.textContent()).toContain('this instance did not run');
    expect(await page.locator('.page-head .badge').textContent()).toBe('cached');
    const link = page.getByTestId('cached-from-link');
    expect(await link.textContent()).toBe(`${DAG} / ${first} / prep, try 1`);
    expect(await link.getAttribute('href')).toBe(`${runPath(first)}/tasks/prep/-1?try=1`);
    // The result it reused is shown, though no try ran.
    await expect.poll(() => page.getByTestId('result').textContent()).toContain('"rows": 3');
    await screenshot(page, 'cached-02-try');

    await link.click();
    await page.waitForURL(`${ty.url}${runPath(first)}/tasks/prep/-1?try=1`);
    await page.locator('.page-head .badge').filter({ hasText: 'success' }).waitFor();
    expect(await page.getByTestId('cached-from').count()).toBe(0);
    expect(await page.locator('.crumbs').textContent()).toContain(first);
  });

  test("a task that is not cached shows no cached note on its page", async () => {
    await page.goto(`${ty.url}${runPath(second)}/tasks/report/-1`);
    await page.locator('.page-head .badge').filter({ hasText: 'success' }).waitFor();
    expect(await page.getByTestId('cached-from').count()).toBe(0);
  });

  test('the grid marks the cached cell in its own colour, with a legend entry', async () => {
    await page.goto(`${ty.url}/dags/${DAG}`);
    const cell = (runId: string, task: string) => page.locator(`[data-testid="grid"] [data-run="${runId}"] [data-task="${task}"]`);
    await cell(second, 'prep').waitFor();
    expect(await cell(second, 'prep').getAttribute('data-cached')).toBe('true');
    expect(await cell(second, 'prep').getAttribute('aria-label')).toBe('prep: cached');
    expect(await cell(first, 'prep').getAttribute('data-cached')).toBeNull();
    expect(await cell(first, 'prep').getAttribute('aria-label')).toBe('prep: success');
    expect(await cell(second, 'report').getAttribute('data-cached')).toBeNull();
    expect(await background(cell(second, 'prep'))).not.toBe(await background(cell(first, 'prep')));
    expect(await background(cell(first, 'prep'))).toBe(await background(cell(second, 'report')));
    const legend = page.locator('.legend [data-legend="cached"]');
    expect(await legend.textContent()).toBe('cached');
    expect(await background(legend.locator('.dot'))).toBe(await background(cell(second, 'prep')));
    await screenshot(page, 'cached-03-grid');
  });

  test('the graph of the second run shows the cached node as cached, the other as success', async () => {
    await page.goto(`${ty.url}/dags/${DAG}?tab=graph&run=${encodeURIComponent(second)}`);
    const node = (id: string) => page.locator(`[data-testid="graph"] [data-node="${id}"]`);
    await node('prep').and(page.locator('[data-cached="true"]')).waitFor();
    expect(await node('prep').getAttribute('aria-label')).toBe('task prep: cached');
    expect(await node('prep').locator('.node-sub').textContent()).toBe('cached');
    expect(await node('report').getAttribute('data-cached')).toBeNull();
    expect(await node('report').getAttribute('aria-label')).toBe('task report: success');
    await screenshot(page, 'cached-04-graph');

    await page.goto(`${ty.url}/dags/${DAG}?tab=graph&run=${encodeURIComponent(first)}`);
    await node('prep').and(page.locator('[data-state="success"]')).waitFor();
    expect(await node('prep').getAttribute('data-cached')).toBeNull();
  });

  test('the mapped summary and grid cell of the API count cached instances apart from the counts by state', async () => {
    const summary = (runId: string) => api<{ total: number; counts: Record<string, number>; cached_count: number }>(`${runPath(runId, FAN)}/taskInstances/shard/summary`);
    expect(await summary(fan3)).toMatchObject({ total: 3, counts: { success: 3 }, cached_count: 0 });
    expect(await summary(fan5)).toMatchObject({ total: 5, counts: { success: 5 }, cached_count: 3 });
    expect(await summary(fan3again)).toMatchObject({ total: 3, counts: { success: 3 }, cached_count: 3 });
    const grid = await api<{ cells: Record<string, Record<string, { counts?: Record<string, number>; cached_count?: number }>> }>(`/dags/${FAN}/grid`);
    expect(grid.cells[fan5].shard).toMatchObject({ counts: { success: 5 }, cached_count: 3 });
    expect(grid.cells[fan3].shard.cached_count).toBe(0);
    const cached = await api<{ items: { map_index: number; cached: boolean }[] }>(`${runPath(fan5, FAN)}/taskInstances?task_id=shard&cached=true`);
    expect(cached.items.map((t) => t.map_index)).toEqual([0, 1, 2]);
  });

  test("the run's task table counts the mapped task's cached instances apart, in the cached badge's colour", async () => {
    // The colour of a single cached instance's badge, to compare with.
    await page.goto(`${ty.url}${runPath(second)}`);
    const badge = page.locator('[data-testid="task-list"] tr[data-task="prep"] .badge[data-cached="true"] .dot');
    await badge.waitFor();
    const cachedColour = await background(badge);

    await page.goto(`${ty.url}${runPath(fan5, FAN)}`);
    const counts = page.locator('[data-testid="task-list"] tr[data-task="shard"] .counts');
    await counts.locator('.count[data-state="cached"]').waitFor();
    expect(await counts.getAttribute('aria-label')).toBe('5 instances: 2 success, 3 cached');
    expect(await counts.locator('.count[data-state="success"]').textContent()).toBe('2 success');
    expect(await counts.locator('.count[data-state="cached"]').textContent()).toBe('3 cached');
    expect(await background(counts.locator('.count[data-state="cached"] .dot'))).toBe(cachedColour);
    expect(await background(counts.locator('.count[data-state="success"] .dot'))).not.toBe(cachedColour);
    expect(await background(counts.locator('.counts-bar [data-state="cached"]'))).toBe(cachedColour);
    await screenshot(page, 'cached-05-mapped-run');

    await page.goto(`${ty.url}${runPath(fan3again, FAN)}`);
    await counts.locator('.count[data-state="cached"]').waitFor();
    expect(await counts.getAttribute('aria-label')).toBe('3 instances: 3 cached');
    expect(await counts.locator('.count[data-state="success"]').count()).toBe(0);

    await page.goto(`${ty.url}${runPath(fan3, FAN)}`);
    await counts.locator('.count[data-state="success"]').waitFor();
    expect(await counts.getAttribute('aria-label')).toBe('3 instances: 3 success');
  });

  test("the run's header counts cached instances apart, and a mapped task all of whose instances were cached has a cached Gantt bar", async () => {
    const header = page.getByTestId('run-task-counts');
    await page.goto(`${ty.url}${runPath(fan5, FAN)}`);
    await expect.poll(() => header.textContent()).toBe('3 success, 3 cached');
    await page.goto(`${ty.url}${runPath(fan3again, FAN)}`);
    await expect.poll(() => header.textContent()).toBe('1 success, 3 cached');
    await page.goto(`${ty.url}${runPath(fan3, FAN)}`);
    await expect.poll(() => header.textContent()).toBe('4 success');

    const shardBar = page.locator('.gantt-bar[aria-label^="shard:"]');
    await page.goto(`${ty.url}${runPath(fan3again, FAN)}?view=gantt`);
    await expect.poll(() => shardBar.getAttribute('aria-label')).toMatch(/^shard: cached, /);
    // Some of its instances ran: the bar is the task's own state.
    await page.goto(`${ty.url}${runPath(fan5, FAN)}?view=gantt`);
    await expect.poll(() => shardBar.getAttribute('aria-label')).toMatch(/^shard: success, /);
  });

  test("the drill-down's filters show the cached instances and the other successes apart", async () => {
    await page.goto(`${ty.url}${runPath(fan5, FAN)}?task=shard`);
    const drill = page.getByTestId('drilldown');
    const chip = (k: string) => drill.locator(`.state-filter [data-filter="${k}"]`);
    await chip('cached').waitFor();
    expect((await chip('success').textContent())?.trim()).toBe('success 2');
    expect((await chip('cached').textContent())?.trim()).toBe('cached 3');
    expect(await drill.locator('.drill-summary .counts').getAttribute('aria-label')).toBe('5 instances: 2 success, 3 cached');
    const rows = drill.locator('table tbody tr');
    const shown = () => rows.evaluateAll((trs) => trs.map((tr) => `${tr.querySelector('a')?.textContent} ${tr.querySelector('.badge')?.textContent}`));
    await expect.poll(shown).toEqual(['[0] cached', '[1] cached', '[2] cached', '[3] success', '[4] success']);

    await chip('cached').click();
    await expect.poll(shown).toEqual(['[0] cached', '[1] cached', '[2] cached']);
    expect(await chip('cached').getAttribute('aria-pressed')).toBe('true');
    await screenshot(page, 'cached-06-drilldown');
    await chip('success').click();
    await expect.poll(shown).toEqual(['[3] success', '[4] success']);
  });

  test("the grid's mapped cells show cached instances as their own part of the bar", async () => {
    await page.goto(`${ty.url}/dags/${FAN}`);
    const bar = (runId: string) => page.locator(`[data-testid="grid"] [data-run="${runId}"] [data-task="shard"] .counts`);
    await bar(fan5).waitFor();
    expect(await bar(fan5).getAttribute('title')).toBe('2 success, 3 cached');
    expect(await bar(fan3again).getAttribute('title')).toBe('3 cached');
    expect(await bar(fan3).getAttribute('title')).toBe('3 success');
    const legendColour = await background(page.locator('.legend [data-legend="cached"] .dot'));
    expect(await background(bar(fan5).locator('[data-state="cached"]'))).toBe(legendColour);
    expect(await background(bar(fan5).locator('[data-state="success"]'))).not.toBe(legendColour);
    expect(await bar(fan3).locator('[data-state="cached"]').count()).toBe(0);
    await screenshot(page, 'cached-07-mapped-grid');
  });

  test("the graph's mapped node counts cached instances apart, and is cached when every success was", async () => {
    const node = page.locator('[data-testid="graph"] [data-node="shard"]');
    await page.goto(`${ty.url}/dags/${FAN}?tab=graph&run=${encodeURIComponent(fan5)}`);
    await node.locator('rect[data-state="cached"]').waitFor();
    expect(await node.locator('title').textContent()).toBe('shard\n2 success, 3 cached');
    expect(await node.locator('rect[data-state="success"]').count()).toBe(1);
    expect(await node.getAttribute('data-cached')).toBeNull();
    expect(await node.getAttribute('aria-label')).toBe('task shard: success, 5 instances');
    await screenshot(page, 'cached-08-mapped-graph');

    await page.goto(`${ty.url}/dags/${FAN}?tab=graph&run=${encodeURIComponent(fan3again)}`);
    await node.and(page.locator('[data-cached="true"]')).waitFor();
    expect(await node.getAttribute('aria-label')).toBe('task shard: cached, 3 instances');
    expect(await node.getAttribute('data-state')).toBe('success');
    expect(await node.locator('rect[data-state="success"]').count()).toBe(0);
  });
});
