import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './support/cli.js';

let home: string;
const examples = path.resolve('examples/dags');
const failures = path.resolve('test/fixtures/dags-failures');

beforeAll(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-e2e-'));
});
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

interface TestOutput {
  state: string;
  run_id: string;
  tasks: { task_id: string; map_index: number; state: string; failure_class: string | null; result: unknown }[];
}

describe('the example pipeline through the CLI', () => {
  it('trains a sweep, picks the best, evaluates and registers the model', async () => {
    const r = await cli(['--home', home, '--dags', examples, 'dags', 'test', 'digits_training', '--json', '--conf', '{"epochs": 4, "threshold": 0.5}']);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as TestOutput;
    expect(out.state).toBe('success');
    const states = Object.fromEntries(out.tasks.filter((t) => t.map_index < 0).map((t) => [t.task_id, t.state]));
    expect(states).toMatchObject({ validate_data: 'success', preprocess: 'success', select_best: 'success', evaluate: 'success', quality_gate: 'success', register_model: 'success', notify_below_threshold: 'skipped' });
    const trials = out.tasks.filter((t) => t.task_id === 'train');
    expect(trials).toHaveLength(6);
    expect(trials.every((t) => t.state === 'success')).toBe(true);
    const best = out.tasks.find((t) => t.task_id === 'select_best')!.result as { valAccuracy: number; trials: number };
    const accs = trials.map((t) => (t.result as { val_accuracy: number }).val_accuracy);
    expect(best.trials).toBe(6);
    expect(best.valAccuracy).toBe(Math.max(...accs));
    expect(best.valAccuracy).toBeGreaterThan(0.85);
    // registered in the model registry, with the best trial as its lineage; the first version
    // has no production to beat, so the gate promotes it
    const reg = out.tasks.find((t) => t.task_id === 'register_model')!.result as { name: string; version: number; aliases: string[]; metrics: Record<string, number> };
    expect(reg).toMatchObject({ name: 'digits-classifier', version: 1 });
    expect(reg.aliases).toContain('production');
    expect(reg.metrics.val_accuracy).toBe(best.valAccuracy);
    const shown = await cli(['--home', home, 'models', 'show', 'digits-classifier', '--json']);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`"runId": "${out.run_id}"`);
    // the trials printed metric lines, one per epoch
    const runId = out.run_id;
    const logs = await cli(['--home', home, 'tasks', 'logs', 'digits_training', runId, 'train', '--map-index', '0']);
    expect(logs.stdout.match(/::trainyard::metric/g)?.length).toBe(4);
  }, 180_000);

  it('takes the notify branch when the model is below the threshold', async () => {
    const r = await cli(['--home', home, '--dags', examples, 'dags', 'test', 'digits_training', '--json', '--conf', '{"epochs": 2, "threshold": 0.9999}']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as TestOutput;
    const states = Object.fromEntries(out.tasks.filter((t) => t.map_index < 0).map((t) => [t.task_id, t.state]));
    expect(states).toMatchObject({ register_model: 'skipped', notify_below_threshold: 'success' });
  }, 180_000);

  it('skips the GPU example with a clear message where there is no GPU or torch', async () => {
    const r = await cli(['--home', home, '--dags', examples, 'dags', 'test', 'gpu_training', '--json']);
    const out = JSON.parse(r.stdout) as TestOutput;
    if (out.tasks.find((t) => t.task_id === 'check_gpu')?.state === 'success') return; // a GPU machine: nothing to check here
    expect(out.tasks.map((t) => [t.task_id, t.state])).toEqual([
      ['check_gpu', 'skipped'],
      ['train_torch', 'skipped'],
    ]);
    const logs = await cli(['--home', home, 'tasks', 'logs', 'gpu_training', out.run_id, 'check_gpu']);
    expect(logs.stdout).toMatch(/skipping the GPU example/);
  }, 120_000);

  it('refuses a conf that fails the params schema, naming the field, and creates no run', async () => {
    const before = JSON.parse((await cli(['--home', home, 'runs', 'list', '--json'])).stdout).length;
    const r = await cli(['--home', home, 'dags', 'trigger', 'digits_training', '--conf', '{"epochs": "many"}']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/field epochs must be integer/);
    const after = JSON.parse((await cli(['--home', home, 'runs', 'list', '--json'])).stdout).length;
    expect(after).toBe(before);
    const bad = await cli(['--home', home, 'dags', 'trigger', 'digits_training', '--conf', '{epochs: 3}']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--conf is not valid JSON/);
  }, 60_000);

  it('lists DAGs and runs as stable JSON', async () => {
    const dags = JSON.parse((await cli(['--home', home, 'dags', 'list', '--json'])).stdout) as { dag_id: string }[];
    expect(dags.map((d) => d.dag_id).sort()).toEqual(['digits_training', 'gpu_training']);
    const runs = JSON.parse((await cli(['--home', home, 'runs', 'list', '--dag', 'digits_training', '--json'])).stdout) as { state: string }[];
    expect(runs.length).toBeGreaterThanOrEqual(2);
    expect(runs.every((r) => r.state === 'success')).toBe(true);
  }, 60_000);
});

