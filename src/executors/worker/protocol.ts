/** Messages between the worker pool (parent) and a worker process, over the IPC channel. */
import type { DeferredValues } from '../deferred.js';
import type { ResultStoreSpec } from '../result-store.js';
import type { TaskContextData, TryKey, UserCodeRef } from '../types.js';

export type WorkerJobKind = 'run' | 'render';

export interface JobMessage {
  readonly type: 'job';
  readonly id: number;
  readonly kind: WorkerJobKind;
  readonly code: UserCodeRef;
  readonly context: TaskContextData;
  /** process.env while the job runs (the try's full environment). */
  readonly env: Readonly<Record<string, string>>;
  /** For render: which functions to call. */
  readonly want?: { readonly args: boolean; readonly env: boolean };
  /** Values that read upstream results kept in the artifact store: read and evaluated before the job runs. */
  readonly deferred?: DeferredValues;
  /** The artifact store: where references are read from, and where a return value over `limitBytes` goes. */
  readonly results?: WorkerResultStore;
}

export interface WorkerResultStore {
  readonly store: ResultStoreSpec;
  readonly limitBytes: number;
}

/**
 * Checks a try's result file that is over the inline limit and writes it to the artifact store,
 * so that the scheduler's process never parses a large result. Done with `resultJson`: the
 * reference's JSON.
 */
export interface StoreResultMessage {
  readonly type: 'job';
  readonly id: number;
  readonly kind: 'store_result';
  readonly key: TryKey;
  readonly resultPath: string;
  readonly results: WorkerResultStore;
}

/** Takes back a job the worker holds but has not started (see WorkerPool's prefetching). */
export interface UnqueueMessage {
  readonly type: 'unqueue';
  readonly id: number;
}

/**
 * A unit of work for a worker. `ahead`: sent while the parent believed the worker busy; a
 * worker that starts such a job at once (its job had ended meanwhile) says so (`started`).
 */
export type AnyJobMessage = (JobMessage | StoreResultMessage) & { readonly ahead?: true };

export type ParentMessage = AnyJobMessage | UnqueueMessage;

/** Answers an UnqueueMessage: the job was still waiting, and will not run in this worker. */
export interface UnqueuedMessage {
  readonly type: 'unqueued';
  readonly id: number;
}

export interface OutputMessage {
  readonly type: 'out';
  readonly id: number;
  readonly stream: 'stdout' | 'stderr';
  readonly data: string;
}

export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
}

export type WorkerFailureKind = 'user_error' | 'result_invalid' | 'upstream_unavailable';

/**
 * `next`: the id of the job the worker started right after this one (it holds jobs sent
 * while it was busy, and starts them in order), or absent when it started none.
 */
export type DoneMessage = (
  | {
      readonly type: 'done';
      readonly id: number;
      readonly ok: true;
      /** run: the return value as JSON text, or null when the function returned undefined. */
      readonly resultJson?: string | null;
      /** render: what the args / env functions gave. */
      readonly rendered?: { readonly command?: string; readonly args?: string[]; readonly env?: Record<string, string> };
    }
  | {
      readonly type: 'done';
      readonly id: number;
      readonly ok: false;
      readonly error: SerializedError;
      /** The function threw a skip (SkipError). */
      readonly skip: boolean;
      /** What went wrong: the user's code, the value it returned, or reading an upstream result. */
      readonly kind: WorkerFailureKind;
    }
) & { readonly next?: number };

/** A job sent `ahead` was started on arrival. */
export interface StartedMessage {
  readonly type: 'started';
  readonly id: number;
}

export type WorkerMessage = OutputMessage | DoneMessage | UnqueuedMessage | StartedMessage;
