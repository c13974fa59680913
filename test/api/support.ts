import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { createApiServer, type ApiServer } from '../../src/api/index.js';
import type { AuthMode } from '../../src/api/route.js';
import { hashPassword } from '../../src/api/auth/passwords.js';
import { newToken } from '../../src/api/auth/secrets.js';
import { loadConfig } from '../../src/config.js';
import { dag } from '../../src/index.js';
import { HomeLayout } from '../../src/scheduler/paths.js';
import { triggerRun } from '../../src/scheduler/trigger.js';
import { AuthStore } from '../../src/store/auth-store.js';
import type { NewTaskInstance, NewTry, Store } from '../../src/store/store.js';
import { openPostgres } from '../../src/store/postgres.js';
import { Store as StoreClass } from '../../src/store/store.js';
import { registerDag, tempStore } from '../support/harness.js';
import { freshPostgresDatabase } from '../support/postgres.js';
import { ti } from '../../src/store/fixtures.conformance.js';

export const T0 = Date.UTC(2026, 10, 21, 10, 0, 0);
export type Who = 'admin' | 'op' | 'viewer' | 'anonymous';

export interface ApiResponse<T = any> {
  readonly status: number;
  readonly body: T;
  readonly headers: Headers;
}

export interface ApiHarness {
  readonly server: ApiServer;
  readonly store: Store;
  readonly home: string;
  readonly layout: HomeLayout;
  /** Bearer tokens of users `admin`, `op` and `viewer`. */
  readonly tokens: Readonly<Record<'admin' | 'op' | 'viewer', string>>;
  /** Passwords of the same users. */
  readonly passwords: Readonly<Record<'admin' | 'op' | 'viewer', string>>;
  /** Times the scheduler was notified. */
  notified: number;
  now: number;
  request<T = any>(method: string, urlPath: string, o?: { as?: Who; body?: unknown; rawBody?: string; headers?: Record<string, string> }): Promise<ApiResponse<T>>;
  close(): Promise<void>;
}

/** Password hashes of the test users, computed once per test file (scrypt is slow on purpose). */
const hashes = new Map<string, Promise<string>>();
function hashOnce(password: string): Promise<string> {
  let p = hashes.get(password);
  if (!p) hashes.set(password, (p = hashPassword(password)));
  return p;
}

