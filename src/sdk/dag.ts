import type { z } from 'zod';
import type { DagSpec, NotifySpec } from '../core/spec.js';
import type { AssetExpr } from '../core/assets.js';
import { buildDagSpec, type GroupDraft, mergedDefaults } from './build-spec.js';
import type {
  CommandOptions,
  Expand,
  InlineOptions,
  Inputs,
  ItemOf,
  MapList,
  MappingOptions,
  SensorTaskOptions,
  TaskCallback,
  TaskContext,
  TaskDefaults,
  Zipped,
} from './options.js';
import type { UnrefAll } from './refs.js';
import { type Dependable, type EdgeSink, GroupHandle, TaskHandle, type TaskDraft } from './task.js';
import { CALLBACK_OPTIONS, DAG_BRAND, type LoadedDag, parseCallbackCodeId, type TaskCallables } from './user-code.js';
import { callerLocation } from './where.js';
import { type BestTrial, bestTrialPlaceholder, planSweep, Sweep, type SweepOptions } from './sweep.js';

export interface DagOptions<S extends z.ZodType | undefined> {
  readonly description?: string;
  readonly docs?: string;
  readonly tags?: readonly string[];
  /**
   * "none"/null for manual runs, a cron expression, a preset such as "@daily", an interval
   * such as "6h", or assets: `assets.any(uri, …)` / `assets.all(uri, …)`.
   */
  readonly schedule?: string | AssetExpr | null;
  readonly timezone?: string;
  readonly startDate?: Date | string;
  readonly endDate?: Date | string;
  readonly catchup?: boolean;
  readonly defaultArgs?: TaskDefaults;
  readonly maxActiveTasks?: number;
  readonly maxActiveRuns?: number;
  readonly dagrunTimeout?: number | string;
  /** Typed params: a zod object whose fields have defaults. Every trigger's conf is validated against it. */
  readonly params?: S;
  /** The executor for every task of this DAG, unless a task names another. */
  readonly executor?: string;
  /** Who to tell about run events (run_failed, run_success, deadline_missed) and task events. */
  readonly notify?: NotifySpec;
  /** Alert (once) if a run has not finished this long after its logical date (or its queue time). */
  readonly deadline?: { readonly finishWithin: number | string; readonly from?: 'logical_date' | 'queued_at' };
  /** Runs in a worker when a run succeeds (task callbacks go in `defaultArgs` or on tasks). */
  readonly onSuccess?: TaskCallback;
  /** Runs in a worker when a run fails. */
  readonly onFailure?: TaskCallback;
}

type ParamsOf<S> = S extends z.ZodType ? z.output<S> : Record<string, unknown>;
type InlineFn<P, I, Item, R> = (inputs: UnrefAll<I>, ctx: TaskContext<P, UnrefAll<I>, Item>) => R | Promise<R>;
type BranchResult = string | readonly string[] | null;

/**
 * Where tasks are declared: the DAG itself, or a task group inside it. Task ids declared in
 * a group are prefixed with the group's id.
 */
export class Scope<P> {
  protected constructor(
    protected readonly root: DagBuilderState,
    protected readonly groupId: string | undefined,
  ) {}

  private fullId(id: string): string {
    return this.groupId ? `${this.groupId}.${id}` : id;
  }

