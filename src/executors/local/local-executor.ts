import { EventHub } from '../event-hub.js';
import { fmtMs } from '../format.js';
import { defaultMasker } from '../../observability/mask.js';
/**
 * The local executor: each try is one subprocess on this machine (or, for inline
 * TypeScript tasks, one job in a worker process). It is the embedded default of
 * `trainyard standalone`.
 *
 * How a command try runs:
 * - started by the spawner process (see ../spawner/spawner.ts), so this event loop never
 *   forks; without a shell (with `shell: true`: `/bin/sh -c <command> sh <args…>`, so the
 *   args are the script's positional parameters "$1"… and are never re-parsed by the shell);
 * - detached, so the try leads its own process group, and timeouts, cancels and the end of
 *   the try reach every process it started;
 * - environment: only PATH, HOME, USER, LOGNAME, LANG, LC_ALL, TZ and TMPDIR are inherited
 *   from the scheduler (see env.ts; `inheritEnv` changes the list), then the request's
 *   contract env, then CUDA_VISIBLE_DEVICES;
 * - stdout and stderr go to the try's log, timestamped (see log-writer.ts), and metric and
 *   params lines become `telemetry` events;
 * - when the main process exits, what is left of its process group gets SIGTERM, then
 *   SIGKILL after the grace period: a try does not leave daemons behind.
 *
 * Resources: a try reserves CPU, memory and specific GPU devices when it starts and gives
 * them back when it ends. A launch that does not fit now waits in a FIFO queue (with a
 * `pending_reason` event) rather than oversubscribing; one that can never fit fails at once
 * with class `unschedulable`.
 *
 * Events: `started` is emitted only when a process (or a worker) actually takes the try; a
 * try that fails before that (command not found, args function threw, cancelled while
 * queued) gets only `finished`. The execution timeout counts from the moment resources are
 * reserved, so it covers rendering the args too.
 */
import os from 'node:os';
import { dirname } from 'node:path';
import type { FailureClass } from '../../core/failure.js';
import type { Resources } from '../../core/spec.js';
import { ensureDir } from '../dirs.js';
import { adoptEarlierTry } from './adopt.js';
import { TryLogWriter } from '../log-writer.js';
import { describeSpawnError } from './spawn-error.js';
import {
  tryKeyString,
  type AdoptResult,
  type CommandLaunch,
  type Executor,
  type ExecutorCapacity,
  type ExecutorEvent,
  type InlineLaunch,
  type LaunchRequest,
  type LiveTryRecord,
  type TryKey,
  type TryOutcome,
  type UpcomingTry,
} from '../types.js';
import { sharedSpawner, type SpawnClose, type SpawnedProcess, type Spawner } from '../spawner/spawner.js';
import { WorkerPool, type WorkerTask } from '../worker/pool.js';
import { INHERITED_ENV_VARS, minimalEnv } from './env.js';
import { configuredGpuIds } from './gpus.js';
import { ResourceLedger } from './ledger.js';
import { signalGroup } from './process-tree.js';
import { parseResultText, readInlineResultFile, readResultFile, resultOverMaxMessage, type ResultRead } from './result-file.js';
import { resolveTrySecrets, secretResolverFromEnv, type SecretResolver } from '../../secrets/resolver.js';
import { s3OptionsFromEnv, type ResultStoreSpec } from '../result-store.js';
import type { WorkerResultStore } from '../worker/protocol.js';

