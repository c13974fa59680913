import { formatNotification } from './format.js';
import { checkUrl, postJson, urlSecrets } from './http-post.js';
import { redactUrl } from './redact.js';
import type { Notification, Notifier } from './types.js';

export interface WebhookNotifierOptions {
  url: string;
  /** Extra headers, e.g. an Authorization header; their values are masked in logs. */
  headers?: Record<string, string>;
}

/** The JSON body a webhook receives: the notification, plus its subject and text. */
export interface WebhookPayload extends Notification {
  readonly version: 1;
  readonly subject: string;
  readonly text: string;
  /** `at` as ISO-8601. */
  readonly time: string;
}

export function webhookPayload(n: Notification): WebhookPayload {
  const { subject, text } = formatNotification(n);
  return { version: 1, ...n, subject, text, time: new Date(n.at).toISOString() };
}

/** POSTs each notification as JSON (WebhookPayload) to a URL; any 2xx answer is success. */
export function webhookNotifier(opts: WebhookNotifierOptions): Notifier {
  const url = checkUrl(opts?.url, 'webhookNotifier', 'url');
  const headers = { ...(opts.headers ?? {}) };
  return {
    name: 'webhook',
    target: redactUrl(url),
    secrets: [...urlSecrets(url), ...Object.values(headers).flatMap((v) => [v, v.replace(/^\S+\s+/, '')])],
    send: (n, { signal }) => postJson(url, webhookPayload(n), headers, signal, 'webhook'),
  };
}
