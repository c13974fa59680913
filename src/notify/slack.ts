import { formatNotification, headline, isoTime, taskLabel, uiLink } from './format.js';
import { checkUrl, postJson, urlSecrets } from './http-post.js';
import { redactUrl } from './redact.js';
import type { Notification, Notifier } from './types.js';

export interface SlackNotifierOptions {
  /** A Slack (or compatible: Mattermost, Rocket.Chat…) incoming-webhook URL. */
  webhookUrl: string;
  /** The web UI's base URL; with it each message links to the run or task. */
  baseUrl?: string;
}

const EMOJI: Record<Notification['kind'], string> = {
  task_failed: ':x:',
  task_success: ':white_check_mark:',
  task_retry: ':repeat:',
  task_skipped: ':fast_forward:',
  run_success: ':white_check_mark:',
  run_failed: ':x:',
  deadline_missed: ':alarm_clock:',
};

/** Slack's mrkdwn needs &, < and > escaped. */
export function slackEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export interface SlackPayload {
  text: string;
  blocks?: unknown[];
}

/** The incoming-webhook payload: `text` (the fallback shown in notifications) and Block Kit blocks. */
export function slackPayload(n: Notification, baseUrl?: string): SlackPayload {
  const link = n.url ?? (baseUrl ? uiLink(baseUrl, n) : undefined);
  const { subject } = formatNotification(n);
  const title = `${EMOJI[n.kind] ?? ''} *${slackEscape(n.dagId)}*: ${slackEscape(headline(n))}`.trim();
  const fields = [
    ['DAG', n.dagId],
    ['Run', n.runId],
    ...(n.taskId ? [['Task', taskLabel(n)!]] : []),
    ['State', n.state],
    ...(n.tryNumber !== undefined ? [['Try', String(n.tryNumber)]] : []),
    ...(n.failureClass ? [['Failure class', n.failureClass]] : []),
  ];
  const blocks: unknown[] = [
    { type: 'section', text: { type: 'mrkdwn', text: title } },
    { type: 'section', fields: fields.map(([k, v]) => ({ type: 'mrkdwn', text: `*${k}*\n${slackEscape(v)}` })) },
  ];
  if (n.reason) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `*Reason*\n${slackEscape(n.reason).slice(0, 2900)}` } });
  const anchor = link ? `<${link.replace(/[<>|]/g, encodeURIComponent)}|Open in Trainyard>` : undefined;
  blocks.push({ type: 'context', elements: [isoTime(n.at), ...(anchor ? [anchor] : [])].map((text) => ({ type: 'mrkdwn', text })) });
  return { text: slackEscape(subject) + (anchor ? `\n${anchor}` : ''), blocks };
}

/** Posts to a Slack-compatible incoming webhook. The webhook URL is a secret and never logged. */
export function slackNotifier(opts: SlackNotifierOptions): Notifier {
  const url = checkUrl(opts?.webhookUrl, 'slackNotifier', 'webhookUrl');
  const baseUrl = opts.baseUrl === undefined ? undefined : checkUrl(opts.baseUrl, 'slackNotifier', 'baseUrl');
  return {
    name: 'slack',
    target: redactUrl(url),
    secrets: urlSecrets(url),
    send: (n, { signal }) => postJson(url, slackPayload(n, baseUrl), {}, signal, 'Slack webhook'),
  };
}
