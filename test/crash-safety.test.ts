import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { migrateToLatest, openSqlite } from '../src/store/db.js';
import { BIN, cli } from './support/cli.js';

/**
 * Crash safety: standalone is killed with SIGKILL at random points of a 200-task run, again
 * and again. Each try appends one line to a side-effect log. After the last restart every
 * task must end in a final state, no try may have run twice, every successful try must have
 * written its line, and the run must not be stuck.
 */
const KILLS = 20;
const dags = path.resolve('test/fixtures/dags-crash');
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-crash-'));
const sideEffects = path.join(home, 'side-effects.log');
const env = { ...process.env, SIDE_EFFECT_LOG: sideEffects, TRAINYARD_PARALLELISM: '8', TRAINYARD_KILL_GRACE: '500ms', TRAINYARD_PORT: '0' };

afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

function lines(): string[] {
  return fs.existsSync(sideEffects) ? fs.readFileSync(sideEffects, 'utf8').split('\n').filter(Boolean) : [];
}

/** Starts standalone and SIGKILLs it `ms` after its output matches `ready`; resolves when it is gone. */
function runAndKill(args: string[], ready: RegExp, ms: number): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, '--home', home, '--dags', dags, 'standalone', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let timer: NodeJS.Timeout | undefined;
    const onData = (d: Buffer) => {
      out += d;
      if (!timer && ready.test(out)) timer = setTimeout(() => child.kill('SIGKILL'), ms);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

describe('crash safety', () => {
  it(`survives ${KILLS} kill -9s mid-run: every task ends, no try runs twice, nothing is stuck`, async () => {
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    await runAndKill(['--trigger', 'crash'], /triggered crash/, 300 + random() * 1_000);
    for (let i = 1; i < KILLS; i++) await runAndKill([], /standalone up/, random() * 1_500);
    // The last start runs to the end.
    const final = spawn(process.execPath, [BIN, '--home', home, '--dags', dags, 'standalone'], { env, stdio: 'ignore' });
    const deadline = Date.now() + 120_000;
    for (;;) {
      const runs = JSON.parse((await cli(['--home', home, 'runs', 'list', '--json'])).stdout || '[]') as { state: string }[];
      if (runs[0] && (runs[0].state === 'success' || runs[0].state === 'failed')) break;
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    final.kill('SIGTERM');
    await new Promise((r) => final.on('exit', r));

    const opened = openSqlite(path.join(home, 'trainyard.db'));
    await migrateToLatest(opened.db);
    try {
      const runs = await opened.db.selectFrom('dag_run').selectAll().execute();
      expect(runs).toHaveLength(1);
      const tis = await opened.db.selectFrom('task_instance').selectAll().where('state', '!=', 'removed').execute();
      expect(tis).toHaveLength(200);
      expect(tis.filter((t) => t.state !== 'success').map((t) => `${t.task_id}[${t.map_index}] ${t.state}`)).toEqual([]);
      expect(runs[0].state).toBe('success');

      const tries = await opened.db.selectFrom('task_try').selectAll().execute();
      const seen = new Map<string, number>();
      for (const l of lines()) seen.set(l, (seen.get(l) ?? 0) + 1);
      // No (task, map index, try) ran twice.
      expect([...seen].filter(([, n]) => n > 1)).toEqual([]);
      // Every line belongs to a try the store launched.
      const launched = new Set(tries.map((t) => `${t.task_id} ${t.map_index} ${t.try_number}`));
      expect([...seen.keys()].filter((l) => !launched.has(l))).toEqual([]);
      // Every successful try wrote its line exactly once.
      for (const t of tries.filter((x) => x.state === 'success')) expect(seen.get(`${t.task_id} ${t.map_index} ${t.try_number}`)).toBe(1);
      // Tries cut short by a kill were recorded as lost and retried without using the budget.
      const lost = tries.filter((t) => t.failure_class === 'lost');
      expect(lost.every((t) => t.counts_against_budget === 0)).toBe(true);
      expect(await cli(['--home', home, 'runs', 'list', '--json']).then((r) => JSON.parse(r.stdout)[0].state)).toBe('success');
    } finally {
      await opened.close();
    }
  }, 300_000);
});