export interface LocalExecutorOptions {
  /** Name of this machine in events and records (default os.hostname()). */
  readonly host?: string;
  readonly capacity?: {
    /** Cores (default os.availableParallelism()). */
    readonly cpu?: number;
    /** MiB (default os.totalmem()). */
    readonly memoryMb?: number;
    /** A count n means devices "0".."n-1"; a list names the devices. Default: `nvidia-smi -L`. */
    readonly gpus?: number | readonly string[];
  };
  /** Grace between SIGTERM and SIGKILL for adopt() and close(), and for requests without one (default 10 s). */
  readonly killGraceMs?: number;
  /** Runs inline tasks and args/env functions. Default: a pool this executor makes, and closes. */
  readonly workerPool?: WorkerPool;
  /** Starts command processes. Default: this process's shared spawner (see spawner.ts). */
  readonly spawner?: Spawner;
  /** Clock for event times and log timestamps (default Date.now). */
  readonly now?: () => number;
  /** Variables inherited from this process's environment (default: see env.ts). */
  readonly inheritEnv?: readonly string[];
  /** Where `secret()` and `secretRef()` env values come from (default: TRAINYARD_SECRET_*, then TRAINYARD_SECRETS_FILE). */
  readonly secrets?: SecretResolver;
  /**
   * The artifact store for results over a try's inline limit, which are written there and
   * passed on as references (S3 settings default to this process's environment). Without
   * it such results fail the try.
   */
  readonly resultStore?: ResultStoreSpec;
}

/** The exit code that marks a try skipped when the request names none. */
export const DEFAULT_SKIP_EXIT_CODE = 99;

/** How many finished keys are remembered for launch idempotency. */
const FINISHED_KEYS_KEPT = 200_000;

interface Finish {
  readonly outcome: TryOutcome;
  readonly exitCode?: number | null;
  readonly signal?: string | null;
  readonly failureClass?: FailureClass;
  readonly reason?: string;
  readonly result?: unknown;
}

interface LiveTry {
  readonly key: TryKey;
  readonly keyString: string;
  readonly req: LaunchRequest;
  phase: 'queued' | 'starting' | 'running' | 'done';
  reserved: boolean;
  gpuIds: string[];
  log?: TryLogWriter;
  process?: SpawnedProcess;
  pid?: number;
  workerTask?: WorkerTask;
  /** Set when Trainyard stops the try (timeout, cancel, shutdown): decides its class. */
  kill?: { readonly failureClass: FailureClass; readonly reason: string };
  timers: NodeJS.Timeout[];
  readonly done: Promise<void>;
  resolveDone(): void;
}


export class LocalExecutor implements Executor {
  readonly name = 'local';
  /** Its workers read stored results before a try starts. */
  readonly readsStoredResults: boolean = true;
  readonly host: string;
  private readonly ledger: ResourceLedger;
  private readonly killGraceMs: number;
  private readonly now: () => number;
  private readonly baseEnv: Readonly<Record<string, string>>;
  private readonly events = new EventHub();
  private readonly live = new Map<string, LiveTry>();
  private readonly queue: LiveTry[] = [];
  private readonly finishedKeys = new Set<string>();
  private pool?: WorkerPool;
  private secrets?: SecretResolver;
  private readonly ownsPool: boolean;
  private readonly spawner: Spawner;
  private readonly resultStore?: ResultStoreSpec;
  private closed = false;
  /** Tries holding resources (started, not yet finished). */
  private running = 0;

  constructor(options: LocalExecutorOptions = {}) {
    this.host = options.host ?? os.hostname();
    const cpu = options.capacity?.cpu ?? os.availableParallelism();
    const memoryMb = options.capacity?.memoryMb ?? Math.floor(os.totalmem() / (1024 * 1024));
    this.ledger = new ResourceLedger(cpu, memoryMb, configuredGpuIds(options.capacity?.gpus));
    this.killGraceMs = options.killGraceMs ?? 10_000;
    this.now = options.now ?? Date.now;
    this.baseEnv = minimalEnv(options.inheritEnv ?? INHERITED_ENV_VARS);
    this.pool = options.workerPool;
    this.secrets = options.secrets;
    this.ownsPool = options.workerPool === undefined;
    // Command processes are started by a spawner process, never by this event loop.
    this.spawner = options.spawner ?? sharedSpawner();
    const rs = options.resultStore;
    this.resultStore = rs && { ...rs, s3: rs.s3 ?? s3OptionsFromEnv(rs.uri) };
  }

