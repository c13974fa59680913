/**
 * The conformance suite every executor must pass (local processes, Kubernetes pods...).
 * Call it from a test file:
 *
 *     executorConformance('LocalExecutor', async () => {
 *       const executor = new LocalExecutor({ capacity: { cpu: 4, memoryMb: 4096, gpus: 0 } });
 *       return { executor, cleanup: () => executor.close(1000) };
 *     });
 *
 * Tasks are `sh -c` scripts, so an executor running them in a container needs an image with
 * a POSIX shell (`opts.image`) and a directory that both the test and the task see
 * (`opts.sharedDir`). An executor that cannot do everything the tests use (a simulated
 * kubelet runs no script) lists what it can in `opts.capabilities`; the tests that need
 * anything else are skipped, each with the capability it lacks and why.
 * Not a runtime module: it imports vitest, so the barrel does not export it.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Resources } from '../core/spec.js';
import { tryKeyString, type CommandLaunch, type Executor, type ExecutorEvent, type TryKey } from './types.js';

/**
 * What an executor under test can do, beyond the contract every executor keeps (results,
 * failure classes, skip codes, cancel, idempotent launch). A test that needs a capability the
 * executor lacks is skipped, and the skip says which one and why.
 */
export const EXECUTOR_CAPABILITIES = {
  taskOutput: "runs the task's own script and shows its stdout, stderr and metric lines in the try log",
  envInResult: 'the task sees the contract env and can write its values into the result',
  sharedFiles: 'the task writes files that the test process can read',
  missingCommand: 'reports a command missing from the task\'s environment',
  processTreeKill: "stops the task's whole process tree on timeout or cancel",
  gpus: 'assigns GPUs and sets CUDA_VISIBLE_DEVICES',
} as const;

export type ExecutorCapability = keyof typeof EXECUTOR_CAPABILITIES;

export const ALL_CAPABILITIES: readonly ExecutorCapability[] = Object.keys(EXECUTOR_CAPABILITIES) as ExecutorCapability[];

export interface ConformanceOptions {
  /** What the executor can do (default: all of them). */
  readonly capabilities?: readonly ExecutorCapability[];
  /** Why it lacks the ones it lacks, by capability; said in the skip. */
  readonly lacking?: Readonly<Partial<Record<ExecutorCapability, string>>>;
  /** Container image for the tasks (a POSIX shell is needed). */
  readonly image?: string;
  /** A fresh directory that both this test process and the tasks can read and write. */
  readonly sharedDir?: () => Promise<string>;
  /** Multiplies the time limits, for slower executors (default 1). */
  readonly timeScale?: number;
}

export interface ExecutorUnderTest {
  readonly executor: Executor;
  cleanup(): Promise<void>;
}

type FinishedEvent = Extract<ExecutorEvent, { type: 'finished' }>;
type StartedEvent = Extract<ExecutorEvent, { type: 'started' }>;

/** Collects an executor's events and waits for them. */
export class EventRecorder {
  readonly events: ExecutorEvent[] = [];
  private waiters: { match: (e: ExecutorEvent) => boolean; resolve: (e: ExecutorEvent) => void }[] = [];

  constructor(executor: Executor) {
    executor.onEvent((e) => {
      this.events.push(e);
      this.waiters = this.waiters.filter((w) => {
        if (!w.match(e)) return true;
        w.resolve(e);
        return false;
      });
    });
  }

  of(key: TryKey): ExecutorEvent[] {
    const k = tryKeyString(key);
    return this.events.filter((e) => tryKeyString(e.key) === k);
  }

  /** Resolves with the first event of this type for the key (one already seen counts). */
  waitFor<T extends ExecutorEvent['type']>(key: TryKey, type: T, timeoutMs = 15_000): Promise<Extract<ExecutorEvent, { type: T }>> {
    const k = tryKeyString(key);
    const match = (e: ExecutorEvent) => e.type === type && tryKeyString(e.key) === k;
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen as Extract<ExecutorEvent, { type: T }>);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${type} event for ${k} within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        match,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e as Extract<ExecutorEvent, { type: T }>);
        },
      });
    });
  }

  finished(key: TryKey, timeoutMs?: number): Promise<FinishedEvent> {
    return this.waitFor(key, 'finished', timeoutMs);
  }
}

let keyCounter = 0;

/** A try key unique within this test process. */
export function uniqueKey(taskId = 'task'): TryKey {
  keyCounter++;
  return { dagId: 'conformance', runId: `run-${process.pid}-${Date.now().toString(36)}-${keyCounter}`, taskId, mapIndex: -1, tryNumber: 1 };
}

