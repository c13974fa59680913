/**
 * The web UI end to end, in headless Chromium against a real Trainyard: sign in, trigger the
 * example pipeline from its params form, watch it finish live, read a failed task's failure
 * reason and log, clear it and watch it run again. Screenshots go to test-artifacts/web/.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type BrowserHandle, dagFolder, ensureWebBuilt, openBrowser, screenshot, startTrainyard, type Trainyard, waitForDags, waitForImportErrors } from './support.js';

let ty: Trainyard;
let b: BrowserHandle;
let page: Page;
const consoleErrors: string[] = [];

// Explicit: the root vitest config's defaults are shorter than a training run on a busy machine.
const TIMEOUT = 180_000;

beforeAll(async () => {
  ensureWebBuilt();
  const dags = dagFolder(['examples/dags/digits_training.ts', 'test/fixtures/dags-failures/failures.ts', 'test/web/fixtures/live_demo.ts'], {
    'broken_pipeline.ts': "throw new Error('cannot reach the feature store');\nexport {};\n",
  });
  ty = await startTrainyard({ dagsFolder: dags });
  await waitForDags(ty.rt, ['digits_training', 'failures', 'live_demo']);
  await waitForImportErrors(ty.rt, 1);
  b = await openBrowser();
  page = b.page;
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource|EventSource/.test(m.text())) consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
}, TIMEOUT);

afterAll(async () => {
  await b?.close();
  await ty?.close();
}, TIMEOUT);

/** The run's state as the page shows it, without reloading. */
const runState = () => page.locator('.page-head .badge').first().getAttribute('data-state');

