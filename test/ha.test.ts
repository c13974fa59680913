import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshPostgresDatabase } from './support/postgres.js';
import { BIN, cli } from './support/cli.js';

/**
 * Three scheduler processes share one Postgres database; one is killed with SIGKILL mid-run.
 * Every run completes, no try is launched twice, and the survivors take over its runs.
 */
const dags = path.resolve('test/fixtures/dags-ha');
let db: Awaited<ReturnType<typeof freshPostgresDatabase>>;
let home: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  db = await freshPostgresDatabase();
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-ha-'));
}, 300_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await db?.drop();
  fs.rmSync(home, { recursive: true, force: true });
});

describe('several schedulers on Postgres', () => {
  it('finish every run when one scheduler is killed, launching each try once', async () => {
    const log = path.join(home, 'side-effects.log');
    const env = { ...process.env, TRAINYARD_DATABASE_URL: db.url, SIDE_EFFECT_LOG: log, TRAINYARD_SCHEDULER_STALE: '3s', TRAINYARD_PARALLELISM: '8', TRAINYARD_KILL_GRACE: '500ms' };
    const start = (extra: string[]) => {
      const c = spawn(process.execPath, [BIN, '--home', home, '--dags', dags, 'scheduler', ...extra], { env, stdio: 'ignore' });
      children.push(c);
      return c;
    };
    const first = start(['--process-dags']);
    const run = (args: string[]) => cli(['--home', home, '--dags', dags, ...args], env);
    for (let i = 0; i < 60 && !(await run(['dags', 'list', '--json'])).stdout.includes('"ha"'); i++) await new Promise((r) => setTimeout(r, 500));
    const victim = start([]);
    start([]);
    for (let i = 0; i < 6; i++) expect((await run(['dags', 'trigger', 'ha', '--run-id', `r${i}`])).code).toBe(0);
    // Let the three share the work, then kill one that holds runs.
    const lines = () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) : []);
    for (let i = 0; i < 120 && lines().length < 60; i++) await new Promise((r) => setTimeout(r, 250));
    victim.kill('SIGKILL');
    let runs: { run_id: string; state: string }[] = [];
    for (let i = 0; i < 240; i++) {
      runs = JSON.parse((await run(['runs', 'list', '--dag', 'ha', '--json'])).stdout || '[]');
      if (runs.length === 6 && runs.every((r) => r.state === 'success' || r.state === 'failed')) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(runs.map((r) => r.state)).toEqual(Array(6).fill('success'));
    const seen = new Map<string, number>();
    for (const l of lines()) seen.set(l, (seen.get(l) ?? 0) + 1);
    expect([...seen].filter(([, n]) => n > 1)).toEqual([]);
    // every (run, map index) succeeded once at least
    const done = new Set([...seen.keys()].map((l) => l.split(' ').slice(0, 3).join(' ')));
    expect(done.size).toBe(6 * 40);
    first.kill('SIGTERM');
  }, 300_000);
});
