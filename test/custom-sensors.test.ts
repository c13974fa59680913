import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { alwaysThrows, flaky, waitsForFile } from './fixtures/dags-user-functions/sensors.js';
import { type LiveScheduler, liveScheduler } from './support/live-scheduler.js';

const FILE = path.resolve('test/fixtures/dags-user-functions/sensors.ts');
let live: LiveScheduler | undefined;
let dir: string;

afterEach(async () => {
  await live?.close();
  live = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; scheduler log:\n${live?.lines.join('\n')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sensorLog = (runId: string, dagId: string, taskId: string) =>
  fs.readFileSync(path.join(live!.home, 'logs', `dag_id=${dagId}`, `run_id=${runId}`, `task_id=${taskId}`, 'map_index=-1', 'attempt=1.log'), 'utf8');

describe('custom sensors: a check function in the DAG file, run in a worker', () => {
  it('waits, deferred, while its check says not yet, then hands its value downstream', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-custom-sensor-'));
    live = await liveScheduler();
    await live.register(waitsForFile, FILE);
    const runId = await live.trigger('custom_sensor', { dir });
    const ti = () => live!.store.getTaskInstance({ dagId: 'custom_sensor', runId, taskId: 'wait_ready', mapIndex: -1 });
    // The check ran in a worker and said why it is still waiting; the sensor holds no slot.
    await until(async () => /no ready file in .* yet \(check \d+\)/.test((await ti())?.reason ?? ''), 'the check to report why it waits');
    expect((await ti())?.state).toBe('deferred');
    expect(fs.existsSync(path.join(dir, 'used'))).toBe(false);
    // The scheduler process itself never ran the check: only worker processes exist for it.
    expect(live.pool.workerPids().length).toBeGreaterThan(0);
    expect(live.pool.workerPids()).not.toContain(process.pid);
    fs.writeFileSync(path.join(dir, 'ready'), 'batch-42\n');
    expect(await live.finished('custom_sensor', runId)).toBe('success');
    expect(fs.readFileSync(path.join(dir, 'used'), 'utf8')).toBe('got batch-42');
    const row = await ti();
    expect(row?.state).toBe('success');
    expect(JSON.parse(row!.result!)).toBe('batch-42');
  }, 90_000);

  it('a check that keeps throwing fails the sensor after maxConsecutiveErrors, with its errors in the log', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-custom-sensor-'));
    live = await liveScheduler();
    await live.register(alwaysThrows, FILE);
    const runId = await live.trigger('throwing_sensor', { dir });
    expect(await live.finished('throwing_sensor', runId)).toBe('failed');
    const ti = await live.store.getTaskInstance({ dagId: 'throwing_sensor', runId, taskId: 'broken', mapIndex: -1 });
    expect(ti?.state).toBe('failed');
    expect(ti?.failure_class).toBe('user_error');
    expect(ti?.reason).toMatch(/2 checks in a row failed; the last: Error: the upstream catalogue is unreachable/);
    const after = await live.store.getTaskInstance({ dagId: 'throwing_sensor', runId, taskId: 'after_broken', mapIndex: -1 });
    expect(after?.state).toBe('upstream_failed');
    expect(fs.existsSync(path.join(dir, 'after_broken'))).toBe(false);
    const log = sensorLog(runId, 'throwing_sensor', 'broken');
    expect(log).toMatch(/check 1 failed \(1 of 2 errors in a row\): Error: the upstream catalogue is unreachable/);
    expect(log).toMatch(/check 2 failed \(2 of 2 errors in a row\)/);
    expect(log).toMatch(/stdout \| checking the broken thing/);
  }, 90_000);

  it('a check that throws once counts as not yet: the sensor goes on and succeeds', async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-custom-sensor-'));
    live = await liveScheduler();
    await live.register(flaky, FILE);
    const runId = await live.trigger('flaky_sensor', { dir });
    expect(await live.finished('flaky_sensor', runId)).toBe('success');
    const log = sensorLog(runId, 'flaky_sensor', 'flaky');
    expect(log).toMatch(/check 1 failed \(1 of 3 errors in a row\): Error: first check fails/);
    expect(log).toMatch(/check 2 said done/);
  }, 90_000);
});
