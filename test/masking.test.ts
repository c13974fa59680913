import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from './support/cli.js';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-mask-'));
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

describe('secret masking', () => {
  it('a task that prints a secret from a *_TOKEN env var shows *** in its log', async () => {
    const r = await cli(['--home', home, '--dags', path.resolve('test/fixtures/dags-secrets'), 'dags', 'test', 'leaky', '--json']);
    expect(r.code).toBe(0);
    const runId = JSON.parse(r.stdout).run_id as string;
    const logs = await cli(['--home', home, 'tasks', 'logs', 'leaky', runId, 'print_token']);
    expect(logs.stdout).toContain('calling the feature store with token ***');
    expect(logs.stdout).toContain('stderr | token=***');
    expect(logs.stdout).not.toContain('tok-4f9a8b7c6d5e');
    const file = (await fs.promises.readdir(path.join(home, 'logs'), { recursive: true })).find((f) => String(f).endsWith('.log'));
    expect(fs.readFileSync(path.join(home, 'logs', String(file)), 'utf8')).not.toContain('tok-4f9a8b7c6d5e');
  }, 60_000);
});
