import type { AssetExpr } from './assets.js';
/**
 * The serialisable DAG specification. The SDK builds it from user code, the DAG-file
 * processor stores it (with a version hash), and the scheduler runs from it alone.
 * Nothing here holds a function: user code that must run (inline tasks, argument
 * functions) is marked, and a worker process loads the DAG file to run it.
 */

export const SPEC_VERSION = 1 as const;

export type TriggerRule =
  | 'all_success'
  | 'all_failed'
  | 'all_done'
  | 'all_done_min_one_success'
  | 'all_skipped'
  | 'one_success'
  | 'one_failed'
  | 'one_done'
  | 'none_failed'
  | 'none_failed_min_one_success'
  | 'none_skipped'
  | 'always';

export const TRIGGER_RULES: readonly TriggerRule[] = [
  'all_success',
  'all_failed',
  'all_done',
  'all_done_min_one_success',
  'all_skipped',
  'one_success',
  'one_failed',
  'one_done',
  'none_failed',
  'none_failed_min_one_success',
  'none_skipped',
  'always',
];

/** Resources a task needs. cpu in cores, memory in MiB, gpu in whole devices. */
export interface Resources {
  readonly cpu: number;
  readonly memoryMb: number;
  readonly gpu: number;
  /** Extra resources by name (e.g. Kubernetes extended resources), as quantity strings. */
  readonly extra?: Readonly<Record<string, string>>;
}

/**
 * A value computed when the task runs. Plain JSON is a literal; an object with `$expr`
 * is an expression evaluated by `core/values.ts` against the task's context.
 */
export type ValueExpr =
  | string
  | number
  | boolean
  | null
  | readonly ValueExpr[]
  | { readonly [key: string]: ValueExpr }
  | ExprNode;

export type ExprNode =
  | { readonly $expr: 'result'; readonly taskId: string; readonly path: readonly string[] }
  | { readonly $expr: 'item'; readonly path: readonly string[] }
  | { readonly $expr: 'param'; readonly path: readonly string[] }
  | { readonly $expr: 'context'; readonly name: ContextName }
  | { readonly $expr: 'template'; readonly parts: readonly ValueExpr[] }
  /** Computed by a function in the DAG file; a worker process evaluates it. */
  | { readonly $expr: 'function' };

export type ContextName =
  | 'dagId'
  | 'runId'
  | 'taskId'
  | 'mapIndex'
  | 'tryNumber'
  | 'ds'
  | 'dsNodash'
  | 'logicalDate'
  | 'dataIntervalStart'
  | 'dataIntervalEnd'
  | 'artifactsDir'
  | 'runArtifactsDir'
  | 'checkpointDir'
  | 'conf';

/** Where a mapped task's items come from. */
export type MapSource =
  | { readonly kind: 'literal'; readonly values: readonly unknown[] }
  | { readonly kind: 'result'; readonly taskId: string; readonly path: readonly string[] };

export interface MappingSpec {
  /** product: cross product of named lists; zip: position-wise; kwargs: a list of objects. */
  readonly mode: 'product' | 'zip' | 'kwargs';
  /** product/zip: one source per key. kwargs: a single source under key "kwargs". */
  readonly sources: Readonly<Record<string, MapSource>>;
  /** Fixed values merged into every item (Airflow's partial). */
  readonly partial: Readonly<Record<string, unknown>>;
}

/**
 * A secret as the value of a command task's env variable. The spec holds this reference,
 * never the value: `secret` is read from Trainyard's secret backends when the try launches;
 * `secretRef` is a key of a Kubernetes Secret (a `secretKeyRef` in the pod; read from the
 * backends as `<secret>/<key>` by the local executor).
 */
export type SecretEnvRef =
  | { readonly $expr: 'secret'; readonly name: string }
  | { readonly $expr: 'secretRef'; readonly secret: string; readonly key: string; readonly optional?: boolean };

export interface CommandSpec {
  readonly command: ValueExpr;
  /** A list of values, or a function marker evaluated by a worker. */
  readonly args: readonly ValueExpr[] | ExprNode;
  readonly env: Readonly<Record<string, ValueExpr | SecretEnvRef>> | ExprNode;
  readonly cwd?: string;
  /** Run through /bin/sh -c. Off by default. */
  readonly shell: boolean;
  /** Container image; recorded but unused by the local executor. */
  readonly image?: string;
  /** Kubernetes pod options (see the Kubernetes executor); opaque to core. */
  readonly pod?: Readonly<Record<string, unknown>>;
}

export interface TaskSpec {
  readonly taskId: string;
  readonly kind: 'command' | 'inline' | 'sensor';
  /** Task ids this task depends on, explicit and implicit, sorted. */
  readonly upstream: readonly string[];
  readonly triggerRule: TriggerRule;
  readonly retries: number;
  readonly retryDelayMs: number;
  readonly retryExponentialBackoff: boolean;
  readonly maxRetryDelayMs?: number;
  readonly executionTimeoutMs?: number;
  readonly pool: string;
  readonly poolSlots: number;
  readonly priorityWeight: number;
  readonly resources: Resources;
  /** At most this many instances of this task run at once, across runs. */
  readonly maxActiveTisPerDag?: number;
  /** A branch task's result names the downstream task ids to follow. */
  readonly branch: boolean;
  /** A command exiting with this code marks the try skipped. */
  readonly skipExitCode?: number;
  readonly command?: CommandSpec;
  /** A sensor: a built-in check (its text fields may be expressions) and how to poke it. */
  readonly sensor?: SensorTaskSpec;
  /** Named inputs of an inline task (and of argument functions). */
  readonly inputs: Readonly<Record<string, ValueExpr>>;
  readonly resultSchema?: JsonSchema;
  readonly mapping?: MappingSpec;
  readonly maxMapLength: number;
  readonly group?: string;
  readonly executor?: string;
  readonly doc?: string;
  /** Where the task was defined ("file:line"), for error messages. */
  readonly definedAt?: string;
  /** Notifiers for this task's events (instead of the DAG's). */
  readonly notify?: NotifySpec;
  /** The task must start within this long of its run's start, or a deadline_missed notification fires once. */
  readonly startWithinMs?: number;
  /** Asset URIs this task updates; an event is recorded for each when it succeeds. */
  readonly outlets?: readonly string[];
  /** A sweep: this mapped task's instances are trials, judged on a metric and stopped early by a policy. */
  readonly sweep?: SweepSpec;
  /** A sweep's best-trial task: the scheduler computes its result from the trials of this task; nothing runs. */
  readonly sweepBestOf?: string;
  /** Reuse the result of an earlier successful try with the same cache key instead of running. */
  readonly cache?: CacheSpec;
  /** Task events with a user function in the DAG file (onSuccess, onFailure, onRetry, onSkip); a worker runs it. */
  readonly callbacks?: readonly NotifyEvent[];
}

