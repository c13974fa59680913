/**
 * Notifications: one Notification object, formatted once, sent by a webhook, a Slack-compatible
 * incoming webhook or email (SMTP). Callers send through sendSafely, which never throws.
 */
export { NOTIFICATION_KINDS, NotifyError, type Notification, type NotificationKind, type Notifier, type SendOptions } from './types.js';
export { formatNotification, headline, taskLabel, uiLink, type FormattedNotification } from './format.js';
export { webhookNotifier, webhookPayload, type WebhookNotifierOptions, type WebhookPayload } from './webhook.js';
export { slackNotifier, slackPayload, slackEscape, type SlackNotifierOptions, type SlackPayload } from './slack.js';
export { emailNotifier, buildMessage, encodeWord, quotedPrintable, rfc5322Date, type EmailNotifierOptions, type EmailMessage } from './email.js';
export { sendSmtp, dotStuff, type SmtpOptions, type SmtpEnvelope } from './smtp.js';
export { sendSafely, DEFAULT_NOTIFY_TIMEOUT_MS, type NotifyLog, type SendOutcome } from './safe.js';
export { redactUrl, redactText } from './redact.js';
