import type { Executor } from '../executors/types.js';
import type { CallbackWorkers } from '../notify/callback.js';
import type { LogFields } from '../observability/logger.js';
import type { Store } from '../store/store.js';
import type { HomeLayout } from './paths.js';

/** Where the scheduler's parts write their log lines. */
export type SchedulerLog = (line: string, fields?: LogFields) => void;

export interface SchedulerOptions {
  readonly store: Store;
  readonly executors: Readonly<Record<string, Executor>>;
  readonly defaultExecutor: string;
  readonly layout: HomeLayout;
  readonly parallelism: number;
  readonly killGraceMs: number;
  readonly resultLimitBytes: number;
  readonly freeRetryCap: number;
  readonly schedulerId: string;
  readonly random?: () => number;
  /** How often the store is re-read for runs triggered or changed elsewhere. */
  readonly syncIntervalMs?: number;
  /** Create the runs of scheduled DAGs (default true). */
  readonly createScheduledRuns?: boolean;
  /** A scheduler whose heartbeat is older than this is dead; its runs are taken over (default 30 s). */
  readonly staleSchedulerMs?: number;
  /** An OOM-killed try is retried with memory × 1.5, up to this many MiB (default 65536). */
  readonly oomMemoryCapMb?: number;
  readonly log?: SchedulerLog;
  /** Runs callbacks (onSuccess, onFailure, …): the worker pool of inline tasks. */
  readonly workerPool?: CallbackWorkers;
  /** How long one callback may run before its worker is stopped (default 30 s). */
  readonly callbackTimeoutMs?: number;
}
