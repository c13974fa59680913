/**
 * A pool of reusable Node processes that run user TypeScript code: inline task bodies and
 * the functions that compute a command's args and env. User code never runs in the
 * scheduler's event loop; a hung or crashing task takes down only its worker, which the pool
 * replaces.
 *
 * - Workers start lazily, up to `size`, and are reused; each runs one job at a time.
 * - Jobs beyond `size` wait in a FIFO queue.
 * - A worker that sat idle for `idleMs`, or ran `maxTasksPerWorker` jobs, is retired.
 * - Each worker leads its own process group (detached), so killing a job also kills the
 *   processes its code started.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { minimalEnv } from '../local/env.js';
import { signalGroup, terminateGroup } from '../local/process-tree.js';
import type { TaskContextData, UserCodeRef } from '../types.js';
import type { DeferredValues } from '../deferred.js';
import type { DoneMessage, ParentMessage, SerializedError, StoreResultMessage, WorkerFailureKind, WorkerJobKind, WorkerMessage, WorkerResultStore } from './protocol.js';

export interface WorkerPoolOptions {
  /** Most worker processes alive at once. */
  readonly size: number;
  /** A worker idle this long exits (default 60 s). */
  readonly idleMs?: number;
  /** A worker is replaced after this many jobs, to bound leaks in user code (default 1000). */
  readonly maxTasksPerWorker?: number;
  /** Environment of the worker processes themselves (default: the minimal inherited env). */
  readonly env?: Readonly<Record<string, string>>;
}

export interface WorkerJob {
  readonly kind: WorkerJobKind;
  readonly code: UserCodeRef;
  readonly context: TaskContextData;
  /** process.env while the job runs. */
  readonly env: Readonly<Record<string, string>>;
  /** For render jobs: which functions to call. */
  readonly want?: { readonly args: boolean; readonly env: boolean };
  /** Values reading offloaded upstream results, evaluated in the worker (see protocol.ts). */
  readonly deferred?: DeferredValues;
  readonly results?: WorkerResultStore;
}

/** A job that runs no user code: see StoreResultMessage. */
export type StoreResultJob = Omit<StoreResultMessage, 'type' | 'id'>;

export interface WorkerJobHooks {
  /** The job was handed to a worker. */
  readonly onStart?: (worker: { readonly id: string; readonly pid: number }) => void;
  /** Output the job's code printed. */
  readonly onOutput?: (stream: 'stdout' | 'stderr', data: string) => void;
}

export type WorkerOutcome =
  | { readonly status: 'ok'; readonly resultJson?: string | null; readonly rendered?: { command?: string; args?: string[]; env?: Record<string, string> } }
  | { readonly status: 'error'; readonly error: SerializedError; readonly skip: boolean; readonly kind: WorkerFailureKind }
  /** The worker died while running the job (killed by `kill()`, or crashed). */
  | {
      readonly status: 'worker_exit';
      readonly exitCode: number | null;
      readonly signal: string | null;
      readonly killed: boolean;
      /** Last lines the worker wrote outside any job capture (e.g. a loader error). */
      readonly stderrTail: string;
    }
  /** Killed before any worker took it, or the pool closed. */
  | { readonly status: 'cancelled' };

export interface WorkerTask {
  readonly outcome: Promise<WorkerOutcome>;
  /** Stops the job: SIGTERM to its worker's group, SIGKILL after graceMs. Resolves when it is gone. */
  kill(graceMs: number): Promise<void>;
}

interface PendingJob {
  readonly id: number;
  readonly job: WorkerJob | StoreResultJob;
  readonly hooks: WorkerJobHooks;
  readonly resolve: (o: WorkerOutcome) => void;
  worker?: PooledWorker;
  killRequested: boolean;
  settled: boolean;
}

interface PooledWorker {
  readonly id: string;
  readonly child: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<void>;
  job?: PendingJob;
  jobsRun: number;
  idleTimer?: NodeJS.Timeout;
  alive: boolean;
  /** Output seen while no job ran. */
  looseStderr: string;
}

/** The worker entry next to this module: compiled `.js` when present, else the `.ts` source. */
function workerEntry(): string {
  const js = fileURLToPath(new URL('./worker-main.js', import.meta.url));
  if (existsSync(js)) return js;
  return fileURLToPath(new URL('./worker-main.ts', import.meta.url));
}

/** tsx's ESM loader, resolved from this package, so workers can import `.ts` DAG files. */
function tsxLoaderUrl(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
}

let nextWorkerNumber = 1;

export class WorkerPool {
  private readonly size: number;
  private readonly idleMs: number;
  private readonly maxTasksPerWorker: number;
  private readonly env: Readonly<Record<string, string>>;
  private readonly entry = workerEntry();
  private readonly execArgv = ['--import', tsxLoaderUrl()];
  private readonly workers = new Set<PooledWorker>();
  private readonly queue: PendingJob[] = [];
  private nextJobId = 1;
  private closed = false;

  constructor(options: WorkerPoolOptions) {
    if (!Number.isInteger(options.size) || options.size < 1) throw new RangeError(`worker pool size must be a positive integer, got ${options.size}`);
    this.size = options.size;
    this.idleMs = options.idleMs ?? 60_000;
    this.maxTasksPerWorker = options.maxTasksPerWorker ?? 1000;
    this.env = options.env ?? minimalEnv();
  }

  /** Live worker processes, for metrics and tests. */
  workerPids(): number[] {
    return [...this.workers].filter((w) => w.alive).map((w) => w.pid);
  }

  /** Jobs waiting for a free worker. */
  queued(): number {
    return this.queue.length;
  }