/** The contract env of a try, as the scheduler would resolve it. */
export function contractEnv(key: TryKey, dir: string): Record<string, string> {
  return {
    TRAINYARD_DAG_ID: key.dagId,
    TRAINYARD_RUN_ID: key.runId,
    TRAINYARD_TASK_ID: key.taskId,
    TRAINYARD_MAP_INDEX: String(key.mapIndex),
    TRAINYARD_TRY_NUMBER: String(key.tryNumber),
    TRAINYARD_LOGICAL_DATE: '2026-11-21T00:00:00.000Z',
    TRAINYARD_DS: '2026-11-21',
    TRAINYARD_PARAMS: '{}',
    TRAINYARD_RESULT_PATH: join(dir, `${key.taskId}.${key.tryNumber}.result.json`),
    TRAINYARD_ARTIFACTS_URI: `file://${join(dir, 'artifacts')}`,
    TRAINYARD_ARTIFACTS_DIR: join(dir, 'artifacts'),
    TRAINYARD_RUN_ARTIFACTS_DIR: join(dir, 'run-artifacts'),
    TRAINYARD_CHECKPOINT_DIR: join(dir, 'checkpoints', key.taskId),
    TRAINYARD_RESUME: '0',
    TEST_DIR: dir,
  };
}

export const SMALL_RESOURCES: Resources = { cpu: 0.1, memoryMb: 16, gpu: 0 };

