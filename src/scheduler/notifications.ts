import type { DagSpec, NotifierSpec, NotifyEvent, TaskSpec } from '../core/spec.js';
import { callbackNotifier, type CallbackWorkers, DEFAULT_CALLBACK_TIMEOUT_MS, isCallbackEvent } from '../notify/callback.js';
import { emailNotifier } from '../notify/email.js';
import { sendSafely } from '../notify/safe.js';
import { slackNotifier } from '../notify/slack.js';
import type { Notification, Notifier } from '../notify/types.js';
import { webhookNotifier } from '../notify/webhook.js';
import type { Store } from '../store/store.js';
import { claimOutboxRow, finishOutboxRow, insertOutboxRows, interruptOrphanedRows, type OutboxRow, pendingOutboxRows } from './outbox-store.js';

/** Where a notification goes: a built-in notifier, or a user function in the DAG file. */
export type OutboxTarget = NotifierSpec | { readonly kind: 'callback'; readonly taskId?: string };

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

/**
 * Where an event goes: the task's own notifiers when it names some for it, else the DAG's;
 * then the user function for it, if any (the task's for task events, the DAG's for run events).
 */
export function notifiersFor(event: NotifyEvent, dag: DagSpec, task?: TaskSpec): readonly OutboxTarget[] {
  const notifiers = task?.notify?.[event] ?? dag.notify?.[event] ?? [];
  const owner = task ?? dag;
  if (!owner.callbacks?.includes(event)) return notifiers;
  return [...notifiers, task ? { kind: 'callback', taskId: task.taskId } : { kind: 'callback' }];
}

export interface OutboxOptions {
  /** With a store, every notification is written in the tick's transaction (`persist`) and survives a restart. */
  readonly store?: Store;
  /** Runs callbacks; without it a callback is recorded as failed. */
  readonly workers?: CallbackWorkers;
  /** How long one callback may run (default 30 s). */
  readonly callbackTimeoutMs?: number;
  /** This scheduler's id, for claiming rows. */
  readonly schedulerId?: string;
  /** A scheduler silent this long is gone (Postgres): its half-sent rows are interrupted at recovery. */
  readonly staleSchedulerMs?: number;
}

interface Item {
  readonly target: OutboxTarget;
  readonly n: Notification;
}

/**
 * Notifications and callbacks gathered during a tick, written to the store in the tick's
 * transaction (`persist`) and sent after it commits (`flush`), without waiting: a slow,
 * failing or hanging endpoint or callback is logged, recorded, and never stalls or crashes
 * the scheduler. Each row is claimed before it is sent, so it is sent once; rows a restart
 * left pending are sent by `resume`.
 */
export class Outbox {
  private gathered: Item[] = [];
  private persisted: OutboxRow[] = [];
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly log: (line: string) => void,
    private readonly o: OutboxOptions = {},
  ) {}

  add(targets: readonly OutboxTarget[], n: Notification): void {
    for (const target of targets) this.gathered.push({ target, n });
  }

  /** Writes what this tick gathered, in its transaction. */
  async persist(tx: Store): Promise<void> {
    if (!this.o.store || this.gathered.length === 0) return;
    const items = this.gathered;
    this.gathered = [];
    this.persisted.push(...(await insertOutboxRows(tx, items, Date.now())));
  }

  /** After the commit: sends everything gathered, each once. */
  flush(): void {
    const rows = this.persisted;
    const loose = this.gathered;
    this.persisted = [];
    this.gathered = [];
    for (const row of rows) this.track(this.sendRow(row));
    for (const item of loose) this.track(this.send(item.target, item.n).then(() => undefined));
  }

  /** The tick rolled back: nothing it gathered happened. */
  discard(): void {
    this.gathered = [];
    this.persisted = [];
  }

  /**
   * At start-up: rows a stopped scheduler was sending are marked interrupted (not sent twice),
   * and rows written but never sent are sent now.
   */
  async resume(now: number): Promise<void> {
    const store = this.o.store;
    if (!store) return;
    const interrupted = await interruptOrphanedRows(store, this.me, now - (this.o.staleSchedulerMs ?? 30_000), now);
    if (interrupted) this.log(`outbox: ${interrupted} notification(s) were being sent when a scheduler stopped; marked interrupted, not sent again`);
    for (;;) {
      const rows = await pendingOutboxRows(store, 500);
      if (rows.length === 0) break;
      await Promise.all(rows.map((row) => this.sendRow(row)));
    }
  }

  /**
   * Resolves when every send started so far has ended, or after `maxWaitMs`. A callback still
   * running then is stopped with the worker pool; a restart records its row as interrupted.
   */
  async idle(maxWaitMs = Number.POSITIVE_INFINITY): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<void>((resolve) => {
      if (Number.isFinite(maxWaitMs)) timer = setTimeout(resolve, maxWaitMs);
    });
    const drained = (async () => {
      while (this.inFlight.size) await Promise.all([...this.inFlight]);
    })();
    await Promise.race([drained, gaveUp]);
    clearTimeout(timer);
  }

  private get me(): string {
    return this.o.schedulerId ?? 'scheduler';
  }

  private track(p: Promise<void>): void {
    const tracked = p.catch((e) => this.log(`outbox: ${(e as Error).stack ?? e}`)).finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  private async sendRow(row: OutboxRow): Promise<void> {
    const store = this.o.store!;
    if (!(await claimOutboxRow(store, row.id, this.me))) return;
    const outcome = await this.send(row.target, row.notification);
    await finishOutboxRow(store, row.id, outcome.ok, outcome.error, Date.now());
  }

  private async send(target: OutboxTarget, n: Notification): Promise<{ ok: boolean; error?: string }> {
    if (target.kind !== 'callback') return sendSafely(notifierFromSpec(target), n, this.log);
    if (!this.o.workers || !this.o.store || !isCallbackEvent(n.kind)) {
      const error = `callback for ${n.kind} of ${n.dagId}/${n.runId} not run: this scheduler has no worker pool for user code`;
      this.log(error);
      return { ok: false, error };
    }
    const notifier = callbackNotifier({ workers: this.o.workers, store: this.o.store, taskId: target.taskId, output: this.log });
    return sendSafely(notifier, n, this.log, { timeoutMs: this.o.callbackTimeoutMs ?? DEFAULT_CALLBACK_TIMEOUT_MS });
  }
}
