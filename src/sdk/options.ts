import type { z } from 'zod';
import type { NotifySpec, TriggerRule } from '../core/spec.js';
import type { TaskContextData } from '../executors/types.js';
import type { Ref, UnrefAll } from './refs.js';

/** A duration: milliseconds, or a string such as "30s", "5m", "1h30m". */
export type Duration = number | string;

/** Resources as users write them: cpu in cores ("500m" or 0.5), memory as "512Mi"/"2Gi" or MiB. */
export interface ResourcesInput {
  readonly cpu?: number | string;
  readonly memory?: number | string;
  readonly gpu?: number;
  /** Extended resources by name, e.g. { 'example.com/fpga': '1' }. */
  readonly extra?: Readonly<Record<string, string>>;
}

/** Options every task takes; also the shape of `defaultArgs` for DAGs and groups. */
export interface TaskDefaults {
  readonly retries?: number;
  readonly retryDelay?: Duration;
  readonly retryExponentialBackoff?: boolean;
  readonly maxRetryDelay?: Duration;
  readonly executionTimeout?: Duration;
  readonly pool?: string;
  readonly poolSlots?: number;
  readonly priorityWeight?: number;
  readonly resources?: ResourcesInput;
  readonly executor?: string;
  /** Runs in a worker when a try succeeds. */
  readonly onSuccess?: TaskCallback;
  /** Runs in a worker when the task fails for good (no retry left). */
  readonly onFailure?: TaskCallback;
  /** Runs in a worker when a try fails and the task will be retried. */
  readonly onRetry?: TaskCallback;
  /** Runs in a worker when the task is skipped by its own try (a skip exit, a soft-fail sensor). */
  readonly onSkip?: TaskCallback;
}

/** What a callback receives: the event, with the run's params and conf. */
export interface CallbackContext {
  readonly event: 'task_success' | 'task_failed' | 'task_retry' | 'task_skipped' | 'run_success' | 'run_failed';
  readonly dagId: string;
  readonly runId: string;
  readonly taskId?: string;
  readonly mapIndex?: number;
  readonly tryNumber?: number;
  /** The task's or run's state now. */
  readonly state: string;
  readonly reason?: string;
  readonly failureClass?: string;
  /** When it happened, epoch milliseconds. */
  readonly at: number;
  readonly logicalDate: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly conf: Readonly<Record<string, unknown>>;
}

/**
 * A user function called on a task or run event. It runs in a worker process (never in the
 * scheduler), once per event, with a timeout; an error it throws is logged and changes nothing.
 */
export type TaskCallback = (ctx: CallbackContext) => void | Promise<void>;

export interface CommonTaskOptions extends TaskDefaults {
  readonly triggerRule?: TriggerRule;
  /** How priority adds up: the task's own weight plus all downstream ('downstream', the default), all upstream, or just its own. */
  readonly weightRule?: 'downstream' | 'upstream' | 'absolute';
  /** At most this many instances of this task run at once (across runs). */
  readonly maxActiveTisPerDag?: number;
  /** Upper bound on the number of mapped instances (default 10,000). */
  readonly maxMapLength?: number;
  readonly doc?: string;
  /** Notifiers for this task's events (task_failed, task_retry, …), instead of the DAG's. */
  readonly notify?: NotifySpec;
  /** Alert (once) if the task has not started this long after its run started. */
  readonly startWithin?: Duration;
  /** Asset URIs this task updates: when it succeeds, an event is recorded for each. */
  readonly outlets?: readonly string[];
  /** Reuse the result of an earlier successful try with the same inputs instead of running (see docs/authoring.md). */
  readonly cache?: CacheOption;
}

/** `true`, or the parts of the cache key the task adds: a version to bump by hand and a value (or ref). */
export type CacheOption = true | { readonly version?: string; readonly key?: unknown };

/** What a task declares about its result: a zod schema (validated at run time) or just a type. */
export type ResultDecl<R> = z.ZodType<R> | ResultType<R>;

const RESULT_TYPE = Symbol.for('trainyard.resultType');
export interface ResultType<R> {
  readonly [RESULT_TYPE]: true;
  readonly __type?: R;
}
/** Declares a result type without a run-time check: `result: resultType<{ acc: number }>()`. */
export function resultType<R>(): ResultType<R> {
  return { [RESULT_TYPE]: true } as ResultType<R>;
}

/** Named inputs: refs to upstream results, or literals. */
export type Inputs = Readonly<Record<string, unknown>>;

/** A list to map over: a literal list, or a ref to an upstream list. */
export type MapList<T = unknown> = readonly T[] | Ref<readonly T[]>;
export type Expand = Readonly<Record<string, MapList>>;
export type ElementOf<L> = L extends readonly (infer U)[] ? U : L extends Ref<readonly (infer U)[]> ? U : never;
export type ItemOf<E> = { readonly [K in keyof E]: ElementOf<E[K]> };

