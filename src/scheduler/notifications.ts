import type { DagSpec, NotifierSpec, NotifyEvent, TaskSpec } from '../core/spec.js';
import { emailNotifier } from '../notify/email.js';
import { sendSafely } from '../notify/safe.js';
import { slackNotifier } from '../notify/slack.js';
import type { Notification, Notifier } from '../notify/types.js';
import { webhookNotifier } from '../notify/webhook.js';

export function notifierFromSpec(spec: NotifierSpec): Notifier {
  switch (spec.kind) {
    case 'webhook':
      return webhookNotifier({ url: spec.url, headers: spec.headers ? { ...spec.headers } : undefined });
    case 'slack':
      return slackNotifier({ webhookUrl: spec.webhookUrl, baseUrl: spec.baseUrl });
    case 'email':
      return emailNotifier({ host: spec.host, port: spec.port, from: spec.from, to: spec.to, secure: spec.secure, user: spec.user, password: spec.password });
  }
}

/** The notifiers for an event: the task's own when it names some for it, else the DAG's. */
export function notifiersFor(event: NotifyEvent, dag: DagSpec, task?: TaskSpec): readonly NotifierSpec[] {
  return task?.notify?.[event] ?? dag.notify?.[event] ?? [];
}

/**
 * Notifications gathered during a tick and sent after it commits, without waiting: a slow
 * or failing endpoint is logged and never stalls or crashes the scheduler.
 */
export class Outbox {
  private pending: { specs: readonly NotifierSpec[]; n: Notification }[] = [];

  constructor(private readonly log: (line: string) => void) {}

  add(specs: readonly NotifierSpec[], n: Notification): void {
    if (specs.length) this.pending.push({ specs, n });
  }

  flush(): void {
    const batch = this.pending;
    this.pending = [];
    for (const { specs, n } of batch) {
      for (const spec of specs) {
        void sendSafely(notifierFromSpec(spec), n, (line: string) => this.log(line)).catch(() => {});
      }
    }
  }

  discard(): void {
    this.pending = [];
  }
}
