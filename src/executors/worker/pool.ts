/**
 * A pool of reusable Node processes that run user TypeScript code: inline task bodies and
 * the functions that compute a command's args and env. User code never runs in the
 * scheduler's event loop; a hung or crashing task takes down only its worker, which the pool
 * replaces.
 *
 * - Workers start lazily, up to `size`, and are reused; each runs one job at a time.
 * - When all are busy, each is handed up to `prefetch` jobs to start next; the rest wait in
 *   a FIFO queue. A job waiting in a worker goes back to the queue if that worker dies or is
 *   stopped for its running job (a job it had started then fails with `worker_exit`).
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
  /**
   * Jobs handed to a busy worker ahead of time, when every worker is busy (default 1; 0 turns
   * it off). The worker starts such a job as soon as its running one ends; a worker that goes
   * idle takes back one still waiting elsewhere.
   */
  readonly prefetch?: number;
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
  readonly outcome: Promise<WorkerOutcome>;
  worker?: PooledWorker;
  /** The worker said it began running the job. */
  started: boolean;
  /** An `unqueue` for it is on its way to the worker. */
  unqueueSent: boolean;
  killRequested: boolean;
  killGraceMs: number;
  settled: boolean;
}

interface PooledWorker {
  readonly id: string;
  readonly child: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<void>;
  /** Jobs sent to the worker, in order: the first runs (once started), the rest wait in it. */
  readonly jobs: PendingJob[];
  /** Jobs whose kill was asked for and that ended anyway: the kill decides, at exit. */
  readonly stopped: PendingJob[];
  jobsRun: number;
  idleTimer?: NodeJS.Timeout;
  /** Takes new jobs. False once retired, stopped, or gone. */
  alive: boolean;
  /** The process has exited. */
  ended: boolean;
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
  private readonly prefetch: number;
  private readonly env: Readonly<Record<string, string>>;
  private readonly entry = workerEntry();
  private readonly execArgv = ['--import', tsxLoaderUrl()];
  private readonly workers = new Set<PooledWorker>();
  private readonly queue: PendingJob[] = [];
  private nextJobId = 1;
  private closed = false;

  constructor(options: WorkerPoolOptions) {
    if (!Number.isInteger(options.size) || options.size < 1) throw new RangeError(`worker pool size must be a positive integer, got ${options.size}`);
    const prefetch = options.prefetch ?? 1;
    if (!Number.isInteger(prefetch) || prefetch < 0) throw new RangeError(`worker pool prefetch must be a whole number, got ${prefetch}`);
    this.size = options.size;
    this.idleMs = options.idleMs ?? 60_000;
    this.maxTasksPerWorker = options.maxTasksPerWorker ?? 1000;
    this.prefetch = prefetch;
    this.env = options.env ?? minimalEnv();
  }

  /** Live worker processes, for metrics and tests. */
  workerPids(): number[] {
    return [...this.workers].filter((w) => w.alive).map((w) => w.pid);
  }

  /** Jobs waiting for a worker (not those already handed to a busy one). */
  queued(): number {
    return this.queue.length;
  }

  submit(job: WorkerJob | StoreResultJob, hooks: WorkerJobHooks = {}): WorkerTask {
    let resolve!: (o: WorkerOutcome) => void;
    const outcome = new Promise<WorkerOutcome>((r) => (resolve = r));
    const pending: PendingJob = {
      id: this.nextJobId++,
      job,
      hooks,
      resolve,
      outcome,
      started: false,
      unqueueSent: false,
      killRequested: false,
      killGraceMs: 0,
      settled: false,
    };
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
    job.killGraceMs = graceMs;
    const worker = job.worker;
    if (!worker) {
      const i = this.queue.indexOf(job);
      if (i >= 0) this.queue.splice(i, 1);
      this.settle(job, { status: 'cancelled' });
      return;
    }
    if (job.started) return this.stopWorker(worker, graceMs);
    // Waiting in its worker: take it back. If the worker starts it first, started() stops it.
    this.unqueue(job);
    await job.outcome;
  }

