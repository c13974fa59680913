import type { SweepSpec } from '../core/spec.js';
import type { TaskCallables } from './user-code.js';
import { type Ref, resultRef } from './refs.js';

/** Anything that can stand on either side of a dependency: a task or a task group. */
export type Dependable = TaskHandle<unknown> | GroupHandle;

/** Records dependencies declared with after/before/chain; resolved when the spec is built. */
export interface EdgeSink {
  addEdge(upstream: Dependable, downstream: Dependable): void;
}

/** What the SDK keeps for each declared task until the spec is built. */
export interface TaskDraft {
  readonly taskId: string;
  readonly kind: 'command' | 'inline' | 'sensor';
  readonly groupId?: string;
  readonly definedAt?: string;
  /** Raw options as the user wrote them. */
  readonly options: Readonly<Record<string, unknown>>;
  readonly callables: TaskCallables;
  readonly branch: boolean;
  /** A sweep's trial task: how its trials are judged (see sweep.ts). */
  readonly sweep?: SweepSpec;
  /** A sweep's best-trial task: the trial task it reads. */
  readonly sweepBestOf?: string;
}

/**
 * A declared task. `output` is a typed ref to its result (the list of results, in map-index
 * order, for a mapped task); passing it to another task makes that task depend on this one.
 */
export class TaskHandle<R> {
  constructor(
    readonly taskId: string,
    private readonly sink: EdgeSink,
  ) {}

  get output(): Ref<R> {
    return resultRef<R>(this.taskId);
  }

  /** A ref to one key of the result. */
  out<K extends keyof R & string>(key: K): Ref<R[K]> {
    return resultRef<R[K]>(this.taskId, [key]);
  }

  /** This task runs after the given tasks or groups. */
  after(...upstream: Dependable[]): this {
    for (const u of upstream.flat()) this.sink.addEdge(u, this);
    return this;
  }

  /** The given tasks or groups run after this task. */
  before(...downstream: Dependable[]): this {
    for (const d of downstream.flat()) this.sink.addEdge(this, d);
    return this;
  }
}

/** A declared task group; dependencies on a group apply to its roots or leaves. */
export class GroupHandle {
  constructor(
    readonly groupId: string,
    private readonly sink: EdgeSink,
  ) {}

  after(...upstream: Dependable[]): this {
    for (const u of upstream.flat()) this.sink.addEdge(u, this);
    return this;
  }

  before(...downstream: Dependable[]): this {
    for (const d of downstream.flat()) this.sink.addEdge(this, d);
    return this;
  }
}

/** Declares a linear order: chain(a, b, c) is a → b → c. An array element fans out or in. */
export function chain(...steps: (Dependable | readonly Dependable[])[]): void {
  for (let i = 1; i < steps.length; i++) {
    const ups = ([] as Dependable[]).concat(steps[i - 1] as Dependable);
    const downs = ([] as Dependable[]).concat(steps[i] as Dependable);
    for (const d of downs) for (const u of ups) sinkOf(d).addEdge(u, d);
  }
}

function sinkOf(d: Dependable): EdgeSink {
  return (d as unknown as { sink: EdgeSink }).sink;
}

/** Thrown from an inline task to mark the try skipped. */
export class SkipTask extends Error {
  constructor(reason = 'skipped by the task') {
    super(reason);
    this.name = 'TrainyardSkip';
  }
}
