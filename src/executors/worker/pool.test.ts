import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isProcessAlive } from '../local/process-tree.js';
import type { TaskContextData } from '../types.js';
import { WorkerPool, type WorkerJob } from './pool.js';

const fixture = fileURLToPath(new URL('./fixtures/dags.ts', import.meta.url));

const context = (taskId: string, params: Record<string, unknown> = {}): TaskContextData => ({
  dagId: 'fixture',
  runId: 'run-1',
  taskId,
  mapIndex: -1,
  tryNumber: 1,
  ds: '2026-11-21',
  logicalDate: '2026-11-21T00:00:00.000Z',
  dataIntervalStart: '2026-11-20T00:00:00.000Z',
  dataIntervalEnd: '2026-11-21T00:00:00.000Z',
  params,
  conf: {},
  inputs: { name: 'pool' },
  artifactsDir: '',
  runArtifactsDir: '',
  checkpointDir: '',
});

const job = (taskId: string, params: Record<string, unknown> = {}, file = fixture, dagId = 'fixture'): WorkerJob => ({
  kind: 'run',
  code: { file, dagId, taskId },
  context: context(taskId, params),
  env: { TRAINYARD_TASK_ID: taskId },
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('WorkerPool', () => {
  let pool: WorkerPool | undefined;
  let seenPids: number[] = [];
  let dir: string;

  const make = (o: Partial<ConstructorParameters<typeof WorkerPool>[0]> = {}) => (pool = new WorkerPool({ size: 1, ...o }));
  const run = async (p: WorkerPool, j: WorkerJob) => {
    let pid = -1;
    const task = p.submit(j, { onStart: (w) => void (pid = w.pid) });
    const outcome = await task.outcome;
    if (pid > 0) seenPids.push(pid);
    return { outcome, pid };
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trainyard-pool-'));
  });
  afterEach(async () => {
    await pool?.close(500);
    pool = undefined;
    // No worker outlives its pool.
    for (const pid of seenPids) expect(isProcessAlive(pid), `worker ${pid} still alive`).toBe(false);
    seenPids = [];
    await rm(dir, { recursive: true, force: true });
  });

  it('reuses a worker for consecutive jobs and reports their output', async () => {
    const p = make();
    const out: string[] = [];
    const first = p.submit(job('hello'), { onOutput: (s, d) => out.push(`${s}:${d}`) });
    expect(await first.outcome).toEqual({ status: 'ok', resultJson: '{"greeting":"hi pool"}' });
    expect(out.join('')).toContain('stdout:hello from an inline task\n');
    expect(out.join('')).toContain('stderr:a warning on stderr\n');
    const a = await run(p, job('env'));
    const b = await run(p, job('nothing'));
    expect(a.pid).toBe(b.pid);
    expect(p.workerPids()).toEqual([a.pid]);
  });

  it('recognises skips by name or brand, and fails the job on an error thrown outside it (replacing the worker)', async () => {
    const p = make();
    expect((await run(p, job('skips'))).outcome).toMatchObject({ status: 'error', skip: true });
    expect((await run(p, job('skipsBrand'))).outcome).toMatchObject({ status: 'error', skip: true });
    expect((await run(p, job('fails'))).outcome).toMatchObject({ status: 'error', skip: false, kind: 'user_error' });
    const stray = await run(p, job('stray'));
    expect(stray.outcome).toMatchObject({ status: 'error', kind: 'user_error', error: { message: 'stray failure in a callback' } });
    const deadline = Date.now() + 5000;
    while (p.workerPids().includes(stray.pid) && Date.now() < deadline) await sleep(20);
    expect(isProcessAlive(stray.pid)).toBe(false);
    const after = await run(p, job('nothing'));
    expect(after.outcome.status).toBe('ok');
    expect(after.pid).not.toBe(stray.pid);
  });

  it('runs one job per worker at a time, hands one more to a busy worker, and queues the rest', async () => {
    const p = make({ size: 1 });
    const order: string[] = [];
    const pids = new Set<number>();
    const hooks = (name: string) => ({ onStart: (w: { pid: number }) => (order.push(name), pids.add(w.pid)) });
    const slow = p.submit(job('sleeps', { ms: 300 }), hooks('slow'));
    const next = p.submit(job('nothing'), hooks('next'));
    const last = p.submit(job('nothing'), hooks('last'));
    // `next` waits in the busy worker; `last` in the pool.
    expect(p.queued()).toBe(1);
    expect(order).toEqual(['slow']);
    expect(await slow.outcome).toEqual({ status: 'ok', resultJson: '"woke"' });
    await Promise.all([next.outcome, last.outcome]);
    expect(order).toEqual(['slow', 'next', 'last']);
    expect(pids.size).toBe(1);
    seenPids.push(...pids);
  });

  it('with prefetch 0, a busy worker is handed nothing', async () => {
    const p = make({ size: 1, prefetch: 0 });
    const slow = p.submit(job('sleeps', { ms: 200 }));
    const next = p.submit(job('nothing'));
    expect(p.queued()).toBe(1);
    await Promise.all([slow.outcome, next.outcome]);
    seenPids.push(...p.workerPids());
  });

  it('a job waiting in a worker whose running job is killed runs in the next worker', async () => {
    const p = make({ size: 1 });
    const started: Record<string, number> = {};
    const running = p.submit(job('sleeps'), { onStart: (w) => void (started.running = w.pid) });
    const waiting = p.submit(job('env'), { onStart: (w) => void (started.waiting = w.pid) });
    await sleep(50);
    await running.kill(300);
    expect(await running.outcome).toMatchObject({ status: 'worker_exit', killed: true });
    expect(await waiting.outcome).toMatchObject({ status: 'ok' });
    expect(started.waiting).toBeGreaterThan(0);
    expect(started.waiting).not.toBe(started.running);
    seenPids.push(started.running, started.waiting);
  });

  it('a job waiting in a worker that dies (crash, or an error outside a job) runs in a new worker', async () => {
    const p = make({ size: 1 });
    for (const fatal of ['crash', 'stray']) {
      const pids: number[] = [];
      const dies = p.submit(job(fatal), { onStart: (w) => void pids.push(w.pid) });
      const after = p.submit(job('nothing'), { onStart: (w) => void pids.push(w.pid) });
      expect((await dies.outcome).status).toBe(fatal === 'crash' ? 'worker_exit' : 'error');
      expect(await after.outcome).toEqual({ status: 'ok', resultJson: null });
      expect(pids).toHaveLength(2);
      expect(pids[1]).not.toBe(pids[0]);
      seenPids.push(...pids);
    }
  });

  it('an idle worker takes back a job waiting behind a long one', async () => {
    const p = make({ size: 2 });
    const where: Record<string, number> = {};
    const at = (name: string) => ({ onStart: (w: { pid: number }) => void (where[name] = w.pid) });
    const long = p.submit(job('sleeps', { ms: 5000 }), at('long'));
    const short = p.submit(job('sleeps', { ms: 200 }), at('short'));
    // Both workers busy: each is handed one of these to start next.
    const a = p.submit(job('nothing'), at('a'));
    const b = p.submit(job('nothing'), at('b'));
    expect(p.queued()).toBe(0);
    const ended: string[] = [];
    await Promise.all([a.outcome.then(() => ended.push('a')), b.outcome.then(() => ended.push('b'))]);
    // Neither waited for the long job: the worker that ran the short one ran both.
    expect(ended.sort()).toEqual(['a', 'b']);
    expect(where.a).toBe(where.short);
    expect(where.b).toBe(where.short);
    await long.kill(100);
    await short.outcome;
    seenPids.push(where.long, where.short);
  });

  it('kill stops the worker (SIGTERM, then SIGKILL) and a new worker takes the next job', async () => {
    const p = make();
    let pid = -1;
    const task = p.submit(job('sleeps'), { onStart: (w) => void (pid = w.pid) });
    await sleep(50);
    while (pid < 0) await sleep(20);
    await task.kill(300);
    const o = await task.outcome;
    expect(o).toMatchObject({ status: 'worker_exit', killed: true });
    expect(isProcessAlive(pid)).toBe(false);
    const after = await run(p, job('nothing'));
    expect(after.outcome.status).toBe('ok');
    expect(after.pid).not.toBe(pid);
  });

  it('killing a waiting job cancels it, never started, without touching the running one', async () => {
    const p = make();
    const running = p.submit(job('sleeps', { ms: 200 }));
    let started = false;
    const waiting = p.submit(job('nothing'), { onStart: () => void (started = true) });
    const queued = p.submit(job('nothing'));
    await Promise.all([waiting.kill(100), queued.kill(100)]);
    expect(await waiting.outcome).toEqual({ status: 'cancelled' });
    expect(await queued.outcome).toEqual({ status: 'cancelled' });
    expect(started).toBe(false);
    expect(await running.outcome).toMatchObject({ status: 'ok' });
    seenPids.push(...p.workerPids());
  });

  it('reloads a DAG file when it changes, and names a DAG the file does not export', async () => {
    const p = make();
    const file = join(dir, 'dag.ts');
    const source = (v: string) =>
      `const version: string = '${v}';\nexport const dag = { [Symbol.for('trainyard.dag')]: true, dagId: 'tmp', toSpec: () => ({}), callables: () => ({ run: () => version }) };\n`;
    await writeFile(file, source('v1'));
    expect((await run(p, job('t', {}, file, 'tmp'))).outcome).toEqual({ status: 'ok', resultJson: '"v1"' });
    await writeFile(file, source('v2'));
    const later = new Date(Date.now() + 5000);
    await utimes(file, later, later);
    expect((await run(p, job('t', {}, file, 'tmp'))).outcome).toEqual({ status: 'ok', resultJson: '"v2"' });
    const missing = await run(p, job('t', {}, file, 'other'));
    expect(missing.outcome).toMatchObject({ status: 'error', kind: 'user_error' });
    expect(missing.outcome.status === 'error' && missing.outcome.error.message).toMatch(/DAG "other" is not exported .*DAGs found: "tmp"/);
  });

  it('retires a worker after maxTasksPerWorker jobs, and an idle worker after idleMs', async () => {
    const p = make({ maxTasksPerWorker: 2, idleMs: 200 });
    const a = await run(p, job('nothing'));
    const b = await run(p, job('nothing'));
    const c = await run(p, job('nothing'));
    expect(a.pid).toBe(b.pid);
    expect(c.pid).not.toBe(a.pid);
    const deadline = Date.now() + 5000;
    while (p.workerPids().length > 0 && Date.now() < deadline) await sleep(50);
    expect(p.workerPids()).toEqual([]);
  });

  it('close stops every worker, cancels queued jobs and refuses new ones', async () => {
    const p = make({ size: 2 });
    const pids: number[] = [];
    const a = p.submit(job('sleeps'), { onStart: (w) => pids.push(w.pid) });
    const b = p.submit(job('sleeps'), { onStart: (w) => pids.push(w.pid) });
    const c = p.submit(job('nothing'));
    await sleep(50);
    expect(pids).toHaveLength(2);
    await p.close(300);
    expect(await a.outcome).toMatchObject({ status: 'worker_exit' });
    expect(await b.outcome).toMatchObject({ status: 'worker_exit' });
    expect(await c.outcome).toEqual({ status: 'cancelled' });
    for (const pid of pids) expect(isProcessAlive(pid)).toBe(false);
    expect(await p.submit(job('nothing')).outcome).toEqual({ status: 'cancelled' });
  });
});
