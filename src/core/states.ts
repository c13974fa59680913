/**
 * Task-instance and run states, and the transitions allowed between them.
 * Airflow's names where they fit.
 */

export type TaskState =
  /** Created, dependencies not yet evaluated as met. */
  | 'none'
  /** Dependencies met; waiting for admission (pool, concurrency, resources). */
  | 'scheduled'
  /** Admitted and handed to an executor; a try row exists. */
  | 'queued'
  | 'running'
  /** A sensor waiting in the scheduler's check loop; holds no slot. */
  | 'deferred'
  | 'up_for_retry'
  | 'success'
  | 'failed'
  | 'skipped'
  | 'upstream_failed'
  /** A mapped task's placeholder after expansion, or a task gone from the DAG. */
  | 'removed';

export const TASK_STATES: readonly TaskState[] = [
  'none',
  'scheduled',
  'queued',
  'running',
  'deferred',
  'up_for_retry',
  'success',
  'failed',
  'skipped',
  'upstream_failed',
  'removed',
];

export const FINISHED_TASK_STATES: ReadonlySet<TaskState> = new Set<TaskState>([
  'success',
  'failed',
  'skipped',
  'upstream_failed',
  'removed',
]);

export function isFinished(state: TaskState): boolean {
  return FINISHED_TASK_STATES.has(state);
}

export type RunState = 'queued' | 'running' | 'success' | 'failed';
export const RUN_STATES: readonly RunState[] = ['queued', 'running', 'success', 'failed'];

export function isRunFinished(state: RunState): boolean {
  return state === 'success' || state === 'failed';
}

/** The state of one try, as recorded in the try history. */
export type TryState = 'queued' | 'running' | 'success' | 'failed' | 'skipped';

const TASK_TRANSITIONS: Readonly<Record<TaskState, readonly TaskState[]>> = {
  none: ['scheduled', 'skipped', 'upstream_failed', 'removed', 'success', 'failed'],
  scheduled: ['queued', 'deferred', 'skipped', 'upstream_failed', 'none', 'success', 'failed', 'removed'],
  queued: ['running', 'success', 'failed', 'up_for_retry', 'skipped', 'scheduled', 'none'],
  running: ['success', 'failed', 'up_for_retry', 'skipped', 'deferred', 'none'],
  deferred: ['scheduled', 'success', 'failed', 'skipped', 'up_for_retry', 'none'],
  up_for_retry: ['scheduled', 'success', 'failed', 'skipped', 'none'],
  // Finished states only move by clearing (back to none) or marking.
  success: ['none', 'failed'],
  failed: ['none', 'success'],
  skipped: ['none', 'success', 'failed'],
  upstream_failed: ['none', 'success', 'failed', 'skipped'],
  removed: ['none'],
};

export function canTransition(from: TaskState, to: TaskState): boolean {
  return TASK_TRANSITIONS[from].includes(to);
}

export class IllegalTransitionError extends Error {
  readonly code = 'ILLEGAL_TRANSITION';
  constructor(
    readonly from: string,
    readonly to: string,
    what: string,
  ) {
    super(`${what} cannot move from '${from}' to '${to}'`);
    this.name = 'IllegalTransitionError';
  }
}

export function assertTransition(from: TaskState, to: TaskState, what = 'task instance'): void {
  if (!canTransition(from, to)) throw new IllegalTransitionError(from, to, what);
}

const RUN_TRANSITIONS: Readonly<Record<RunState, readonly RunState[]>> = {
  queued: ['running', 'success', 'failed'],
  running: ['success', 'failed', 'queued'],
  success: ['queued', 'running', 'failed'],
  failed: ['queued', 'running', 'success'],
};

export function canTransitionRun(from: RunState, to: RunState): boolean {
  return RUN_TRANSITIONS[from].includes(to);
}
