/**
 * The tries the Kubernetes executor follows (by try key and by pod), the GPUs their pods
 * take, the keys of tries that finished, and how a try ends: stop() deletes its pod with the
 * grace period and finishes it once the pod is gone; finish() reports it at once, then
 * completes its log, and the finished pod is deleted or kept by the onFinish policy.
 */
import type { FailureClass } from '../../core/failure.js';
import type { TryKey, TryOutcome } from '../types.js';
import { KubeApiError } from './api-client.js';
import type { ExecutorContext } from './context.js';
import type { CleanupPolicy } from './options.js';
import { podPath, type Finish, type PodTry } from './pod-try.js';
import type { TryLogs } from './try-logs.js';

const FINISHED_KEYS_KEPT = 200_000;

export class LiveTries {
  private readonly byKey = new Map<string, PodTry>();
  private readonly byPod = new Map<string, PodTry>();
  private readonly finishedKeys = new Set<string>();
  private gpus = 0;

  constructor(
    private readonly ctx: ExecutorContext,
    private readonly logs: TryLogs,
  ) {}

  /** How many tries are followed. */
  get size(): number {
    return this.byKey.size;
  }

  /** GPUs the pods of followed tries take. */
  get gpuUsed(): number {
    return this.gpus;
  }

  /** Whether the try is followed. */
  has(keyString: string): boolean {
    return this.byKey.has(keyString);
  }

  /** Whether the try is followed or has finished (a launch of it does nothing). */
  known(keyString: string): boolean {
    return this.byKey.has(keyString) || this.finishedKeys.has(keyString);
  }

  get(keyString: string): PodTry | undefined {
    return this.byKey.get(keyString);
  }

  /** The followed try of the pod namespace/name. */
  ofPod(namespace: string | undefined, name: string | undefined): PodTry | undefined {
    return this.byPod.get(`${namespace}/${name}`);
  }

  /** The followed tries, as they are now. */
  all(): PodTry[] {
    return [...this.byKey.values()];
  }

  /** The followed tries whose pod is known, as they are now. */
  placedTries(): PodTry[] {
    return [...this.byPod.values()];
  }

  /** Follows a try (its pod may not be known yet). */
  add(t: PodTry): void {
    this.byKey.set(t.keyString, t);
  }

  /** The try's pod is known (built or found): watch events find the try by it, and its GPUs count. */
  placed(t: PodTry): void {
    this.gpus += t.gpus;
    this.byPod.set(`${t.namespace}/${t.name}`, t);
  }

  /** Reports a launch that cannot become a pod as failed with class config. */
  refuse(key: TryKey, keyString: string, reason: string): void {
    this.finishedKeys.add(keyString);
    this.ctx.emit({ type: 'finished', key, at: this.ctx.now(), outcome: 'failed', exitCode: null, signal: null, failureClass: 'config', reason });
  }

  /** Deletes the try's pod (with the grace period) and finishes it with the class once the pod is gone. */
  stop(t: PodTry, failureClass: FailureClass, reason: string): Promise<void> {
    if (t.phase === 'done' || t.phase === 'finishing' || t.kill) return t.done;
    t.kill = { failureClass, reason };
    for (const k of ['unscheduled', 'startup', 'execution'] as const) {
      clearTimeout(t.timers[k]);
      t.timers[k] = undefined;
    }
    if (!t.exists) {
      // Not created yet: the creation deletes it once it exists; if it never does, finish now.
      if (t.phase !== 'creating') void this.finish(t, { outcome: 'failed', failureClass, reason });
      t.wakeCreate?.();
      return t.done;
    }
    const grace = graceSeconds(t);
    this.logs.note(t, `stopping: ${reason}; deleting pod ${t.namespace}/${t.name} (grace ${grace} s)`);
    void this.deletePod(t, grace);
    // The pod normally goes within the grace period; never wait forever (a lost node).
    t.timers.stop = setTimeout(() => void this.finish(t, { outcome: 'failed', failureClass, reason }), t.info.killGraceMs + 15_000);
    return t.done;
  }

  async deletePod(t: PodTry, graceSeconds: number): Promise<void> {
    try {
      await this.ctx.client().request('DELETE', podPath(t.namespace, t.name), {
        body: { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: graceSeconds, ...(t.uid ? { preconditions: { uid: t.uid } } : {}) },
      });
      this.ctx.stats.podsDeleted++;
    } catch (err) {
      if (err instanceof KubeApiError && (err.status === 404 || err.status === 409)) {
        // Gone already (or another incarnation): nothing runs for this try.
        if (t.kill && t.phase !== 'done' && t.phase !== 'finishing') void this.finish(t, { outcome: 'failed', failureClass: t.kill.failureClass, reason: t.kill.reason });
        return;
      }
      this.logs.note(t, `could not delete pod ${t.namespace}/${t.name}: ${(err as Error).message}`);
    }
  }

  /**
   * Reports the try finished at once (the status is known), then completes its log: the
   * follow stream's tail is read and the file closed right after (TryLogs.flushed() waits for it).
   */
  async finish(t: PodTry, f: Finish): Promise<void> {
    if (t.phase === 'done' || t.phase === 'finishing') return t.done;
    t.phase = 'finishing';
    for (const timer of Object.values(t.timers)) clearTimeout(timer);
    const completing = this.logs.complete(t, f);
    t.phase = 'done';
    if (this.byKey.get(t.keyString) === t) this.byKey.delete(t.keyString);
    if (this.byPod.get(`${t.namespace}/${t.name}`) === t) this.byPod.delete(`${t.namespace}/${t.name}`);
    this.gpus -= t.gpus;
    this.rememberFinished(t.keyString);
    this.ctx.emit({
      type: 'finished',
      key: t.key,
      at: this.ctx.now(),
      outcome: f.outcome,
      exitCode: f.exitCode ?? null,
      signal: null,
      ...(f.failureClass ? { failureClass: f.failureClass } : {}),
      ...(f.reason !== undefined ? { reason: f.reason } : {}),
      ...(f.outcome === 'success' ? { result: f.result ?? null } : {}),
    });
    t.resolveDone();
    // The pod goes once its log has been read to the end (a deleted pod has no log).
    if (t.exists && !t.kill && shouldDelete(t.info.onFinish, f.outcome))
      void (completing ?? Promise.resolve()).then(() => this.ctx.creations.housekeeping(() => this.deletePod(t, 0)));
  }

  /** Lets go of the tries without finishing them (their pods run on, for adopt() after a restart). */
  async detach(tries: readonly PodTry[]): Promise<void> {
    for (const t of tries) {
      for (const timer of Object.values(t.timers)) clearTimeout(timer);
      await this.logs.detach(t);
      t.phase = 'done';
      t.resolveDone();
    }
    this.byKey.clear();
    this.byPod.clear();
  }

  private rememberFinished(keyString: string): void {
    this.finishedKeys.add(keyString);
    if (this.finishedKeys.size > FINISHED_KEYS_KEPT) {
      const oldest = this.finishedKeys.values().next().value;
      if (oldest !== undefined) this.finishedKeys.delete(oldest);
    }
  }
}

/** The try's kill grace period in whole seconds (what the pod deletion asks for). */
export function graceSeconds(t: PodTry): number {
  return Math.ceil(t.info.killGraceMs / 1000);
}

function shouldDelete(policy: CleanupPolicy, outcome: TryOutcome): boolean {
  if (policy === 'keep-all') return false;
  if (policy === 'keep-failed') return outcome !== 'failed';
  return true;
}
