/**
 * Callbacks: user functions in the DAG file (onSuccess, onFailure, onRetry, onSkip) called on
 * task and run events. A callback is a Notifier whose `send` runs the function as a job in the
 * worker pool of inline tasks, so user code never runs in the scheduler's event loop; when the
 * caller's signal aborts (its timeout), the worker running it is stopped.
 */
import type { UserCodeRef } from '../executors/types.js';
import type { WorkerJob, WorkerJobHooks, WorkerOutcome, WorkerTask } from '../executors/worker/pool.js';
import { minimalEnv } from '../executors/local/env.js';
import { CALLBACK_OPTIONS, callbackCodeId, type CallbackEvent } from '../sdk/user-code.js';
import type { Store } from '../store/store.js';
import type { Notification, Notifier } from './types.js';

/** A callback runs this long at most before its worker is stopped. */
export const DEFAULT_CALLBACK_TIMEOUT_MS = 30_000;

/** The part of the worker pool callbacks need; WorkerPool satisfies it. */
export interface CallbackWorkers {
  submit(job: WorkerJob, hooks?: WorkerJobHooks): WorkerTask;
}

export interface CallbackNotifierOptions {
  readonly workers: CallbackWorkers;
  /** Where the DAG file and the run's params and conf are read from. */
  readonly store: Store;
  /** The task whose callback this is; absent for a run callback. */
  readonly taskId?: string;
  /** Where the callback's own output goes, one line at a time. */
  readonly output?: (line: string) => void;
  /** SIGTERM → SIGKILL grace when a callback is stopped (default 1 s). */
  readonly killGraceMs?: number;
}

export function isCallbackEvent(kind: string): kind is CallbackEvent {
  return kind in CALLBACK_OPTIONS;
}

/** A Notifier that calls the DAG file's function for the event, in a worker. */
export function callbackNotifier(o: CallbackNotifierOptions): Notifier {
  return {
    name: 'callback',
    target: o.taskId ? `task '${o.taskId}'` : 'the DAG',
    async send(n: Notification, { signal }): Promise<void> {
      if (!isCallbackEvent(n.kind)) throw new Error(`no callback runs on ${n.kind}`);
      const what = `${CALLBACK_OPTIONS[n.kind]} of ${o.taskId ? `task '${o.taskId}'` : `DAG '${n.dagId}'`}`;
      const [dag, run] = await Promise.all([o.store.getDag(n.dagId), o.store.getRun(n.dagId, n.runId)]);
      if (!dag) throw new Error(`${what}: DAG '${n.dagId}' is no longer in the store`);
      const code: UserCodeRef = { file: dag.fileloc, dagId: n.dagId, taskId: callbackCodeId(n.kind, o.taskId) };
      const { url: _url, ...event } = n;
      const context = {
        ...event,
        event: n.kind,
        logicalDate: run ? new Date(run.logical_date).toISOString() : '',
        params: parseObject(run?.params),
        conf: parseObject(run?.conf),
      };
      const job: WorkerJob = { kind: 'run', code, context: context as unknown as WorkerJob['context'], env: minimalEnv() };
      const task = o.workers.submit(job, { onOutput: (_stream, data) => forwardLines(data, (line) => o.output?.(`${what}: ${line}`)) });
      const stop = () => void task.kill(o.killGraceMs ?? 1_000);
      signal.addEventListener('abort', stop, { once: true });
      try {
        throwIfFailed(what, await task.outcome);
      } finally {
        signal.removeEventListener('abort', stop);
      }
    },
  };
}

function throwIfFailed(what: string, outcome: WorkerOutcome): void {
  switch (outcome.status) {
    case 'ok':
      return;
    case 'error':
      throw new Error(`${what} threw ${outcome.error.stack ?? `${outcome.error.name}: ${outcome.error.message}`}`);
    case 'worker_exit':
      throw new Error(
        `${what} did not finish: its worker ${outcome.killed ? 'was stopped' : 'exited'} (${outcome.signal ? `signal ${outcome.signal}` : `exit code ${outcome.exitCode}`})`,
      );
    case 'cancelled':
      throw new Error(`${what} did not run: the worker pool closed`);
  }
}

function forwardLines(data: string, emit: (line: string) => void): void {
  for (const line of data.split('\n')) if (line.trim()) emit(line);
}

function parseObject(json: string | undefined): Record<string, unknown> {
  if (!json) return {};
  try {
    const v = JSON.parse(json) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
