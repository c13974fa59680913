import type { DagSpec, TaskSpec } from '../core/spec.js';
import { isFinished, type TaskState } from '../core/states.js';
import type { DagRunRow, TaskInstanceRow } from '../store/store.js';

/**
 * The scheduler's working copy of one active run, loaded from the store and kept in step
 * with every change the scheduler commits. The store stays the source of truth: a run
 * changed from outside (clear, mark) is reloaded whole.
 */
export interface TiModel {
  readonly task: TaskModel;
  readonly mapIndex: number;
  state: TaskState;
  tryNumber: number;
  budgetTries: number;
  freeRetries: number;
  nextRetryAt: number | null;
  /** Order of becoming scheduled, to break priority ties first-come first-served. */
  seq: number;
  item: unknown;
  resourceOverrides: Record<string, unknown> | null;
  /** A sweep's trial that a policy stopped early (state success, class early_stopped). */
  stoppedEarly?: boolean;
  /** The try its executor was last told is coming (see Executor.prepare). */
  preparedTry?: number;
}

export class TaskModel {
  readonly instances = new Map<number, TiModel>();
  private readonly counts = new Map<TaskState, number>();
  /** Whether a mapped task has been expanded (its instances are 0..n-1). */
  expanded = false;

  constructor(
    readonly run: RunModel,
    readonly spec: TaskSpec,
  ) {}

  get mapped(): boolean {
    return this.spec.mapping !== undefined;
  }

  count(state: TaskState): number {
    return this.counts.get(state) ?? 0;
  }

  /** States of every instance, with multiplicity, for trigger rules. */
  *states(): Iterable<TaskState> {
    for (const [state, n] of this.counts) for (let i = 0; i < n; i++) yield state;
  }

  stateCounts(): ReadonlyMap<TaskState, number> {
    return this.counts;
  }

  add(ti: TiModel): void {
    this.instances.set(ti.mapIndex, ti);
    this.bump(ti.state, 1);
    if (!isFinished(ti.state)) this.run.unfinished += 1;
  }

  /** Moves an instance to a state, keeping the counts right. */
  setState(ti: TiModel, to: TaskState): void {
    const from = ti.state;
    if (from === to) return;
    this.bump(from, -1);
    this.bump(to, 1);
    ti.state = to;
    if (isFinished(from) !== isFinished(to)) this.run.unfinished += isFinished(to) ? -1 : 1;
  }

  private bump(state: TaskState, by: number): void {
    const n = (this.counts.get(state) ?? 0) + by;
    if (n === 0) this.counts.delete(state);
    else this.counts.set(state, n);
  }
}

export class RunModel {
  readonly tasks = new Map<string, TaskModel>();
  readonly downstream = new Map<string, string[]>();
  /** Tasks whose dependencies must be evaluated again. */
  readonly dirty = new Set<string>();
  /** Results of finished upstream tasks, cached for launches (mapped: the list). */
  readonly results = new Map<string, unknown>();
  unfinished = 0;
  /** Set when the run passed its dagrunTimeout; it ends failed. */
  timedOut = false;

  constructor(
    public row: DagRunRow,
    readonly spec: DagSpec,
  ) {
    for (const t of spec.tasks) {
      this.tasks.set(t.taskId, new TaskModel(this, t));
      for (const u of t.upstream) this.downstream.set(u, [...(this.downstream.get(u) ?? []), t.taskId]);
    }
  }

  get dagId(): string {
    return this.row.dag_id;
  }

  get runId(): string {
    return this.row.run_id;
  }

  get key(): string {
    return runKey(this.row.dag_id, this.row.run_id);
  }

  task(taskId: string): TaskModel {
    const t = this.tasks.get(taskId);
    if (!t) throw new Error(`run ${this.key} has no task '${taskId}'`);
    return t;
  }

  markDownstreamDirty(taskId: string): void {
    for (const d of this.downstream.get(taskId) ?? []) this.dirty.add(d);
  }

  /** Leaves: tasks nothing depends on. */
  leaves(): TaskModel[] {
    return [...this.tasks.values()].filter((t) => !this.downstream.has(t.spec.taskId));
  }

  /** Fills the model from stored task-instance rows. */
  load(rows: readonly TaskInstanceRow[], nextSeq: () => number): void {
    for (const r of rows) {
      const task = this.tasks.get(r.task_id);
      if (!task) continue; // a task gone from this version cannot be scheduled
      if (r.map_index >= 0) task.expanded = true;
      task.add(fromRow(task, r, nextSeq()));
      if (r.state === 'success' && r.map_index < 0 && r.result !== null) this.results.set(r.task_id, JSON.parse(r.result));
    }
    for (const t of this.tasks.values()) this.dirty.add(t.spec.taskId);
  }
}

export function runKey(dagId: string, runId: string): string {
  return `${dagId}\u0000${runId}`;
}

function fromRow(task: TaskModel, r: TaskInstanceRow, seq: number): TiModel {
  return {
    task,
    mapIndex: r.map_index,
    state: r.state,
    tryNumber: r.try_number,
    budgetTries: r.budget_tries,
    freeRetries: r.free_retries,
    nextRetryAt: r.next_retry_at,
    seq,
    item: r.item === null ? undefined : JSON.parse(r.item),
    resourceOverrides: r.resource_overrides === null ? null : JSON.parse(r.resource_overrides),
    stoppedEarly: r.state === 'success' && r.failure_class === 'early_stopped',
  };
}
