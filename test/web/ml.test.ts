/**
 * The ML pages end to end, in headless Chromium against a real Trainyard: two runs of a small
 * real sweep (8 trials reporting 200 steps each; the best trial registered by the registry
 * task), then the models page (versions, lineage link to the run, metric comparison, a gated
 * promotion that passes and one that is rejected), the sweep view (overlaid curves, best so
 * far, sortable trials table, parallel coordinates) and the run's cost.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MlStore } from '../../src/store/ml-store.js';
import { type BrowserHandle, dagFolder, ensureWebBuilt, openBrowser, screenshot, startTrainyard, type Trainyard, waitForDags } from './support.js';

let ty: Trainyard;
let b: BrowserHandle;
let page: Page;
const consoleErrors: string[] = [];
const TIMEOUT = 180_000;
const RUNS = { a: 'sweep_a', b: 'sweep_b' };

async function waitForRun(runId: string): Promise<string> {
  const until = Date.now() + 150_000;
  for (;;) {
    const run = await ty.rt.store.getRun('ml_sweep', runId);
    if (run && (run.state === 'success' || run.state === 'failed')) return run.state;
    if (Date.now() > until) throw new Error(`run ${runId} did not finish: ${run?.state}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

beforeAll(async () => {
  ensureWebBuilt();
  ty = await startTrainyard({ dagsFolder: dagFolder(['test/web/fixtures/ml_sweep.ts']) });
  await waitForDags(ty.rt, ['ml_sweep']);
  b = await openBrowser();
  page = b.page;
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource|EventSource/.test(m.text())) consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  await page.goto(`${ty.url}/`);
  await page.getByLabel('Username').fill(ty.username);
  await page.getByLabel('Password').fill(ty.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('link', { name: 'ml_sweep', exact: true }).waitFor();
  // Two runs through the API with the browser's session: the second one's trials do better.
  const me = (await (await page.request.get(`${ty.url}/api/v1/auth/me`)).json()) as { csrf_token: string };
  for (const [runId, shift] of [
    [RUNS.a, 0.05],
    [RUNS.b, 0.02],
  ] as const) {
    const r = await page.request.post(`${ty.url}/api/v1/dags/ml_sweep/runs`, { data: { run_id: runId, conf: { shift } }, headers: { 'x-csrf-token': me.csrf_token } });
    expect(r.status()).toBe(201);
    expect(await waitForRun(runId)).toBe('success');
  }
}, TIMEOUT * 2);

afterAll(async () => {
  await b?.close();
  await ty?.close();
}, TIMEOUT);

describe('the ML pages in Chromium', () => {
  test('the models page lists the model the sweep registered, twice', async () => {
    await page.getByRole('link', { name: 'Models', exact: true }).click();
    const row = page.getByTestId('models-table').locator('tr[data-model="sweep-model"]');
    await row.waitFor();
    expect(await row.locator('td').nth(1).textContent()).toBe('2');
    expect(await row.textContent()).toContain('staging → v2');
    await screenshot(page, 'ml-01-models');
  }, TIMEOUT);

  test('a model: versions with metrics and lineage to the run and trial that made them', async () => {
    await page.getByRole('link', { name: 'sweep-model' }).click();
    const table = page.getByTestId('versions-table');
    await table.waitFor();
    expect(await table.locator('tbody tr').count()).toBe(2);
    // The best trial of each run: lr 0.3, batch 64 (map index 7), its final metrics and params.
    const v1 = (await new MlStore(ty.rt.store).getVersion('sweep-model', 1))!;
    expect(v1).toMatchObject({ run_id: RUNS.a, task_id: 'train', map_index: 7, try_number: 1 });
    expect(JSON.parse(v1.params)).toMatchObject({ lr: 0.3, batch: 64 });
    const accuracy = JSON.parse(v1.metrics).val_accuracy as number;
    expect(await table.locator('tr[data-version="1"] td[data-metric="val_accuracy"]').textContent()).toBe(String(Number(accuracy.toPrecision(4))));
    const lineage = table.locator('tr[data-version="1"]').getByTestId('lineage-run');
    expect(await lineage.textContent()).toBe(`ml_sweep / ${RUNS.a}`);
    await page.getByTestId('metric-comparison').getByLabel('metric to compare').selectOption('val_accuracy');
    // v2 (the better run) is marked best.
    await page.getByTestId('metric-comparison').locator('[data-version="2"] .bar-fill.best').waitFor();
    await screenshot(page, 'ml-02-model');

    // The lineage link opens the run that made the version.
    await lineage.click();
    await page.waitForURL(new RegExp(`/dags/ml_sweep/runs/${RUNS.a}$`));
    await page.locator('.page-head .badge[data-state="success"]').waitFor();
  }, TIMEOUT);

  test('gated promotion from the model page: one passes, one is rejected, both recorded', async () => {
    await page.goto(`${ty.url}/models/sweep-model`);
    const form = page.getByRole('form', { name: 'promote a version of sweep-model' });
    await form.waitFor();
    // v1 to production: nothing holds production yet, so the gate passes.
    await form.getByLabel('Version').selectOption('1');
    await form.getByLabel('Alias').fill('production');
    await form.getByLabel('Gate metric').selectOption('val_accuracy');
    await form.getByLabel('Margin').fill('0.001');
    await form.getByRole('button', { name: 'Promote if it beats the baseline' }).click();
    await expect.poll(() => page.getByTestId('promotion-result').textContent()).toContain('Promoted.');
    await page.locator('.page-head [data-alias="production"]').filter({ hasText: 'v1' }).waitFor();
    // v2 against production with a margin it cannot meet: rejected, and production stays on v1.
    await form.getByLabel('Version').selectOption('2');
    await form.getByLabel('Margin').fill('0.5');
    await form.getByRole('button', { name: 'Promote if it beats the baseline' }).click();
    await expect.poll(() => page.getByTestId('promotion-result').textContent()).toContain('short of the margin 0.5');
    const decisions = page.getByTestId('decisions');
    await expect.poll(() => decisions.locator('tbody tr').count()).toBe(2);
    expect(await decisions.locator('tr[data-decision="rejected"]').count()).toBe(1);
    expect(await page.locator('.page-head [data-alias="production"]').textContent()).toBe('production → v1');
    await expect.poll(() => page.getByTestId('alias-history').locator('tbody tr').count()).toBe(3); // staging twice, production once
    await screenshot(page, 'ml-03-promotion');
  }, TIMEOUT);

  test('the sweep view: every trial’s curve, the best so far, a sortable trials table, parallel coordinates', async () => {
    await page.goto(`${ty.url}/dags/ml_sweep/runs/${RUNS.b}?task=train`);
    await page.getByTestId('sweep-link').click();
    await page.getByTestId('sweep').waitFor();
    const chart = page.getByTestId('sweep-curves').locator('figure');
    await expect.poll(() => chart.locator('canvas').getAttribute('data-drawn')).toBe('8');
    expect(await chart.getAttribute('data-points')).toBe(String(8 * 200 + 200)); // 8 curves and the best-so-far line
    expect(await page.getByTestId('best-trial').textContent()).toMatch(/^best: \[7\] val_accuracy = 0\.9/);
    const table = page.getByTestId('trials-table');
    expect(await table.locator('tbody tr').count()).toBe(8);
    // Sorted by the objective, best first; click the lr header to sort by lr.
    expect(await table.locator('tbody tr').first().getAttribute('data-map-index')).toBe('7');
    await table.getByRole('button', { name: /^lr/ }).click();
    const lrs = await table.locator('tbody tr td:nth-child(4)').allTextContents();
    expect(lrs).toEqual([...lrs].sort((x, y) => Number(x) - Number(y)));
    expect(lrs[0]).toBe('0.01');
    expect(await page.getByTestId('parallel-coordinates').locator('polyline').count()).toBe(8);
    // Hovering a curve names its trial: the top right corner of the plot is the best trial's last point.
    const box = (await chart.locator('canvas').boundingBox())!;
    await page.mouse.move(box.x + box.width - 12, box.y + 10);
    await expect.poll(() => chart.getByTestId('chart-hover').textContent()).toMatch(/^\[7\] · step 200: 0\.97/);
    await screenshot(page, 'ml-04-sweep');
    // Another metric is one request away.
    await page.getByLabel('metric to plot').selectOption('loss');
    await expect.poll(() => chart.locator('figcaption').textContent()).toContain('loss of every trial');
  }, TIMEOUT);

  test('the run page’s Cost tab shows what each task used', async () => {
    await page.goto(`${ty.url}/dags/ml_sweep/runs/${RUNS.b}?view=cost`);
    const cost = page.getByTestId('run-cost');
    await cost.waitFor();
    const train = cost.locator('tr[data-task="train"]');
    expect(await train.locator('td').nth(1).textContent()).toBe('8');
    expect(await cost.locator('tbody tr').count()).toBe(4); // train, select_best, register, total
    await screenshot(page, 'ml-05-cost');
    expect(consoleErrors).toEqual([]);
  }, TIMEOUT);
});
