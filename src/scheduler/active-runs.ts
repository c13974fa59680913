import type { TaskState } from '../core/states.js';
import type { TryKey } from '../executors/types.js';
import type { TiChange } from '../store/store.js';
import { Heap } from '../util/heap.js';
import type { LiveTries } from './live-tries.js';
import { type RunModel, runKey, type TiModel } from './run-model.js';
import type { WriteBuffer } from './write-buffer.js';

/**
 * What the tick works on: the models of this scheduler's active runs, the scheduled instances
 * by priority, the instances waiting to retry by time, and the live tries. An instance's
 * state changes through `setTi`, which holds its guarded write for the tick's other writes.
 */
export class ActiveRuns {
  readonly runs = new Map<string, RunModel>();
  /** Scheduled instances: the highest priority weight first, then first come, first served. */
  readonly queue = new Heap<TiModel>((a, b) =>
    a.task.spec.priorityWeight !== b.task.spec.priorityWeight ? a.task.spec.priorityWeight > b.task.spec.priorityWeight : a.seq < b.seq,
  );
  /** Instances up for retry, the earliest due first. */
  readonly retryTimers = new Heap<TiModel>((a, b) => (a.nextRetryAt ?? 0) < (b.nextRetryAt ?? 0));
  private seq = 0;

  constructor(
    readonly live: LiveTries,
    /** This tick's guarded writes, sent together. */
    readonly writes: WriteBuffer,
  ) {}

  /** The next place in first-come order, for an instance that becomes scheduled or is loaded. */
  readonly nextSeq = (): number => ++this.seq;

  /** Guarded write of a task instance's state, mirrored in the model; sent with the tick's other writes. */
  setTi(ti: TiModel, to: TaskState, fields: TiChange['set'], from: readonly TaskState[] = [ti.state]): void {
    const run = ti.task.run;
    this.writes.ti({
      key: { dagId: run.dagId, runId: run.runId, taskId: ti.task.spec.taskId, mapIndex: ti.mapIndex },
      from,
      set: { ...fields, state: to, updated_at: Date.now() },
    });
    ti.task.setState(ti, to);
  }

  /** Moves an instance to scheduled and queues it. */
  schedule(ti: TiModel, from: TaskState[]): void {
    ti.seq = this.nextSeq();
    this.setTi(ti, 'scheduled', {}, from);
    this.queue.push(ti);
  }

  /** Whether the instance belongs to the run model in use (not one replaced by a reload). */
  isCurrent(ti: TiModel): boolean {
    return this.runs.get(ti.task.run.key) === ti.task.run;
  }

  findTi(k: TryKey): TiModel | undefined {
    return this.runs.get(runKey(k.dagId, k.runId))?.tasks.get(k.taskId)?.instances.get(k.mapIndex);
  }

  /** Forgets every run model, as after a failed tick; the live tries stay. */
  clear(): void {
    this.runs.clear();
    this.queue.clear();
    this.retryTimers.clear();
  }
}

export function allInstances(run: RunModel): TiModel[] {
  return [...run.tasks.values()].flatMap((t) => [...t.instances.values()]);
}