/** A command try running `sh -c script`, with its log and result in `dir`. */
export function shellTry(dir: string, script: string, overrides: Partial<CommandLaunch> & { key?: TryKey } = {}): CommandLaunch {
  const key = overrides.key ?? uniqueKey();
  const env = contractEnv(key, dir);
  return {
    kind: 'command',
    key,
    env,
    resources: SMALL_RESOURCES,
    killGraceMs: 500,
    logPath: join(dir, 'logs', `${key.taskId}.${key.tryNumber}.log`),
    resultPath: env.TRAINYARD_RESULT_PATH,
    resultLimitBytes: 64 * 1024,
    command: 'sh',
    args: ['-c', script],
    shell: false,
    ...overrides,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const countLines = async (path: string): Promise<number> =>
  readFile(path, 'utf8').then(
    (t) => t.split('\n').filter((l) => l !== '').length,
    () => 0,
  );

/** Why a test that needs `needs` is skipped for an executor with `opts`' capabilities, or null when it runs. */
export function capabilitySkip(name: string, needs: readonly ExecutorCapability[], opts: ConformanceOptions): string | null {
  const has = new Set(opts.capabilities ?? ALL_CAPABILITIES);
  const missing = needs.filter((c) => !has.has(c));
  if (!missing.length) return null;
  const why = missing.map((c) => `${c} (${EXECUTOR_CAPABILITIES[c]})${opts.lacking?.[c] ? `: ${opts.lacking[c]}` : ''}`);
  return `${name} lacks ${why.join('; ')}`;
}

export function executorConformance(name: string, make: () => Promise<ExecutorUnderTest>, opts: ConformanceOptions = {}): void {
  const scale = opts.timeScale ?? 1;
  const limit = (ms: number) => Math.round(ms * scale);
  /** Skip reasons by test name, for tests that need what the executor lacks. */
  const skips = new Map<string, string>();
  const needs = (caps: readonly ExecutorCapability[], title: string): string => {
    const reason = capabilitySkip(name, caps, opts);
    if (reason) skips.set(title, reason);
    return title;
  };

  describe(`executor conformance: ${name}`, () => {
    let under: ExecutorUnderTest;
    let executor: Executor;
    let events: EventRecorder;
    let dir: string;
    const make1 = (script: string, o: Partial<CommandLaunch> & { key?: TryKey } = {}) =>
      shellTry(dir, script, { ...(opts.image ? { image: opts.image } : {}), ...o });
    const run = async (req: CommandLaunch): Promise<FinishedEvent> => {
      await executor.launch(req);
      return events.finished(req.key, limit(20_000));
    };
    const logOf = (req: CommandLaunch) => readFile(req.logPath, 'utf8');

    beforeEach(async (ctx) => {
      // A skipped test makes no executor and no directory.
      const skip = skips.get(ctx.task.name);
      if (skip) ctx.skip(skip);
      dir = opts.sharedDir ? await opts.sharedDir() : await mkdtemp(join(tmpdir(), 'trainyard-conformance-'));
      under = await make();
      executor = under.executor;
      events = new EventRecorder(executor);
    });

    afterEach(async (ctx) => {
      if (skips.has(ctx.task.name)) return;
      await under.cleanup();
      await rm(dir, { recursive: true, force: true });
    });

    it(needs(['taskOutput'], 'runs a command to success and returns the JSON result it wrote'), async () => {
      const req = make1('echo hello from the task; printf \'{"answer": 42, "tags": ["a"]}\' > "$TRAINYARD_RESULT_PATH"');
      const fin = await run(req);
      expect(fin).toMatchObject({ outcome: 'success', exitCode: 0, result: { answer: 42, tags: ['a'] } });
      const kinds = events.of(req.key).map((e) => e.type);
      expect(kinds.indexOf('started')).toBeGreaterThanOrEqual(0);
      expect(kinds.indexOf('started')).toBeLessThan(kinds.indexOf('finished'));
      const started = events.of(req.key).find((e) => e.type === 'started') as StartedEvent;
      expect(started.pid ?? started.external).toBeTruthy();
      expect(await logOf(req)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z stdout \| hello from the task$/m);
    });

    it('a task that writes no result succeeds with a null result', async () => {
      const fin = await run(make1('true'));
      expect(fin).toMatchObject({ outcome: 'success', result: null });
    });

    it(needs(['taskOutput'], 'a non-zero exit fails with user_error, the exit code, and stderr in the log and reason'), async () => {
      const req = make1('echo "could not load the data set" >&2; exit 3');
      const fin = await run(req);
      expect(fin).toMatchObject({ outcome: 'failed', failureClass: 'user_error', exitCode: 3, signal: null });
      expect(fin.reason).toContain('exited with code 3');
      expect(fin.reason).toContain('could not load the data set');
      expect(await logOf(req)).toMatch(/ stderr \| could not load the data set$/m);
    });

    it('the skip exit code (99 by default, or the declared one) marks the try skipped', async () => {
      expect((await run(make1('exit 99'))).outcome).toBe('skipped');
      expect((await run(make1('exit 42', { skipExitCode: 42 }))).outcome).toBe('skipped');
      const other = await run(make1('exit 99', { skipExitCode: 42 }));
      expect(other).toMatchObject({ outcome: 'failed', failureClass: 'user_error', exitCode: 99 });
    });

    it(needs(['missingCommand'], 'a command that does not exist fails with user_error naming the command'), async () => {
      const fin = await run(make1('', { command: 'trainyard-no-such-command', args: [] }));
      expect(fin).toMatchObject({ outcome: 'failed', failureClass: 'user_error' });
      expect(fin.reason).toContain('trainyard-no-such-command');
      expect(fin.reason).toMatch(/not found|not on PATH|does not exist/);
    });

    it('a result that is not JSON fails with result_invalid', async () => {
      const fin = await run(make1('printf "accuracy=0.9" > "$TRAINYARD_RESULT_PATH"'));
      expect(fin).toMatchObject({ outcome: 'failed', failureClass: 'result_invalid' });
      expect(fin.reason).toMatch(/JSON/);
    });

    it('a result over the limit fails with result_invalid and a message naming the limit', async () => {
      const script = 'printf \'"%s"\' "$(head -c 3000 /dev/zero | tr "\\0" x)" > "$TRAINYARD_RESULT_PATH"';
      const fin = await run(make1(script, { resultLimitBytes: 1000 }));
      expect(fin).toMatchObject({ outcome: 'failed', failureClass: 'result_invalid' });
      expect(fin.reason).toMatch(/1,000-byte limit|1000-byte limit|1000 bytes/);
      expect(fin.reason).toMatch(/artifact/);
    });

    it(needs(['processTreeKill', 'sharedFiles'], 'an execution timeout stops the whole process tree and fails with execution_timeout'), async () => {
      // The grandchild appends a heartbeat every 50 ms; after the try ends it must stop. The
      // timeout leaves a loaded machine time to start the grandchild at all.
      const script = '(while true; do echo beat >> "$TEST_DIR/beat"; sleep 0.05; done) & echo started; wait';
      const req = make1(script, { executionTimeoutMs: limit(1500), killGraceMs: 300 });
      const fin = await run(req);
      expect(fin).toMatchObject({ outcome: 'failed', failureClass: 'execution_timeout' });
      expect(fin.reason).toMatch(/timeout/);
      expect(fin.reason).toMatch(/1,?500 ms|1\.5 s/);
      const beats = await countLines(join(dir, 'beat'));
      expect(beats).toBeGreaterThan(0);
      await sleep(400);
      expect(await countLines(join(dir, 'beat'))).toBe(beats);
    });

    it('cancel stops a running try and reports the given class and reason', async () => {
      const req = make1('echo working; sleep 30', { killGraceMs: 300 });
      await executor.launch(req);
      await events.waitFor(req.key, 'started', limit(15_000));
      await executor.cancel(req.key, 'cancelled', 'cancelled by alice from the UI');
      const fin = await events.finished(req.key, limit(15_000));
      expect(fin).toMatchObject({ outcome: 'failed', failureClass: 'cancelled', reason: 'cancelled by alice from the UI' });
      // Cancelling a finished try is a no-op.
      await executor.cancel(req.key, 'cancelled', 'again');
      expect(events.of(req.key).filter((e) => e.type === 'finished')).toHaveLength(1);
    });

    it(needs(['sharedFiles'], 'launch is idempotent on the try key: one process per key'), async () => {
      const req = make1('echo ran >> "$TEST_DIR/runs"; sleep 0.3');
      await Promise.all([executor.launch(req), executor.launch(req)]);
      await executor.launch({ ...req });
      await events.finished(req.key, limit(20_000));
      await executor.launch(req); // after the end, too
      await sleep(300);
      expect(await countLines(join(dir, 'runs'))).toBe(1);
      expect(events.of(req.key).filter((e) => e.type === 'started')).toHaveLength(1);
      expect(events.of(req.key).filter((e) => e.type === 'finished')).toHaveLength(1);
      // Another try number is another key.
      const retry = { ...req, key: { ...req.key, tryNumber: 2 } };
      await run(retry);
      expect(await countLines(join(dir, 'runs'))).toBe(2);
    });

    it(needs(['envInResult'], 'passes the task contract env to the process'), async () => {
      const key = { ...uniqueKey('features.scale'), mapIndex: 7, tryNumber: 3 };
      const script =
        'printf \'{"dag":"%s","run":"%s","task":"%s","map":"%s","try":"%s","ds":"%s","ckpt":"%s"}\' ' +
        '"$TRAINYARD_DAG_ID" "$TRAINYARD_RUN_ID" "$TRAINYARD_TASK_ID" "$TRAINYARD_MAP_INDEX" "$TRAINYARD_TRY_NUMBER" ' +
        '"$TRAINYARD_DS" "$TRAINYARD_CHECKPOINT_DIR" > "$TRAINYARD_RESULT_PATH"';
      const req = make1(script, { key, env: contractEnv(key, dir), resultPath: contractEnv(key, dir).TRAINYARD_RESULT_PATH });
      const fin = await run(req);
      expect(fin.outcome).toBe('success');
      expect(fin.result).toEqual({
        dag: key.dagId,
        run: key.runId,
        task: 'features.scale',
        map: '7',
        try: '3',
        ds: '2026-11-21',
        ckpt: req.env.TRAINYARD_CHECKPOINT_DIR,
      });
    });

    it(needs(['taskOutput'], 'turns metric and params lines into telemetry events and keeps them in the log'), async () => {
      const script = [
        'echo \'::trainyard::params {"lr": 0.1, "optimizer": "adam"}\'',
        'echo \'::trainyard::metric {"step": 1, "loss": 0.5, "accuracy": 0.8}\'',
        'echo \'::trainyard::metric {"step": 2, "loss": 0.4, "note": "not a number"}\'',
        'echo \'::trainyard::metric {"loss": 0.3}\'',
        'echo \'::trainyard::metric not json\'',
      ].join('; ');
      const req = make1(script);
      const fin = await run(req);
      expect(fin.outcome).toBe('success');
      const telemetry = events.of(req.key).filter((e): e is Extract<ExecutorEvent, { type: 'telemetry' }> => e.type === 'telemetry');
      const points = telemetry.flatMap((e) => e.metrics.map((m) => [m.name, m.value, m.step]));
      expect(points).toEqual([
        ['loss', 0.5, 1],
        ['accuracy', 0.8, 1],
        ['loss', 0.4, 2],
        ['loss', 0.3, null],
      ]);
      expect(Object.assign({}, ...telemetry.map((e) => e.params ?? {}))).toEqual({ lr: 0.1, optimizer: 'adam' });
      const log = await logOf(req);
      expect(log).toContain('stdout | ::trainyard::metric {"step": 1, "loss": 0.5, "accuracy": 0.8}');
      expect(log).toMatch(/warning: metric "note" ignored/);
      expect(log).toMatch(/warning: metric line ignored: it is not valid JSON/);
    });

    it(needs(['gpus'], 'a try that asks for a GPU sees CUDA_VISIBLE_DEVICES'), async (ctx) => {
      if (executor.capacity().gpu.total < 1) ctx.skip(`${name} is configured with no GPUs`);
      const req = make1('printf \'"%s"\' "$CUDA_VISIBLE_DEVICES" > "$TRAINYARD_RESULT_PATH"', {
        resources: { ...SMALL_RESOURCES, gpu: 1 },
      });
      const fin = await run(req);
      expect(fin.outcome).toBe('success');
      expect(fin.result).toMatch(/^\S+$/);
    });
  });
}