  /** A command task (the KubernetesPodOperator equivalent), mapped with `expand`. */
  command<E extends Expand, R = unknown, I extends Inputs = {}>(
    id: string,
    options: CommandOptions<P, I, ItemOf<E>, R> & { readonly expand: E | Zipped<E>; readonly partial?: Readonly<Record<string, unknown>> },
  ): TaskHandle<R[]>;
  /** A command task mapped over a list of argument objects. */
  command<K extends object, R = unknown, I extends Inputs = {}>(
    id: string,
    options: CommandOptions<P, I, K, R> & { readonly expandKwargs: MapList<K>; readonly partial?: Readonly<Record<string, unknown>> },
  ): TaskHandle<R[]>;
  /** A command task: a process locally, a pod on Kubernetes. */
  command<R = unknown, I extends Inputs = {}>(id: string, options: CommandOptions<P, I, undefined, R>): TaskHandle<R>;
  // The implementation takes any options; the overloads above carry the types.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  command(id: string, options: CommandOptions<P, any, any, any> & MappingOptions<Expand, object>): TaskHandle<unknown> {
    return this.declare(id, 'command', options, commandCallables(options), options.branch === true);
  }

  /** An inline TypeScript task (the TaskFlow equivalent), mapped with `expand`. */
  task<E extends Expand, R, I extends Inputs = {}>(
    id: string,
    options: InlineOptions<I, R> & { readonly expand: E | Zipped<E>; readonly partial?: Readonly<Record<string, unknown>> },
    fn: InlineFn<P, I, ItemOf<E>, R>,
  ): TaskHandle<Awaited<R>[]>;
  /** An inline TypeScript task mapped over a list of argument objects. */
  task<K extends object, R, I extends Inputs = {}>(
    id: string,
    options: InlineOptions<I, R> & { readonly expandKwargs: MapList<K>; readonly partial?: Readonly<Record<string, unknown>> },
    fn: InlineFn<P, I, K, R>,
  ): TaskHandle<Awaited<R>[]>;
  /** An inline TypeScript task: a typed function of upstream results, run in a worker process. */
  task<R, I extends Inputs = {}>(id: string, options: InlineOptions<I, R>, fn: InlineFn<P, I, undefined, R>): TaskHandle<Awaited<R>>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  task(id: string, options: InlineOptions<any, any> & MappingOptions<Expand, object>, fn: InlineFn<P, any, any, any>): TaskHandle<unknown> {
    return this.declare(id, 'inline', options, { run: fn as TaskCallables['run'] }, false);
  }

  /** A branch: returns the id (or ids) of the downstream tasks to follow; the others are skipped. */
  branch<I extends Inputs = {}>(id: string, options: InlineOptions<I, unknown>, fn: InlineFn<P, I, undefined, BranchResult>): TaskHandle<string[]> {
    return this.declare(id, 'inline', options, { run: fn as TaskCallables['run'] }, true) as TaskHandle<string[]>;
  }

  /**
   * A sensor: waits for a file, an object key, another DAG's task, an HTTP check or a time.
   * While it waits it is `deferred` and holds no executor slot, pool slot or process.
   */
  sensor(id: string, options: SensorTaskOptions<P>): TaskHandle<unknown> {
    // A custom check runs in a worker, like an inline task's body.
    const check = options.check;
    const callables: TaskCallables = typeof check === 'function' ? { run: (_inputs, c) => (check as (x: unknown) => unknown)(c) } : {};
    return this.declare(id, 'sensor', options, callables, false);
  }

  /**
   * A hyperparameter sweep: a command task mapped over `space` (one trial per map index),
   * judged on the `objective` metric of its metric lines, with optional early stopping. Its
   * `best` task's result is the best trial (map index, params, value) and a report of the
   * trials stopped early and the time saved.
   */
  sweep<K extends object, R = unknown, I extends Inputs = {}>(id: string, options: SweepOptions<P, I, K, R>): Sweep<K, R> {
    const plan = planSweep(this.fullId(id), options as SweepOptions<unknown, Inputs, unknown, unknown>);
    const callables = commandCallables(options);
    const bestTaskId = this.fullId(plan.bestLocalId);
    const trials = this.declare(id, 'command', plan.trialOptions, callables, false, { sweep: { ...plan.spec, bestTaskId } });
    const best = this.declare(plan.bestLocalId, 'inline', plan.bestOptions, { run: bestTrialPlaceholder(bestTaskId) }, false, { sweepBestOf: trials.taskId });
    best.after(trials);
    return new Sweep<K, R>(trials as TaskHandle<R[]>, best as TaskHandle<BestTrial<K>>);
  }

  /** A task group: ids inside are prefixed with `id.`, and `defaultArgs` apply to its tasks. */
  group(id: string, options: { readonly defaultArgs?: TaskDefaults; readonly tooltip?: string }, build: (g: Scope<P>) => void): GroupHandle {
    const groupId = this.fullId(id);
    this.root.groups.push({ groupId, parent: this.groupId, defaults: options.defaultArgs ?? {} });
    build(new Scope<P>(this.root, groupId));
    return new GroupHandle(groupId, this.root);
  }

  private declare(
    id: string,
    kind: 'command' | 'inline' | 'sensor',
    options: object,
    callables: TaskCallables,
    branch: boolean,
    sweep: Pick<TaskDraft, 'sweep' | 'sweepBestOf'> = {},
  ): TaskHandle<unknown> {
    const draft: TaskDraft = {
      taskId: this.fullId(id),
      kind,
      groupId: this.groupId,
      definedAt: callerLocation(),
      options: options as Record<string, unknown>,
      callables,
      branch,
      ...sweep,
    };
    this.root.tasks.push(draft);
    return new TaskHandle(draft.taskId, this.root);
  }
}

