import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../store/store.js';
import { describeModel } from './registry.js';
import { main } from './registry-task.js';

interface Harness {
  tempStore(): Promise<{ home: string; store: Store; close(): Promise<void> }>;
}
const harnessPath = '../../test/support/harness.js';

describe('the registry task', () => {
  let home: string;
  let store: Store;
  let close: () => Promise<void>;
  const lines: string[] = [];
  const env = (extra: Record<string, string> = {}) => ({
    TRAINYARD_HOME: home,
    TRAINYARD_DAG_ID: 'digits_training',
    TRAINYARD_RUN_ID: 'manual__1',
    TRAINYARD_TASK_ID: 'register_model',
    TRAINYARD_MAP_INDEX: '-1',
    TRAINYARD_TRY_NUMBER: '1',
    TRAINYARD_RESULT_PATH: path.join(home, 'result.json'),
    ...extra,
  });
  const io = (extra?: Record<string, string>) => ({ env: env(extra), now: () => 5000, out: (l: string) => lines.push(l) });
  const result = () => JSON.parse(fs.readFileSync(path.join(home, 'result.json'), 'utf8')) as Record<string, unknown>;

  beforeAll(async () => {
    ({ home, store, close } = await ((await import(harnessPath)) as Harness).tempStore());
    await store.db
      .insertInto('dag_run')
      .values({
        dag_id: 'digits_training',
        run_id: 'manual__1',
        state: 'running',
        run_type: 'manual',
        version_hash: 'v1hash',
        conf: '{}',
        params: '{}',
        logical_date: Date.UTC(2026, 0, 2),
        data_interval_start: Date.UTC(2026, 0, 1),
        data_interval_end: Date.UTC(2026, 0, 2),
        queued_at: 1,
        change_seq: 0,
      })
      .execute();
    // Trial 3 of the sweep succeeded on its second try, and printed metric lines.
    await store.insertTaskInstances([
      {
        dag_id: 'digits_training',
        run_id: 'manual__1',
        task_id: 'train',
        map_index: 3,
        state: 'success',
        try_number: 2,
        budget_tries: 2,
        free_retries: 0,
        priority_weight: 1,
        pool_slots: 1,
        pool: 'default_pool',
        item: JSON.stringify({ lr: 0.2, l2: 0.001 }),
        params: JSON.stringify({ epochs: 12 }),
        updated_at: 1,
      },
    ]);
    await store.insertMetrics([
      { dag_id: 'digits_training', run_id: 'manual__1', task_id: 'train', map_index: 3, try_number: 1, name: 'val_accuracy', step: 9, value: 0.5, at: 10 },
      { dag_id: 'digits_training', run_id: 'manual__1', task_id: 'train', map_index: 3, try_number: 2, name: 'val_accuracy', step: 11, value: 0.93, at: 30 },
      { dag_id: 'digits_training', run_id: 'manual__1', task_id: 'train', map_index: 3, try_number: 2, name: 'val_accuracy', step: 10, value: 0.92, at: 20 },
      { dag_id: 'digits_training', run_id: 'manual__1', task_id: 'train', map_index: 3, try_number: 2, name: 'val_loss', step: 11, value: 0.21, at: 30 },
    ]);
  });
  afterAll(() => close());

  it('registers a version with lineage from the env and the best trial, metrics from its try, and gates its promotion', async () => {
    const code = await main(
      ['register', '--name', 'digits', '--uri', '/models/best/model.json', '--metric', 'test_accuracy=0.95', '--from-task', 'train', '--from-map-index', '3', '--metrics-from-try', '--params-from-try', '--promote-to', 'production', '--gate-metric', 'test_accuracy', '--margin', '0.01'],
      io(),
    );
    expect(code).toBe(0);
    const r = result();
    expect(r).toMatchObject({ name: 'digits', version: 1, uri: 'file:///models/best/model.json', aliases: ['production'] });
    expect(r.metrics).toEqual({ val_accuracy: 0.93, val_loss: 0.21, test_accuracy: 0.95 });
    expect(r.promotion).toMatchObject({ promoted: true, alias: 'production' });
    const d = await describeModel(store, 'digits');
    expect(d.versions[0].lineage).toMatchObject({ dagId: 'digits_training', runId: 'manual__1', taskId: 'train', mapIndex: 3, tryNumber: 2, ds: '2026-01-02', dagVersionHash: 'v1hash' });
    expect(d.versions[0].params).toEqual({ lr: 0.2, l2: 0.001, epochs: 12 });
    expect(d.history[0].actor).toBe('task:digits_training/manual__1/register_model#1');
  });

  it('a version that does not beat production by the margin is registered but not promoted; --on-reject decides the exit code', async () => {
    const args = ['register', '--name', 'digits', '--uri', 'file:///m/2', '--metric', 'test_accuracy=0.955', '--promote-to', 'production', '--gate-metric', 'test_accuracy', '--margin', '0.01'];
    expect(await main(args, io())).toBe(0);
    expect(result()).toMatchObject({ version: 2, aliases: [], promotion: { promoted: false, candidate: 0.955, baseline: 0.95, baselineVersion: 1 } });
    expect(await main([...args, '--on-reject', 'skip'], io())).toBe(99);
    expect(await main(['promote', '--name', 'digits', '--version', 'latest', '--alias', 'production', '--gate-metric', 'test_accuracy', '--margin', '0.01', '--on-reject', 'fail'], io())).toBe(1);
    expect(result()).toMatchObject({ version: 3, promoted: false });
    expect((await describeModel(store, 'digits')).aliases).toEqual({ production: 1 });
  });

  it('fails clearly on bad arguments', async () => {
    await expect(main(['register', '--name', 'digits'], io())).rejects.toThrow(/register needs --uri/);
    await expect(main(['register', '--name', 'digits', '--uri', 'x', '--metric', 'acc'], io())).rejects.toThrow(/--metric must be NAME=NUMBER, got 'acc'/);
    await expect(main(['promote', '--name', 'digits', '--version', '9', '--alias', 'production'], io())).rejects.toThrow(/model 'digits' has no version 9; its versions are 1-3/);
    await expect(main(['register', '--name', 'd', '--uri', 'x', '--from-task', 'nope'], io())).rejects.toThrow(/has no task instance nope/);
    await expect(main(['frobnicate'], io())).rejects.toThrow(/unknown command 'frobnicate'/);
  });

  it('runs as a command (exit code, result file, message on stderr)', () => {
    const script = fileURLToPath(new URL('./registry-task.ts', import.meta.url));
    const r = spawnSync(process.execPath, ['--import', 'tsx', script, 'promote', '--name', 'digits', '--version', '2', '--alias', 'staging'], {
      env: { ...process.env, ...env() },
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(result()).toMatchObject({ name: 'digits', version: 2, alias: 'staging', promoted: true, previous: null });
    const bad = spawnSync(process.execPath, ['--import', 'tsx', script, 'promote', '--name', 'nope', '--version', '1', '--alias', 'staging'], { env: { ...process.env, ...env() }, encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/registry-task: model 'nope' does not exist; registered models: digits/);
  });
});
