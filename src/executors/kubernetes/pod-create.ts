/**
 * How a launched try becomes a pod: its secrets are resolved, the pod is built (pod-spec.ts)
 * on the template and created, a few at a time (createConcurrency) and before housekeeping
 * (CreationGate). The name comes from the try key, so a repeated launch (after a crash too)
 * gets 409 AlreadyExists and follows the pod that exists. Never a second pod. A namespace
 * quota that refuses the pod for now is waited out.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { resolveTrySecrets, secretResolverFromEnv, type SecretResolver } from '../../secrets/resolver.js';
import { tryKeyString, type CommandLaunch } from '../types.js';
import { KubeApiError } from './api-client.js';
import { loadTemplate } from './config-files.js';
import type { ExecutorContext } from './context.js';
import { graceSeconds, type LiveTries } from './live-tries.js';
import { tryKeyOfPod } from './naming.js';
import { DEFAULT_LOCAL_ONLY_ENV, DEFAULT_RESULT_PATH } from './options.js';
import type { PodJson } from './pod-json.js';
import { buildPod, PodSpecError, podGpus, taskPodOptions, type PodBuildDefaults } from './pod-spec.js';
import { LAUNCH_ANNOTATION, podPath, podsPath, type LaunchInfo, type PodTry } from './pod-try.js';
import type { PodWatch } from './pod-watch.js';
import { Semaphore } from './rate-limit.js';
import type { TryLogs } from './try-logs.js';

/** The skip code when a request names none (as the local executor). */
const DEFAULT_SKIP_EXIT_CODE = 99;

