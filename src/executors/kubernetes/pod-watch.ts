/**
 * What the Kubernetes executor sees of its pods, and what it means for their tries.
 *
 * - One watch per namespace on the executor's pods (by label), one on Warning events
 *   (watcher.ts). Every status change goes through classifyPod (classify.ts).
 * - While the pod starts, two clocks run: unscheduled (no node yet) and starting (on a node,
 *   containers not running). Each has its own timeout. Image-pull and config errors fail at
 *   once. The scheduler's reason ("0/7 nodes are available: ...") is reported as a
 *   `pending_reason` event and in the try log.
 * - A running pod is reported `started` and its log followed; a terminated one finishes its
 *   try, with the termination message as the result; a pod that vanishes loses it.
 */
import { fmtMs } from '../format.js';
import { tryKeyString } from '../types.js';
import { classifyPod } from './classify.js';
import type { ExecutorContext } from './context.js';
import type { LiveTries } from './live-tries.js';
import { managedSelector, tryKeyOfPod } from './naming.js';
import { TERMINATION_MESSAGE_LIMIT_BYTES } from './options.js';
import type { EventJson, PodJson } from './pod-json.js';
import { olderThan, podsPath, type PodTry } from './pod-try.js';
import { parseTerminationResult } from './result.js';
import type { TryLogs } from './try-logs.js';
import { ResourceWatcher, type WatchEventType } from './watcher.js';

interface NamespaceWatch {
  readonly pods: ResourceWatcher<PodJson>;
  readonly events: ResourceWatcher<EventJson>;
  readonly ready: Promise<void>;
}

/** Watch counters of one namespace: lists (1 + relists) and connections. */
export interface NamespaceWatchStats {
  podLists: number;
  podConnects: number;
  eventConnects: number;
  resourceVersion?: string;
}

export class PodWatch {
  private readonly watches = new Map<string, NamespaceWatch>();

  constructor(
    private readonly ctx: ExecutorContext,
    private readonly tries: LiveTries,
    private readonly logs: TryLogs,
  ) {}

  /** Starts watching the namespace (once); resolves when both watches have listed. */
  ensure(ns: string): Promise<void> {
    let w = this.watches.get(ns);
    if (!w) {
      const client = this.ctx.client();
      const pods = new ResourceWatcher<PodJson>({
        client,
        path: podsPath(ns),
        labelSelector: managedSelector(this.ctx.id),
        onList: (items, rv) => this.onPodList(ns, items, rv),
        onEvent: (type, pod) => this.onPodEvent(type, pod),
      });
      const events = new ResourceWatcher<EventJson>({
        client,
        path: `/api/v1/namespaces/${encodeURIComponent(ns)}/events`,
        fieldSelector: 'involvedObject.kind=Pod,type=Warning',
        onList: (items) => {
          for (const e of items) this.onPodK8sEvent(e);
        },
        onEvent: (type, e) => {
          if (type !== 'DELETED') this.onPodK8sEvent(e);
        },
      });
      w = { pods, events, ready: Promise.all([pods.start(), events.start()]).then(() => undefined) };
      this.watches.set(ns, w);
    }
    return w.ready;
  }

  /** The namespaces watched. */
  namespaces(): string[] {
    return [...this.watches.keys()];
  }

  /** Watch counters per namespace. */
  stats(): Record<string, NamespaceWatchStats> {
    const out: Record<string, NamespaceWatchStats> = {};
    for (const [ns, w] of this.watches) out[ns] = { podLists: w.pods.lists, podConnects: w.pods.connects, eventConnects: w.events.connects, resourceVersion: w.pods.version };
    return out;
  }

  /** Stops every watch. */
  async stop(): Promise<void> {
    await Promise.all([...this.watches.values()].flatMap((w) => [w.pods.stop(), w.events.stop()]));
    this.watches.clear();
  }

  private onPodList(ns: string, items: readonly PodJson[], listRv: string | undefined): void {
    const seen = new Set<string>();
    for (const pod of items) {
      seen.add(`${ns}/${pod.metadata.name}`);
      this.onPodEvent('MODIFIED', pod);
    }
    // Tries whose pod vanished while the watch was down (not ones created after the list).
    for (const t of this.tries.placedTries()) {
      if (t.namespace === ns && t.exists && !seen.has(`${ns}/${t.name}`) && olderThan(t.rv, listRv)) this.onPodGone(t, undefined);
    }
  }

