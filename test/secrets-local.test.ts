import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from './support/cli.js';
import { sqliteStoreText } from './support/store-text.js';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-secret-env-'));
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));
const dags = path.resolve('test/fixtures/dags-secret-env');
const HF = 'hf-9c1e77d2aa04';
const WANDB = 'wandb-5b3f0e8c91d7';

function logFiles(): string[] {
  return (fs.readdirSync(path.join(home, 'logs'), { recursive: true }) as string[]).filter((f) => f.endsWith('.log')).map((f) => path.join(home, 'logs', f));
}

describe('secrets in a DAG under the local executor', () => {
  it('injects secret() and secretRef() values from the backends, masks them in the log, and keeps them out of the store', async () => {
    const file = path.join(home, 'secrets.json');
    fs.writeFileSync(file, JSON.stringify({ wandb: { 'api-key': WANDB } }));
    const r = await cli(['--home', home, '--dags', dags, 'dags', 'test', 'secret_env', '--json'], { TRAINYARD_SECRET_HF_TOKEN: HF, TRAINYARD_SECRETS_FILE: file });
    expect(r.stderr).not.toContain(HF);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { run_id: string; tasks: { task_id: string; result: unknown }[] };
    // The task saw the real value (its length), not a mask.
    expect(out.tasks.find((t) => t.task_id === 'use_secrets')?.result).toEqual({ hf_len: HF.length });
    const logs = await cli(['--home', home, 'tasks', 'logs', 'secret_env', out.run_id, 'use_secrets']);
    expect(logs.stdout).toContain('hf=*** wandb=***');
    const written = logFiles().map((f) => fs.readFileSync(f, 'utf8')).join('\n');
    expect(written).toContain('hf=*** wandb=***');
    expect(written).not.toContain(HF);
    const store = sqliteStoreText(path.join(home, 'trainyard.db'));
    expect(store.text).toContain('"$expr":"secret","name":"HF_TOKEN"');
    expect(store.text).toContain('"$expr":"secretRef","secret":"wandb","key":"api-key"');
    expect(store.text).not.toContain(HF);
    expect(store.text).not.toContain(WANDB);
  }, 120_000);

  it('fails the try before the command starts when a secret is missing, naming it and the backends', async () => {
    const r = await cli(['--home', home, '--dags', dags, 'dags', 'test', 'secret_missing', '--json'], { TRAINYARD_SECRETS_FILE: '' });
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as { run_id: string; tasks: { task_id: string; state: string; failure_class: string | null }[] };
    expect(out.tasks).toEqual([expect.objectContaining({ task_id: 'needs_db', state: 'failed', failure_class: 'config' })]);
    const logs = await cli(['--home', home, 'tasks', 'logs', 'secret_missing', out.run_id, 'needs_db']);
    expect(logs.stdout).toMatch(/env DB_PASSWORD: secret 'db\/password' was not found \(looked in: environment \(TRAINYARD_SECRET_<NAME>\)\); set TRAINYARD_SECRET_DB_PASSWORD/);
    expect(logs.stdout).not.toContain('command-ran');
    expect(logs.stdout).not.toContain('stdout |');
    const work = fs.readdirSync(home, { recursive: true }) as string[];
    expect(work.filter((f) => f.endsWith('result.json.started'))).toEqual([]);
  }, 120_000);
});
