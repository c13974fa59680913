import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { failingRun, succeedingRun } from './fixtures/dags-user-functions/callbacks.js';
import { type LiveScheduler, liveScheduler } from './support/live-scheduler.js';
import { insertOutboxRows } from '../src/scheduler/outbox-store.js';

const FILE = path.resolve('test/fixtures/dags-user-functions/callbacks.ts');
let live: LiveScheduler | undefined;
let dir: string;

afterEach(async () => {
  await live?.close();
  live = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

const calls = () => {
  const file = path.join(dir, 'callbacks.log');
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).sort() : [];
};

async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; scheduler log:\n${live?.lines.join('\n')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function outbox(dagId: string) {
  return live!.store.db.selectFrom('notification_outbox').selectAll().where('dag_id', '=', dagId).execute();
}

const settled = async (dagId: string, n: number) => {
  const rows = await outbox(dagId);
  return rows.length >= n && rows.every((r) => r.state === 'sent' || r.state === 'failed');
};

describe('callbacks: user functions on task and run events, run in workers', () => {
  it('calls onSuccess, onRetry and onFailure of tasks (own or from defaultArgs) and the run’s onFailure, once each', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-callbacks-'));
    live = await liveScheduler();
    await live.register(failingRun, FILE);
    const runId = await live.trigger('callbacks_failing', { dir });
    expect(await live.finished('callbacks_failing', runId)).toBe('failed');
    await until(() => settled('callbacks_failing', 5), 'five callbacks to be delivered');
    expect(calls()).toEqual([
      'run_failed - - failed -',
      'task_failed fails 1 failed -',
      'task_retry flaky 1 up_for_retry -',
      'task_success flaky 2 success -',
      'task_success ok 1 success -',
    ]);
    const rows = await outbox('callbacks_failing');
    expect(rows.map((r) => r.state)).toEqual(['sent', 'sent', 'sent', 'sent', 'sent']);
    expect(rows.map((r) => r.claimed_by)).toEqual(['live', 'live', 'live', 'live', 'live']);
  }, 90_000);

  it('a callback that throws and one that hangs are logged with their errors; the run completes and the scheduler goes on', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-callbacks-'));
    live = await liveScheduler({ callbackTimeoutMs: 1_500 });
    await live.register(succeedingRun, FILE);
    await live.register(failingRun, FILE);
    const runId = await live.trigger('callbacks_succeeding', { dir });
    expect(await live.finished('callbacks_succeeding', runId)).toBe('success');
    // The hanging callback does not hold the scheduler: another run goes through meanwhile.
    const other = await live.trigger('callbacks_failing', { dir });
    expect(await live.finished('callbacks_failing', other)).toBe('failed');
    await until(() => settled('callbacks_succeeding', 4), 'the callbacks of the succeeding run to end');
    const rows = await outbox('callbacks_succeeding');
    const byTask = Object.fromEntries(rows.map((r) => [JSON.parse(r.payload).taskId ?? 'run', r]));
    expect(byTask.throws_in_callback.state).toBe('failed');
    expect(byTask.throws_in_callback.error).toMatch(/onSuccess of task 'throws_in_callback' threw Error: a bug in the callback/);
    expect(byTask.hangs_in_callback.state).toBe('failed');
    expect(byTask.hangs_in_callback.error).toMatch(/no answer within 1500 ms; gave up/);
    expect(byTask.skips.state).toBe('sent');
    expect(byTask.run.state).toBe('sent');
    const log = live.lines.join('\n');
    expect(log).toMatch(/notification task_success for callbacks_succeeding\/.*\/throws_in_callback via callback \(task 'throws_in_callback'\) failed: onSuccess of task 'throws_in_callback' threw Error: a bug in the callback/);
    expect(log).toMatch(/notification task_success for callbacks_succeeding\/.*\/hangs_in_callback via callback \(task 'hangs_in_callback'\) failed: no answer within 1500 ms/);
    expect(calls().filter((l) => !l.includes('fails') && !l.includes('flaky') && !l.includes(' ok '))).toEqual(
      expect.arrayContaining(['run_success - - success -', 'task_skipped skips 1 skipped -']),
    );
    // the hanging callback's worker was stopped and replaced: the pool still runs user code
    expect(calls()).toContain('run_failed - - failed -');
  }, 90_000);

  it('after a restart, callbacks written but not yet run are run once; one cut off mid-call is not run again', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-callbacks-'));
    live = await liveScheduler({ callbackTimeoutMs: 1_500 });
    await live.register(succeedingRun, FILE);
    const runId = await live.trigger('callbacks_succeeding', { dir });
    expect(await live.finished('callbacks_succeeding', runId)).toBe('success');
    await until(() => calls().length >= 2, 'the run’s own callbacks');
    const before = calls().length;
    // What a scheduler that died leaves behind: a row committed with its event but never sent,
    // and a row it was sending when it died.
    const n = { kind: 'task_skipped' as const, dagId: 'callbacks_succeeding', runId, taskId: 'skips', tryNumber: 1, state: 'skipped', at: Date.now() };
    const [pending, cutOff] = await insertOutboxRows(live.store, [
      { target: { kind: 'callback', taskId: 'skips' }, n },
      { target: { kind: 'callback', taskId: 'skips' }, n: { ...n, tryNumber: 7 } },
    ], Date.now());
    await live.store.db.updateTable('notification_outbox').set({ state: 'sending', claimed_by: 'dead-scheduler' }).where('id', '=', cutOff.id).execute();
    await live.scheduler.recover(Date.now());
    const state = async (id: string) => (await live!.store.db.selectFrom('notification_outbox').select(['state', 'error']).where('id', '=', id).executeTakeFirst())!;
    expect((await state(pending.id)).state).toBe('sent');
    expect(await state(cutOff.id)).toMatchObject({ state: 'interrupted', error: expect.stringMatching(/not sent again/) });
    expect(calls().length).toBe(before + 1);
    expect(calls().filter((l) => l === 'task_skipped skips 1 skipped -')).toHaveLength(2);
    // A further restart sends nothing again.
    await live.scheduler.recover(Date.now());
    expect(calls().length).toBe(before + 1);
    expect(calls().some((l) => l.startsWith('task_skipped skips 7'))).toBe(false);
  }, 90_000);
});