  private onPodEvent(type: WatchEventType, pod: PodJson): void {
    this.ctx.stats.watchEvents++;
    const t = this.tries.ofPod(pod.metadata.namespace, pod.metadata.name);
    if (!t || t.phase === 'done') return;
    if (t.uid !== undefined && pod.metadata.uid !== undefined && pod.metadata.uid !== t.uid) return; // another incarnation
    if (t.uid === undefined) {
      // First sight of the pod (it may predate this process): it must be this try's.
      const owner = tryKeyOfPod(pod.metadata.annotations);
      if (!owner || tryKeyString(owner) !== t.keyString) return;
      t.rv ??= pod.metadata.resourceVersion;
    }
    if (type === 'DELETED') {
      if (t.phase !== 'creating') this.onPodGone(t, pod);
      return;
    }
    t.uid ??= pod.metadata.uid;
    t.exists = true;
    this.onPodStatus(t, pod);
  }

  /** FailedScheduling and other Warning events of a try's pod. */
  private onPodK8sEvent(e: EventJson): void {
    const obj = e.involvedObject;
    const t = this.tries.ofPod(obj.namespace ?? e.metadata.namespace, obj.name);
    if (!t || (t.uid && obj.uid && obj.uid !== t.uid)) return;
    if (t.phase !== 'creating' && t.phase !== 'unscheduled' && t.phase !== 'starting') return;
    const message = (e.message ?? '').trim();
    if (e.reason === 'FailedScheduling') {
      t.schedulerReason = message;
      this.pendingReason(t, `waiting for a node: ${message}`);
    } else if (e.reason && t.phase === 'starting') {
      this.pendingReason(t, `starting on node ${t.node ?? '?'}: ${e.reason}: ${message}`);
    }
  }

  /** Reports why the try's pod is not running yet (once per change): a `pending_reason` event and a log line. */
  pendingReason(t: PodTry, reason: string): void {
    if (reason === t.pendingReason) return;
    t.pendingReason = reason;
    this.logs.note(t, reason);
    this.ctx.emit({ type: 'pending_reason', key: t.key, reason });
  }

  /** What a status of the try's pod means for the try. */
  onPodStatus(t: PodTry, pod: PodJson): void {
    if (t.phase === 'finishing' || t.phase === 'done') return;
    const v = classifyPod(pod, { containerName: t.info.container, skipExitCode: t.info.skipExitCode });
    switch (v.kind) {
      case 'unscheduled': {
        t.phase = 'unscheduled';
        if (v.reason) {
          t.schedulerReason = v.reason;
          this.pendingReason(t, `waiting for a node: ${v.reason}`);
        }
        return;
      }
      case 'starting': {
        this.scheduled(t, v.node);
        const w = v.waiting ?? 'waiting for the containers to start';
        if (w !== t.waitingReason) {
          t.waitingReason = w;
          this.pendingReason(t, `scheduled on node ${v.node}; ${w}`);
        }
        return;
      }
      case 'running':
        this.scheduled(t, v.node);
        this.running(t, pod, true);
        return;
      case 'fail_fast':
        if (v.node) this.scheduled(t, v.node);
        void this.tries.stop(t, v.failureClass, v.reason);
        return;
      case 'terminal': {
        if (v.node) this.scheduled(t, v.node);
        // Seen only once done: report it started, and read its log once (no follow stream).
        if (v.node) this.running(t, pod, false);
        if (t.kill) {
          void this.tries.finish(t, { outcome: 'failed', failureClass: t.kill.failureClass, reason: t.kill.reason, exitCode: v.exitCode });
          return;
        }
        if (v.outcome === 'success') {
          const read = parseTerminationResult(v.message, t.info.resultLimitBytes, this.ctx.options.terminationMessageLimitBytes ?? TERMINATION_MESSAGE_LIMIT_BYTES);
          if (!read.ok) void this.tries.finish(t, { outcome: 'failed', failureClass: 'result_invalid', exitCode: v.exitCode, reason: read.message });
          else void this.tries.finish(t, { outcome: 'success', exitCode: v.exitCode, result: read.value });
          return;
        }
        void this.tries.finish(t, { outcome: v.outcome, exitCode: v.exitCode, failureClass: v.failureClass, reason: v.reason });
        return;
      }
    }
  }

