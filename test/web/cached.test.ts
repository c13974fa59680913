/**
 * Cached task instances in the browser: a DAG with a cached task runs twice; on the second
 * run the cached instance shows as "cached" (its own word and colour) in the run's task
 * table, the grid (with a legend entry) and the graph, and its page links to the first run's
 * try it reused. The task that is not cached shows its plain state everywhere.
 */
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type BrowserHandle, dagFolder, ensureWebBuilt, openBrowser, screenshot, startTrainyard, type Trainyard, waitForDags } from './support.js';

const TIMEOUT = 120_000;
const DAG = 'cached_pipeline';

let ty: Trainyard;
let b: BrowserHandle;
let page: Page;
let first: string;
let second: string;

async function api<T>(path: string, init?: RequestInit): Promise<T> {
  const r = await fetch(`${ty.url}/api/v1${path}`, { ...init, headers: { 'content-type': 'application/json', ...init?.headers } });
  if (!r.ok) throw new Error(`${init?.method ?? 'GET'} ${path}: ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
}

async function runToSuccess(): Promise<string> {
  const runId = (await api<{ run_id: string }>(`/dags/${DAG}/runs`, { method: 'POST', body: JSON.stringify({}) })).run_id;
  for (let state = ''; state !== 'success'; ) {
    state = (await api<{ state: string }>(`/dags/${DAG}/runs/${encodeURIComponent(runId)}`)).state;
    if (state === 'failed') throw new Error(`run ${runId} failed`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return runId;
}

const runPath = (runId: string) => `/dags/${DAG}/runs/${encodeURIComponent(runId)}`;
const background = (l: Locator) => l.evaluate((e) => getComputedStyle(e).backgroundColor);

beforeAll(async () => {
  ensureWebBuilt();
  ty = await startTrainyard({ dagsFolder: dagFolder(['test/web/fixtures/cached_pipeline.ts']), auth: 'none' });
  await waitForDags(ty.rt, [DAG]);
  first = await runToSuccess();
  second = await runToSuccess();
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
});
