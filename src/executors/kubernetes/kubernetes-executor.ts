/**
 * The Kubernetes executor: each try is one pod.
 *
 * - launch() builds the pod and creates it (pod-create.ts); the name comes from the try key,
 *   so a repeated launch (after a crash too) gets 409 AlreadyExists and follows the pod that
 *   exists. Never a second pod.
 * - One watch per namespace on the executor's pods and one on Warning events; every status
 *   change is mapped to try events, with the unscheduled and starting clocks (pod-watch.ts).
 * - Container logs stream into the try log (try-logs.ts, log-follower.ts), so metric lines
 *   become telemetry exactly as locally. The result is the termination message.
 * - A try that is stopped (cancel, timeout, fail-fast) has its pod deleted; `finished` comes
 *   when the pod is gone or terminated. Finished pods are deleted or kept by the onFinish
 *   policy (live-tries.ts).
 * - adopt() takes back pods after a restart; reap() deletes pods of runs that no longer
 *   exist (adopt.ts).
 */
import { EventHub } from '../event-hub.js';
import type { FailureClass } from '../../core/failure.js';
import type { Resources } from '../../core/spec.js';
import {
  tryKeyString,
  type AdoptResult,
  type Executor,
  type ExecutorCapacity,
  type ExecutorEvent,
  type LaunchRequest,
  type LiveTryRecord,
  type TryKey,
} from '../types.js';
import { PodRecovery } from './adopt.js';
import { KubeApiClient } from './api-client.js';
import { loadKubeConfig } from './config-files.js';
import type { ExecutorContext, ExecutorStats } from './context.js';
import { CreationGate } from './creation-gate.js';
import { LiveTries } from './live-tries.js';
import { podName } from './naming.js';
import type { KubernetesExecutorOptions } from './options.js';
import { launchInfo, PodCreator } from './pod-create.js';
import { checkMachinePreset, requestedGpus } from './pod-spec.js';
import { LAUNCH_ANNOTATION, newPodTry, notACommand } from './pod-try.js';
import { PodWatch, type NamespaceWatchStats } from './pod-watch.js';
import { TryLogs } from './try-logs.js';

/** The longest that log follows, log tails and deletions of finished pods wait for creations. */
const HOUSEKEEPING_WAIT_MS = 5000;

export { LAUNCH_ANNOTATION };

export class KubernetesExecutor implements Executor {
  readonly name = 'kubernetes';
  readonly id: string;
  private readonly o: KubernetesExecutorOptions;
  private readonly now: () => number;
  private readonly events = new EventHub();
  private readonly tries: LiveTries;
  private readonly logs: TryLogs;
  private readonly watch: PodWatch;
  private readonly pods: PodCreator;
  private readonly recovery: PodRecovery;
  private client?: KubeApiClient;
  private setup?: Promise<void>;
  private namespace: string;
  private closed = false;
  /** Counters for figures and tests. */
  readonly stats: ExecutorStats = { podsCreated: 0, alreadyExisted: 0, podsDeleted: 0, watchEvents: 0 };

  constructor(options: KubernetesExecutorOptions = {}) {
    this.o = options;
    this.id = options.id ?? 'trainyard';
    this.now = options.now ?? Date.now;
    const ctx: ExecutorContext = {
      id: this.id,
      options,
      now: this.now,
      stats: this.stats,
      creations: new CreationGate(HOUSEKEEPING_WAIT_MS),
      client: () => this.client!,
      namespace: () => this.namespace,
      emit: (event) => this.events.emit(event),
    };
    this.logs = new TryLogs(ctx);
    this.tries = new LiveTries(ctx, this.logs);
    this.watch = new PodWatch(ctx, this.tries, this.logs);
    this.pods = new PodCreator(ctx, this.tries, this.logs, this.watch);
    this.recovery = new PodRecovery(ctx, this.tries, this.logs, this.watch);
    this.namespace = options.namespace ?? 'default';
    for (const [name, preset] of Object.entries(options.machines ?? {})) checkMachinePreset(name, preset);
  }

  /** Loads the kubeconfig and makes the API client (once). */
  private init(): Promise<void> {
    this.setup ??= (async () => {
      const kc = await loadKubeConfig(this.o);
      if (this.o.namespace === undefined) {
        const ctx = kc.getContextObject(kc.getCurrentContext());
        this.namespace = ctx?.namespace || 'default';
      }
      this.client = new KubeApiClient(kc, { qps: this.o.qps ?? 50, burst: this.o.burst ?? 100, now: this.now });
    })();
    return this.setup;
  }