/**
 * Caching: the key of a try is a hash of the task's resolved inputs (args, env, inputs, the
 * mapped item, upstream results), the DAG's version hash, the image, `version` and `key`.
 */
export interface CacheSpec {
  /** Bumped by hand when code the spec does not show (an inline function, a script) changes. */
  readonly version?: string;
  /** An extra part of the key, resolved when the task would run (e.g. a dataset's snapshot id). */
  readonly key?: ValueExpr;
}

/** An early-stopping policy as stored (the options of `ml/early-stopping.ts`). */
export type EarlyStoppingSpec =
  | { readonly kind: 'median'; readonly graceSteps?: number; readonly minTrials?: number; readonly reference?: 'completed' | 'all' }
  | { readonly kind: 'asha'; readonly minSteps: number; readonly maxSteps: number; readonly reductionFactor?: number };

export interface SweepSpec {
  /** The metric (a key of the trials' metric lines) that judges them. */
  readonly objective: string;
  readonly direction: 'minimize' | 'maximize';
  readonly earlyStopping?: EarlyStoppingSpec;
  /** The task whose result is the best trial. */
  readonly bestTaskId: string;
}

/** Events that can notify someone. */
export type NotifyEvent = 'task_failed' | 'task_success' | 'task_retry' | 'task_skipped' | 'run_success' | 'run_failed' | 'deadline_missed';

/** A built-in notifier: a JSON webhook, a Slack-compatible incoming webhook, or email over SMTP. */
export type NotifierSpec =
  | { readonly kind: 'webhook'; readonly url: string; readonly headers?: Readonly<Record<string, string>> }
  | { readonly kind: 'slack'; readonly webhookUrl: string; readonly baseUrl?: string }
  | {
      readonly kind: 'email';
      readonly host: string;
      readonly port: number;
      readonly from: string;
      readonly to: string | readonly string[];
      readonly secure?: boolean;
      readonly user?: string;
      readonly password?: string;
    };

export type NotifySpec = { readonly [K in NotifyEvent]?: readonly NotifierSpec[] };

export interface SensorTaskSpec {
  readonly check: ValueExpr;
  readonly options: {
    readonly pokeIntervalMs: number;
    readonly timeoutMs: number;
    readonly softFail: boolean;
    readonly exponentialBackoff: boolean;
    readonly maxWaitMs: number;
    /** A custom check: how long one check may run in its worker. */
    readonly checkTimeoutMs?: number;
    /** A custom check: this many errors in a row fail the sensor. */
    readonly maxConsecutiveErrors?: number;
  };
}

export type ScheduleSpec =
  | { readonly kind: 'none' }
  | { readonly kind: 'assets'; readonly expr: AssetExpr }
  | { readonly kind: 'cron'; readonly expression: string; readonly timezone: string }
  | { readonly kind: 'interval'; readonly everyMs: number };

export interface DagSpec {
  readonly specVersion: typeof SPEC_VERSION;
  readonly dagId: string;
  readonly description?: string;
  readonly docs?: string;
  readonly tags: readonly string[];
  readonly schedule: ScheduleSpec;
  /** IANA time zone of the schedule and of naive dates (default UTC). */
  readonly timezone?: string;
  /** ISO-8601 timestamps. */
  readonly startDate?: string;
  readonly endDate?: string;
  readonly catchup: boolean;
  readonly maxActiveTasks: number;
  readonly maxActiveRuns: number;
  readonly dagrunTimeoutMs?: number;
  readonly paramsSchema?: JsonSchema;
  readonly paramsDefaults: Readonly<Record<string, unknown>>;
  readonly executor?: string;
  readonly tasks: readonly TaskSpec[];
  /** Notifiers for run events, and for task events of tasks that name none. */
  readonly notify?: NotifySpec;
  /** The run must finish within this long of its logical date (or of when it was queued). */
  readonly deadline?: { readonly finishWithinMs: number; readonly from: 'logical_date' | 'queued_at' };
  /** Task groups by full id, with their parent group. */
  readonly groups: readonly { readonly groupId: string; readonly parent?: string }[];
  /** Run events with a user function in the DAG file (onSuccess, onFailure); a worker runs it. */
  readonly callbacks?: readonly NotifyEvent[];
}

export type JsonSchema = Readonly<Record<string, unknown>>;

export const DEFAULT_POOL = 'default_pool';
export const DEFAULT_MAX_MAP_LENGTH = 10_000;
/** Result size limit, in bytes of JSON. */
export const DEFAULT_RESULT_LIMIT_BYTES = 64 * 1024;
