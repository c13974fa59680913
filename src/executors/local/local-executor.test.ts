import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ALL_CAPABILITIES, contractEnv, EventRecorder, executorConformance, shellTry, SMALL_RESOURCES, uniqueKey } from '../conformance.js';
import type { InlineLaunch, TaskContextData, TryKey } from '../types.js';
import { WorkerPool } from '../worker/pool.js';
import { LocalExecutor } from './local-executor.js';
import { isProcessAlive } from './process-tree.js';

executorConformance(
  'LocalExecutor',
  async () => {
    const executor = new LocalExecutor({ capacity: { cpu: 8, memoryMb: 8192, gpus: 0 }, killGraceMs: 500 });
    return { executor, cleanup: () => executor.close(500) };
  },
  { capabilities: ALL_CAPABILITIES },
);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(20);
  }
}

describe('LocalExecutor (local only)', () => {
  let dir: string;
  let executor: LocalExecutor;
  let events: EventRecorder;
  const started: number[] = [];

  const make = (opts: ConstructorParameters<typeof LocalExecutor>[0] = {}) => {
    executor = new LocalExecutor({ capacity: { cpu: 8, memoryMb: 8192, gpus: 0 }, killGraceMs: 300, ...opts });
    events = new EventRecorder(executor);
    return executor;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trainyard-local-'));
  });
  afterEach(async () => {
    await executor?.close(300);
    for (const pid of started.splice(0)) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('never gives one GPU to two live tries and never runs more tries than GPUs', async () => {
    make({ capacity: { cpu: 64, memoryMb: 65536, gpus: 4 } });
    const script =
      'start=$(date +%s%N); sleep 0.$(( $(od -An -N1 -tu1 /dev/urandom) % 4 + 1 )); end=$(date +%s%N); ' +
      'printf \'{"gpus":"%s","start":%s,"end":%s}\' "$CUDA_VISIBLE_DEVICES" "$start" "$end" > "$TRAINYARD_RESULT_PATH"';
    const reqs = Array.from({ length: 16 }, (_, i) => shellTry(dir, script, { key: uniqueKey(`train${i}`), resources: { cpu: 1, memoryMb: 100, gpu: 1 } }));
    await Promise.all(reqs.map((r) => executor.launch(r)));
    const fins = await Promise.all(reqs.map((r) => events.finished(r.key, 20_000)));
    const intervals = fins.map((f) => {
      expect(f.outcome).toBe('success');
      const r = f.result as { gpus: string; start: number; end: number };
      expect(r.gpus).toMatch(/^[0-3]$/);
      return r;
    });
    for (let i = 0; i < intervals.length; i++) {
      for (let j = i + 1; j < intervals.length; j++) {
        const [a, b] = [intervals[i], intervals[j]];
        if (a.start < b.end && b.start < a.end) expect(a.gpus, `tries ${i} and ${j} overlap in time on GPU ${a.gpus}`).not.toBe(b.gpus);
      }
    }
    // Most tries running at one instant: sweep over start (+1) and end (-1) points, ends first.
    const points = intervals.flatMap((r) => [[r.start, 1], [r.end, -1]] as const).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
    let running = 0;
    let most = 0;
    for (const [, delta] of points) most = Math.max(most, (running += delta));
    expect(most).toBeLessThanOrEqual(4);
    expect(most).toBeGreaterThan(1);
    // Some waited: the executor said why.
    expect(events.events.some((e) => e.type === 'pending_reason' && /GPUs \(0 of 4 free\)/.test(e.reason))).toBe(true);
    expect(executor.capacity().gpu).toEqual({ used: 0, total: 4 });
  });

  it('gives specific devices and sets CUDA_VISIBLE_DEVICES="" for tries without GPUs on a GPU machine', async () => {
    make({ capacity: { cpu: 8, memoryMb: 8192, gpus: ['3', '5'] } });
    const script = 'printf \'"%s|%s"\' "${CUDA_VISIBLE_DEVICES-unset}" "$CUDA_VISIBLE_DEVICES" > "$TRAINYARD_RESULT_PATH"';
    const two = shellTry(dir, script, { key: uniqueKey('two'), resources: { cpu: 1, memoryMb: 1, gpu: 2 } });
    const none = shellTry(dir, script, { key: uniqueKey('none') });
    await executor.launch(two);
    await executor.launch(none);
    expect((await events.finished(two.key)).result).toBe('3,5|3,5');
    expect((await events.finished(none.key)).result).toBe('|');
    const noGpuMachine = new LocalExecutor({ capacity: { gpus: 0 } });
    const ev2 = new EventRecorder(noGpuMachine);
    const plain = shellTry(dir, script, { key: uniqueKey('plain') });
    await noGpuMachine.launch(plain);
    expect((await ev2.finished(plain.key)).result).toBe('unset|');
    await noGpuMachine.close(100);
  });

  it('accounts CPU and memory, queues what does not fit, and refuses what never fits', async () => {
    make({ capacity: { cpu: 2, memoryMb: 1000, gpus: 0 } });
    expect(executor.capacity()).toEqual({ cpu: { used: 0, total: 2 }, memoryMb: { used: 0, total: 1000 }, gpu: { used: 0, total: 0 }, running: 0 });
    const big = shellTry(dir, 'sleep 0.5', { key: uniqueKey('big'), resources: { cpu: 1.5, memoryMb: 600, gpu: 0 } });
    await executor.launch(big);
    expect(executor.capacity()).toMatchObject({ cpu: { used: 1.5 }, memoryMb: { used: 600 }, running: 1 });
    expect(executor.hasCapacity({ cpu: 0.5, memoryMb: 400, gpu: 0 })).toBe(true);
    expect(executor.hasCapacity({ cpu: 1, memoryMb: 10, gpu: 0 })).toBe(false);
    expect(executor.hasCapacity({ cpu: 0.1, memoryMb: 500, gpu: 0 })).toBe(false);

    const waits = shellTry(dir, 'true', { key: uniqueKey('waits'), resources: { cpu: 1, memoryMb: 100, gpu: 0 } });
    await executor.launch(waits);
    const pending = await events.waitFor(waits.key, 'pending_reason');
    expect(pending.reason).toMatch(/1 CPUs \(0\.5 of 2 free\)/);
    expect(executor.hasCapacity({ cpu: 0.1, memoryMb: 1, gpu: 0 })).toBe(false); // a queue exists
    expect((await events.finished(waits.key)).outcome).toBe('success');
    const startedAt = (events.of(waits.key).find((e) => e.type === 'started') as { at: number }).at;
    const bigEnd = (await events.finished(big.key)).at;
    expect(startedAt).toBeGreaterThanOrEqual(bigEnd);
    expect(executor.capacity()).toMatchObject({ cpu: { used: 0 }, memoryMb: { used: 0 }, running: 0 });

    const never = shellTry(dir, 'true', { key: uniqueKey('never'), resources: { cpu: 1, memoryMb: 100, gpu: 1 } });
    await executor.launch(never);
    const fin = await events.finished(never.key);
    expect(fin).toMatchObject({ outcome: 'failed', failureClass: 'unschedulable' });
    expect(fin.reason).toContain('1 GPUs (this machine has 0)');
  });

  it('does not pass the scheduler environment to tries, only the basics and the request env', async () => {
    make();
    process.env.TRAINYARD_FIXTURE_SECRET = 'hunter2';
    try {
      const req = shellTry(dir, 'printf \'["%s","%s"]\' "${TRAINYARD_FIXTURE_SECRET-unset}" "$PATH" > "$TRAINYARD_RESULT_PATH"');
      await executor.launch(req);
      const fin = await events.finished(req.key);
      expect(fin.result).toEqual(['unset', process.env.PATH]);
    } finally {
      delete process.env.TRAINYARD_FIXTURE_SECRET;
    }
  });

  it('with shell: true runs /bin/sh -c and passes args as positional parameters', async () => {
    make();
    const req = shellTry(dir, '', {
      command: 'printf \'["%s","%s"]\' "$1" "$2" > "$TRAINYARD_RESULT_PATH"',
      args: ['a b', '$(reboot)'],
      shell: true,
    });
    await executor.launch(req);
    expect((await events.finished(req.key)).result).toEqual(['a b', '$(reboot)']);
  });

  it('names a missing working directory when the cwd does not exist', async () => {
    make();
    const req = shellTry(dir, 'true', { cwd: join(dir, 'missing') });
    await executor.launch(req);
    const fin = await events.finished(req.key);
    expect(fin).toMatchObject({ outcome: 'failed', failureClass: 'user_error' });
    expect(fin.reason).toMatch(/working directory .*missing.* does not exist/);
  });

  it('makes the try’s directories before it starts, and fails as config when one cannot be made', async () => {
    make();
    const dirs = [join(dir, 'work', 'a', 'attempt=1'), join(dir, 'ckpt', 'a')];
    const req = { ...shellTry(dir, `test -d '${dirs[0]}' && test -d '${dirs[1]}'`), dirs };
    await executor.launch(req);
    expect(await events.finished(req.key)).toMatchObject({ outcome: 'success' });

    const blocked = { ...shellTry(dir, 'true'), dirs: [join(dir, 'work', 'a', 'attempt=1', 'x'), join(req.logPath, 'under-a-file')] };
    await executor.launch(blocked);
    const fin = await events.finished(blocked.key);
    expect(fin).toMatchObject({ outcome: 'failed', failureClass: 'config' });
    expect(fin.reason).toMatch(/cannot make the try's directories: .*under-a-file/);
  });

  it('makes the folders of tries it is told come next, and a folder that cannot be made still fails the try at its launch', async () => {
    make();
    const next = { ...shellTry(dir, 'true', { logPath: join(dir, 'logs', 'map_index=3', 'attempt=1.log') }), dirs: [join(dir, 'artifacts', 'map_index=3', 'attempt=1')] };
    writeFileSync(join(dir, 'a-file'), '');
    const bad = { ...shellTry(dir, 'true'), dirs: [join(dir, 'a-file', 'under-a-file')] };
    executor.prepare([next, bad]);
    await waitUntil(() => existsSync(next.dirs[0]) && existsSync(dirname(next.logPath)));
    // Told, not launched: nothing ran and no log was written.
    expect(existsSync(next.logPath)).toBe(false);
    expect(events.events).toHaveLength(0);
    await executor.launch(next);
    expect(await events.finished(next.key)).toMatchObject({ outcome: 'success' });
    await executor.launch(bad);
    expect((await events.finished(bad.key)).reason).toMatch(/cannot make the try's directories: .*under-a-file/);
  });

  it('kills the grandchild on timeout (its pid is gone) and reports the signal', async () => {
    make();
    const req = shellTry(dir, 'sleep 100 & echo $! > "$TEST_DIR/gc.pid"; sleep 100', { executionTimeoutMs: 300, killGraceMs: 200 });
    await executor.launch(req);
    const fin = await events.finished(req.key);
    expect(fin).toMatchObject({ outcome: 'failed', failureClass: 'execution_timeout', signal: 'SIGTERM', exitCode: null });
    const gc = Number(await readFile(join(dir, 'gc.pid'), 'utf8'));
    await waitUntil(() => !isProcessAlive(gc), 2000);
    expect(await readFile(req.logPath, 'utf8')).toMatch(/system \| stopping: ran longer than its execution timeout of 300 ms; SIGTERM to process group/);
  });

  it('SIGKILLs a try that ignores SIGTERM after the grace period', async () => {
    make();
    const req = shellTry(dir, 'trap "" TERM; echo $$ > "$TEST_DIR/pid"; while true; do sleep 0.05; done', { killGraceMs: 200 });
    await executor.launch(req);
    await waitUntil(async () => (await readFile(join(dir, 'pid'), 'utf8').catch(() => '')).trim() !== '');
    await executor.cancel(req.key, 'cancelled', 'stop');
    const fin = await events.finished(req.key);
    expect(fin).toMatchObject({ outcome: 'failed', failureClass: 'cancelled', signal: 'SIGKILL' });
  });

  it('stops what a finished try left running in its process group', async () => {
    make();
    const req = shellTry(dir, 'sleep 100 > /dev/null 2>&1 & echo $! > "$TEST_DIR/daemon.pid"', { killGraceMs: 200 });
    await executor.launch(req);
    expect((await events.finished(req.key)).outcome).toBe('success');
    const daemon = Number(await readFile(join(dir, 'daemon.pid'), 'utf8'));
    await waitUntil(() => !isProcessAlive(daemon), 2000);
  });

  it('cancels a queued try without starting it', async () => {
    make({ capacity: { cpu: 1, memoryMb: 1000, gpus: 0 } });
    const first = shellTry(dir, 'sleep 0.3', { key: uniqueKey('first'), resources: { cpu: 1, memoryMb: 1, gpu: 0 } });
    const second = shellTry(dir, 'echo ran > "$TEST_DIR/second"', { key: uniqueKey('second'), resources: { cpu: 1, memoryMb: 1, gpu: 0 } });
    await executor.launch(first);
    await executor.launch(second);
    await executor.cancel(second.key, 'cancelled', 'not needed');
    expect(await events.finished(second.key)).toMatchObject({ outcome: 'failed', failureClass: 'cancelled' });
    expect(events.of(second.key).some((e) => e.type === 'started')).toBe(false);
    await events.finished(first.key);
    await expect(readFile(join(dir, 'second'))).rejects.toThrow();
  });

  describe('adopt', () => {
    const spawnDetachedSleep = (env: Record<string, string>) => {
      const child = spawn('sleep', ['30'], { detached: true, stdio: 'ignore', env: { PATH: process.env.PATH ?? '', ...env } });
      child.unref();
      started.push(child.pid!);
      return child.pid!;
    };

    it('stops a still-running process of the try and reports it not adopted', async () => {
      make({ host: 'box-1', killGraceMs: 200 });
      const key: TryKey = uniqueKey('orphan');
      const pid = spawnDetachedSleep(contractEnv(key, dir));
      const [res] = await executor.adopt([{ key, pid, host: 'box-1', startedAt: Date.now() }]);
      expect(res).toMatchObject({ adopted: false });
      expect((res as { reason: string }).reason).toMatch(new RegExp(`process ${pid} was still running.*stopped it`));
      await waitUntil(() => !isProcessAlive(pid), 2000);
    });

    it('reports a dead process as gone, and leaves a reused pid alone', async () => {
      make({ host: 'box-1' });
      const key = uniqueKey('gone');
      const dead = spawn('true');
      await new Promise((r) => dead.on('exit', r));
      const stranger = spawnDetachedSleep({ SOMETHING: 'else' });
      const other = uniqueKey('elsewhere');
      const results = await executor.adopt([
        { key, pid: dead.pid!, host: 'box-1' },
        { key: uniqueKey('reused'), pid: stranger, host: 'box-1' },
        { key: other, pid: 12345, host: 'box-2' },
        { key: uniqueKey('never-started'), pid: null, host: null },
      ]);
      expect(results[0]).toEqual({ key, adopted: false, reason: `process ${dead.pid} is gone` });
      expect(results[1]).toMatchObject({ adopted: false });
      expect((results[1] as { reason: string }).reason).toMatch(/another process, left alone/);
      expect(isProcessAlive(stranger)).toBe(true);
      expect((results[2] as { reason: string }).reason).toMatch(/host box-2/);
      expect(results[3]).toMatchObject({ adopted: false });
    });

    it('treats a try it is running itself as adopted', async () => {
      make();
      const req = shellTry(dir, 'sleep 0.2');
      await executor.launch(req);
      expect(await executor.adopt([{ key: req.key, pid: 1 }])).toEqual([{ key: req.key, adopted: true }]);
      await events.finished(req.key);
    });
  });

  describe('close', () => {
    it('lets short tries finish, then kills the rest as lost, and refuses new launches', async () => {
      make({ capacity: { cpu: 2, memoryMb: 1000, gpus: 0 } });
      const quick = shellTry(dir, 'sleep 0.1', { key: uniqueKey('quick') });
      const slow = shellTry(dir, 'sleep 30', { key: uniqueKey('slow'), killGraceMs: 200 });
      const queued = shellTry(dir, 'true', { key: uniqueKey('queued'), resources: { cpu: 2, memoryMb: 1, gpu: 0 } });
      await executor.launch(quick);
      await executor.launch(slow);
      await executor.launch(queued);
      await executor.close(600);
      expect((await events.finished(quick.key)).outcome).toBe('success');
      expect(await events.finished(slow.key)).toMatchObject({ outcome: 'failed', failureClass: 'lost', reason: 'scheduler shutting down' });
      expect(await events.finished(queued.key)).toMatchObject({ outcome: 'failed', failureClass: 'lost' });
      const late = shellTry(dir, 'true', { key: uniqueKey('late') });
      await executor.launch(late);
      expect(await events.finished(late.key)).toMatchObject({ outcome: 'failed', failureClass: 'lost' });
      expect(events.of(late.key).some((e) => e.type === 'started')).toBe(false);
    });
  });
});

describe('LocalExecutor with user TypeScript code (worker pool)', () => {
  const fixture = fileURLToPath(new URL('../worker/fixtures/dags.ts', import.meta.url));
  let pool: WorkerPool;
  let dir: string;
  let executor: LocalExecutor;
  let events: EventRecorder;

  beforeAll(() => {
    pool = new WorkerPool({ size: 2, idleMs: 30_000 });
  });
  afterAll(async () => {
    const pids = pool.workerPids();
    await pool.close(500);
    for (const pid of pids) expect(isProcessAlive(pid)).toBe(false);
  });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trainyard-inline-'));
    executor = new LocalExecutor({ capacity: { cpu: 8, memoryMb: 8192, gpus: 0 }, workerPool: pool, killGraceMs: 300 });
    events = new EventRecorder(executor);
  });
  afterEach(async () => {
    await executor.close(300);
    await rm(dir, { recursive: true, force: true });
  });

  const context = (key: TryKey, params: Record<string, unknown> = {}, inputs: Record<string, unknown> = {}): TaskContextData => ({
    dagId: key.dagId,
    runId: key.runId,
    taskId: key.taskId,
    mapIndex: key.mapIndex,
    tryNumber: key.tryNumber,
    ds: '2026-11-21',
    logicalDate: '2026-11-21T00:00:00.000Z',
    dataIntervalStart: '2026-11-20T00:00:00.000Z',
    dataIntervalEnd: '2026-11-21T00:00:00.000Z',
    params,
    conf: {},
    inputs,
    artifactsDir: join(dir, 'artifacts'),
    runArtifactsDir: join(dir, 'run-artifacts'),
    checkpointDir: join(dir, 'ckpt'),
  });

  const inline = (taskId: string, o: { params?: Record<string, unknown>; inputs?: Record<string, unknown> } & Partial<InlineLaunch> = {}): InlineLaunch => {
    const key = { ...uniqueKey(taskId), dagId: 'fixture' };
    const base = shellTry(dir, '', { key });
    return {
      kind: 'inline',
      key,
      env: base.env,
      resources: SMALL_RESOURCES,
      killGraceMs: 300,
      logPath: base.logPath,
      resultPath: base.resultPath,
      resultLimitBytes: 64 * 1024,
      code: { file: fixture, dagId: 'fixture', taskId },
      context: context(key, o.params, o.inputs),
      ...o,
    };
  };

  it('runs an inline function: result, timestamped log with stdout and stderr, telemetry', async () => {
    const req = inline('hello', { inputs: { name: 'ada' } });
    await executor.launch(req);
    const fin = await events.finished(req.key);
    expect(fin).toMatchObject({ outcome: 'success', result: { greeting: 'hi ada' } });
    const start = events.of(req.key).find((e) => e.type === 'started') as { pid: number; external: string };
    expect(pool.workerPids()).toContain(start.pid);
    expect(start.external).toMatch(/^worker-/);
    const log = await readFile(req.logPath, 'utf8');
    expect(log).toMatch(/Z stdout \| hello from an inline task$/m);
    expect(log).toMatch(/Z stdout \| partial line$/m);
    expect(log).toMatch(/Z stderr \| a warning on stderr$/m);
    const telemetry = events.of(req.key).filter((e) => e.type === 'telemetry');
    expect(telemetry.flatMap((e) => (e.type === 'telemetry' ? e.metrics.map((m) => [m.name, m.value, m.step]) : []))).toEqual([['loss', 0.5, 1]]);
    expect(telemetry.some((e) => e.type === 'telemetry' && e.params?.lr === 0.1)).toBe(true);
  });

  it('sets process.env to the try env while the function runs', async () => {
    process.env.TRAINYARD_FIXTURE_LEAK = 'leaked';
    try {
      const req = inline('env');
      await executor.launch(req);
      expect((await events.finished(req.key)).result).toEqual({ taskId: 'env', leaked: null, cuda: null });
    } finally {
      delete process.env.TRAINYARD_FIXTURE_LEAK;
    }
  });

  it('a thrown error fails with user_error and the stack in the log; a skip error skips', async () => {
    const fails = inline('fails');
    const skips = inline('skips');
    await executor.launch(fails);
    await executor.launch(skips);
    const fin = await events.finished(fails.key);
    expect(fin).toMatchObject({ outcome: 'failed', failureClass: 'user_error', reason: 'Error: boom: the model diverged' });
    expect(await readFile(fails.logPath, 'utf8')).toMatch(/boom: the model diverged\n.*at .*dags\.ts:\d+/);
    expect(await events.finished(skips.key)).toMatchObject({ outcome: 'skipped' });
  });

  it('checks the returned value like a result file: size limit and JSON', async () => {
    const big = inline('big', { params: { bytes: 5000 }, resultLimitBytes: 4096 });
    const circular = inline('circular');
    const nothing = inline('nothing');
    await Promise.all([executor.launch(big), executor.launch(circular), executor.launch(nothing)]);
    const fin = await events.finished(big.key);
    expect(fin).toMatchObject({ outcome: 'failed', failureClass: 'result_invalid' });
    expect(fin.reason).toContain('result is 5,002 bytes, over the 4,096-byte limit');
    expect(await events.finished(circular.key)).toMatchObject({ outcome: 'failed', failureClass: 'result_invalid' });
    expect(await events.finished(nothing.key)).toMatchObject({ outcome: 'success', result: null });
  });

  it('times out an inline task by killing its worker (and what it spawned); the pool replaces the worker', async () => {
    const pidFile = join(dir, 'gc.pid');
    const req = inline('spawns', { params: { pidFile }, executionTimeoutMs: 1500 });
    await executor.launch(req);
    const fin = await events.finished(req.key);
    expect(fin).toMatchObject({ outcome: 'failed', failureClass: 'execution_timeout' });
    const start = events.of(req.key).find((e) => e.type === 'started') as { pid: number };
    await waitUntil(() => !isProcessAlive(start.pid), 2000);
    const gc = Number(await readFile(pidFile, 'utf8'));
    await waitUntil(() => !isProcessAlive(gc), 2000);
    const after = inline('hello', { inputs: { name: 'again' } });
    await executor.launch(after);
    expect(await events.finished(after.key)).toMatchObject({ outcome: 'success', result: { greeting: 'hi again' } });
  });

  it('cancels an inline task', async () => {
    const req = inline('sleeps');
    await executor.launch(req);
    await events.waitFor(req.key, 'started');
    await executor.cancel(req.key, 'cancelled', 'not needed any more');
    expect(await events.finished(req.key)).toMatchObject({ outcome: 'failed', failureClass: 'cancelled', reason: 'not needed any more' });
  });

  it('a worker that exits during the task fails the try with user_error', async () => {
    const req = inline('crash');
    await executor.launch(req);
    const fin = await events.finished(req.key);
    expect(fin).toMatchObject({ outcome: 'failed', failureClass: 'user_error', exitCode: 3 });
    expect(fin.reason).toMatch(/worker process running the task exited with code 3/);
  });

  it('renders a command’s args with the DAG file’s functions before spawning', async () => {
    const key = { ...uniqueKey('render'), dagId: 'fixture' };
    const req = shellTry(dir, '', {
      key,
      command: 'echo',
      args: ['replaced'],
      render: { code: { file: fixture, dagId: 'fixture', taskId: 'render' }, context: context(key, { lr: 0.01 }, { data: 's3://b/train.csv' }), args: true, env: false },
    });
    await executor.launch(req);
    expect(await events.finished(key)).toMatchObject({ outcome: 'success' });
    expect(await readFile(req.logPath, 'utf8')).toMatch(/stdout \| --lr 0\.01 --input s3:\/\/b\/train\.csv$/m);
  });

  it('renders a command’s env; the contract env still wins', async () => {
    const key = { ...uniqueKey('render'), dagId: 'fixture' };
    const req = shellTry(dir, 'printf \'["%s","%s"]\' "$MODEL_NAME" "$TRAINYARD_TASK_ID" > "$TRAINYARD_RESULT_PATH"', {
      key,
      render: { code: { file: fixture, dagId: 'fixture', taskId: 'render' }, context: context(key), args: false, env: true },
    });
    await executor.launch(req);
    expect(await events.finished(key)).toMatchObject({ outcome: 'success', result: ['resnet', 'render'] });
  });

  it('fails the try with user_error when rendering throws, with the stack in the log', async () => {
    const key = { ...uniqueKey('renderFails'), dagId: 'fixture' };
    const req = shellTry(dir, 'true', {
      key,
      render: { code: { file: fixture, dagId: 'fixture', taskId: 'renderFails' }, context: context(key), args: true, env: false },
    });
    await executor.launch(req);
    const fin = await events.finished(key);
    expect(fin).toMatchObject({ outcome: 'failed', failureClass: 'user_error' });
    expect(fin.reason).toContain('cannot compute args');
    expect(await readFile(req.logPath, 'utf8')).toMatch(/cannot compute args\n.*at /);
  });
});
