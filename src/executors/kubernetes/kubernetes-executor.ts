/**
 * The Kubernetes executor: each try is one pod.
 *
 * - launch() builds the pod (pod-spec.ts) and creates it; the name comes from the try key,
 *   so a repeated launch (after a crash too) gets 409 AlreadyExists and follows the pod that
 *   exists. Never a second pod.
 * - One watch per namespace on the executor's pods (by label), one on Warning events
 *   (watcher.ts). Every status change goes through classifyPod (classify.ts).
 * - While the pod starts, two clocks run: unscheduled (no node yet) and starting (on a
 *   node, containers not running). Each has its own timeout. Image-pull and config errors
 *   fail at once. The scheduler's reason ("0/7 nodes are available: ...") is reported as a
 *   `pending_reason` event and in the try log.
 * - Container logs stream into the try log (log-follower.ts), so metric lines become
 *   telemetry exactly as locally. The result is the termination message.
 * - A try that is stopped (cancel, timeout, fail-fast) has its pod deleted; `finished` comes
 *   when the pod is gone or terminated. Finished pods are deleted or kept by the onFinish
 *   policy.
 * - adopt() takes back pods after a restart; reap() deletes pods of runs that no longer exist.
 */
import { EventHub } from '../event-hub.js';
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import type { FailureClass } from '../../core/failure.js';
import type { Resources } from '../../core/spec.js';
import { TryLogWriter } from '../log-writer.js';
import {
  tryKeyString,
  type AdoptResult,
  type CommandLaunch,
  type Executor,
  type ExecutorCapacity,
  type ExecutorEvent,
  type LaunchRequest,
  type LiveTryRecord,
  type TryKey,
  type TryOutcome,
} from '../types.js';
import { KubeApiClient, KubeApiError } from './api-client.js';
import { classifyPod } from './classify.js';
import { LogFollower } from './log-follower.js';
import { managedSelector, podName, tryKeyOfPod } from './naming.js';
import {
  DEFAULT_LOCAL_ONLY_ENV,
  DEFAULT_RESULT_PATH,
  TERMINATION_MESSAGE_LIMIT_BYTES,
  type CleanupPolicy,
  type KubernetesExecutorOptions,
} from './options.js';
import type { EventJson, ListJson, PodJson } from './pod-json.js';
import { buildPod, checkMachinePreset, PodSpecError, podGpus, requestedGpus, taskPodOptions, type PodBuildDefaults } from './pod-spec.js';
import { loadKubeConfig, loadTemplate } from './config-files.js';
import { CreationGate, HeldQueue } from './creation-gate.js';
import { fmtMs } from '../format.js';
import {
  lastLoggedTimestamp,
  LAUNCH_ANNOTATION,
  newPodTry,
  notACommand,
  olderThan,
  podPath,
  podsPath,
  type Finish,
  type LaunchInfo,
  type PodTry,
} from './pod-try.js';
import { Semaphore } from './rate-limit.js';
import { parseTerminationResult } from './result.js';
import { ResourceWatcher, type WatchEventType } from './watcher.js';
import { resolveTrySecrets, secretResolverFromEnv, type SecretResolver } from '../../secrets/resolver.js';

/** The skip code when a request names none (as the local executor). */
const DEFAULT_SKIP_EXIT_CODE = 99;
const FINISHED_KEYS_KEPT = 200_000;
/** The longest that log follows, log tails and deletions of finished pods wait for creations. */
const HOUSEKEEPING_WAIT_MS = 5000;

export { LAUNCH_ANNOTATION };

interface NamespaceWatch {
  readonly pods: ResourceWatcher<PodJson>;
  readonly events: ResourceWatcher<EventJson>;
  readonly ready: Promise<void>;
}

export class KubernetesExecutor implements Executor {
  readonly name = 'kubernetes';
  readonly id: string;
  private readonly o: KubernetesExecutorOptions;
  private secrets?: SecretResolver;
  private readonly now: () => number;
  private readonly events = new EventHub();
  private readonly byKey = new Map<string, PodTry>();
  private readonly byPod = new Map<string, PodTry>();
  private readonly finishedKeys = new Set<string>();
  private readonly watches = new Map<string, NamespaceWatch>();
  private readonly createSem: Semaphore;
  private readonly templates = new Map<string, Promise<V1Pod | undefined>>();
  /** Logs of finished tries still being completed (their tail read, the file closed). */
  private readonly pendingLogs = new Map<string, Promise<void>>();
  private kc?: KubeConfig;
  private client?: KubeApiClient;
  private setup?: Promise<void>;
  private namespace: string;
  private closed = false;
  private gpuUsed = 0;
  /** Pod creations queued or in flight; while there are any, housekeeping waits (creations first). */
  private readonly creations = new CreationGate(HOUSEKEEPING_WAIT_MS);
  /** Tries whose status lines are held while creations are pending. */
  private readonly heldLines = new HeldQueue<PodTry>(this.creations, (t) => this.writeHeld(t));
  /** Tries whose log follow starts once creations are done (those still running then). */
  private readonly heldFollows = new HeldQueue<PodTry>(this.creations, (t) => {
    if (t.phase !== 'done' && t.phase !== 'finishing') t.follower?.start();
  });
  /** Counters for figures and tests. */
  readonly stats = { podsCreated: 0, alreadyExisted: 0, podsDeleted: 0, watchEvents: 0 };