/** A fresh, migrated Postgres database as a store, with a temporary home for logs. */
async function tempPostgresStore(): Promise<{ home: string; store: Store; close(): Promise<void> }> {
  const database = await freshPostgresDatabase();
  const opened = await openPostgres(database.url, 4);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-api-pg-'));
  return {
    home,
    store: new StoreClass(opened.db, 'postgres'),
    close: async () => {
      await opened.close();
      await database.drop();
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
}

/** An API server over a fresh store (SQLite unless asked) with three users, answering in-process (no socket). */
export async function apiHarness(opts: { auth?: AuthMode; dialect?: 'sqlite' | 'postgres'; web?: MiddlewareHandler } = {}): Promise<ApiHarness> {
  const t = opts.dialect === 'postgres' ? await tempPostgresStore() : await tempStore();
  const layout = new HomeLayout(t.home);
  const auth = new AuthStore(t.store);
  const tokens = {} as Record<'admin' | 'op' | 'viewer', string>;
  const passwords = {} as Record<'admin' | 'op' | 'viewer', string>;
  for (const role of ['admin', 'op', 'viewer'] as const) {
    passwords[role] = `${role}-password-123`;
    await auth.createUser({ username: role, password_hash: await hashOnce(passwords[role]), role, created_at: T0 });
    const { token, hash } = newToken();
    await auth.insertToken({ token_hash: hash, username: role, name: `${role} test token`, created_at: T0, last_used_at: null });
    tokens[role] = token;
  }
  const h: ApiHarness = {
    server: undefined as unknown as ApiServer,
    store: t.store,
    home: t.home,
    layout,
    tokens,
    passwords,
    notified: 0,
    now: T0,
    async request(method, urlPath, o = {}) {
      const headers: Record<string, string> = { ...(o.headers ?? {}) };
      const who = o.as ?? 'admin';
      if (who !== 'anonymous') headers.authorization = `Bearer ${tokens[who]}`;
      let body: string | undefined = o.rawBody;
      if (o.body !== undefined) {
        body = JSON.stringify(o.body);
        headers['content-type'] ??= 'application/json';
      }
      const res = await h.server.app.request(`http://127.0.0.1${urlPath}`, { method, headers, body });
      const text = await res.text();
      const isJson = (res.headers.get('content-type') ?? '').includes('application/json');
      return { status: res.status, body: isJson && text ? JSON.parse(text) : text, headers: res.headers };
    },
    close: t.close,
  };
  (h as { server: ApiServer }).server = createApiServer({
    store: t.store,
    layout,
    config: loadConfig({ home: t.home }, {}),
    auth: { mode: opts.auth ?? 'password' },
    scheduler: { notify: () => void h.notified++ },
    now: () => h.now,
    log: () => {},
    web: opts.web,
  });
  return h;
}

/** DAGs the tests use: `train` (params, a mapped task, a group) and `etl`. */
export async function registerTestDags(store: Store): Promise<void> {
  const train = dag('train', {
    description: 'trains a model',
    tags: ['ml', 'nightly'],
    params: z.object({ epochs: z.number().int().min(1).default(3), lr: z.number().positive().default(0.1) }),
  });
  const prep = train.command('prep', { command: 'true' });
  const fit = train.command('fit', { command: 'true', expand: { seed: [1, 2, 3] } }).after(prep);
  train.group('report', {}, (g) => {
    g.command('publish', { command: 'true', triggerRule: 'all_done' }).after(fit);
  });
  await registerDag(store, train, '/dags/train.ts', T0);
  const etl = dag('etl', { tags: ['etl'] });
  etl.command('extract', { command: 'true' });
  await registerDag(store, etl, '/dags/etl.ts', T0);
}

/** A task instance of the seeded runs: the store's conformance fixture, stamped with this file's T0. */
function tiRow(dagId: string, runId: string, taskId: string, mapIndex: number, set: Partial<NewTaskInstance> = {}): NewTaskInstance {
  return ti(dagId, runId, taskId, mapIndex, { updated_at: T0, ...set });
}

function tryRow(layout: HomeLayout, dagId: string, runId: string, taskId: string, mapIndex: number, tryNumber: number, set: Partial<NewTry> = {}): NewTry {
  return {
    dag_id: dagId,
    run_id: runId,
    task_id: taskId,
    map_index: mapIndex,
    try_number: tryNumber,
    state: 'success',
    executor: 'local',
    queued_at: T0,
    start_date: T0 + 10,
    end_date: T0 + 1000,
    host: 'localhost',
    pid: 4242,
    external: null,
    exit_code: 0,
    signal: null,
    failure_class: null,
    reason: null,
    result: null,
    log_path: layout.logPath({ dagId, runId, taskId, mapIndex, tryNumber }),
    counts_against_budget: 1,
    scheduler_id: 'test',
    ...set,
  };
}

/**
 * A run of `train` as if it had run: prep succeeded (with a log and metrics), fit has
 * `mapped` instances (durations i*100 ms; every third failed with an OOM), publish runs.
 */
export async function seedTrainRun(store: Store, layout: HomeLayout, runId = 'run1', mapped = 30): Promise<string> {
  await triggerRun(store, 'train', { runId, conf: { epochs: 5 } }, T0);
  const rows: NewTaskInstance[] = [
    tiRow('train', runId, 'prep', -1, { state: 'success', try_number: 1, start_date: T0 + 10, end_date: T0 + 1000, result: JSON.stringify({ rows: 10 }) }),
    tiRow('train', runId, 'fit', -1, { state: 'removed' }),
    tiRow('train', runId, 'report.publish', -1, { state: 'running', try_number: 1, start_date: T0 + 5000 }),
  ];
  for (let i = 0; i < mapped; i++) {
    const failed = i % 3 === 0;
    rows.push(
      tiRow('train', runId, 'fit', i, {
        state: failed ? 'failed' : 'success',
        try_number: 1,
        item: JSON.stringify({ seed: i }),
        start_date: T0,
        end_date: T0 + i * 100,
        failure_class: failed ? 'oom_killed' : null,
        reason: failed ? (i % 2 === 0 ? 'used 2GiB of 1GiB' : 'exit code 137') : null,
      }),
    );
  }
  await store.insertTaskInstances(rows);
  await store.insertTries([
    tryRow(layout, 'train', runId, 'prep', -1, 1),
    tryRow(layout, 'train', runId, 'report.publish', -1, 1, { state: 'running', end_date: null, exit_code: null }),
  ]);
  await store.insertMetrics([
    { dag_id: 'train', run_id: runId, task_id: 'prep', map_index: -1, try_number: 1, name: 'loss', step: 1, value: 0.9, at: T0 + 100 },
    { dag_id: 'train', run_id: runId, task_id: 'prep', map_index: -1, try_number: 1, name: 'loss', step: 2, value: 0.5, at: T0 + 200 },
    { dag_id: 'train', run_id: runId, task_id: 'prep', map_index: -1, try_number: 1, name: 'acc', step: 2, value: 0.7, at: T0 + 200 },
  ]);
  const log = layout.logPath({ dagId: 'train', runId, taskId: 'prep', mapIndex: -1, tryNumber: 1 });
  fs.mkdirSync(path.dirname(log), { recursive: true });
  fs.writeFileSync(log, 'line one\nline two: é ü 🚂\n');
  return runId;
}

export const RUN1 = '/api/v1/dags/train/runs/run1';

/** A harness with the test DAGs registered and `train`'s run seeded: the starting point of most API tests. */
export async function seededApiHarness(opts: Parameters<typeof apiHarness>[0] = {}): Promise<ApiHarness> {
  const h = await apiHarness(opts);
  await registerTestDags(h.store);
  await seedTrainRun(h.store, h.layout);
  return h;
}
