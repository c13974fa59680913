import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, cli } from './support/cli.js';

const dags = path.resolve('test/fixtures/dags-restart');
let home: string;
let children: ChildProcess[] = [];

afterEach(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  children = [];
  fs.rmSync(home, { recursive: true, force: true });
});

function standalone(args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, '--home', home, '--dags', dags, 'standalone', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return { child, output: () => out, exited: new Promise((r) => child.on('exit', (code) => r(code))) };
}

async function until(check: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('standalone stopped mid-run', () => {
  it('persists state on SIGTERM; after a restart the run continues and no task runs twice', async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-restart-'));
    const sideEffects = path.join(home, 'side-effects.log');
    const env = { SIDE_EFFECT_LOG: sideEffects, TRAINYARD_SHUTDOWN_GRACE: '20s', TRAINYARD_PORT: '0' };
    const lines = () => (fs.existsSync(sideEffects) ? fs.readFileSync(sideEffects, 'utf8').trim().split('\n').filter(Boolean) : []);

    const first = standalone(['--trigger', 'restart'], env);
    await until(() => lines().length >= 3, 'three tasks to start');
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.output()).toMatch(/all state is saved/);

    const runs = JSON.parse((await cli(['--home', home, 'runs', 'list', '--json'])).stdout) as { run_id: string; state: string }[];
    expect(runs).toHaveLength(1);
    expect(runs[0].state).toBe('running');
    const tis = JSON.parse((await cli(['--home', home, 'tasks', 'list', 'restart', runs[0].run_id, '--json'])).stdout) as { task_id: string; state: string }[];
    const done = tis.filter((t) => t.state === 'success').length;
    // the task running at SIGTERM was allowed to finish: nothing is left half-done
    expect(tis.every((t) => ['success', 'none', 'scheduled'].includes(t.state))).toBe(true);
    expect(done).toBe(lines().length);
    expect(done).toBeLessThan(6);

    const second = standalone([], env);
    await until(() => /finished: success/.test(second.output()), 'the run to finish after the restart');
    second.child.kill('SIGTERM');
    await second.exited;

    expect(lines()).toEqual(['step0 1', 'step1 1', 'step2 1', 'step3 1', 'step4 1', 'step5 1']);
    const final = JSON.parse((await cli(['--home', home, 'runs', 'list', '--json'])).stdout) as { state: string }[];
    expect(final[0].state).toBe('success');
  }, 120_000);

  it('refuses a second standalone on the same SQLite file', async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-lock-'));
    const first = standalone([], { TRAINYARD_PORT: '0' });
    await until(() => /standalone up/.test(first.output()), 'the first standalone');
    const second = await cli(['--home', home, '--dags', dags, 'standalone'], { TRAINYARD_PORT: '0' });
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/another Trainyard scheduler \(pid \d+\) is using .*trainyard\.db/);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
  }, 60_000);
});
