import { TrainyardError } from '../core/errors.js';
import type { FailureClass } from '../core/failure.js';

export type NotificationKind =
  | 'task_failed'
  | 'task_success'
  | 'task_retry'
  | 'task_skipped'
  | 'run_success'
  | 'run_failed'
  | 'deadline_missed';

export const NOTIFICATION_KINDS: readonly NotificationKind[] = [
  'task_failed',
  'task_success',
  'task_retry',
  'task_skipped',
  'run_success',
  'run_failed',
  'deadline_missed',
];

/** What happened, to whom, and why: the one object every notifier sends. */
export interface Notification {
  readonly kind: NotificationKind;
  readonly dagId: string;
  readonly runId: string;
  readonly taskId?: string;
  /** −1 or absent when the task is not mapped. */
  readonly mapIndex?: number;
  readonly tryNumber?: number;
  /** The task's or run's state now ("failed", "up_for_retry", "success", …). */
  readonly state: string;
  /** Plain words: why it failed, why it is retried, which deadline was missed. */
  readonly reason?: string;
  readonly failureClass?: FailureClass;
  /** When it happened, epoch milliseconds. */
  readonly at: number;
  /** A link to the run or task in the UI. */
  readonly url?: string;
}

export interface SendOptions {
  /** Aborted when the caller's timeout passes; a notifier stops its I/O then. */
  readonly signal: AbortSignal;
}

/** Sends notifications somewhere. `send` may throw; callers go through sendSafely. */
export interface Notifier {
  /** "webhook", "slack", "email", or a custom name. */
  readonly name: string;
  /** Where it sends, fit for a log line (no secrets). */
  readonly target: string;
  /** Values to mask wherever an error message might repeat them (passwords, tokens). */
  readonly secrets?: readonly string[];
  send(n: Notification, opts: SendOptions): Promise<void>;
}

/** A notifier that failed to deliver. Its message names the target, never a secret. */
export class NotifyError extends TrainyardError {
  constructor(
    message: string,
    /** The HTTP status or SMTP reply code, when the far end answered. */
    readonly status?: number,
  ) {
    super('NOTIFY_FAILED', message);
    this.name = 'NotifyError';
  }
}
