import { redactText } from './redact.js';
import type { Notification, Notifier } from './types.js';

/** pino's shape (`log.warn(fields, msg)`), or a function taking one line. */
export type NotifyLog = { warn(fields: Record<string, unknown>, msg: string): void } | ((line: string) => void);

export const DEFAULT_NOTIFY_TIMEOUT_MS = 10_000;

export interface SendOutcome {
  readonly ok: boolean;
  /** The error, redacted, when not ok. */
  readonly error?: string;
  readonly ms: number;
}

/**
 * Sends a notification and never throws. A notifier that fails, throws synchronously, or does
 * not finish within `timeoutMs` (default 10 s; its signal is aborted then, and the caller goes on
 * even if the notifier ignores the signal) is logged with its error — passwords, tokens and
 * secret-looking URL parts masked — and reported as `{ ok: false }`.
 */
export async function sendSafely(notifier: Notifier, n: Notification, log?: NotifyLog, opts: { timeoutMs?: number; now?: () => number } = {}): Promise<SendOutcome> {
  const now = opts.now ?? Date.now;
  const started = now();
  const timeoutMs = opts.timeoutMs ?? DEFAULT_NOTIFY_TIMEOUT_MS;
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => {
      ac.abort(new Error(`timed out after ${timeoutMs} ms`));
      resolve('timeout');
    }, timeoutMs);
    timer.unref?.();
  });
  try {
    const sent = Promise.resolve().then(() => notifier.send(n, { signal: ac.signal }));
    sent.catch(() => undefined);
    const r = await Promise.race([sent.then(() => 'sent' as const), timedOut]);
    if (r === 'timeout') return report(notifier, n, log, `no answer within ${timeoutMs} ms; gave up`, now() - started);
    return { ok: true, ms: now() - started };
  } catch (e) {
    return report(notifier, n, log, describeError(e), now() - started);
  } finally {
    clearTimeout(timer);
  }
}

function report(notifier: Notifier, n: Notification, log: NotifyLog | undefined, why: string, ms: number): SendOutcome {
  let error = why;
  try {
    error = redactText(why, notifier.secrets ?? []);
  } catch {
    error = 'the error could not be shown safely';
  }
  const message = `notification ${n.kind} for ${n.dagId}/${n.runId}${n.taskId ? `/${n.taskId}` : ''} via ${notifier.name} (${safeTarget(notifier)}) failed: ${error}`;
  try {
    if (typeof log === 'function') log(message);
    else if (log) {
      log.warn(
        { notifier: notifier.name, target: safeTarget(notifier), kind: n.kind, dag_id: n.dagId, run_id: n.runId, ...(n.taskId ? { task_id: n.taskId } : {}), error },
        message,
      );
    }
  } catch {
    // A logger that throws must not make sendSafely throw.
  }
  return { ok: false, error, ms };
}

function safeTarget(notifier: Notifier): string {
  try {
    return redactText(String(notifier.target), notifier.secrets ?? []);
  } catch {
    return '?';
  }
}

function describeError(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  try {
    return typeof e === 'string' ? e : JSON.stringify(e);
  } catch {
    return String(e);
  }
}
