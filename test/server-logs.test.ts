import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, cli } from './support/cli.js';
import { sqliteStoreText } from './support/store-text.js';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-server-logs-'));
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));
const dags = path.resolve('test/fixtures/dags-logs');
const HF = 'hf-logline-7d2c90ab13';

interface LogLine {
  readonly level: string;
  readonly time: string;
  readonly component: string;
  readonly msg: string;
  readonly [field: string]: unknown;
}

/** Every line of the output, parsed as JSON (a line that is not JSON fails the test). */
function jsonLines(out: string): LogLine[] {
  return out
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      try {
        return JSON.parse(l) as LogLine;
      } catch {
        throw new Error(`not a JSON log line: ${l}`);
      }
    });
}

describe('server logs', () => {
  it('standalone writes JSON lines with the try identity on task-state lines, and masks secrets', async () => {
    const r = await cli(['--home', home, '--dags', dags, 'standalone', '--no-auth', '--trigger', 'logged', '--exit-when-done'], {
      TRAINYARD_LOG_LEVEL: 'debug',
      TRAINYARD_PORT: '0',
      TRAINYARD_SECRET_HF_TOKEN: HF,
      TRAINYARD_SECRETS_FILE: '',
    });
    expect(r.code).toBe(1); // the run fails: leak_and_fail exits 3
    const lines = jsonLines(r.stdout);
    for (const l of lines) {
      expect(l).toMatchObject({ level: expect.any(String), component: expect.any(String), msg: expect.any(String) });
      expect(Number.isNaN(Date.parse(l.time))).toBe(false);
    }
    expect(new Set(lines.map((l) => l.component))).toEqual(new Set(['standalone', 'scheduler', 'executor', 'dag-processor']));
    const importError = lines.find((l) => l.component === 'dag-processor');
    expect(importError?.msg).toMatch(/^import error in .*broken\.ts: .*cannot reach the feature store/);
    const runId = lines.find((l) => l.component === 'scheduler' && l.state === 'failed')?.run_id;
    expect(runId).toMatch(/^manual__/);

    const shard1 = lines.find((l) => l.event === 'try_finished' && l.task_id === 'shard' && l.map_index === 1);
    expect(shard1).toMatchObject({ level: 'info', component: 'executor', dag_id: 'logged', run_id: runId, task_id: 'shard', map_index: 1, try_number: 1, state: 'success', exit_code: 0 });
    expect(lines.filter((l) => l.event === 'try_started' && l.task_id === 'shard').map((l) => l.map_index).sort()).toEqual([0, 1]);

    const failed = lines.find((l) => l.event === 'try_finished' && l.task_id === 'leak_and_fail');
    expect(failed).toMatchObject({ level: 'warn', dag_id: 'logged', run_id: runId, try_number: 1, state: 'failed', failure_class: 'user_error', exit_code: 3 });
    // An unmapped try carries no map_index.
    expect(failed).not.toHaveProperty('map_index');
    expect(String(failed?.reason)).toContain('cannot reach the hub with ***');
    expect(r.stdout).not.toContain(HF);
    expect(r.stderr).not.toContain(HF);
    // The failure reason (the stderr tail) is stored masked too.
    const store = sqliteStoreText(path.join(home, 'trainyard.db'));
    expect(store.text).toContain('cannot reach the hub with ***');
    expect(store.text).not.toContain(HF);
  }, 120_000);

  it('writes nothing below the configured level', async () => {
    const r = await cli(['--home', home, '--dags', dags, 'standalone', '--no-auth', '--trigger', 'logged', '--exit-when-done'], {
      TRAINYARD_LOG_LEVEL: 'warn',
      TRAINYARD_PORT: '0',
      TRAINYARD_SECRET_HF_TOKEN: HF,
    });
    const lines = jsonLines(r.stdout);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((l) => l.level === 'warn' || l.level === 'error' || l.level === 'fatal')).toBe(true);
    expect(lines.some((l) => l.event === 'try_finished' && l.task_id === 'leak_and_fail')).toBe(true);
  }, 120_000);

  it('TRAINYARD_LOG_FORMAT=text writes the same lines as plain text, still masked; a bad format is refused', async () => {
    const r = await cli(['--home', home, '--dags', dags, 'standalone', '--no-auth', '--trigger', 'logged', '--exit-when-done'], {
      TRAINYARD_LOG_FORMAT: 'text',
      TRAINYARD_PORT: '0',
      TRAINYARD_SECRET_HF_TOKEN: HF,
    });
    expect(r.stdout.split('\n').filter((l) => l.startsWith('{'))).toHaveLength(0);
    expect(r.stdout).toMatch(/^\d\d:\d\d:\d\d\.\d{3} executor WARN: failed\s+logged leak_and_fail\b.*exit_code=3 failure_class=user_error/m);
    expect(r.stdout).toContain('cannot reach the hub with ***');
    expect(r.stdout).not.toContain(HF);
    const bad = await cli(['--home', home, '--dags', dags, 'standalone'], { TRAINYARD_LOG_FORMAT: 'pretty' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("TRAINYARD_LOG_FORMAT='pretty'");
    expect(bad.stderr).toMatch(/json, text/);
  }, 120_000);

  it('refuses a bad level, naming the key, the value, the allowed values and the variable', async () => {
    for (const command of [['standalone'], ['api-server']]) {
      const r = await cli(['--home', home, '--dags', dags, ...command], { TRAINYARD_LOG_LEVEL: 'chatty' });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain("invalid value for logLevel: TRAINYARD_LOG_LEVEL='chatty'");
      expect(r.stderr).toContain('allowed: trace, debug, info, warn, error, fatal, silent');
    }
  }, 60_000);

  it('api-server logs JSON lines at its level', async () => {
    const child = spawn(process.execPath, [BIN, '--home', home, 'api-server', '--no-auth', '--port', '0'], {
      env: { ...process.env, TRAINYARD_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    for (let i = 0; i < 300 && !out.includes('api-server up'); i++) await new Promise((r) => setTimeout(r, 100));
    const up = jsonLines(out).find((l) => l.msg.startsWith('trainyard api-server up'));
    expect(up).toMatchObject({ level: 'info', component: 'api-server', url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) });
    const health = await fetch(`${String(up?.url)}/api/v1/dags`);
    expect(health.status).toBe(200);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(jsonLines(out).at(-1)).toMatchObject({ component: 'api-server', msg: 'SIGTERM: stopping' });
  }, 60_000);
});
