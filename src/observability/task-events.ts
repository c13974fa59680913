/**
 * Server log lines for executor events: one JSON line per try that starts, waits or ends,
 * carrying the try's identity (`dag_id`, `run_id`, `task_id`, `map_index`, `try_number`) and
 * its state, so a log search finds every line of one try.
 */
import { describeFailure } from '../core/failure.js';
import type { ExecutorEvent } from '../executors/types.js';
import { type Logger, withContext } from './logger.js';

function label(e: ExecutorEvent): string {
  const k = e.key;
  return `${k.dagId} ${k.taskId}${k.mapIndex >= 0 ? `[${k.mapIndex}]` : ''}${k.tryNumber > 1 ? ` try ${k.tryNumber}` : ''}`;
}

/** Writes one line for `started`, `pending_reason` (debug) and `finished`; telemetry is not logged. */
export function logExecutorEvent(log: Logger, e: ExecutorEvent): void {
  if (e.type === 'telemetry') return;
  const l = withContext(log, e.key);
  if (e.type === 'pending_reason') {
    l.debug({ event: 'try_pending', reason: e.reason }, `pending   ${label(e)}: ${e.reason}`);
    return;
  }
  if (e.type === 'started') {
    l.info({ event: 'try_started', state: 'running', host: e.host, ...(e.pid !== undefined ? { pid: e.pid } : {}), ...(e.external ? { external: e.external } : {}) }, `started   ${label(e)}`);
    return;
  }
  const fields = { event: 'try_finished', state: e.outcome, exit_code: e.exitCode, ...(e.signal ? { signal: e.signal } : {}) };
  if (e.outcome !== 'failed') {
    l.info(fields, `${e.outcome.padEnd(9)} ${label(e)}`);
    return;
  }
  const cls = e.failureClass ?? 'user_error';
  const reason = e.reason ? ` — ${e.reason.split('\n')[0]}` : '';
  l.warn({ ...fields, failure_class: cls, ...(e.reason ? { reason: e.reason } : {}) }, `failed    ${label(e)}: ${describeFailure(cls)}${reason}`);
}
