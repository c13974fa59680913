import type { FailureClass } from '../core/failure.js';
import type { TaskState } from '../core/states.js';
import { type TryKey, tryKeyString } from '../executors/types.js';
import { AdmissionCounters } from './admission.js';
import type { TiModel } from './run-model.js';

/** The executor that pokes sensors; it holds no slot. */
export const SENSOR_EXECUTOR = 'sensor';
/** States of a task instance whose try is live. */
export const LIVE_STATES: readonly TaskState[] = ['queued', 'running', 'deferred'];

/** A try handed to an executor that has not finished yet. */
export interface LiveTry {
  ti: TiModel;
  readonly key: TryKey;
  readonly executor: string;
  startedAt: number | null;
  cancelling: boolean;
}

/** A live try to cancel once the tick has committed, with the class and reason it ends with. */
export interface Cancel {
  readonly live: LiveTry;
  readonly cls: FailureClass;
  readonly reason: string;
}

/** This scheduler's live tries by try key, and the slots they hold; a sensor's try holds none. */
export class LiveTries {
  private readonly tries = new Map<string, LiveTry>();
  private sensors = 0;
  /** Pool, DAG and task slots (and pool GPUs) held by the live tries. */
  readonly counters: AdmissionCounters;

  /** `gpusOf` says how many of its pool's GPUs an instance takes. */
  constructor(gpusOf: (ti: TiModel) => number) {
    this.counters = new AdmissionCounters(gpusOf);
  }

  get size(): number {
    return this.tries.size;
  }

  /** Live tries that count against parallelism: every one but sensors' waiting tries. */
  get holdingSlots(): number {
    return this.tries.size - this.sensors;
  }

  get(key: TryKey): LiveTry | undefined {
    return this.tries.get(tryKeyString(key));
  }

  /** The live try of an instance's current try number, if it is live. */
  of(ti: TiModel): LiveTry | undefined {
    const run = ti.task.run;
    return this.get({ dagId: run.dagId, runId: run.runId, taskId: ti.task.spec.taskId, mapIndex: ti.mapIndex, tryNumber: ti.tryNumber });
  }

  values(): IterableIterator<LiveTry> {
    return this.tries.values();
  }

  track(ti: TiModel, key: TryKey, executor: string, startedAt: number | null): void {
    const l: LiveTry = { ti, key, executor, startedAt, cancelling: false };
    this.tries.set(tryKeyString(key), l);
    if (executor === SENSOR_EXECUTOR) this.sensors += 1;
    else this.counters.add(ti);
  }

  untrack(l: LiveTry): void {
    if (!this.tries.delete(tryKeyString(l.key))) return;
    if (l.executor === SENSOR_EXECUTOR) this.sensors -= 1;
    else this.counters.remove(l.ti);
  }
}