describe('failures through the CLI', () => {
  let out: TestOutput;
  let code: number | null;
  beforeAll(async () => {
    const r = await cli(['--home', home, '--dags', failures, 'dags', 'test', 'failures', '--json']);
    code = r.code;
    out = JSON.parse(r.stdout) as TestOutput;
  }, 120_000);
  const reasonOf = async (taskId: string) => {
    const tis = JSON.parse((await cli(['--home', home, 'tasks', 'list', 'failures', out.run_id, '--json'])).stdout) as { task_id: string; state: string; reason: string; failure_class: string; result: unknown }[];
    return tis.find((t) => t.task_id === taskId)!;
  };

  it('exits non-zero when the run fails', () => {
    expect(code).toBe(1);
    expect(out.state).toBe('failed');
  });

  it('a command that is not found fails as user_error, naming the command', async () => {
    const ti = await reasonOf('missing_command');
    expect(ti.failure_class).toBe('user_error');
    expect(ti.reason).toMatch(/no-such-trainer-binary/);
  });

  it('a result that is not JSON fails; one over the inline limit is kept in the artifact store and passed as a reference', async () => {
    expect((await reasonOf('not_json')).failure_class).toBe('result_invalid');
    const big = await reasonOf('too_big');
    expect(big.state).toBe('success');
    const ref = big.result as { $artifact: string; bytes: number };
    expect(ref.bytes).toBe(70_002);
    expect(ref.$artifact).toBe(pathToFileURL(path.join(home, 'artifacts', 'dag_id=failures', `run_id=${out.run_id}`, 'task_id=too_big', 'map_index=-1', 'attempt=1', 'trainyard.result.json')).href);
    expect(JSON.parse(fs.readFileSync(new URL(ref.$artifact), 'utf8'))).toBe('x'.repeat(70_000));
  });

  it("a failing task's stderr is in its log and its reason", async () => {
    const ti = await reasonOf('crashes');
    expect(ti.reason).toMatch(/code 3/);
    const logs = await cli(['--home', home, 'tasks', 'logs', 'failures', out.run_id, 'crashes']);
    expect(logs.stdout).toMatch(/stderr \| CUDA error: out of memory/);
    expect(logs.stdout).toMatch(/stdout \| loading data/);
  });

  it('the skip exit code skips the task', () => {
    expect(out.tasks.find((t) => t.task_id === 'skips')!.state).toBe('skipped');
  });

  it('clearing a failed task runs it again as a new try', async () => {
    const r = await cli(['--home', home, 'tasks', 'clear', 'failures', out.run_id, 'crashes']);
    expect(r.stdout).toMatch(/cleared crashes/);
    const runs = JSON.parse((await cli(['--home', home, 'runs', 'list', '--dag', 'failures', '--json'])).stdout) as { run_id: string; state: string }[];
    expect(runs.find((x) => x.run_id === out.run_id)!.state).toBe('queued');
  });
});