  submit(job: WorkerJob | StoreResultJob, hooks: WorkerJobHooks = {}): WorkerTask {
    let resolve!: (o: WorkerOutcome) => void;
    const outcome = new Promise<WorkerOutcome>((r) => (resolve = r));
    const pending: PendingJob = { id: this.nextJobId++, job, hooks, resolve, killRequested: false, settled: false };
    if (this.closed) {
      this.settle(pending, { status: 'cancelled' });
    } else {
      this.queue.push(pending);
      this.drain();
    }
    return { outcome, kill: (graceMs) => this.killJob(pending, graceMs) };
  }

  private settle(job: PendingJob, o: WorkerOutcome): void {
    if (job.settled) return;
    job.settled = true;
    job.resolve(o);
  }

  private async killJob(job: PendingJob, graceMs: number): Promise<void> {
    if (job.settled) return;
    job.killRequested = true;
    const worker = job.worker;
    if (!worker) {
      const i = this.queue.indexOf(job);
      if (i >= 0) this.queue.splice(i, 1);
      this.settle(job, { status: 'cancelled' });
      return;
    }
    await terminateGroup(worker.pid, graceMs, worker.exited);
  }

  private drain(): void {
    while (this.queue.length > 0) {
      let worker = [...this.workers].find((w) => w.alive && !w.job);
      if (!worker) {
        if (this.workers.size >= this.size) return;
        worker = this.spawnWorker();
      }
      const job = this.queue.shift()!;
      this.assign(worker, job);
    }
  }

  private spawnWorker(): PooledWorker {
    const child = fork(this.entry, [], {
      execArgv: this.execArgv,
      env: this.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    let onExit!: () => void;
    const exited = new Promise<void>((r) => (onExit = r));
    const worker: PooledWorker = {
      id: `worker-${process.pid}-${nextWorkerNumber++}`,
      child,
      pid: child.pid ?? -1,
      exited,
      jobsRun: 0,
      alive: true,
      looseStderr: '',
    };
    this.workers.add(worker);
    child.on('message', (msg: WorkerMessage) => this.onMessage(worker, msg));
    // Output that bypassed the capture (native code, child processes sharing the fds).
    const onRaw = (stream: 'stdout' | 'stderr') => (data: Buffer) => {
      const text = data.toString('utf8');
      if (worker.job?.hooks.onOutput) worker.job.hooks.onOutput(stream, text);
      else if (stream === 'stderr') worker.looseStderr = (worker.looseStderr + text).slice(-2000);
    };
    child.stdout!.on('data', onRaw('stdout'));
    child.stderr!.on('data', onRaw('stderr'));
    child.on('error', () => {
      // A failed fork (no pid) never emits exit on some platforms; treat it as exited.
      if (child.pid === undefined) this.onWorkerExit(worker, null, null, onExit);
    });
    child.on('exit', (code, signal) => this.onWorkerExit(worker, code, signal, onExit));
    return worker;
  }

  private assign(worker: PooledWorker, job: PendingJob): void {
    clearTimeout(worker.idleTimer);
    worker.job = job;
    job.worker = worker;
    const msg: ParentMessage = { type: 'job', id: job.id, ...job.job };
    worker.child.send(msg);
    job.hooks.onStart?.({ id: worker.id, pid: worker.pid });
  }

  private onMessage(worker: PooledWorker, msg: WorkerMessage): void {
    const job = worker.job;
    if (!job || msg.id !== job.id) return;
    if (msg.type === 'out') {
      job.hooks.onOutput?.(msg.stream, msg.data);
      return;
    }
    this.onDone(worker, job, msg);
  }

  private onDone(worker: PooledWorker, job: PendingJob, msg: DoneMessage): void {
    if (job.killRequested) return; // the kill decides the outcome, when the worker exits
    worker.job = undefined;
    worker.jobsRun++;
    this.settle(
      job,
      msg.ok
        ? { status: 'ok', ...(msg.resultJson !== undefined ? { resultJson: msg.resultJson } : {}), ...(msg.rendered ? { rendered: msg.rendered } : {}) }
        : { status: 'error', error: msg.error, skip: msg.skip, kind: msg.kind },
    );
    if (worker.jobsRun >= this.maxTasksPerWorker) this.retire(worker);
    else if (this.queue.length > 0) this.drain();
    else {
      worker.idleTimer = setTimeout(() => this.retire(worker), this.idleMs);
      worker.idleTimer.unref();
    }
  }

  private retire(worker: PooledWorker): void {
    if (!worker.alive || worker.job) return;
    worker.alive = false; // not handed new jobs
    void terminateGroup(worker.pid, 2000, worker.exited);
    this.drain();
  }

  private onWorkerExit(worker: PooledWorker, code: number | null, signal: string | null, onExit: () => void): void {
    if (!this.workers.has(worker)) return;
    this.workers.delete(worker);
    worker.alive = false;
    clearTimeout(worker.idleTimer);
    const job = worker.job;
    worker.job = undefined;
    // Whatever the job's code left running in the worker's group goes too.
    if (worker.pid > 0) signalGroup(worker.pid, 'SIGKILL');
    onExit();
    if (job) {
      this.settle(job, { status: 'worker_exit', exitCode: code, signal, killed: job.killRequested, stderrTail: worker.looseStderr });
    }
    if (!this.closed) this.drain();
  }

  /** Cancels queued jobs and stops every worker (SIGTERM, then SIGKILL after graceMs). */
  async close(graceMs = 2000): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) this.settle(job, { status: 'cancelled' });
    await Promise.all(
      [...this.workers].map(async (w) => {
        w.alive = false;
        clearTimeout(w.idleTimer);
        if (w.job) w.job.killRequested = true;
        await terminateGroup(w.pid, graceMs, w.exited);
      }),
    );
  }
}
