/** What the UI shows to whom: the no-auth banner, and a viewer who cannot trigger, clear or pause. */
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createApiServer, type ApiServer, type AuthMode } from '../../src/api/index.js';
import { hashPassword } from '../../src/api/auth/passwords.js';
import { loadConfig } from '../../src/config.js';
import { dag } from '../../src/index.js';
import { HomeLayout } from '../../src/scheduler/paths.js';
import { triggerRun } from '../../src/scheduler/trigger.js';
import { AuthStore } from '../../src/store/auth-store.js';
import { serveWebAssets } from '../../src/web-static.js';
import { registerDag, tempStore } from '../support/harness.js';
import { type BrowserHandle, ensureWebBuilt, openBrowser, screenshot, WEB_DIST } from './support.js';

interface Served {
  url: string;
  close(): Promise<void>;
}

/** An API server (no scheduler) over a store with one DAG and one run, and a viewer user. */
async function serve(auth: AuthMode): Promise<Served> {
  const t = await tempStore();
  const d = dag('nightly_train', { tags: ['ml'], description: 'trains every night' });
  const prep = d.command('prep', { command: 'true' });
  d.command('fit', { command: 'true', expand: { seed: [1, 2, 3] } }).after(prep);
  await registerDag(t.store, d, path.join(t.home, 'dags/nightly.ts'), Date.now());
  await triggerRun(t.store, 'nightly_train', { runId: 'run_1' }, Date.now());
  await new AuthStore(t.store).createUser({ username: 'vera', password_hash: await hashPassword('viewer-password-1'), role: 'viewer', created_at: Date.now() });
  const server: ApiServer = createApiServer({
    store: t.store,
    layout: new HomeLayout(t.home),
    config: loadConfig({ home: t.home }, {}),
    auth: { mode: auth },
    log: () => {},
    web: serveWebAssets(WEB_DIST),
  });
  const { url } = await server.listen(0, '127.0.0.1');
  return {
    url,
    async close() {
      await server.close();
      await t.close();
    },
  };
}

let b: BrowserHandle;
let page: Page;
// Explicit: the root vitest config's defaults are shorter than a training run on a busy machine.
const TIMEOUT = 90_000;

beforeAll(async () => {
  ensureWebBuilt();
  b = await openBrowser({ colorScheme: 'dark' });
  page = b.page;
}, TIMEOUT);
afterAll(async () => b?.close(), TIMEOUT);

describe('access in the UI', () => {
  test('no-auth mode: no sign-in, and a clear banner says anyone here is an admin', async () => {
    const s = await serve('none');
    try {
      await page.goto(`${s.url}/`);
      const banner = page.getByTestId('no-auth-banner');
      await banner.waitFor();
      expect(await banner.textContent()).toContain('Authentication is off');
      await page.getByRole('link', { name: 'nightly_train', exact: true }).waitFor();
      expect(await page.getByRole('link', { name: 'trigger nightly_train' }).count()).toBe(1);
      expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(0);
      await screenshot(page, 'access-01-no-auth-dark');
    } finally {
      await s.close();
    }
  }, TIMEOUT);

  test('a viewer sees everything but cannot trigger, clear, mark or pause', async () => {
    const s = await serve('password');
    try {
      await page.goto(`${s.url}/dags/nightly_train`);
      await page.getByLabel('Username').fill('vera');
      await page.getByLabel('Password').fill('viewer-password-1');
      await page.getByRole('button', { name: 'Sign in' }).click();
      // Signing in keeps the page asked for.
      await page.getByRole('heading', { name: /nightly_train/ }).waitFor();
      expect(await page.getByRole('button', { name: '▶ Trigger' }).count()).toBe(0);
      expect(await page.getByRole('switch').isDisabled()).toBe(true);
      await page.goto(`${s.url}/dags/nightly_train/runs/run_1`);
      await page.getByTestId('task-list').waitFor();
      expect(await page.locator('[data-action]').count()).toBe(0);
      await screenshot(page, 'access-02-viewer-run');
      // Opening the trigger dialog by URL does nothing for a viewer either: the API would refuse.
      await page.goto(`${s.url}/dags/nightly_train?trigger=1`);
      await page.getByRole('heading', { name: /nightly_train/ }).waitFor();
      expect(await page.getByRole('form', { name: 'trigger nightly_train' }).count()).toBe(0);
    } finally {
      await s.close();
    }
  }, TIMEOUT);
});
