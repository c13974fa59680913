import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dag } from '../src/index.js';
import { claimOutboxRow, finishOutboxRow, insertOutboxRows, interruptOrphanedRows } from '../src/scheduler/outbox-store.js';
import { openPostgres } from '../src/store/postgres.js';
import { RunLeftoverFiles } from '../src/app/run-leftovers.js';
import { HomeLayout } from '../src/scheduler/paths.js';
import { cleanOldOutboxRows, cleanOldRuns } from '../src/store/retention.js';
import { Store } from '../src/store/store.js';
import { cli } from './support/cli.js';
import { registerDag, tempStore } from './support/harness.js';
import { freshPostgresDatabase } from './support/postgres.js';

let t: Awaited<ReturnType<typeof tempStore>>;
let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  await t?.close();
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

const DAY = 86_400_000;

describe('db clean', () => {
  it('deletes finished runs older than the cut-off, in batches, with their rows and logs; keeps the rest', async () => {
    t = await tempStore();
    const d = dag('old');
    d.command('t', { command: 'true' });
    const hash = await registerDag(t.store, d);
    const now = 200 * DAY;
    const mk = async (runId: string, state: 'success' | 'failed' | 'running', endedDaysAgo: number | null) => {
      await t.store.createRun({ dag_id: 'old', run_id: runId, state, run_type: 'manual', version_hash: hash, conf: '{}', params: '{}', logical_date: 0, data_interval_start: 0, data_interval_end: 0, queued_at: 0, start_date: 0, end_date: endedDaysAgo === null ? null : now - endedDaysAgo * DAY, change_seq: 0, note: null });
      await t.store.insertTaskInstances([{ dag_id: 'old', run_id: runId, task_id: 't', map_index: -1, state: 'success', pool: 'default_pool', updated_at: 0, try_number: 1, budget_tries: 0, free_retries: 0, priority_weight: 1, pool_slots: 1 }]);
      await t.store.insertMetrics([{ dag_id: 'old', run_id: runId, task_id: 't', map_index: -1, try_number: 1, name: 'loss', step: 1, value: 0.5, at: 0 }]);
      const dir = path.join(t.home, 'logs', 'dag_id=old', `run_id=${runId}`);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'x.log'), 'x');
    };
    for (let i = 0; i < 7; i++) await mk(`ancient${i}`, i % 2 ? 'failed' : 'success', 120);
    await mk('recent', 'success', 10);
    await mk('live', 'running', null);
    const files = new RunLeftoverFiles(t.store, new HomeLayout(t.home));
    const opts = { before: now - 90 * DAY, batchSize: 3, files };
    expect(await cleanOldRuns(t.store, { ...opts, dryRun: true })).toMatchObject({ runs: 7, leftovers: { logDirs: 7 } });
    expect(await t.store.listRuns({ dagId: 'old' })).toHaveLength(9);
    expect(await cleanOldRuns(t.store, { ...opts, dryRun: false })).toEqual({
      runs: 7,
      batches: 3,
      kept: 0,
      leftovers: { logDirs: 7, folders: 0, remoteLogs: 0, results: 0 },
      failed: { runs: 0, firstError: undefined },
    });
    expect((await t.store.listRuns({ dagId: 'old' })).map((r) => r.run_id).sort()).toEqual(['live', 'recent']);
    expect(await t.store.db.selectFrom('task_instance').select('run_id').execute()).toHaveLength(2);
    expect(await t.store.db.selectFrom('metric').select('run_id').execute()).toHaveLength(2);
    expect(fs.existsSync(path.join(t.home, 'logs', 'dag_id=old', 'run_id=ancient0'))).toBe(false);
    expect(fs.existsSync(path.join(t.home, 'logs', 'dag_id=old', 'run_id=recent'))).toBe(true);
  });
});

/**
 * Outbox rows for tasks named after what happens to them: `sent`, `failed`, `interrupted`,
 * `sending` (claimed, never finished) and `pending` (never claimed), each written at
 * `createdAt` and finished (when it finishes) at `finishedAt`.
 */
