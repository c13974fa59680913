/** Messages between the worker pool (parent) and a worker process, over the IPC channel. */
import type { TaskContextData, UserCodeRef } from '../types.js';

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
}

export type ParentMessage = JobMessage;

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

export type DoneMessage =
  | {
      readonly type: 'done';
      readonly id: number;
      readonly ok: true;
      /** run: the return value as JSON text, or null when the function returned undefined. */
      readonly resultJson?: string | null;
      /** render: what the args / env functions gave. */
      readonly rendered?: { readonly args?: string[]; readonly env?: Record<string, string> };
    }
  | {
      readonly type: 'done';
      readonly id: number;
      readonly ok: false;
      readonly error: SerializedError;
      /** The function threw a skip (SkipError). */
      readonly skip: boolean;
      /** What went wrong: the user's code, or the value it returned. */
      readonly kind: 'user_error' | 'result_invalid';
    };

export type WorkerMessage = OutputMessage | DoneMessage;