  /** The API client (after init), for tests and tools. */
  async api(): Promise<KubeApiClient> {
    await this.init();
    return this.client!;
  }

  /** The namespace tries go to unless they name one. */
  async defaultNamespace(): Promise<string> {
    await this.init();
    return this.namespace;
  }

  onEvent(listener: (event: ExecutorEvent) => void): void {
    this.events.on(listener);
  }

  hasCapacity(resources: Resources): boolean {
    if (this.closed) return false;
    if (this.o.gpuQuota === undefined) return true;
    return this.tries.gpuUsed + resources.gpu <= this.o.gpuQuota;
  }

  /** GPUs a try asks for before its pod exists: its resources, raised by its machine preset (pools count them). */
  gpuRequest(req: { readonly resources: Resources; readonly pod?: Readonly<Record<string, unknown>> }): number {
    try {
      return requestedGpus(req.resources, req.pod, this.o.machines ?? {});
    } catch {
      return req.resources.gpu; // pod options it would refuse: the launch fails with class config and says why
    }
  }

  capacity(): ExecutorCapacity {
    return {
      cpu: { used: 0, total: 0 },
      memoryMb: { used: 0, total: 0 },
      gpu: { used: this.o.gpuQuota === undefined ? 0 : this.tries.gpuUsed, total: this.o.gpuQuota ?? 0 },
      running: this.tries.size,
    };
  }

  async launch(req: LaunchRequest): Promise<void> {
    const keyString = tryKeyString(req.key);
    if (this.tries.known(keyString)) return;
    if (req.kind !== 'command') return this.tries.refuse(req.key, keyString, notACommand((req as { kind: string }).kind));
    // Registered at once, so a concurrent launch of the same key returns and a cancel finds it.
    const t = newPodTry(this.now(), req.key, this.namespace, podName(req.key, this.id), launchInfo(req, undefined), 'creating');
    this.tries.add(t);
    if (this.closed) return this.tries.finish(t, { outcome: 'failed', failureClass: 'lost', reason: 'the executor is shutting down; the try was not started' });
    try {
      await this.init();
    } catch (err) {
      return this.tries.finish(t, { outcome: 'failed', failureClass: 'config', reason: `cannot load the Kubernetes configuration: ${(err as Error).message}` });
    }
    await this.pods.launch(t, req);
  }

  async cancel(key: TryKey, failureClass: FailureClass, reason: string): Promise<void> {
    const t = this.tries.get(tryKeyString(key));
    if (t) await this.tries.stop(t, failureClass, reason);
  }

  /** Resolves once the log of a finished try is complete on disk (at once when it is). */
  async logsFlushed(key: TryKey): Promise<void> {
    await this.logs.flushed(key);
  }

  /** Takes back the pods of live tries after a restart (see PodRecovery.adopt). */
  async adopt(records: readonly LiveTryRecord[]): Promise<AdoptResult[]> {
    await this.init();
    return this.recovery.adopt(records);
  }

  /**
   * Deletes pods of this executor whose DAG run no longer exists (`runExists` answers from
   * the store). Pods of tries this process follows are left alone. Returns the deleted pods.
   */
  async reap(runExists: (dagId: string, runId: string) => boolean | Promise<boolean>, namespaces?: readonly string[]): Promise<string[]> {
    await this.init();
    return this.recovery.reap(runExists, namespaces);
  }

  /**
   * Stops launching. Waits up to graceMs for live tries; then, with onClose "detach" (the
   * default), leaves their pods running for adopt() after a restart (no `finished` events);
   * with "delete", deletes them and reports them `lost`.
   */
  async close(graceMs = 0): Promise<void> {
    this.closed = true;
    const live = this.tries.all();
    if (live.length > 0 && graceMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(live.map((t) => t.done)), new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
    }
    const left = this.tries.all();
    if (this.o.onClose === 'delete') await Promise.all(left.map((t) => this.tries.stop(t, 'lost', 'the executor shut down')));
    else await this.tries.detach(left);
    await this.logs.allFlushed();
    await this.watch.stop();
    this.client?.close();
  }

  /** Watch counters, for tests and figures: lists (1 + relists) and connections per namespace. */
  watchStats(): Record<string, NamespaceWatchStats> {
    return this.watch.stats();
  }
}
