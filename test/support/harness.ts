import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Dag } from '../../src/sdk/dag.js';
import { migrateToLatest, openSqlite } from '../../src/store/db.js';
import { Store } from '../../src/store/store.js';
import { HomeLayout } from '../../src/scheduler/paths.js';
import { Scheduler, type SchedulerOptions } from '../../src/scheduler/scheduler.js';
import { triggerRun, type TriggerOptions } from '../../src/scheduler/trigger.js';
import type { Executor } from '../../src/executors/types.js';

/** A fresh home directory with a migrated SQLite store. */
export async function tempStore(): Promise<{ home: string; store: Store; close(): Promise<void> }> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-test-'));
  const opened = openSqlite(path.join(home, 'trainyard.db'));
  await migrateToLatest(opened.db);
  return {
    home,
    store: new Store(opened.db, 'sqlite'),
    close: async () => {
      await opened.close();
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
}

/** Stores a DAG built with the SDK, as the DAG-file processor would. */
export async function registerDag(store: Store, d: Dag<never> | Dag<Record<string, unknown>> | { toSpec(): ReturnType<Dag['toSpec']> }, fileloc = '/dags/test.ts', now = 0): Promise<string> {
  const spec = d.toSpec();
  const hash = crypto.createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 16);
  await store.upsertDag(spec, fileloc, hash, now);
  return hash;
}

export interface SchedulerHarness {
  readonly scheduler: Scheduler;
  readonly store: Store;
  readonly home: string;
  now: number;
  tick(advanceMs?: number): Promise<void>;
  trigger(dagId: string, opts?: TriggerOptions): Promise<string>;
  tiStates(dagId: string, runId: string): Promise<Record<string, string>>;
  runState(dagId: string, runId: string): Promise<string | undefined>;
  close(): Promise<void>;
}

/** A scheduler on a fake clock, over a real SQLite store. */
export async function schedulerHarness(executors: Record<string, Executor>, opts: Partial<SchedulerOptions> = {}): Promise<SchedulerHarness> {
  const t = await tempStore();
  const scheduler = new Scheduler({
    store: t.store,
    executors,
    defaultExecutor: Object.keys(executors)[0],
    layout: new HomeLayout(t.home),
    parallelism: 32,
    killGraceMs: 100,
    resultLimitBytes: 65536,
    freeRetryCap: 3,
    schedulerId: 'test',
    random: () => 0.5,
    syncIntervalMs: 0,
    ...opts,
  });
  const h: SchedulerHarness = {
    scheduler,
    store: t.store,
    home: t.home,
    now: 1_000_000,
    async tick(advanceMs = 0) {
      h.now += advanceMs;
      await scheduler.tick(h.now);
    },
    async trigger(dagId, o = {}) {
      const { runId } = await triggerRun(t.store, dagId, o, h.now);
      scheduler.notify();
      return runId;
    },
    async tiStates(dagId, runId) {
      const rows = await t.store.listTaskInstances(dagId, runId);
      return Object.fromEntries(rows.filter((r) => r.state !== 'removed').map((r) => [r.map_index < 0 ? r.task_id : `${r.task_id}[${r.map_index}]`, r.state]));
    },
    async runState(dagId, runId) {
      return (await t.store.getRun(dagId, runId))?.state;
    },
    close: t.close,
  };
  return h;
}