  constructor(options: KubernetesExecutorOptions = {}) {
    this.o = options;
    this.id = options.id ?? 'trainyard';
    this.now = options.now ?? Date.now;
    this.createSem = new Semaphore(options.createConcurrency ?? 16);
    this.namespace = options.namespace ?? 'default';
    for (const [name, preset] of Object.entries(options.machines ?? {})) checkMachinePreset(name, preset);
  }

  /** Loads the kubeconfig and makes the API client (once). */
  private init(): Promise<void> {
    this.setup ??= (async () => {
      this.kc = await loadKubeConfig(this.o);
      if (this.o.namespace === undefined) {
        const ctx = this.kc.getContextObject(this.kc.getCurrentContext());
        this.namespace = ctx?.namespace || 'default';
      }
      this.client = new KubeApiClient(this.kc, { qps: this.o.qps ?? 50, burst: this.o.burst ?? 100, now: this.now });
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

  private emit(event: ExecutorEvent): void {
    this.events.emit(event);
  }

  hasCapacity(resources: Resources): boolean {
    if (this.closed) return false;
    if (this.o.gpuQuota === undefined) return true;
    return this.gpuUsed + resources.gpu <= this.o.gpuQuota;
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
      gpu: { used: this.o.gpuQuota === undefined ? 0 : this.gpuUsed, total: this.o.gpuQuota ?? 0 },
      running: this.byKey.size,
    };
  }

  // ---- watching -----------------------------------------------------------------------

  private ensureWatch(ns: string): Promise<void> {
    let w = this.watches.get(ns);
    if (!w) {
      const client = this.client!;
      const pods = new ResourceWatcher<PodJson>({
        client,
        path: podsPath(ns),
        labelSelector: managedSelector(this.id),
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

  private onPodList(ns: string, items: readonly PodJson[], listRv: string | undefined): void {
    const seen = new Set<string>();
    for (const pod of items) {
      seen.add(`${ns}/${pod.metadata.name}`);
      this.onPodEvent('MODIFIED', pod);
    }
    // Tries whose pod vanished while the watch was down (not ones created after the list).
    for (const t of [...this.byPod.values()]) {
      if (t.namespace === ns && t.exists && !seen.has(`${ns}/${t.name}`) && olderThan(t.rv, listRv)) this.onPodGone(t, undefined);
    }
  }

  private onPodEvent(type: WatchEventType, pod: PodJson): void {
    this.stats.watchEvents++;
    const t = this.byPod.get(`${pod.metadata.namespace}/${pod.metadata.name}`);
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
    const t = this.byPod.get(`${obj.namespace ?? e.metadata.namespace}/${obj.name}`);
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

  private pendingReason(t: PodTry, reason: string): void {
    if (reason === t.pendingReason) return;
    t.pendingReason = reason;
    this.note(t, reason);
    this.emit({ type: 'pending_reason', key: t.key, reason });
  }

  private onPodStatus(t: PodTry, pod: PodJson): void {
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
        void this.stop(t, v.failureClass, v.reason);
        return;
      case 'terminal': {
        if (v.node) this.scheduled(t, v.node);
        // Seen only once done: report it started, and read its log once (no follow stream).
        if (v.node) this.running(t, pod, false);
        if (t.kill) {
          void this.finish(t, { outcome: 'failed', failureClass: t.kill.failureClass, reason: t.kill.reason, exitCode: v.exitCode });
          return;
        }
        if (v.outcome === 'success') {
          const read = parseTerminationResult(v.message, this.resultLimit(t), this.o.terminationMessageLimitBytes ?? TERMINATION_MESSAGE_LIMIT_BYTES);
          if (!read.ok) void this.finish(t, { outcome: 'failed', failureClass: 'result_invalid', exitCode: v.exitCode, reason: read.message });
          else void this.finish(t, { outcome: 'success', exitCode: v.exitCode, result: read.value });
          return;
        }
        void this.finish(t, { outcome: v.outcome, exitCode: v.exitCode, failureClass: v.failureClass, reason: v.reason });
        return;
      }
    }
  }

  private resultLimit(t: PodTry): number {
    return t.info.resultLimitBytes;
  }

  /** The pod got a node: the unscheduled clock stops, the starting clock runs. */
  private scheduled(t: PodTry, node: string): void {
    if (t.node !== undefined) return;
    t.node = node;
    clearTimeout(t.timers.unscheduled);
    t.timers.unscheduled = undefined;
    if (t.phase === 'creating' || t.phase === 'unscheduled') t.phase = 'starting';
    this.note(t, `scheduled on node ${node}`);
    const ms = t.info.startupTimeoutMs;
    t.timers.startup = setTimeout(() => {
      void this.stop(
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
    this.note(t, `pod ${t.namespace}/${t.name} running on node ${t.node}`);
    this.emit({ type: 'started', key: t.key, at: this.now(), host: t.node ?? '', external });
    const ms = t.info.executionTimeoutMs;
    if (ms !== undefined && ms > 0) {
      t.timers.execution = setTimeout(() => void this.stop(t, 'execution_timeout', `ran longer than its execution timeout of ${fmtMs(ms)}`), ms);
    }
    if (this.o.streamLogs !== false && pod.metadata.uid) this.follow(t, follow);
  }

  /** Follows the log into the try log; with start false, only finish() reads it (once). */
  private follow(t: PodTry, start = true): void {
    if (t.follower) return;
    t.follower = new LogFollower({
      client: this.client!,
      namespace: t.namespace,
      pod: t.name,
      container: t.info.container,
      onLine: (text, at) => {
        this.writeHeld(t);
        t.lineAt = at;
        t.log?.write('stdout', `${text}\n`);
        t.lineAt = null;
      },
    });
    if (t.resumeAfter) t.follower.resumeAfter(t.resumeAfter);
    if (start) this.heldFollows.add(t);
  }

  private externalOf(t: PodTry): string {
    const base = `${t.name}/${t.uid ?? ''}`;
    return t.namespace === this.namespace ? base : `${t.namespace}/${base}`;
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
      void this.finish(t, { outcome: 'failed', failureClass: t.kill.failureClass, reason: t.kill.reason });
      return;
    }
    void this.finish(t, {
      outcome: 'failed',
      failureClass: 'lost',
      reason: `the pod ${t.namespace}/${t.name} was deleted while the try was ${t.phase === 'running' ? 'running' : 'starting'}, not by Trainyard (by a user, a controller, or node loss)`,
    });
  }

  // ---- launch -------------------------------------------------------------------------

  async launch(req: LaunchRequest): Promise<void> {
    const keyString = tryKeyString(req.key);
    if (this.byKey.has(keyString) || this.finishedKeys.has(keyString)) return;
    if (req.kind !== 'command') {
      this.finishedKeys.add(keyString);
      this.emit({
        type: 'finished',
        key: req.key,
        at: this.now(),
        outcome: 'failed',
        exitCode: null,
        signal: null,
        failureClass: 'config',
        reason: notACommand((req as { kind: string }).kind),
      });
      return;
    }
    // Registered at once, so a concurrent launch of the same key returns and a cancel finds it.
    const t = newPodTry(this.now(), req.key, this.namespace, podName(req.key, this.id), this.infoOf(req, undefined), 'creating');
    this.byKey.set(keyString, t);
    if (this.closed) return this.finish(t, { outcome: 'failed', failureClass: 'lost', reason: 'the executor is shutting down; the try was not started' });
    try {
      await this.init();
    } catch (err) {
      return this.finish(t, { outcome: 'failed', failureClass: 'config', reason: `cannot load the Kubernetes configuration: ${(err as Error).message}` });
    }
    // secretRef env becomes secretKeyRef in the pod; secret(name) is read from the backends.
    const secrets = await resolveTrySecrets(req.secretEnv, () => (this.secrets ??= this.o.secrets ?? secretResolverFromEnv()), 'kubernetes');
    if ('error' in secrets) {
      t.log = await this.openLog(req.logPath, t);
      return this.finish(t, { outcome: 'failed', failureClass: 'config', reason: secrets.error });
    }
    let built;
    try {
      const task = taskPodOptions(req.pod);
      const templateRef = task.template ?? this.o.podTemplate;
      built = buildPod({ req, template: await this.template(templateRef), defaults: this.buildDefaults(), secretValues: secrets.values });
    } catch (err) {
      t.log = await this.openLog(req.logPath, t);
      const reason = err instanceof PodSpecError ? `invalid pod options: ${err.message}` : `could not build the pod: ${(err as Error).message}`;
      return this.finish(t, { outcome: 'failed', failureClass: 'config', reason });
    }
    t.namespace = built.namespace;
    t.name = built.name;
    t.info = this.infoOf(req, built);
    const info = t.info;
    t.gpus = podGpus(built.pod);
    this.gpuUsed += t.gpus;
    this.byPod.set(`${t.namespace}/${t.name}`, t);
    t.log = await this.openLog(req.logPath, t);
    if (t.kill) return this.finish(t, { outcome: 'failed', failureClass: t.kill.failureClass, reason: t.kill.reason });
    const pod = this.o.decoratePod ? this.o.decoratePod(built.pod, req) : built.pod;
    pod.metadata = { ...pod.metadata, annotations: { ...pod.metadata?.annotations, [LAUNCH_ANNOTATION]: JSON.stringify(info) } };
    t.timers.unscheduled = setTimeout(() => void this.unschedulableTimeout(t), info.unscheduledTimeoutMs);
    try {
      await this.ensureWatch(t.namespace);
    } catch (err) {
      return this.finish(t, { outcome: 'failed', failureClass: 'lost', reason: `cannot watch pods in namespace ${t.namespace}: ${(err as Error).message}` });
    }
    await this.creations.run(() => this.createSem.run(() => this.create(t, pod)));
  }

  /** Resolves once no pod creation is pending (see CreationGate), at most HOUSEKEEPING_WAIT_MS later. */
  private afterCreations(): Promise<void> {
    return this.creations.after();
  }

  /**
   * Writes a status line to the try log. While creations are pending the line is held (with
   * its time) and the try's held lines are written together once they are done (HeldQueue),
   * so a burst of launches does not pay a file write per status change.
   */
  private note(t: PodTry, message: string): void {
    if (!t.log) return;
    if (!t.held && !this.creations.busy) {
      t.log.system(message);
      return;
    }
    if (!t.held) {
      t.held = [];
      this.heldLines.add(t);
    }
    t.held.push({ at: this.now(), message });
  }

  /** Writes the try's held status lines, each with the time it happened. */
  private writeHeld(t: PodTry): void {
    const held = t.held;
    if (!held) return;
    t.held = undefined;
    this.heldLines.delete(t);
    const lineAt = t.lineAt;
    for (const h of held) {
      t.lineAt = h.at;
      t.log?.system(h.message);
    }
    t.lineAt = lineAt;
  }

  private buildDefaults(): PodBuildDefaults {
    return {
      executorId: this.id,
      namespace: this.namespace,
      image: this.o.defaultImage,
      containerName: this.o.containerName,
      resultPath: this.o.resultPath ?? DEFAULT_RESULT_PATH,
      cpuLimits: this.o.cpuLimits ?? false,
      localOnlyEnv: this.o.localOnlyEnv ?? DEFAULT_LOCAL_ONLY_ENV,
      machines: this.o.machines ?? {},
      unscheduledTimeoutMs: this.o.unscheduledTimeoutMs ?? 10 * 60_000,
      startupTimeoutMs: this.o.startupTimeoutMs ?? 10 * 60_000,
      onFinish: this.o.onFinish ?? 'delete',
    };
  }

  private infoOf(req: CommandLaunch, built: ReturnType<typeof buildPod> | undefined): LaunchInfo {
    return {
      container: built?.containerName ?? 'task',
      skipExitCode: req.skipExitCode ?? DEFAULT_SKIP_EXIT_CODE,
      resultLimitBytes: req.resultLimitBytes,
      logPath: req.logPath,
      killGraceMs: req.killGraceMs,
      ...(req.executionTimeoutMs !== undefined ? { executionTimeoutMs: req.executionTimeoutMs } : {}),
      unscheduledTimeoutMs: built?.unscheduledTimeoutMs ?? 0,
      startupTimeoutMs: built?.startupTimeoutMs ?? 0,
      onFinish: built?.onFinish ?? 'delete',
    };
  }

  private template(ref: V1Pod | string | undefined): Promise<V1Pod | undefined> {
    if (ref === undefined || typeof ref === 'object') return Promise.resolve(ref);
    let p = this.templates.get(ref);
    if (!p) {
      p = loadTemplate(ref);
      this.templates.set(ref, p);
      p.catch(() => this.templates.delete(ref));
    }
    return p;
  }

  private async openLog(path: string, t: PodTry): Promise<TryLogWriter | undefined> {
    try {
      return await TryLogWriter.open(path, {
        now: () => t.lineAt ?? this.now(),
        onTelemetry: (metrics, params) => this.emit({ type: 'telemetry', key: t.key, metrics, ...(params ? { params } : {}) }),
      });
    } catch {
      return undefined; // a log that cannot be opened must not stop the try
    }
  }

  private async create(t: PodTry, pod: V1Pod): Promise<void> {
    const client = this.client!;
    for (let quotaAttempt = 0; t.phase === 'creating' && !t.kill; quotaAttempt++) {
      try {
        const created = await client.request<PodJson>('POST', podsPath(t.namespace), { body: pod });
        this.stats.podsCreated++;
        t.uid ??= created.metadata.uid;
        t.rv ??= created.metadata.resourceVersion;
        t.exists = true;
        if (t.phase === 'creating') t.phase = 'unscheduled';
        this.note(t, `created pod ${t.namespace}/${t.name} (uid ${created.metadata.uid})`);
        break;
      } catch (err) {
        if (!(err instanceof KubeApiError)) {
          return this.finish(t, { outcome: 'failed', failureClass: 'lost', reason: `could not create the pod ${t.namespace}/${t.name}: ${(err as Error).message}` });
        }
        if (err.status === 409 && err.reason === 'AlreadyExists') {
          await this.followExisting(t);
          break;
        }
        if (err.status === 403 && /quota/i.test(err.message)) {
          // A ResourceQuota refuses the pod for now (exceeded, or its usage not yet computed): wait and retry.
          this.pendingReason(t, `waiting for namespace quota: ${err.message.replace(/^.*?: HTTP 403 Forbidden: /, '')}`);
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, Math.min(30_000, 2000 * 2 ** Math.min(quotaAttempt, 4)));
            t.wakeCreate = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          t.wakeCreate = undefined;
          continue;
        }
        if (err.status === 404) {
          return this.finish(t, { outcome: 'failed', failureClass: 'config', reason: `namespace ${JSON.stringify(t.namespace)} does not exist: ${err.message}` });
        }
        if (err.status === 400 || err.status === 422 || err.status === 403) {
          return this.finish(t, { outcome: 'failed', failureClass: 'config', reason: `the API server rejected the pod ${t.name}: ${err.message}` });
        }
        return this.finish(t, { outcome: 'failed', failureClass: 'lost', reason: `could not create the pod ${t.namespace}/${t.name}: ${err.message}` });
      }
    }
    if (t.kill && t.phase !== 'done' && t.phase !== 'finishing') {
      if (t.exists) await this.deletePod(t, this.graceSeconds(t));
      else await this.finish(t, { outcome: 'failed', failureClass: t.kill.failureClass, reason: t.kill.reason });
    }
  }

  /** The pod exists already (a repeated launch, or one after a restart): follow it. */
  private async followExisting(t: PodTry): Promise<void> {
    this.stats.alreadyExisted++;
    let pod: PodJson;
    try {
      pod = await this.client!.request<PodJson>('GET', podPath(t.namespace, t.name));
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) {
        // Deleted between our create and get: that pod ended; the try is lost.
        return this.finish(t, { outcome: 'failed', failureClass: 'lost', reason: `the pod ${t.namespace}/${t.name} existed, then vanished before it could be followed` });
      }
      return this.finish(t, { outcome: 'failed', failureClass: 'lost', reason: `could not read the existing pod ${t.namespace}/${t.name}: ${(err as Error).message}` });
    }
    const owner = tryKeyOfPod(pod.metadata.annotations);
    if (!owner || tryKeyString(owner) !== t.keyString) {
      return this.finish(t, {
        outcome: 'failed',
        failureClass: 'config',
        reason: `a pod named ${t.namespace}/${t.name} exists and does not belong to this try; delete it, or give this executor another id`,
      });
    }
    t.uid = pod.metadata.uid;
    t.rv = pod.metadata.resourceVersion;
    t.exists = true;
    if (t.phase === 'creating') t.phase = 'unscheduled';
    this.note(t, `pod ${t.namespace}/${t.name} already exists (uid ${t.uid}); following it instead of creating another`);
    this.onPodStatus(t, pod);
  }

  private unschedulableTimeout(t: PodTry): void {
    if (t.node !== undefined || t.phase === 'done' || t.phase === 'finishing') return;
    const ms = t.info.unscheduledTimeoutMs;
    const why = t.schedulerReason
      ? `the scheduler said: ${t.schedulerReason}`
      : t.pendingReason
        ? `last state: ${t.pendingReason}`
        : 'the scheduler gave no reason';
    void this.stop(t, 'unschedulable', `no node could take the pod within ${fmtMs(ms)}; ${why}`);
  }

  // ---- stopping -----------------------------------------------------------------------

  async cancel(key: TryKey, failureClass: FailureClass, reason: string): Promise<void> {
    const t = this.byKey.get(tryKeyString(key));
    if (t) await this.stop(t, failureClass, reason);
  }

  private graceSeconds(t: PodTry): number {
    return Math.ceil(t.info.killGraceMs / 1000);
  }

  /** Deletes the try's pod (with the grace period) and finishes it with the class once the pod is gone. */
  private stop(t: PodTry, failureClass: FailureClass, reason: string): Promise<void> {
    if (t.phase === 'done' || t.phase === 'finishing' || t.kill) return t.done;
    t.kill = { failureClass, reason };
    for (const k of ['unscheduled', 'startup', 'execution'] as const) {
      clearTimeout(t.timers[k]);
      t.timers[k] = undefined;
    }
    if (!t.exists) {
      // Not created yet: create() deletes it once it exists; if it never does, finish now.
      if (t.phase !== 'creating') void this.finish(t, { outcome: 'failed', failureClass, reason });
      t.wakeCreate?.();
      return t.done;
    }
    const grace = this.graceSeconds(t);
    this.note(t, `stopping: ${reason}; deleting pod ${t.namespace}/${t.name} (grace ${grace} s)`);
    void this.deletePod(t, grace);
    // The pod normally goes within the grace period; never wait forever (a lost node).
    t.timers.stop = setTimeout(() => void this.finish(t, { outcome: 'failed', failureClass, reason }), t.info.killGraceMs + 15_000);
    return t.done;
  }

  private async deletePod(t: PodTry, graceSeconds: number): Promise<void> {
    try {
      await this.client!.request('DELETE', podPath(t.namespace, t.name), {
        body: { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: graceSeconds, ...(t.uid ? { preconditions: { uid: t.uid } } : {}) },
      });
      this.stats.podsDeleted++;
    } catch (err) {
      if (err instanceof KubeApiError && (err.status === 404 || err.status === 409)) {
        // Gone already (or another incarnation): nothing runs for this try.
        if (t.kill && t.phase !== 'done' && t.phase !== 'finishing') void this.finish(t, { outcome: 'failed', failureClass: t.kill.failureClass, reason: t.kill.reason });
        return;
      }
      this.note(t, `could not delete pod ${t.namespace}/${t.name}: ${(err as Error).message}`);
    }
  }

  /**
   * Reports the try finished at once (the status is known), then completes its log: the
   * follow stream's tail is read and the file closed right after (logsFlushed() waits for it).
   */
  private async finish(t: PodTry, f: Finish): Promise<void> {
    if (t.phase === 'done' || t.phase === 'finishing') return t.done;
    t.phase = 'finishing';
    for (const timer of Object.values(t.timers)) clearTimeout(timer);
    const follower = t.follower;
    const log = t.log;
    let completing: Promise<void> | undefined;
    if (follower || log) {
      const held = t.held !== undefined;
      completing = (async () => {
        if (follower) await this.creations.housekeeping(() => follower.finish());
        else if (held) await this.afterCreations();
        this.writeHeld(t);
        if (log) {
          const what = f.outcome === 'success' ? 'succeeded' : f.outcome === 'skipped' ? `skipped (${f.reason})` : `failed [${f.failureClass}]: ${f.reason}`;
          log.system(`try ${what}`);
          await log.close();
        }
      })();
      const pending = completing;
      this.pendingLogs.set(t.keyString, pending);
      void pending.finally(() => {
        if (this.pendingLogs.get(t.keyString) === pending) this.pendingLogs.delete(t.keyString);
      });
    }
    t.phase = 'done';
    if (this.byKey.get(t.keyString) === t) this.byKey.delete(t.keyString);
    if (this.byPod.get(`${t.namespace}/${t.name}`) === t) this.byPod.delete(`${t.namespace}/${t.name}`);
    this.gpuUsed -= t.gpus;
    this.rememberFinished(t.keyString);
    this.emit({
      type: 'finished',
      key: t.key,
      at: this.now(),
      outcome: f.outcome,
      exitCode: f.exitCode ?? null,
      signal: null,
      ...(f.failureClass ? { failureClass: f.failureClass } : {}),
      ...(f.reason !== undefined ? { reason: f.reason } : {}),
      ...(f.outcome === 'success' ? { result: f.result ?? null } : {}),
    });
    t.resolveDone();
    // The pod goes once its log has been read to the end (a deleted pod has no log).
    if (t.exists && !t.kill && this.shouldDelete(t.info.onFinish, f.outcome))
      void (completing ?? Promise.resolve()).then(() => this.creations.housekeeping(() => this.deletePod(t, 0)));
  }

  private shouldDelete(policy: CleanupPolicy, outcome: TryOutcome): boolean {
    if (policy === 'keep-all') return false;
    if (policy === 'keep-failed') return outcome !== 'failed';
    return true;
  }

  private rememberFinished(keyString: string): void {
    this.finishedKeys.add(keyString);
    if (this.finishedKeys.size > FINISHED_KEYS_KEPT) {
      const oldest = this.finishedKeys.values().next().value;
      if (oldest !== undefined) this.finishedKeys.delete(oldest);
    }
  }

  /** Resolves once the log of a finished try is complete on disk (at once when it is). */
  async logsFlushed(key: TryKey): Promise<void> {
    await this.pendingLogs.get(tryKeyString(key));
  }

  // ---- restart, reaping, shutdown -----------------------------------------------------

  /**
   * Takes back the pods of live tries after a restart: the pod of each record is found by
   * its deterministic name and checked by its try annotation (and its uid, when the record
   * has one: `external` is `name/uid`, or `namespace/name/uid` outside the default
   * namespace). A pod still running is followed again; one that finished while nobody
   * watched is reported from its status.
   */
  async adopt(records: readonly LiveTryRecord[]): Promise<AdoptResult[]> {
    await this.init();
    const wanted = records.map((r) => {
      const parts = (r.external ?? '').split('/').filter((p) => p !== '');
      const namespace = parts.length >= 3 ? parts[0] : this.namespace;
      const uid = parts.length >= 3 ? parts[2] : parts.length === 2 ? parts[1] : undefined;
      return { r, namespace, uid, name: podName(r.key, this.id) };
    });
    const pods = new Map<string, PodJson>();
    for (const ns of new Set(wanted.map((w) => w.namespace))) {
      let cont: string | undefined;
      do {
        const page = await this.client!.request<ListJson<PodJson>>('GET', podsPath(ns), { query: { labelSelector: managedSelector(this.id), limit: 500, continue: cont } });
        for (const p of page.items) pods.set(`${ns}/${p.metadata.name}`, p);
        cont = page.metadata.continue || undefined;
      } while (cont);
    }
    const results: AdoptResult[] = [];
    for (const w of wanted) {
      const key = w.r.key;
      const keyString = tryKeyString(key);
      if (this.byKey.has(keyString)) {
        results.push({ key, adopted: true });
        continue;
      }
      const pod = pods.get(`${w.namespace}/${w.name}`);
      if (!pod) {
        results.push({ key, adopted: false, reason: `its pod ${w.namespace}/${w.name} no longer exists (deleted while the scheduler was down, or never created)` });
        continue;
      }
      const owner = tryKeyOfPod(pod.metadata.annotations);
      if (!owner || tryKeyString(owner) !== keyString) {
        results.push({ key, adopted: false, reason: `the pod ${w.namespace}/${w.name} belongs to another try (${owner ? tryKeyString(owner) : 'no try annotation'})` });
        continue;
      }
      if (w.uid && pod.metadata.uid !== w.uid) {
        results.push({ key, adopted: false, reason: `the pod ${w.namespace}/${w.name} has uid ${pod.metadata.uid}, not the recorded ${w.uid}: the try's own pod is gone` });
        continue;
      }
      let info: LaunchInfo;
      try {
        info = JSON.parse(pod.metadata.annotations?.[LAUNCH_ANNOTATION] ?? '') as LaunchInfo;
      } catch {
        results.push({ key, adopted: false, reason: `the pod ${w.namespace}/${w.name} has no readable ${LAUNCH_ANNOTATION} annotation` });
        continue;
      }
      const t = newPodTry(this.now(), key, w.namespace, w.name, info, 'unscheduled');
      t.uid = pod.metadata.uid;
      t.rv = pod.metadata.resourceVersion;
      t.exists = true;
      t.createdAt = Date.parse(pod.metadata.creationTimestamp ?? '') || this.now();
      t.startedEmitted = w.r.startedAt != null || w.r.external != null;
      t.gpus = podGpus(pod as unknown as V1Pod);
      this.gpuUsed += t.gpus;
      this.byKey.set(keyString, t);
      this.byPod.set(`${t.namespace}/${t.name}`, t);
      t.resumeAfter = (await lastLoggedTimestamp(info.logPath)) ?? undefined;
      t.log = await this.openLog(info.logPath, t);
      this.note(t, `adopted pod ${t.namespace}/${t.name} (uid ${t.uid}) after a restart`);
      const elapsed = this.now() - t.createdAt;
      t.timers.unscheduled = setTimeout(() => void this.unschedulableTimeout(t), Math.max(0, info.unscheduledTimeoutMs - elapsed));
      if (t.startedEmitted) {
        // Already reported started: only the logs and the execution timeout resume.
        const node = pod.spec?.nodeName;
        if (node) {
          t.node = node;
          clearTimeout(t.timers.unscheduled);
          t.phase = 'running';
          const started = w.r.startedAt ?? t.createdAt;
          if (info.executionTimeoutMs) {
            const left = Math.max(0, info.executionTimeoutMs - (this.now() - started));
            t.timers.execution = setTimeout(() => void this.stop(t, 'execution_timeout', `ran longer than its execution timeout of ${fmtMs(info.executionTimeoutMs!)}`), left);
          }
          // Running: follow again; finished while nobody watched: finish() reads the rest once.
          if (this.o.streamLogs !== false) this.follow(t, classifyPod(pod, { containerName: info.container, skipExitCode: info.skipExitCode }).kind === 'running');
        }
      }
      results.push({ key, adopted: true });
      this.onPodStatus(t, pod);
    }
    for (const ns of new Set(wanted.map((w) => w.namespace))) await this.ensureWatch(ns);
    return results;
  }

  /**
   * Deletes pods of this executor whose DAG run no longer exists (`runExists` answers from
   * the store). Pods of tries this process follows are left alone. Returns the deleted pods.
   */
  async reap(runExists: (dagId: string, runId: string) => boolean | Promise<boolean>, namespaces?: readonly string[]): Promise<string[]> {
    await this.init();
    const deleted: string[] = [];
    const nss = namespaces ?? [...new Set([this.namespace, ...this.watches.keys()])];
    for (const ns of nss) {
      let cont: string | undefined;
      do {
        const page = await this.client!.request<ListJson<PodJson>>('GET', podsPath(ns), { query: { labelSelector: managedSelector(this.id), limit: 500, continue: cont } });
        for (const p of page.items) {
          const key = tryKeyOfPod(p.metadata.annotations);
          if (!key || this.byKey.has(tryKeyString(key))) continue;
          if (await runExists(key.dagId, key.runId)) continue;
          try {
            await this.client!.request('DELETE', podPath(ns, p.metadata.name), { body: { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 0 } });
            deleted.push(`${ns}/${p.metadata.name}`);
          } catch (err) {
            if (!(err instanceof KubeApiError && err.status === 404)) throw err;
          }
        }
        cont = page.metadata.continue || undefined;
      } while (cont);
    }
    return deleted;
  }

  /**
   * Stops launching. Waits up to graceMs for live tries; then, with onClose "detach" (the
   * default), leaves their pods running for adopt() after a restart (no `finished` events);
   * with "delete", deletes them and reports them `lost`.
   */
  async close(graceMs = 0): Promise<void> {
    this.closed = true;
    const live = [...this.byKey.values()];
    if (live.length > 0 && graceMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(live.map((t) => t.done)), new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
    }
    const left = [...this.byKey.values()];
    if (this.o.onClose === 'delete') {
      await Promise.all(left.map((t) => this.stop(t, 'lost', 'the executor shut down')));
    } else {
      for (const t of left) {
        for (const timer of Object.values(t.timers)) clearTimeout(timer);
        await t.follower?.stop();
        this.writeHeld(t);
        await t.log?.close();
        t.phase = 'done';
        t.resolveDone();
      }
      this.byKey.clear();
      this.byPod.clear();
    }
    await Promise.all(this.pendingLogs.values());
    await Promise.all([...this.watches.values()].flatMap((w) => [w.pods.stop(), w.events.stop()]));
    this.watches.clear();
    this.client?.close();
  }

  /** Watch counters, for tests and figures: lists (1 + relists) and connections per namespace. */
  watchStats(): Record<string, { podLists: number; podConnects: number; eventConnects: number; resourceVersion?: string }> {
    const out: Record<string, { podLists: number; podConnects: number; eventConnects: number; resourceVersion?: string }> = {};
    for (const [ns, w] of this.watches) out[ns] = { podLists: w.pods.lists, podConnects: w.pods.connects, eventConnects: w.events.connects, resourceVersion: w.pods.version };
    return out;
  }
}
