/**
 * Failed tries are classified. The class drives the retry policy and is shown to users in
 * plain words.
 */

export type FailureClass =
  | 'user_error'
  | 'oom_killed'
  | 'evicted'
  | 'preempted'
  | 'image_pull'
  | 'config'
  | 'unschedulable'
  | 'startup_timeout'
  | 'execution_timeout'
  | 'lost'
  | 'result_invalid'
  | 'upstream_unavailable'
  | 'cancelled'
  | 'early_stopped';

export const FAILURE_CLASSES: readonly FailureClass[] = [
  'user_error',
  'oom_killed',
  'evicted',
  'preempted',
  'image_pull',
  'config',
  'unschedulable',
  'startup_timeout',
  'execution_timeout',
  'lost',
  'result_invalid',
  'upstream_unavailable',
  'cancelled',
  'early_stopped',
];

/** How a class is retried by default. */
export type RetryTreatment =
  /** Counts against the task's retries. */
  | 'budget'
  /** Retried without using the budget, under a separate cap. */
  | 'free'
  /** Never retried. */
  | 'never';

const TREATMENT: Readonly<Record<FailureClass, RetryTreatment>> = {
  user_error: 'budget',
  oom_killed: 'budget',
  evicted: 'free',
  preempted: 'free',
  lost: 'free',
  image_pull: 'never',
  config: 'never',
  unschedulable: 'never',
  startup_timeout: 'budget',
  execution_timeout: 'budget',
  result_invalid: 'budget',
  upstream_unavailable: 'never',
  cancelled: 'never',
  early_stopped: 'never',
};

export function retryTreatment(cls: FailureClass): RetryTreatment {
  return TREATMENT[cls];
}

const PLAIN: Readonly<Record<FailureClass, string>> = {
  user_error: 'The task exited with an error',
  oom_killed: 'Out of memory: the task used more than its memory limit',
  evicted: 'Evicted from its node',
  preempted: 'Preempted (the node or its capacity was taken back)',
  image_pull: 'The container image could not be pulled',
  config: 'The task could not start because of its configuration',
  unschedulable: 'No node could take the task before its deadline',
  startup_timeout: 'The task did not start in time',
  execution_timeout: 'The task ran longer than its execution timeout',
  lost: 'The process or node running the task was lost',
  result_invalid: 'The task’s result was invalid',
  upstream_unavailable: 'An input from an upstream task was unavailable',
  cancelled: 'Cancelled',
  early_stopped: 'Stopped early by the sweep’s stopping rule',
};

/** A one-line, human description of a failure class. */
export function describeFailure(cls: FailureClass): string {
  return PLAIN[cls];
}
