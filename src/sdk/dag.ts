import type { z } from 'zod';
import type { DagSpec, NotifySpec } from '../core/spec.js';
import type { AssetExpr } from '../core/assets.js';
import { buildDagSpec, type GroupDraft } from './build-spec.js';
import type {
  CommandOptions,
  Expand,
  InlineOptions,
  Inputs,
  ItemOf,
  MapList,
  MappingOptions,
  SensorTaskOptions,
  TaskContext,
  TaskDefaults,
  Zipped,
} from './options.js';
import type { UnrefAll } from './refs.js';
import { type Dependable, type EdgeSink, GroupHandle, TaskHandle, type TaskDraft } from './task.js';
import { DAG_BRAND, type LoadedDag, type TaskCallables } from './user-code.js';
import { callerLocation } from './where.js';

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
    const callables: { args?: TaskCallables['args']; env?: TaskCallables['env'] } = {};
    if (typeof options.args === 'function') callables.args = options.args as TaskCallables['args'];
    if (typeof options.env === 'function') callables.env = options.env as TaskCallables['env'];
    return this.declare(id, 'command', options, callables, options.branch === true);
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
  sensor(id: string, options: SensorTaskOptions): TaskHandle<unknown> {
    return this.declare(id, 'sensor', options, {}, false);
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
  ): TaskHandle<unknown> {
    const draft: TaskDraft = {
      taskId: this.fullId(id),
      kind,
      groupId: this.groupId,
      definedAt: callerLocation(),
      options: options as Record<string, unknown>,
      callables,
      branch,
    };
    this.root.tasks.push(draft);
    return new TaskHandle(draft.taskId, this.root);
  }
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
    return this.root.tasks.find((t) => t.taskId === taskId)?.callables;
  }
}

/** Declares a DAG. */
export function dag<S extends z.ZodType | undefined = undefined>(dagId: string, options: DagOptions<S> = {}): Dag<ParamsOf<S>> {
  return new Dag<ParamsOf<S>>(dagId, options);
}
