import { describeFailure } from '../core/failure.js';
import type { Notification } from './types.js';

export interface FormattedNotification {
  /** One line, for an email subject or a chat message's first line. */
  readonly subject: string;
  /** Plain text, one fact per line. */
  readonly text: string;
}

/** "evaluate" or "evaluate[3]". */
export function taskLabel(n: Pick<Notification, 'taskId' | 'mapIndex'>): string | undefined {
  if (!n.taskId) return undefined;
  return n.mapIndex !== undefined && n.mapIndex >= 0 ? `${n.taskId}[${n.mapIndex}]` : n.taskId;
}

/** What happened, in a few words: "task evaluate[3] failed on try 2". */
export function headline(n: Notification): string {
  const task = taskLabel(n);
  const onTry = n.tryNumber !== undefined ? ` on try ${n.tryNumber}` : '';
  switch (n.kind) {
    case 'task_failed':
      return `task ${task ?? '?'} failed${onTry}`;
    case 'task_success':
      return `task ${task ?? '?'} succeeded${onTry}`;
    case 'task_retry':
      return `task ${task ?? '?'} will be retried after try ${n.tryNumber ?? '?'} failed`;
    case 'task_skipped':
      return `task ${task ?? '?'} was skipped`;
    case 'run_success':
      return `run ${n.runId} succeeded`;
    case 'run_failed':
      return `run ${n.runId} failed`;
    case 'deadline_missed':
      return task ? `task ${task} missed its deadline` : `run ${n.runId} missed its deadline`;
    default:
      return `${String(n.kind)}: ${n.state}`;
  }
}

/** The subject and plain text of a notification, the same for every channel. */
export function formatNotification(n: Notification): FormattedNotification {
  const subject = oneLine(`[Trainyard] ${n.dagId}: ${headline(n)}${n.kind.startsWith('task_') || (n.kind === 'deadline_missed' && n.taskId) ? ` (run ${n.runId})` : ''}`);
  const lines = [`${capitalise(headline(n))} in DAG ${n.dagId}.`, ''];
  if (n.reason) lines.push(`Reason: ${n.reason}`);
  if (n.failureClass) lines.push(`Failure: ${describeFailure(n.failureClass)} (${n.failureClass})`);
  lines.push(`DAG: ${n.dagId}`, `Run: ${n.runId}`);
  if (n.taskId) lines.push(`Task: ${n.taskId}`);
  if (n.mapIndex !== undefined && n.mapIndex >= 0) lines.push(`Map index: ${n.mapIndex}`);
  if (n.tryNumber !== undefined) lines.push(`Try: ${n.tryNumber}`);
  lines.push(`State: ${n.state}`, `At: ${isoTime(n.at)}`);
  if (n.url) lines.push(`Link: ${n.url}`);
  return { subject, text: `${lines.join('\n')}\n` };
}

/** A link to the run (or the task instance) in the web UI, under `baseUrl`. */
export function uiLink(baseUrl: string, n: Pick<Notification, 'dagId' | 'runId' | 'taskId' | 'mapIndex' | 'tryNumber'>): string {
  const base = baseUrl.replace(/\/+$/, '');
  const run = `${base}/dags/${encodeURIComponent(n.dagId)}/runs/${encodeURIComponent(n.runId)}`;
  if (!n.taskId) return run;
  return `${run}/tasks/${encodeURIComponent(n.taskId)}/${n.mapIndex ?? -1}${n.tryNumber ? `?try=${n.tryNumber}` : ''}`;
}

export function isoTime(ms: number): string {
  const d = new Date(ms);
  return Number.isFinite(d.getTime()) ? d.toISOString() : String(ms);
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function oneLine(s: string): string {
  return s.replace(/[\r\n]+/g, ' ');
}
