import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const run = (code: string, env: Record<string, string>) =>
  spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `import * as rt from ${JSON.stringify(path.resolve('src/runtime/index.ts'))};\n${code}`], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });

describe('the TypeScript runtime helper', () => {
  it('prints metric and params lines, writes the result, and refuses a result over the limit', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-rt-'));
    const resultPath = path.join(dir, 'result.json');
    const r = run(`rt.logParams({ lr: 0.1 }); rt.logMetric('loss', 0.5, 3); rt.logMetrics({ acc: 0.9, bad: NaN }); rt.saveResult({ acc: 0.9 }); console.log(JSON.stringify(rt.context()), rt.shouldResume());`, {
      TRAINYARD_RESULT_PATH: resultPath,
      TRAINYARD_TASK_ID: 'train',
      TRAINYARD_MAP_INDEX: '2',
      TRAINYARD_RESUME: '1',
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('::trainyard::params {"lr":0.1}');
    expect(r.stdout).toContain('::trainyard::metric {"step":3,"loss":0.5}');
    expect(r.stdout).toContain('::trainyard::metric {"acc":0.9}');
    expect(r.stderr).toMatch(/metric 'bad' is not a finite number/);
    expect(JSON.parse(fs.readFileSync(resultPath, 'utf8'))).toEqual({ acc: 0.9 });
    expect(r.stdout).toMatch(/"taskId":"train","mapIndex":2/);
    expect(r.stdout.trim().endsWith('true')).toBe(true);
    const big = run(`rt.saveResult('x'.repeat(70000));`, { TRAINYARD_RESULT_PATH: resultPath });
    expect(big.status).not.toBe(0);
    expect(big.stderr).toMatch(/over the 65536-byte limit; write large outputs to artifactsDir\(\)/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