const ZIP = Symbol.for('trainyard.zip');
export interface Zipped<E extends Expand> {
  readonly [ZIP]: E;
}
/** Maps position-wise over lists of equal length, instead of their cross product. */
export function zip<E extends Expand>(lists: E): Zipped<E> {
  return { [ZIP]: lists };
}
export function zippedLists(value: unknown): Expand | undefined {
  return typeof value === 'object' && value !== null && ZIP in value ? (value as Zipped<Expand>)[ZIP] : undefined;
}

/** What user functions receive: the run's context, typed params, the mapped item and the inputs. */
export interface TaskContext<P, I, Item> extends Omit<TaskContextData, 'params' | 'item' | 'inputs'> {
  readonly params: P;
  readonly item: Item;
  readonly inputs: I;
}

/** A value in an argument list: text, a number, or a ref resolved when the task runs. */
export type Arg = string | number | boolean | Ref<unknown>;

export interface CommandOptions<P, I extends Inputs, Item, R> extends CommonTaskOptions {
  readonly command: string | Ref<string>;
  readonly args?: readonly Arg[] | ((c: TaskContext<P, UnrefAll<I>, Item>) => readonly string[] | Promise<readonly string[]>);
  readonly env?:
    | Readonly<Record<string, Arg>>
    | ((c: TaskContext<P, UnrefAll<I>, Item>) => Record<string, string> | Promise<Record<string, string>>);
  readonly cwd?: string;
  /** Run the command through /bin/sh -c. */
  readonly shell?: boolean;
  /** Container image (used by the Kubernetes executor; recorded locally). */
  readonly image?: string;
  /** Kubernetes pod options. */
  readonly pod?: Readonly<Record<string, unknown>>;
  readonly inputs?: I;
  readonly result?: ResultDecl<R>;
  /** Exit code that marks the try skipped (default 99). */
  readonly skipExitCode?: number;
  /** The result is the list of downstream task ids to follow. */
  readonly branch?: boolean;
}

export interface InlineOptions<I extends Inputs, R> extends CommonTaskOptions {
  readonly inputs?: I;
  readonly result?: ResultDecl<R>;
}

/** Mapping options: cross product (expand), position-wise (expand: zip(...)), or a list of objects (expandKwargs). */
export interface MappingOptions<E extends Expand, K> {
  readonly expand?: E | Zipped<E>;
  readonly expandKwargs?: MapList<K>;
  /** Fixed values merged into every item. */
  readonly partial?: Readonly<Record<string, unknown>>;
}

/** A text field of a sensor may be a ref, e.g. tpl`/data/${ctx.ds}/*.parquet`. */
type Templated<T> = { readonly [K in keyof T]: T[K] extends string ? T[K] | Ref<string> : T[K] };

/** A built-in sensor check. */
export type SensorCheckInput =
  | Templated<{ kind: 'file'; path: string }>
  | Templated<{ kind: 'object_key'; key: string }>
  | { readonly kind: 'external_task'; readonly dagId: string; readonly taskId?: string; readonly executionDelta?: Duration; readonly allowedStates?: readonly string[]; readonly failedStates?: readonly string[] }
  | Templated<{ kind: 'http'; url: string; method?: string; bodyContains?: string }> & { readonly expectStatus?: number | number[]; readonly timeoutMs?: number; readonly headers?: Readonly<Record<string, string>> }
  | { readonly kind: 'time_delta'; readonly delta: Duration }
  | { readonly kind: 'date_time'; readonly at: string | number };

/** What a custom check receives: the try's context, the time of this check and how many came before. */
export interface SensorCheckContext<P = Record<string, unknown>> extends TaskContext<P, Record<string, unknown>, undefined> {
  /** Epoch milliseconds at the start of this check. */
  readonly now: number;
  /** Checks made before this one. */
  readonly poke: number;
}

/**
 * What a custom check returns: true (done), false (not yet), `{ done: true, value }` (done,
 * with the sensor's result), or `{ done: false, detail }` (not yet, and why, shown as the
 * task's pending reason).
 */
export type SensorCheckOutcome = boolean | { readonly done: true; readonly value?: unknown } | { readonly done: false; readonly detail?: string };

/** A custom check: an async function in the DAG file, run in a worker process for each poke. */
export type CustomSensorCheck<P = Record<string, unknown>> = (ctx: SensorCheckContext<P>) => SensorCheckOutcome | Promise<SensorCheckOutcome>;

export interface SensorTaskOptions<P = Record<string, unknown>> extends CommonTaskOptions {
  /** A built-in check, or a custom check function. */
  readonly check: SensorCheckInput | CustomSensorCheck<P>;
  /** A custom check: how long one check may run before it is stopped and counts as "not yet" (default 30s). */
  readonly checkTimeout?: Duration;
  /** A custom check: this many errors in a row fail the sensor (default 3); fewer count as "not yet". */
  readonly maxConsecutiveErrors?: number;
  /** Between two checks (default 60s). */
  readonly pokeInterval?: Duration;
  /** Counted from the first check (default 7d). */
  readonly timeout?: Duration;
  /** On timeout, end skipped instead of failed. */
  readonly softFail?: boolean;
  readonly exponentialBackoff?: boolean;
  readonly maxWait?: Duration;
}
