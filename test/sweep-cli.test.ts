import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from './support/cli.js';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-sweep-cli-'));
const dags = path.resolve('test/fixtures/dags-sweep');
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

describe('a sweep through the CLI', () => {
  it('dags test prints the best trial and the time saved; tasks list says which trials stopped early and why', async () => {
    const r = await cli(['--home', home, '--dags', dags, 'dags', 'test', 'cli_sweep']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/sweep train: best trial 0 \{"base":0\.1\} with loss 0\.26+7; 6 trials, \d stopped early, 0 failed; saved [\d.]+ CPU-s, 0 GPU-s \(\d+% of running every trial in full\)/);
    const runId = /run (\S+): success/.exec(r.stdout)![1];
    const list = await cli(['--home', home, 'tasks', 'list', 'cli_sweep', runId, '--json']);
    const tis = JSON.parse(list.stdout) as { task_id: string; map_index: number; state: string; failure_class: string | null; reason: string | null; result: unknown }[];
    const stopped = tis.filter((t) => t.failure_class === 'early_stopped');
    // The planted bad configs (bases 5 and 6) are among the stopped trials, as stopped successes.
    expect(stopped.map((t) => t.map_index)).toEqual(expect.arrayContaining([4, 5]));
    expect(stopped.every((t) => t.state === 'success' && /stopped early by the median stopping rule/.test(t.reason ?? ''))).toBe(true);
    const best = tis.find((t) => t.task_id === 'train_best')!;
    expect(best.result).toMatchObject({ mapIndex: 0, params: { base: 0.1 }, report: { trials: 6, stoppedEarly: stopped.map((t) => t.map_index) } });
  }, 120_000);
});