/** The functions a command task's args and env may be given as. */
function commandCallables(options: { readonly args?: unknown; readonly env?: unknown }): TaskCallables {
  const callables: { args?: TaskCallables['args']; env?: TaskCallables['env'] } = {};
  if (typeof options.args === 'function') callables.args = options.args as TaskCallables['args'];
  if (typeof options.env === 'function') callables.env = options.env as TaskCallables['env'];
  return callables;
}

/** Everything declared in one DAG, kept until the spec is built. */
export class DagBuilderState implements EdgeSink {
  readonly tasks: TaskDraft[] = [];
  readonly groups: GroupDraft[] = [];
  readonly edges: [Dependable, Dependable][] = [];

  addEdge(upstream: Dependable, downstream: Dependable): void {
    this.edges.push([upstream, downstream]);
  }
}

/** A DAG: export it (by default or by name) from a file in the DAG folder. */
export class Dag<P = Record<string, unknown>> extends Scope<P> implements LoadedDag {
  readonly [DAG_BRAND] = true as const;
  private spec?: DagSpec;

  constructor(
    readonly dagId: string,
    private readonly options: DagOptions<z.ZodType | undefined>,
  ) {
    super(new DagBuilderState(), undefined);
  }

  toSpec(): DagSpec {
    this.spec ??= buildDagSpec(this.dagId, this.options, this.root);
    return this.spec;
  }

  callables(taskId: string): TaskCallables | undefined {
    const callback = parseCallbackCodeId(taskId);
    if (callback) {
      const fn = this.callbackOf(callback.event, callback.taskId);
      return fn ? { run: (_inputs, c) => fn(c as unknown as Parameters<TaskCallback>[0]) } : undefined;
    }
    return this.root.tasks.find((t) => t.taskId === taskId)?.callables;
  }

  /** The user function for an event: the DAG's for run events, the task's (or its defaults') for task events. */
  private callbackOf(event: keyof typeof CALLBACK_OPTIONS, taskId: string | undefined): TaskCallback | undefined {
    const name = CALLBACK_OPTIONS[event];
    if (!taskId) return (this.options as Record<string, unknown>)[name] as TaskCallback | undefined;
    const draft = this.root.tasks.find((t) => t.taskId === taskId);
    if (!draft) return undefined;
    const fn = draft.options[name] ?? mergedDefaults(this.options.defaultArgs, this.root.groups, draft.groupId)[name];
    return typeof fn === 'function' ? (fn as TaskCallback) : undefined;
  }
}

/** Declares a DAG. */
export function dag<S extends z.ZodType | undefined = undefined>(dagId: string, options: DagOptions<S> = {}): Dag<ParamsOf<S>> {
  return new Dag<ParamsOf<S>>(dagId, options);
}