async function outboxRows(store: Store, prefix: string, createdAt: number, finishedAt: number): Promise<void> {
  const target = { kind: 'callback' as const };
  const n = (taskId: string) => ({ kind: 'task_failed' as const, dagId: 'd', runId: 'r', taskId: `${prefix}${taskId}`, state: 'failed', at: createdAt });
  const [sent, failed, interrupted, sending] = await insertOutboxRows(store, ['sent', 'failed', 'interrupted', 'sending', 'pending'].map((id) => ({ target, n: n(id) })), createdAt);
  for (const r of [sent, failed, sending]) expect(await claimOutboxRow(store, r.id, 'me')).toBe(true);
  expect(await claimOutboxRow(store, interrupted.id, `gone-${prefix}`)).toBe(true);
  await finishOutboxRow(store, sent.id, true, undefined, finishedAt);
  await finishOutboxRow(store, failed.id, false, 'HTTP 500', finishedAt);
  expect(await interruptOrphanedRows(store, 'me', createdAt, finishedAt)).toBe(1);
}

const outboxTasks = async (store: Store) => (await store.db.selectFrom('notification_outbox').select('payload').execute()).map((r) => JSON.parse(r.payload).taskId as string).sort();

describe.each(['sqlite', 'postgres'] as const)('db clean: the notification outbox on %s', (dialect) => {
  async function open(): Promise<Store> {
    if (dialect === 'sqlite') {
      t = await tempStore();
      return t.store;
    }
    const db = await freshPostgresDatabase();
    const opened = await openPostgres(db.url, 2);
    cleanup.push(db.drop, opened.close);
    return new Store(opened.db, 'postgres');
  }

  it('deletes sent, failed and interrupted rows that finished before the cut-off, in batches; keeps pending, in-flight and recent rows', async () => {
    const store = await open();
    const now = 100 * DAY;
    await outboxRows(store, 'old-', 10 * DAY, 10 * DAY + 1);
    await outboxRows(store, 'older-', 20 * DAY, 20 * DAY + 1);
    await outboxRows(store, 'new-', now - DAY, now - DAY + 1);
    const before = now - 30 * DAY;
    expect(await cleanOldOutboxRows(store, { before, batchSize: 4, dryRun: true })).toBe(6);
    expect(await outboxTasks(store)).toHaveLength(15);
    expect(await cleanOldOutboxRows(store, { before, batchSize: 4, dryRun: false })).toBe(6);
    expect(await outboxTasks(store)).toEqual(
      ['new-failed', 'new-interrupted', 'new-pending', 'new-sending', 'new-sent', 'old-pending', 'old-sending', 'older-pending', 'older-sending'],
    );
    expect(await cleanOldOutboxRows(store, { before, batchSize: 4, dryRun: false })).toBe(0);
  }, 60_000);
});

describe('trainyard db clean', () => {
  it('cleans the outbox with its own age, 30 days unless --outbox-older-than says otherwise', async () => {
    t = await tempStore();
    const now = Date.now();
    await outboxRows(t.store, 'month-', now - 40 * DAY, now - 40 * DAY);
    await outboxRows(t.store, 'week-', now - 8 * DAY, now - 8 * DAY);
    const clean = (...args: string[]) => cli(['--home', t.home, 'db', 'clean', '--older-than', '90d', ...args]);

    const dry = await clean('--dry-run');
    expect(dry.stdout).toBe(
      '0 run(s) would be deleted with 0 log folder(s), 0 work, artifact and checkpoint folder(s), 0 remote log(s), 0 offloaded result(s); 0 run(s) kept because other runs reuse their results; 3 notification outbox row(s) would be deleted\n',
    );
    const byDefault = await clean();
    expect(byDefault.code).toBe(0);
    expect(byDefault.stdout).toContain('; 3 notification outbox row(s) deleted');
    expect((await outboxTasks(t.store)).filter((id) => id.startsWith('month-'))).toEqual(['month-pending', 'month-sending']);
    const shorter = await clean('--outbox-older-than', '7d');
    expect(shorter.stderr).toBe('');
    expect(shorter.stdout).toContain('; 3 notification outbox row(s) deleted');
    expect(await outboxTasks(t.store)).toEqual(['month-pending', 'month-sending', 'week-pending', 'week-sending']);
  }, 60_000);

  it('names a bad option and deletes nothing', async () => {
    t = await tempStore();
    await outboxRows(t.store, 'old-', 0, 0);
    const badAge = await cli(['--home', t.home, 'db', 'clean', '--older-than', '90d', '--outbox-older-than', 'a month']);
    expect(badAge.code).toBe(2);
    expect(badAge.stderr).toContain('--outbox-older-than: Invalid duration "a month"');
    const badBatch = await cli(['--home', t.home, 'db', 'clean', '--older-than', '90d', '--batch', '0']);
    expect(badBatch.code).toBe(2);
    expect(badBatch.stderr).toContain("--batch must be a whole number ≥ 1, got '0'");
    expect(await outboxTasks(t.store)).toHaveLength(5);
  }, 60_000);
});