  /** The artifact store as a worker job carries it. */
  private workerResults(req: LaunchRequest): WorkerResultStore | undefined {
    return this.resultStore && { store: this.resultStore, limitBytes: req.resultLimitBytes };
  }

  /**
   * Reads a try's result file. One over the inline limit goes to the artifact store through a
   * worker, which checks it is JSON there: a large result is never parsed in this process.
   */
  private async readResult(t: LiveTry, req: LaunchRequest): Promise<ResultRead> {
    const results = this.workerResults(req);
    if (!results) return readResultFile(req.resultPath, req.resultLimitBytes);
    const inline = await readInlineResultFile(req.resultPath, req.resultLimitBytes);
    if (!('large' in inline)) return inline;
    const size = inline.large;
    if (size > results.store.maxBytes) return { ok: false, message: resultOverMaxMessage(size, results.store.maxBytes) };
    const task = this.workerPool().submit({ kind: 'store_result', key: req.key, resultPath: req.resultPath, results }, { onOutput: (stream, data) => t.log?.write(stream, data) });
    t.workerTask = task;
    const o = await task.outcome;
    t.workerTask = undefined;
    if (o.status === 'ok') return parseResultText(o.resultJson ?? 'null', req.resultLimitBytes);
    if (o.status === 'error') return { ok: false, message: o.error.message };
    return { ok: false, message: `the worker storing the result in the artifact store ${o.status === 'cancelled' ? 'was stopped first' : 'exited'}` };
  }

  onEvent(listener: (event: ExecutorEvent) => void): void {
    this.events.on(listener);
  }

  private emit(event: ExecutorEvent): void {
    this.events.emit(event);
  }

  hasCapacity(resources: Resources): boolean {
    return !this.closed && this.queue.length === 0 && this.ledger.fits(resources);
  }

  capacity(): ExecutorCapacity {
    const used = this.ledger.usage();
    return {
      cpu: { used: used.cpu, total: this.ledger.cpuTotal },
      memoryMb: { used: used.memoryMb, total: this.ledger.memoryMbTotal },
      gpu: { used: used.gpu, total: this.ledger.gpuIds.length },
      running: this.running,
    };
  }

  private workerPool(): WorkerPool {
    this.pool ??= new WorkerPool({ size: Math.max(1, Math.min(4, Math.floor(this.ledger.cpuTotal))) });
    return this.pool;
  }

  // ---- launch -------------------------------------------------------------------------

  /**
   * Makes the folders of tries that come next, so that they are there by the time the try
   * launches: on a full machine that takes their mkdirs off the path from one try's end to
   * the next one's start. A folder that cannot be made fails the try at its launch.
   */
  prepare(tries: readonly UpcomingTry[]): void {
    if (this.closed) return;
    for (const t of tries) {
      for (const dir of [...(t.dirs ?? []), dirname(t.logPath)]) ensureDir(dir).catch(() => undefined);
    }
  }

  async launch(req: LaunchRequest): Promise<void> {
    // Values of env vars whose names look secret never appear in logs.
    defaultMasker.addEnv(req.env);
    const keyString = tryKeyString(req.key);
    if (this.live.has(keyString) || this.finishedKeys.has(keyString)) return;
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    const t: LiveTry = { key: req.key, keyString, req, phase: 'queued', reserved: false, gpuIds: [], timers: [], done, resolveDone };
    this.live.set(keyString, t);
    if (this.closed) {
      await this.finish(t, { outcome: 'failed', failureClass: 'lost', reason: 'the executor is shutting down; the try was not started' });
      return;
    }
    const never = this.ledger.neverFits(req.resources);
    if (never) {
      await this.finish(t, { outcome: 'failed', failureClass: 'unschedulable', reason: `${never}; lower its resources or run it on a bigger machine` });
      return;
    }
    if (this.queue.length === 0 && this.ledger.fits(req.resources)) {
      await this.start(t);
    } else {
      this.queue.push(t);
      this.emit({ type: 'pending_reason', key: t.key, reason: `waiting for ${this.ledger.shortfall(req.resources) || 'earlier tries to start'} on ${this.host}` });
    }
  }

