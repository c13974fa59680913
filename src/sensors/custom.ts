/**
 * Custom sensors: a check function written in the DAG file. The scheduler never runs it
 * itself: each poke is a job in the worker pool that runs inline TypeScript tasks, and the
 * sensor holds no executor slot and no process between pokes.
 *
 * - A poke that returns `true` / `{ done: true, value }` ends the sensor with that value.
 * - `false` / `{ done: false, detail }` is "not yet"; the detail becomes the pending reason.
 * - A poke that throws (or crashes its worker, or returns something else) is written to the
 *   sensor's log and counts as "not yet"; `maxConsecutiveErrors` errors in a row fail the
 *   sensor with the last error.
 * - A poke that runs past its deadline has its worker stopped (the runner aborts it) and
 *   counts as "not yet".
 */
import type { TaskContextData, UserCodeRef } from '../executors/types.js';
import type { WorkerJob, WorkerJobHooks, WorkerOutcome, WorkerTask } from '../executors/worker/pool.js';
import type { SensorCheck, SensorResult } from './types.js';

/** The part of the worker pool a custom check needs; WorkerPool satisfies it. */
export interface CheckWorkers {
  submit(job: WorkerJob, hooks?: WorkerJobHooks): WorkerTask;
}

/** Where a custom check writes: its sensor's try log (TryLogWriter satisfies it). */
export interface CheckLog {
  write(stream: 'stdout' | 'stderr', chunk: string): void;
  system(message: string): void;
}

export interface CustomCheckOptions {
  readonly workers: CheckWorkers;
  readonly code: UserCodeRef;
  readonly context: TaskContextData;
  /** process.env while the check runs. */
  readonly env: Readonly<Record<string, string>>;
  readonly log: CheckLog;
  readonly maxConsecutiveErrors: number;
  /** SIGTERM → SIGKILL grace when a poke is stopped. */
  readonly killGraceMs: number;
}

/** A SensorCheck that runs the DAG file's check function in a worker, once per poke. */
export function customSensorCheck(o: CustomCheckOptions): SensorCheck {
  let pokes = 0;
  let errorsInARow = 0;
  return async (ctx) => {
    const poke = pokes++;
    const context = { ...o.context, now: ctx.now, poke } as TaskContextData;
    const task = o.workers.submit({ kind: 'run', code: o.code, context, env: o.env }, { onOutput: (stream, data) => o.log.write(stream, data) });
    const stop = () => void task.kill(o.killGraceMs);
    ctx.signal.addEventListener('abort', stop, { once: true });
    let outcome: WorkerOutcome;
    try {
      outcome = await task.outcome;
    } finally {
      ctx.signal.removeEventListener('abort', stop);
    }
    if (ctx.signal.aborted) {
      o.log.system(`check ${poke + 1} was stopped: ${(ctx.signal.reason as Error)?.message ?? 'aborted'}`);
      return { done: false, detail: 'the check was stopped' };
    }
    const answer = interpret(outcome);
    if ('result' in answer) {
      errorsInARow = 0;
      if (answer.result.done) o.log.system(`check ${poke + 1} said done`);
      return answer.result;
    }
    errorsInARow += 1;
    o.log.system(`check ${poke + 1} failed (${errorsInARow} of ${o.maxConsecutiveErrors} errors in a row): ${answer.error}`);
    const firstLine = answer.error.split('\n')[0];
    if (errorsInARow >= o.maxConsecutiveErrors) {
      throw new Error(`${errorsInARow} checks in a row failed; the last: ${firstLine}`);
    }
    return { done: false, detail: `the check failed (${errorsInARow} of ${o.maxConsecutiveErrors} errors in a row): ${firstLine}; checking again` };
  };
}

/** A poke's answer, or the error to log. */
function interpret(outcome: WorkerOutcome): { result: SensorResult } | { error: string } {
  switch (outcome.status) {
    case 'ok':
      return fromReturnValue(outcome.resultJson == null ? undefined : (JSON.parse(outcome.resultJson) as unknown));
    case 'error':
      return { error: outcome.error.stack ?? `${outcome.error.name}: ${outcome.error.message}` };
    case 'worker_exit':
      return {
        error: `the worker running the check exited (${outcome.signal ? `signal ${outcome.signal}` : `exit code ${outcome.exitCode}`})${outcome.stderrTail ? `: ${outcome.stderrTail.trim()}` : ''}`,
      };
    case 'cancelled':
      return { error: 'the worker pool closed before the check ran' };
  }
}

/** true, false, { done: true, value }, { done: false, detail }: anything else is an error. */
export function fromReturnValue(v: unknown): { result: SensorResult } | { error: string } {
  if (v === true) return { result: { done: true } };
  if (v === false) return { result: { done: false, detail: 'the check returned false' } };
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const r = v as { done?: unknown; value?: unknown; detail?: unknown };
    if (r.done === true) return { result: 'value' in r ? { done: true, value: r.value } : { done: true } };
    if (r.done === false) return { result: { done: false, detail: typeof r.detail === 'string' && r.detail ? r.detail : 'the check said not yet' } };
  }
  let shown: string;
  try {
    shown = v === undefined ? 'undefined' : JSON.stringify(v);
  } catch {
    shown = String(v);
  }
  return { error: `the check returned ${shown}; return true, false, { done: true, value } or { done: false, detail }` };
}