  /** The unscheduled clock ran out: no node took the pod in time. */
  unschedulableTimeout(t: PodTry): void {
    if (t.node !== undefined || t.phase === 'done' || t.phase === 'finishing') return;
    const ms = t.info.unscheduledTimeoutMs;
    const why = t.schedulerReason
      ? `the scheduler said: ${t.schedulerReason}`
      : t.pendingReason
        ? `last state: ${t.pendingReason}`
        : 'the scheduler gave no reason';
    void this.tries.stop(t, 'unschedulable', `no node could take the pod within ${fmtMs(ms)}; ${why}`);
  }

  /** Stops the try when it runs past its execution timeout, `ms` from now. */
  executionTimeout(t: PodTry, ms: number, timeoutMs: number): void {
    t.timers.execution = setTimeout(() => void this.tries.stop(t, 'execution_timeout', `ran longer than its execution timeout of ${fmtMs(timeoutMs)}`), ms);
  }

  /** The pod got a node: the unscheduled clock stops, the starting clock runs. */
  private scheduled(t: PodTry, node: string): void {
    if (t.node !== undefined) return;
    t.node = node;
    clearTimeout(t.timers.unscheduled);
    t.timers.unscheduled = undefined;
    if (t.phase === 'creating' || t.phase === 'unscheduled') t.phase = 'starting';
    this.logs.note(t, `scheduled on node ${node}`);
    const ms = t.info.startupTimeoutMs;
    t.timers.startup = setTimeout(() => {
      void this.tries.stop(
        t,
        'startup_timeout',
        `the pod was scheduled on node ${node} but its containers did not start within ${fmtMs(ms)} (last state: ${t.waitingReason ?? 'waiting'}); ` +
          'check image size and pull time, volumes and init containers, or raise startupTimeout',
      );
    }, ms);
  }

  private running(t: PodTry, pod: PodJson, follow: boolean): void {
    if (t.startedEmitted) return;
    t.startedEmitted = true;
    clearTimeout(t.timers.startup);
    t.timers.startup = undefined;
    if (t.phase !== 'finishing') t.phase = 'running';
    const external = this.externalOf(t);
    this.logs.note(t, `pod ${t.namespace}/${t.name} running on node ${t.node}`);
    this.ctx.emit({ type: 'started', key: t.key, at: this.ctx.now(), host: t.node ?? '', external });
    const ms = t.info.executionTimeoutMs;
    if (ms !== undefined && ms > 0) this.executionTimeout(t, ms, ms);
    if (this.ctx.options.streamLogs !== false && pod.metadata.uid) this.logs.follow(t, follow);
  }

  private externalOf(t: PodTry): string {
    const base = `${t.name}/${t.uid ?? ''}`;
    return t.namespace === this.ctx.namespace() ? base : `${t.namespace}/${base}`;
  }

  private onPodGone(t: PodTry, last: PodJson | undefined): void {
    if (t.phase === 'finishing' || t.phase === 'done') return;
    if (last) {
      const v = classifyPod(last, { containerName: t.info.container, skipExitCode: t.info.skipExitCode });
      if (v.kind === 'terminal' && !t.kill) {
        this.onPodStatus(t, last);
        return;
      }
    }
    t.exists = false;
    if (t.kill) {
      void this.tries.finish(t, { outcome: 'failed', failureClass: t.kill.failureClass, reason: t.kill.reason });
      return;
    }
    void this.tries.finish(t, {
      outcome: 'failed',
      failureClass: 'lost',
      reason: `the pod ${t.namespace}/${t.name} was deleted while the try was ${t.phase === 'running' ? 'running' : 'starting'}, not by Trainyard (by a user, a controller, or node loss)`,
    });
  }
}