  /** Starts queued tries that now fit, in order; stops at the first that does not. */
  private drainQueue(): void {
    while (this.queue.length > 0 && this.ledger.fits(this.queue[0].req.resources)) {
      const t = this.queue.shift()!;
      this.start(t).catch((err: unknown) =>
        this.finish(t, { outcome: 'failed', failureClass: 'lost', reason: `the local executor failed to start the try: ${String(err)}` }),
      );
    }
  }

  private async start(t: LiveTry): Promise<void> {
    t.phase = 'starting';
    t.gpuIds = this.ledger.reserve(t.req.resources);
    t.reserved = true;
    this.running++;
    const timeout = t.req.executionTimeoutMs;
    if (timeout !== undefined && timeout > 0) {
      const timer = setTimeout(() => void this.stop(t, 'execution_timeout', `ran longer than its execution timeout of ${fmtMs(timeout)}`), timeout);
      t.timers.push(timer);
    }
    // The try's directories are made while its log opens.
    const dirs = Promise.all((t.req.dirs ?? []).map(ensureDir)).then(
      () => undefined,
      (err: Error) => err,
    );
    try {
      t.log = await TryLogWriter.open(t.req.logPath, {
        now: this.now,
        onTelemetry: (metrics, params) => this.emit({ type: 'telemetry', key: t.key, metrics, ...(params ? { params } : {}) }),
      });
    } catch (err) {
      await this.finish(t, { outcome: 'failed', failureClass: 'config', reason: `cannot open the log file ${t.req.logPath}: ${(err as Error).message}` });
      return;
    }
    const dirError = await dirs;
    if (dirError) return this.finish(t, { outcome: 'failed', failureClass: 'config', reason: `cannot make the try's directories: ${dirError.message}` });
    if (t.kill) return this.finish(t, { outcome: 'failed', failureClass: t.kill.failureClass, reason: t.kill.reason });
    // Not awaited: launch() returns once the process is spawned (or the job handed to the
    // worker pool); rendering args in a worker must not hold the caller.
    const running = t.req.kind === 'inline' ? this.runInline(t, t.req) : this.runCommand(t, t.req);
    running.catch((err: unknown) =>
      this.finish(t, { outcome: 'failed', failureClass: 'lost', reason: `the local executor failed while running the try: ${String((err as Error)?.stack ?? err)}` }),
    );
  }

  /** The try's environment: inherited basics, the contract env, extra env, GPUs. */
  private envFor(t: LiveTry, extra?: Readonly<Record<string, string>>): Record<string, string> {
    const env: Record<string, string> = { ...this.baseEnv, ...extra, ...t.req.env };
    // The largest result this try may write: the task helpers check it before writing.
    env.TRAINYARD_RESULT_LIMIT_BYTES = String(this.resultStore?.maxBytes ?? t.req.resultLimitBytes);
    if (t.req.resources.gpu > 0) env.CUDA_VISIBLE_DEVICES = t.gpuIds.join(',');
    else if (this.ledger.gpuIds.length > 0) env.CUDA_VISIBLE_DEVICES = '';
    return env;
  }

  // ---- commands -----------------------------------------------------------------------