  /** Stops a worker for the sake of its running job; jobs waiting in it go back to the queue. */
  private async stopWorker(worker: PooledWorker, graceMs: number): Promise<void> {
    worker.alive = false;
    clearTimeout(worker.idleTimer);
    await terminateGroup(worker.pid, graceMs, worker.exited);
  }

  private unqueue(job: PendingJob): void {
    if (job.unqueueSent || !job.worker) return;
    job.unqueueSent = true;
    const msg: ParentMessage = { type: 'unqueue', id: job.id };
    job.worker.child.send(msg);
  }

  /**
   * Hands queued jobs out: to an idle worker, else to a new one while there are fewer than
   * `size`, else ahead of time to the least busy worker (up to `prefetch` waiting in each),
   * so a worker starts its next job the moment one ends, without a round trip through this
   * process.
   */
  private drain(): void {
    while (this.queue.length > 0) {
      const worker = this.pickWorker();
      if (!worker) return;
      this.assign(worker, this.queue.shift()!);
    }
  }

  private pickWorker(): PooledWorker | undefined {
    let best: PooledWorker | undefined;
    for (const w of this.workers) {
      if (!w.alive || w.jobs.length > this.prefetch || w.jobsRun + w.jobs.length >= this.maxTasksPerWorker) continue;
      if (w.jobs.length === 0) return w;
      if (!best || w.jobs.length < best.jobs.length) best = w;
    }
    if (this.workers.size < this.size) return this.spawnWorker();
    return best;
  }

  /**
   * An idle worker while others hold waiting jobs (one job ran long, say): asks a worker
   * with the most waiting for its last one back, which then goes to the idle worker.
   */
  private rebalance(): void {
    if (this.queue.length > 0) return;
    let donor: PendingJob | undefined;
    let most = 1;
    for (const w of this.workers) {
      const waitingIn = w.jobs.filter((j) => !j.started && !j.unqueueSent);
      if (w.jobs.length > most && waitingIn.length > 0) {
        most = w.jobs.length;
        donor = waitingIn[waitingIn.length - 1];
      }
    }
    if (donor) this.unqueue(donor);
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
      jobs: [],
      stopped: [],
      jobsRun: 0,
      alive: true,
      ended: false,
      looseStderr: '',
    };
    this.workers.add(worker);
    child.on('message', (msg: WorkerMessage) => this.onMessage(worker, msg));
    // Output that bypassed the capture (native code, child processes sharing the fds): it
    // goes to the running job.
    const onRaw = (stream: 'stdout' | 'stderr') => (data: Buffer) => {
      const text = data.toString('utf8');
      const running = worker.jobs[0]?.started ? worker.jobs[0] : undefined;
      if (running?.hooks.onOutput) running.hooks.onOutput(stream, text);
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
    worker.jobs.push(job);
    job.worker = worker;
    job.unqueueSent = false;
    const ahead = worker.jobs.length > 1;
    const msg: ParentMessage = { type: 'job', id: job.id, ...job.job, ...(ahead ? { ahead: true as const } : {}) };
    worker.child.send(msg);
    if (!ahead) this.started(job);
  }

  private started(job: PendingJob): void {
    job.started = true;
    job.hooks.onStart?.({ id: job.worker!.id, pid: job.worker!.pid });
    if (job.killRequested) void this.stopWorker(job.worker!, job.killGraceMs);
  }

  private onMessage(worker: PooledWorker, msg: WorkerMessage): void {
    const job = worker.jobs.find((j) => j.id === msg.id);
    if (!job) return;
    switch (msg.type) {
      case 'out':
        job.hooks.onOutput?.(msg.stream, msg.data);
        return;
      case 'started':
        if (!job.started) this.started(job);
        return;
      case 'unqueued':
        worker.jobs.splice(worker.jobs.indexOf(job), 1);
        job.worker = undefined;
        if (job.killRequested) this.settle(job, { status: 'cancelled' });
        else this.queue.unshift(job);
        this.afterJob(worker);
        return;
      case 'done':
        this.onDone(worker, job, msg);
    }
  }