describe('the web UI in Chromium', () => {
  test('1. signs in with the session cookie and lists the DAGs', async () => {
    await page.goto(`${ty.url}/`);
    await page.getByLabel('Username').fill(ty.username);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('wrong username or password');

    await page.getByLabel('Password').fill(ty.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('link', { name: 'digits_training', exact: true }).waitFor();
    await page.getByRole('link', { name: 'failures', exact: true }).waitFor();
    // The file that failed to load is named in a banner that links to its error.
    const banner = page.getByTestId('import-errors-banner');
    await banner.waitFor();
    expect(await banner.textContent()).toContain('1 DAG file failed to load');
    const cookies = await b.context.cookies();
    const session = cookies.find((c) => c.name === 'trainyard_session');
    expect(session?.httpOnly).toBe(true);
    expect(session?.sameSite).toBe('Strict');
    // Not in no-auth mode: no banner.
    expect(await page.getByTestId('no-auth-banner').count()).toBe(0);
    await screenshot(page, '01-dag-list');
    await banner.getByRole('link', { name: 'broken_pipeline.ts' }).click();
    await expect.poll(() => page.locator('#import-error-0').textContent()).toContain('cannot reach the feature store');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('import-error-0');
    await screenshot(page, '01b-import-error');
  }, TIMEOUT);

  test('2–3. triggers digits_training with epochs 3 from the params form and watches it finish live', async () => {
    await page.getByRole('link', { name: 'DAGs', exact: true }).click();
    await page.getByRole('link', { name: 'digits_training', exact: true }).click();
    await page.getByRole('button', { name: '▶ Trigger' }).click();
    const form = page.getByRole('form', { name: 'trigger digits_training' });
    await form.waitFor();
    const epochs = form.getByLabel('epochs');
    expect(await epochs.inputValue()).toBe('12'); // the default, from the params schema

    // Client-side validation from the schema's bounds.
    await epochs.fill('0');
    await epochs.blur();
    await expect.poll(() => form.getByRole('alert').first().textContent()).toContain('epochs must be at least 1');
    await epochs.fill('2.5');
    await expect.poll(() => form.getByRole('alert').first().textContent()).toContain('whole number');
    await screenshot(page, '02-trigger-form-invalid');

    // A mistake only the server catches: its 400 field errors are shown, and nothing is created.
    await epochs.fill('3');
    await form.getByText('Advanced').click();
    await form.getByLabel(/Run id/).fill('not a valid id!');
    await form.getByRole('button', { name: 'Trigger run' }).click();
    await expect.poll(() => form.locator('#run-id-error').textContent()).toBe('Run id may contain only letters, digits and _ . : + -');
    expect(await ty.rt.store.db.selectFrom('dag_run').select('run_id').where('dag_id', '=', 'digits_training').execute()).toEqual([]);
    await screenshot(page, '02b-trigger-server-error');
    await form.getByLabel(/Run id/).fill('');
    await form.getByRole('button', { name: 'Trigger run' }).click();
    await page.waitForURL(/\/dags\/digits_training\/runs\/[^/?]+$/);
    const runId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
    const stored = await ty.rt.store.getRun('digits_training', runId);
    expect(JSON.parse(stored!.conf)).toEqual({ threshold: 0.9, epochs: 3, seed: 7, modelName: 'digits-classifier' });

    // Watch it live: a marker on window survives only if the page is never reloaded.
    await page.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));
    await page.locator('.task-list tr[data-task="train"] .counts').waitFor({ timeout: 60_000 });
    // On a quiet machine the short trials can finish between two refreshes: running or done.
    await page.locator('tr[data-task="train"]:is([data-state="running"], [data-state="success"])').waitFor({ timeout: 60_000 });
    await screenshot(page, '03-run-live');
    await page.locator('.page-head .badge[data-state="success"]').waitFor({ timeout: 150_000 });
    expect(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload)).toBe(true);
    expect(await runState()).toBe('success');
    // The mapped sweep is one row with its counts: 6 trials, all succeeded.
    expect(await page.locator('tr[data-task="train"] .counts').getAttribute('aria-label')).toContain('6 instances: 6 success');
    await screenshot(page, '04-run-success');

    // Gantt.
    await page.getByRole('tab', { name: 'Gantt' }).click();
    await page.getByTestId('gantt').waitFor();
    expect(await page.locator('.gantt-bar').count()).toBeGreaterThanOrEqual(6);
    await screenshot(page, '05-run-gantt');

    // The mapped drill-down, from the summary endpoint: histogram and a page of instances.
    await page.goto(`${ty.url}/dags/digits_training/runs/${encodeURIComponent(runId)}?task=train`);
    await page.getByTestId('drilldown').waitFor();
    await expect.poll(() => page.getByTestId('drilldown').locator('tbody tr').count()).toBe(6);
    await screenshot(page, '06-mapped-drilldown');

    // A trial's try page: metrics charts from its metric lines, and its result.
    await page.getByTestId('drilldown').getByRole('link', { name: '[0]' }).click();
    await page.getByTestId('result').waitFor();
    expect(await page.getByTestId('result').textContent()).toContain('val_accuracy');
    await expect.poll(() => page.locator('.chart.metric').count()).toBeGreaterThan(0);
    await page.getByTestId('log-status').filter({ hasText: 'complete' }).waitFor();
    await screenshot(page, '07-try-metrics');
  }, TIMEOUT);

  test('the grid and graph show a mapped task as one cell and one node', async () => {
    await page.goto(`${ty.url}/dags/digits_training`);
    const grid = page.getByTestId('grid');
    await grid.waitFor();
    await grid.locator('.cell.mapped[data-task="train"]').waitFor();
    expect(await grid.locator('.cell.mapped[data-task="train"]').count()).toBe(1);
    await screenshot(page, '08-grid');
    await page.getByRole('tab', { name: 'Graph' }).click();
    const node = page.getByTestId('graph').locator('[data-node="train"]');
    await node.waitFor();
    await expect.poll(() => node.getAttribute('aria-label')).toContain('6 instances');
    await screenshot(page, '09-graph');
  }, TIMEOUT);

  test('4. shows a failed task’s failure class and reason in plain words, and its log', async () => {
    await page.goto(`${ty.url}/dags/failures?trigger=1`);
    const form = page.getByRole('form', { name: 'trigger failures' });
    await form.getByRole('button', { name: 'Trigger run' }).click();
    await page.waitForURL(/\/dags\/failures\/runs\/[^/?]+$/);
    await page.locator('.page-head .badge[data-state="failed"]').waitFor({ timeout: 90_000 });
    await page.locator('tr[data-task="crashes"][data-state="failed"]').waitFor();
    await screenshot(page, '10-failures-run');

    await page.locator('tr[data-task="crashes"]').getByRole('link', { name: 'crashes' }).click();
    const failure = page.getByTestId('failure');
    await failure.waitFor();
    expect(await page.getByTestId('failure-words').textContent()).toBe('The task exited with an error');
    expect(await failure.textContent()).toContain('exit code 3');
    await expect.poll(() => page.getByTestId('log').textContent()).toContain('CUDA error: out of memory');
    await page.getByLabel('search the log').fill('cuda');
    await expect.poll(() => page.locator('.log-tools [role="status"]').textContent()).toMatch(/^\d+ matching lines?$/);
    expect(await page.getByTestId('log').locator('mark').first().textContent()).toBe('CUDA');
    await page.getByLabel('only matching lines').check();
    const shown = await page.getByTestId('log').locator('.log-line').allTextContents();
    expect(shown.length).toBeGreaterThan(0);
    expect(shown.every((l) => /cuda/i.test(l))).toBe(true);
    await screenshot(page, '11-failed-try');

    // A command that does not exist says so.
    await page.goto(page.url().replace('/crashes/', '/missing_command/'));
    await page.getByTestId('failure').waitFor();
    expect(await page.getByTestId('failure-reason').textContent()).toMatch(/no-such-trainer-binary/);
  }, TIMEOUT);

  test('5. clears the failed task and watches it run again', async () => {
    await page.goto(page.url().replace('/missing_command/', '/crashes/'));
    await page.getByTestId('failure').waitFor();
    await page.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));
    await page.getByRole('button', { name: '↻ Clear (run again)' }).click();
    await page.locator('[data-action="confirm-clear"]').click();
    // Try 2 appears, and ends failed again (the command fails every time), without a reload.
    await page.getByRole('tab', { name: /Try 2/ }).waitFor({ timeout: 60_000 });
    await page.locator('.page-head .badge[data-state="failed"]').waitFor({ timeout: 60_000 });
    await expect.poll(() => page.getByTestId('log').textContent(), { timeout: 30_000 }).toContain('CUDA error: out of memory');
    expect(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload)).toBe(true);
    const ti = await ty.rt.store.getTaskInstance({ dagId: 'failures', runId: decodeURIComponent(new URL(page.url()).pathname.split('/')[4]), taskId: 'crashes', mapIndex: -1 });
    expect(Number(ti!.try_number)).toBe(2);
    await screenshot(page, '12-cleared-rerun');
  }, TIMEOUT);

  test('marks the failed task success', async () => {
    await page.getByRole('button', { name: '✓ Mark success' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Mark success' }).click();
    await page.locator('.page-head .badge[data-state="success"]').waitFor({ timeout: 30_000 });
    await screenshot(page, '12b-marked-success');
  }, TIMEOUT);

  test('follows a running try’s log and metrics live, and says why its downstream task is pending', async () => {
    await page.goto(`${ty.url}/dags/live_demo?trigger=1`);
    await page.getByRole('form', { name: 'trigger live_demo' }).getByRole('button', { name: 'Trigger run' }).click();
    await page.waitForURL(/\/dags\/live_demo\/runs\/[^/?]+$/);
    const runPath = new URL(page.url()).pathname;
    await page.locator('tr[data-task="tick"][data-state="running"]').waitFor({ timeout: 30_000 });

    // The downstream task explains itself while tick runs.
    await page.goto(`${ty.url}${runPath}/tasks/after_tick/-1`);
    await expect.poll(() => page.getByTestId('why-pending').textContent()).toContain('Waiting for tick (running)');
    await screenshot(page, '13-why-pending');

    await page.goto(`${ty.url}${runPath}/tasks/tick/-1`);
    await page.getByTestId('log-status').filter({ hasText: 'live' }).waitFor();
    const before = await page.getByTestId('log').locator('.log-line').count();
    await expect.poll(async () => page.getByTestId('log').locator('.log-line').count(), { timeout: 10_000 }).toBeGreaterThan(before + 3);
    await screenshot(page, '14-log-live');
    await page.getByTestId('log-status').filter({ hasText: 'complete' }).waitFor({ timeout: 30_000 });
    await expect.poll(() => page.getByTestId('log').textContent()).toContain('step 40 of 40');
    await expect.poll(() => page.locator('.chart.metric[data-metric="loss"]').count()).toBe(1);
    await expect.poll(() => page.locator('.chart.metric[data-metric="accuracy"] svg').getAttribute('aria-label'), { timeout: 10_000 }).toContain('40 points');
    await screenshot(page, '15-metrics');
  }, TIMEOUT);

  test('dark theme, keyboard navigation and no errors in the console', async () => {
    await page.goto(`${ty.url}/`);
    await page.getByRole('link', { name: 'digits_training', exact: true }).waitFor();
    // Keyboard: the skip link comes first.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await page.getByRole('button', { name: /switch to dark theme/ }).click();
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    await page.goto(`${ty.url}/dags/digits_training`);
    await page.getByRole('tab', { name: 'Grid' }).focus();
    await page.keyboard.press('ArrowRight');
    await page.getByTestId('graph').waitFor();
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Graph');
    await screenshot(page, '16-graph-dark');
    expect(consoleErrors).toEqual([]);
  }, TIMEOUT);
});