  private async runCommand(t: LiveTry, req: CommandLaunch): Promise<void> {
    const log = t.log!;
    // Secrets are read now, and registered with the masker before any output is logged.
    const secrets = await resolveTrySecrets(req.secretEnv, () => (this.secrets ??= secretResolverFromEnv()), 'local');
    if ('error' in secrets) return this.finish(t, { outcome: 'failed', failureClass: 'config', reason: secrets.error });
    let args: readonly string[] = req.args;
    let command = req.command;
    let renderedEnv: Record<string, string> | undefined;
    if (req.render && (req.render.args || req.render.env || req.deferred)) {
      const { code, context } = req.render;
      const task = this.workerPool().submit(
        { kind: 'render', code, context, env: this.envFor(t), want: { args: req.render.args, env: req.render.env }, deferred: req.deferred, results: this.workerResults(req) },
        { onOutput: (stream, data) => log.write(stream, data) },
      );
      t.workerTask = task;
      const o = await task.outcome;
      t.workerTask = undefined;
      if (t.kill) return this.finish(t, { outcome: 'failed', failureClass: t.kill.failureClass, reason: t.kill.reason });
      if (o.status !== 'ok') {
        let reason: string;
        if (o.status === 'error') {
          log.system(`computing the command's ${req.render.args ? 'args' : 'env'} failed:\n${o.error.stack ?? `${o.error.name}: ${o.error.message}`}`);
          reason = `computing the command's arguments failed: ${o.error.name}: ${o.error.message}`;
        } else if (o.status === 'worker_exit') {
          reason = `the worker computing the command's arguments exited (${o.signal ?? `code ${o.exitCode}`})${o.stderrTail ? `: ${o.stderrTail.trim()}` : ''}`;
        } else {
          reason = 'the worker pool closed before the command could start';
          return this.finish(t, { outcome: 'failed', failureClass: 'lost', reason });
        }
        return this.finish(t, { outcome: 'failed', failureClass: o.status === 'error' && o.kind === 'upstream_unavailable' ? o.kind : 'user_error', reason });
      }
      if (o.rendered?.command !== undefined) command = o.rendered.command;
      if (o.rendered?.args) args = o.rendered.args;
      renderedEnv = o.rendered?.env;
    }

    const [file, argv] = req.shell ? ['/bin/sh', ['-c', command, 'sh', ...args]] : [command, [...args]];
    t.process = this.spawner.spawn(
      { file, args: argv, cwd: req.cwd, env: this.envFor(t, { ...renderedEnv, ...secrets.values }), leftoverGraceMs: req.killGraceMs ?? this.killGraceMs },
      {
        onSpawn: (pid) => {
          t.pid = pid;
          t.phase = 'running';
          log.system(`started ${req.shell ? `/bin/sh -c ${JSON.stringify(command)}` : JSON.stringify(command)} as process ${pid} on ${this.host}`);
          this.emit({ type: 'started', key: t.key, at: this.now(), host: this.host, pid });
          // A cancel that came while the args were being rendered or the process was starting.
          if (t.kill) this.signalTry(t);
        },
        onOutput: (stream, data) => log.write(stream, data),
        onClose: (close) => void this.onCommandClose(t, req, close),
      },
    );
  }

  private async onCommandClose(t: LiveTry, req: CommandLaunch, close: SpawnClose): Promise<void> {
    const { code, signal, spawnError } = close;
    if (spawnError) {
      const reason = spawnError.kind === 'invalid' ? `the command could not be started: ${spawnError.message}` : await describeSpawnError(req, spawnError, { ...this.baseEnv, ...req.env });
      return this.finish(t, { outcome: 'failed', failureClass: 'user_error', reason });
    }
    if (close.lost) return this.finish(t, { outcome: 'failed', failureClass: 'lost', reason: close.lost });
    if (t.kill) return this.finish(t, { outcome: 'failed', failureClass: t.kill.failureClass, reason: t.kill.reason, exitCode: code, signal });
    const tail = () => {
      const lines = t.log?.stderrTail() ?? [];
      return lines.length > 0 ? `; last stderr lines:\n${lines.join('\n')}` : '';
    };
    if (signal) {
      const hint = signal === 'SIGKILL' ? ' (by the out-of-memory killer or by something outside Trainyard)' : '';
      return this.finish(t, { outcome: 'failed', failureClass: 'user_error', exitCode: null, signal, reason: `killed by signal ${signal}${hint}${tail()}` });
    }
    const skipCode = req.skipExitCode ?? DEFAULT_SKIP_EXIT_CODE;
    if (code === skipCode) return this.finish(t, { outcome: 'skipped', exitCode: code, signal: null, reason: `exited with skip code ${code}` });
    if (code !== 0) return this.finish(t, { outcome: 'failed', failureClass: 'user_error', exitCode: code, signal: null, reason: `exited with code ${code}${tail()}` });
    const read = await this.readResult(t, req);
    // Stopped while a worker was storing the result (t.kill is set by stop(), across the await).
    const stopped = t.kill as LiveTry['kill'];
    if (stopped) return this.finish(t, { outcome: 'failed', failureClass: stopped.failureClass, reason: stopped.reason, exitCode: 0, signal: null });
    if (!read.ok) return this.finish(t, { outcome: 'failed', failureClass: 'result_invalid', exitCode: 0, signal: null, reason: read.message });
    return this.finish(t, { outcome: 'success', exitCode: 0, signal: null, result: read.value });
  }