/** What following the try's pod needs, from the request and the built pod (defaults before it is built). */
export function launchInfo(req: CommandLaunch, built: ReturnType<typeof buildPod> | undefined): LaunchInfo {
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

export class PodCreator {
  private readonly createSem: Semaphore;
  private readonly templates = new Map<string, Promise<V1Pod | undefined>>();
  private secrets?: SecretResolver;

  constructor(
    private readonly ctx: ExecutorContext,
    private readonly tries: LiveTries,
    private readonly logs: TryLogs,
    private readonly watch: PodWatch,
  ) {
    this.createSem = new Semaphore(ctx.options.createConcurrency ?? 16);
  }

  /** Builds the pod of a registered try and creates it; a try that cannot become a pod finishes with the reason. */
  async launch(t: PodTry, req: CommandLaunch): Promise<void> {
    const o = this.ctx.options;
    // secretRef env becomes secretKeyRef in the pod; secret(name) is read from the backends.
    const secrets = await resolveTrySecrets(req.secretEnv, () => (this.secrets ??= o.secrets ?? secretResolverFromEnv()), 'kubernetes');
    if ('error' in secrets) {
      t.log = await this.logs.open(req.logPath, t);
      return this.tries.finish(t, { outcome: 'failed', failureClass: 'config', reason: secrets.error });
    }
    let built;
    try {
      const task = taskPodOptions(req.pod);
      const templateRef = task.template ?? o.podTemplate;
      built = buildPod({ req, template: await this.template(templateRef), defaults: this.buildDefaults(), secretValues: secrets.values });
    } catch (err) {
      t.log = await this.logs.open(req.logPath, t);
      const reason = err instanceof PodSpecError ? `invalid pod options: ${err.message}` : `could not build the pod: ${(err as Error).message}`;
      return this.tries.finish(t, { outcome: 'failed', failureClass: 'config', reason });
    }
    t.namespace = built.namespace;
    t.name = built.name;
    t.info = launchInfo(req, built);
    const info = t.info;
    t.gpus = podGpus(built.pod);
    this.tries.placed(t);
    t.log = await this.logs.open(req.logPath, t);
    if (t.kill) return this.tries.finish(t, { outcome: 'failed', failureClass: t.kill.failureClass, reason: t.kill.reason });
    const pod = o.decoratePod ? o.decoratePod(built.pod, req) : built.pod;
    pod.metadata = { ...pod.metadata, annotations: { ...pod.metadata?.annotations, [LAUNCH_ANNOTATION]: JSON.stringify(info) } };
    t.timers.unscheduled = setTimeout(() => void this.watch.unschedulableTimeout(t), info.unscheduledTimeoutMs);
    try {
      await this.watch.ensure(t.namespace);
    } catch (err) {
      return this.tries.finish(t, { outcome: 'failed', failureClass: 'lost', reason: `cannot watch pods in namespace ${t.namespace}: ${(err as Error).message}` });
    }
    await this.ctx.creations.run(() => this.createSem.run(() => this.create(t, pod)));
  }

  private buildDefaults(): PodBuildDefaults {
    const o = this.ctx.options;
    return {
      executorId: this.ctx.id,
      namespace: this.ctx.namespace(),
      image: o.defaultImage,
      containerName: o.containerName,
      resultPath: o.resultPath ?? DEFAULT_RESULT_PATH,
      cpuLimits: o.cpuLimits ?? false,
      localOnlyEnv: o.localOnlyEnv ?? DEFAULT_LOCAL_ONLY_ENV,
      machines: o.machines ?? {},
      unscheduledTimeoutMs: o.unscheduledTimeoutMs ?? 10 * 60_000,
      startupTimeoutMs: o.startupTimeoutMs ?? 10 * 60_000,
      onFinish: o.onFinish ?? 'delete',
    };
  }

  /** A pod template by reference; a file is read once (again after a failed read). */
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

  private async create(t: PodTry, pod: V1Pod): Promise<void> {
    const client = this.ctx.client();
    for (let quotaAttempt = 0; t.phase === 'creating' && !t.kill; quotaAttempt++) {
      try {
        const created = await client.request<PodJson>('POST', podsPath(t.namespace), { body: pod });
        this.ctx.stats.podsCreated++;
        t.uid ??= created.metadata.uid;
        t.rv ??= created.metadata.resourceVersion;
        t.exists = true;
        if (t.phase === 'creating') t.phase = 'unscheduled';
        this.logs.note(t, `created pod ${t.namespace}/${t.name} (uid ${created.metadata.uid})`);
        break;
      } catch (err) {
        if (!(err instanceof KubeApiError)) {
          return this.tries.finish(t, { outcome: 'failed', failureClass: 'lost', reason: `could not create the pod ${t.namespace}/${t.name}: ${(err as Error).message}` });
        }
        if (err.status === 409 && err.reason === 'AlreadyExists') {
          await this.followExisting(t);
          break;
        }
        if (err.status === 403 && /quota/i.test(err.message)) {
          // A ResourceQuota refuses the pod for now (exceeded, or its usage not yet computed): wait and retry.
          this.watch.pendingReason(t, `waiting for namespace quota: ${err.message.replace(/^.*?: HTTP 403 Forbidden: /, '')}`);
          await this.quotaWait(t, quotaAttempt);
          t.wakeCreate = undefined;
          continue;
        }
        return this.refused(t, err);
      }
    }
    if (t.kill && t.phase !== 'done' && t.phase !== 'finishing') {
      if (t.exists) await this.tries.deletePod(t, graceSeconds(t));
      else await this.tries.finish(t, { outcome: 'failed', failureClass: t.kill.failureClass, reason: t.kill.reason });
    }
  }

  /** Waits before the next creation attempt after a quota refusal; a stop of the try ends the wait. */
  private quotaWait(t: PodTry, attempt: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.min(30_000, 2000 * 2 ** Math.min(attempt, 4)));
      t.wakeCreate = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Finishes a try whose pod the API server refused (other than AlreadyExists or a quota). */
  private refused(t: PodTry, err: KubeApiError): Promise<void> {
    if (err.status === 404) {
      return this.tries.finish(t, { outcome: 'failed', failureClass: 'config', reason: `namespace ${JSON.stringify(t.namespace)} does not exist: ${err.message}` });
    }
    if (err.status === 400 || err.status === 422 || err.status === 403) {
      return this.tries.finish(t, { outcome: 'failed', failureClass: 'config', reason: `the API server rejected the pod ${t.name}: ${err.message}` });
    }
    return this.tries.finish(t, { outcome: 'failed', failureClass: 'lost', reason: `could not create the pod ${t.namespace}/${t.name}: ${err.message}` });
  }

  /** The pod exists already (a repeated launch, or one after a restart): follow it. */
  private async followExisting(t: PodTry): Promise<void> {
    this.ctx.stats.alreadyExisted++;
    let pod: PodJson;
    try {
      pod = await this.ctx.client().request<PodJson>('GET', podPath(t.namespace, t.name));
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) {
        // Deleted between our create and get: that pod ended; the try is lost.
        return this.tries.finish(t, { outcome: 'failed', failureClass: 'lost', reason: `the pod ${t.namespace}/${t.name} existed, then vanished before it could be followed` });
      }
      return this.tries.finish(t, { outcome: 'failed', failureClass: 'lost', reason: `could not read the existing pod ${t.namespace}/${t.name}: ${(err as Error).message}` });
    }
    const owner = tryKeyOfPod(pod.metadata.annotations);
    if (!owner || tryKeyString(owner) !== t.keyString) {
      return this.tries.finish(t, {
        outcome: 'failed',
        failureClass: 'config',
        reason: `a pod named ${t.namespace}/${t.name} exists and does not belong to this try; delete it, or give this executor another id`,
      });
    }
    t.uid = pod.metadata.uid;
    t.rv = pod.metadata.resourceVersion;
    t.exists = true;
    if (t.phase === 'creating') t.phase = 'unscheduled';
    this.logs.note(t, `pod ${t.namespace}/${t.name} already exists (uid ${t.uid}); following it instead of creating another`);
    this.watch.onPodStatus(t, pod);
  }
}
