/**
 * Secrets in the browser: a task prints a secret injected from the backends and a *_TOKEN
 * env value; its log through the API and the try page's log view in Chromium show `***`, and
 * no response the page receives carries either value.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type BrowserHandle, dagFolder, ensureWebBuilt, openBrowser, screenshot, startTrainyard, type Trainyard, waitForDags } from './support.js';

const SECRET = 'hf-browser-3e8a61f0c2';
const TOKEN = 'fs-token-0b7d41c2e9';
const TIMEOUT = 120_000;

let ty: Trainyard;
let b: BrowserHandle;
let page: Page;
let runId: string;
/** Bodies of the JSON and text responses the page received. */
const bodies: string[] = [];

async function api<T>(path: string, init?: RequestInit): Promise<T> {
  const r = await fetch(`${ty.url}/api/v1${path}`, { ...init, headers: { 'content-type': 'application/json', ...init?.headers } });
  if (!r.ok) throw new Error(`${init?.method ?? 'GET'} ${path}: ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
}

beforeAll(async () => {
  ensureWebBuilt();
  // The local executor reads TRAINYARD_SECRET_<NAME> from this process's environment.
  process.env.TRAINYARD_SECRET_HF_TOKEN = SECRET;
  ty = await startTrainyard({ dagsFolder: dagFolder(['test/web/fixtures/secret_print.ts']), auth: 'none' });
  await waitForDags(ty.rt, ['secret_print']);
  runId = (await api<{ run_id: string }>('/dags/secret_print/runs', { method: 'POST', body: JSON.stringify({}) })).run_id;
  for (let state = ''; state !== 'failed'; ) {
    state = (await api<{ state: string }>(`/dags/secret_print/runs/${encodeURIComponent(runId)}`)).state;
    if (state === 'success') throw new Error('the run should fail: leak_and_fail exits 4');
    await new Promise((r) => setTimeout(r, 250));
  }
  b = await openBrowser();
  page = b.page;
  page.on('response', (res) => {
    const type = res.headers()['content-type'] ?? '';
    if (/^(application\/json|text\/plain|text\/html)/.test(type)) void res.text().then((t) => bodies.push(t), () => {});
  });
}, TIMEOUT);

afterAll(async () => {
  delete process.env.TRAINYARD_SECRET_HF_TOKEN;
  await b?.close();
  await ty?.close();
}, TIMEOUT);

describe('secret masking in the browser', () => {
  test('the log through the API shows *** for the injected secret and the *_TOKEN value', async () => {
    const log = await api<{ text: string; finished: boolean }>(`/dags/secret_print/runs/${encodeURIComponent(runId)}/taskInstances/print_secrets/-1/tries/1/logs`);
    expect(log.finished).toBe(true);
    expect(log.text).toContain('hub token: ***');
    expect(log.text).toContain('feature store token: ***');
    expect(log.text).toContain('done printing');
    expect(log.text).not.toContain(SECRET);
    expect(log.text).not.toContain(TOKEN);
  });

  test("the try page's log view and failure reason show *** and never the values", async () => {
    const run = encodeURIComponent(runId);
    await page.goto(`${ty.url}/dags/secret_print/runs/${run}/tasks/print_secrets/-1`);
    await page.getByTestId('log-status').filter({ hasText: 'complete' }).waitFor();
    const view = page.getByTestId('log');
    await expect.poll(() => view.textContent()).toContain('done printing');
    const lines = await view.locator('.log-line').allTextContents();
    expect(lines.some((l) => l.includes('hub token: ***'))).toBe(true);
    expect(lines.some((l) => l.includes('feature store token: ***'))).toBe(true);
    await screenshot(page, 'masking-01-log');

    await page.goto(`${ty.url}/dags/secret_print/runs/${run}/tasks/leak_and_fail/-1`);
    await page.getByTestId('failure').waitFor();
    expect(await page.getByTestId('failure-reason').textContent()).toContain('upload refused for ***');
    await expect.poll(() => page.getByTestId('log').textContent()).toContain('upload refused for ***');
    await screenshot(page, 'masking-02-failure');

    const html = await page.content();
    expect(bodies.length).toBeGreaterThan(2);
    for (const text of [html, ...bodies]) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(TOKEN);
    }
  }, TIMEOUT);
});