  // ---- inline tasks -------------------------------------------------------------------

  private runInline(t: LiveTry, req: InlineLaunch): Promise<void> {
    const log = t.log!;
    const task = this.workerPool().submit(
      { kind: 'run', code: req.code, context: req.context, env: this.envFor(t), deferred: req.deferred, results: this.workerResults(req) },
      {
        onStart: (worker) => {
          t.pid = worker.pid;
          t.phase = 'running';
          log.system(`started inline function ${req.code.taskId} of ${req.code.file} in ${worker.id} (process ${worker.pid}) on ${this.host}`);
          this.emit({ type: 'started', key: t.key, at: this.now(), host: this.host, pid: worker.pid, external: worker.id });
        },
        onOutput: (stream, data) => log.write(stream, data),
      },
    );
    t.workerTask = task;
    return task.outcome.then(async (o) => {
      if (t.kill) return this.finish(t, { outcome: 'failed', failureClass: t.kill.failureClass, reason: t.kill.reason, exitCode: null, signal: o.status === 'worker_exit' ? o.signal : null });
      switch (o.status) {
        case 'ok': {
          const read = o.resultJson != null ? parseResultText(o.resultJson, req.resultLimitBytes) : await this.readResult(t, req);
          if (!read.ok) return this.finish(t, { outcome: 'failed', failureClass: 'result_invalid', reason: read.message });
          return this.finish(t, { outcome: 'success', result: read.value });
        }
        case 'error':
          if (o.skip) return this.finish(t, { outcome: 'skipped', reason: `skipped: ${o.error.message}` });
          log.system(`the task failed:\n${o.error.stack ?? `${o.error.name}: ${o.error.message}`}`);
          return this.finish(t, { outcome: 'failed', failureClass: o.kind, reason: `${o.error.name}: ${o.error.message}` });
        case 'worker_exit': {
          const how = o.signal ? `was killed by signal ${o.signal}` : `exited with code ${o.exitCode}`;
          return this.finish(t, {
            outcome: 'failed',
            failureClass: 'user_error',
            exitCode: o.exitCode,
            signal: o.signal,
            reason: `the worker process running the task ${how}${o.stderrTail ? `: ${o.stderrTail.trim()}` : ''}`,
          });
        }
        case 'cancelled':
          return this.finish(t, { outcome: 'failed', failureClass: 'lost', reason: 'the worker pool closed before the task ran' });
      }
    });
  }

  // ---- stopping -----------------------------------------------------------------------

  async cancel(key: TryKey, failureClass: FailureClass, reason: string): Promise<void> {
    const t = this.live.get(tryKeyString(key));
    if (t) await this.stop(t, failureClass, reason);
  }

  /** Stops a try with the given class; resolves when it has finished. */
  private stop(t: LiveTry, failureClass: FailureClass, reason: string): Promise<void> {
    if (t.phase === 'done' || t.kill) return t.done;
    t.kill = { failureClass, reason };
    if (t.phase === 'queued') {
      this.queue.splice(this.queue.indexOf(t), 1);
      void this.finish(t, { outcome: 'failed', failureClass, reason });
    } else {
      this.signalTry(t);
    }
    return t.done;
  }