  private onDone(worker: PooledWorker, job: PendingJob, msg: DoneMessage): void {
    worker.jobs.splice(worker.jobs.indexOf(job), 1);
    worker.jobsRun++;
    const next = msg.next !== undefined ? worker.jobs.find((j) => j.id === msg.next) : undefined;
    if (job.killRequested) worker.stopped.push(job); // the kill decides the outcome, when the worker exits
    else {
      this.settle(
        job,
        msg.ok
          ? { status: 'ok', ...(msg.resultJson !== undefined ? { resultJson: msg.resultJson } : {}), ...(msg.rendered ? { rendered: msg.rendered } : {}) }
          : { status: 'error', error: msg.error, skip: msg.skip, kind: msg.kind },
      );
    }
    if (next) this.started(next);
    this.afterJob(worker);
  }

  /** A worker's job ended or was taken back: it gets more work, waits, or retires. */
  private afterJob(worker: PooledWorker): void {
    if (!worker.alive) return this.drain();
    if (worker.jobs.length === 0 && worker.jobsRun >= this.maxTasksPerWorker) return this.retire(worker);
    this.drain();
    if (worker.jobs.length > 0) return;
    this.rebalance();
    worker.idleTimer = setTimeout(() => this.retire(worker), this.idleMs);
    worker.idleTimer.unref();
  }

  private retire(worker: PooledWorker): void {
    if (!worker.alive || worker.jobs.length > 0) return;
    worker.alive = false; // not handed new jobs
    void terminateGroup(worker.pid, 2000, worker.exited);
    this.drain();
  }

  /**
   * The worker process ended. Its IPC messages may still be on their way (a `done` sent just
   * before it died), so its jobs are settled once the channel has closed: the job it had
   * started fails with `worker_exit`; jobs it held but had not started go back to the queue.
   */
  private onWorkerExit(worker: PooledWorker, code: number | null, signal: string | null, onExit: () => void): void {
    if (!this.workers.has(worker) || worker.ended) return;
    worker.ended = true;
    worker.alive = false;
    clearTimeout(worker.idleTimer);
    // Whatever the job's code left running in the worker's group goes too.
    if (worker.pid > 0) signalGroup(worker.pid, 'SIGKILL');
    const settle = () => {
      if (!this.workers.delete(worker)) return;
      onExit();
      const outcome = (j: PendingJob): WorkerOutcome => ({
        status: 'worker_exit',
        exitCode: code,
        signal,
        killed: j.killRequested,
        stderrTail: worker.looseStderr,
      });
      for (const j of worker.stopped.splice(0)) this.settle(j, outcome(j));
      const back: PendingJob[] = [];
      for (const j of worker.jobs.splice(0)) {
        j.worker = undefined;
        if (j.started) this.settle(j, outcome(j));
        else if (j.killRequested || this.closed) this.settle(j, { status: 'cancelled' });
        else back.push(j);
      }
      this.queue.unshift(...back);
      if (!this.closed) this.drain();
    };
    whenDisconnected(worker.child, settle);
  }

  /** Cancels queued jobs and stops every worker (SIGTERM, then SIGKILL after graceMs). */
  async close(graceMs = 2000): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) this.settle(job, { status: 'cancelled' });
    await Promise.all(
      [...this.workers].map(async (w) => {
        w.alive = false;
        clearTimeout(w.idleTimer);
        for (const j of w.jobs) j.killRequested = true;
        await terminateGroup(w.pid, graceMs, w.exited);
      }),
    );
  }
}

/** How long to wait, after a worker exits, for the rest of its messages. */
const DISCONNECT_WAIT_MS = 1000;

/** Calls `fn` once the child's IPC channel has closed (all its messages read), or after a wait. */
function whenDisconnected(child: ChildProcess, fn: () => void): void {
  if (!child.connected) return fn();
  let timer: NodeJS.Timeout | undefined;
  const once = () => {
    clearTimeout(timer);
    child.off('disconnect', once);
    fn();
  };
  child.on('disconnect', once);
  timer = setTimeout(once, DISCONNECT_WAIT_MS);
}