  /** SIGTERM to the try's group (or its worker), SIGKILL after the grace period. */
  private signalTry(t: LiveTry): void {
    const grace = t.req.killGraceMs ?? this.killGraceMs;
    if (t.workerTask) {
      t.log?.system(`stopping: ${t.kill!.reason}; SIGTERM to the worker, SIGKILL after ${fmtMs(grace)}`);
      void t.workerTask.kill(grace);
      return;
    }
    const pid = t.process?.pid();
    if (pid === undefined) return; // not spawned yet: runCommand/start and onSpawn check t.kill
    t.log?.system(`stopping: ${t.kill!.reason}; SIGTERM to process group ${pid}, SIGKILL after ${fmtMs(grace)}`);
    signalGroup(pid, 'SIGTERM');
    t.timers.push(
      setTimeout(() => {
        if (signalGroup(pid, 'SIGKILL')) t.log?.system(`process group ${pid} still running after ${fmtMs(grace)}; sent SIGKILL`);
        // Pipes held by a process that left the group must not keep the try open.
        t.timers.push(
          setTimeout(() => t.process?.releasePipes(), 1000),
        );
      }, grace),
    );
  }

  private async finish(t: LiveTry, f: Finish): Promise<void> {
    if (t.phase === 'done') return;
    t.phase = 'done';
    for (const timer of t.timers) clearTimeout(timer);
    if (t.log) {
      const what =
        f.outcome === 'success' ? 'succeeded' : f.outcome === 'skipped' ? `skipped (${f.reason})` : `failed [${f.failureClass}]: ${f.reason}`;
      t.log.system(`try ${what}`);
      await t.log.close();
    }
    if (t.reserved) {
      this.ledger.release(t.req.resources, t.gpuIds);
      t.reserved = false;
      this.running--;
    }
    this.live.delete(t.keyString);
    this.rememberFinished(t.keyString);
    this.emit({
      type: 'finished',
      key: t.key,
      at: this.now(),
      outcome: f.outcome,
      exitCode: f.exitCode ?? null,
      signal: f.signal ?? null,
      ...(f.failureClass ? { failureClass: f.failureClass } : {}),
      ...(f.reason !== undefined ? { reason: f.reason } : {}),
      ...(f.outcome === 'success' ? { result: f.result ?? null } : {}),
    });
    t.resolveDone();
    if (!this.closed) this.drainQueue();
  }

  private rememberFinished(keyString: string): void {
    this.finishedKeys.add(keyString);
    if (this.finishedKeys.size > FINISHED_KEYS_KEPT) {
      const oldest = this.finishedKeys.values().next().value;
      if (oldest !== undefined) this.finishedKeys.delete(oldest);
    }
  }

  // ---- restart and shutdown -----------------------------------------------------------

  /** Tries from an earlier scheduler process: see adopt.ts. */
  async adopt(records: readonly LiveTryRecord[]): Promise<AdoptResult[]> {
    return Promise.all(
      records.map((r) => (this.live.has(tryKeyString(r.key)) ? { key: r.key, adopted: true } : adoptEarlierTry(r, this.host, this.killGraceMs))),
    );
  }

  async close(graceMs: number = this.killGraceMs): Promise<void> {
    this.closed = true;
    for (const t of this.queue.splice(0)) {
      t.kill = { failureClass: 'lost', reason: 'scheduler shutting down' };
      await this.finish(t, { outcome: 'failed', failureClass: 'lost', reason: 'scheduler shutting down' });
    }
    const running = [...this.live.values()];
    if (running.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(running.map((t) => t.done)), new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
    }
    await Promise.all([...this.live.values()].map((t) => this.stop(t, 'lost', 'scheduler shutting down')));
    if (this.ownsPool && this.pool) await this.pool.close(this.killGraceMs);
  }
}
