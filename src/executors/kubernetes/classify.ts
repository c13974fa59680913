/**
 * What a pod's status means for its try: still waiting for a node, starting, running, a
 * failure to stop at once (image pull, bad config), or finished, with the failure class and
 * the reason in plain words plus Kubernetes' own reason. Pure.
 */
import type { FailureClass } from '../../core/failure.js';
import type { TryOutcome } from '../types.js';
import type { ContainerStatusJson, PodJson } from './pod-json.js';

export type PodVerdict =
  /** Pending and not bound to a node; `reason` is the scheduler's latest word, when it said one. */
  | { readonly kind: 'unscheduled'; readonly reason: string | null }
  /** Bound to a node; containers not running yet. `waiting` is the main container's reason. */
  | { readonly kind: 'starting'; readonly node: string; readonly waiting: string | null }
  | { readonly kind: 'running'; readonly node: string }
  /** A start that will not get better by waiting: stop now. */
  | { readonly kind: 'fail_fast'; readonly node: string | null; readonly failureClass: FailureClass; readonly reason: string }
  | {
      readonly kind: 'terminal';
      readonly node: string | null;
      readonly outcome: TryOutcome;
      readonly exitCode: number | null;
      readonly failureClass?: FailureClass;
      readonly reason?: string;
      /** The main container's termination message (the result, on success). */
      readonly message: string | null;
    };

export interface ClassifyContext {
  readonly containerName: string;
  readonly skipExitCode: number;
}

const IMAGE_PULL_REASONS = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull', 'RegistryUnavailable', 'SignatureValidationFailed']);
const CONFIG_REASONS = new Set(['CreateContainerConfigError', 'CreateContainerError']);
/** The container existed but could not be started (e.g. the command is not in the image). */
const START_REASONS = new Set(['StartError', 'ContainerCannotRun', 'RunContainerError']);

const condition = (pod: PodJson, type: string) => pod.status?.conditions?.find((c) => c.type === type);

/** The last few lines of a text, for quoting a termination message or log tail. */
export function lastLines(text: string, n = 5, maxChars = 1000): string {
  const lines = text.replace(/\s+$/, '').split('\n');
  let tail = lines.slice(-n).join('\n');
  if (tail.length > maxChars) tail = `…${tail.slice(-maxChars)}`;
  return tail;
}

function waitingProblem(pod: PodJson, statuses: readonly ContainerStatusJson[] | undefined, kind: string): { failureClass: FailureClass; reason: string } | null {
  for (const s of statuses ?? []) {
    const w = s.state?.waiting;
    if (!w?.reason) continue;
    const msg = w.message ? `: ${w.message}` : '';
    if (IMAGE_PULL_REASONS.has(w.reason)) {
      const image = (pod.spec?.containers ?? []).concat(pod.spec?.initContainers ?? []).find((c) => c.name === s.name) as { image?: string } | undefined;
      return {
        failureClass: 'image_pull',
        reason:
          `the image${image?.image ? ` ${JSON.stringify(image.image)}` : ''} of ${kind} ${JSON.stringify(s.name)} could not be pulled (${w.reason}${msg}); ` +
          'check the image name and tag, and imagePullSecrets for a private registry',
      };
    }
    if (CONFIG_REASONS.has(w.reason)) {
      return {
        failureClass: 'config',
        reason:
          `${kind} ${JSON.stringify(s.name)} could not be created (${w.reason}${msg}); ` +
          'check that the Secrets, ConfigMaps and volumes it refers to exist, with the keys it names',
      };
    }
  }
  return null;
}

function describeExit(name: string, t: NonNullable<NonNullable<ContainerStatusJson['state']>['terminated']>, kind = 'container'): string {
  const how = t.signal ? `was killed by signal ${t.signal}` : `exited with code ${t.exitCode}`;
  return `${kind} ${JSON.stringify(name)} ${how}${t.reason ? ` (${t.reason})` : ''}`;
}

function memoryLimit(pod: PodJson, container: string): string | undefined {
  const c = (pod.spec?.containers ?? []).find((x) => x.name === container) as { resources?: { limits?: Record<string, string> } } | undefined;
  return c?.resources?.limits?.memory;
}

/** What the pod's status means for the try. */
export function classifyPod(pod: PodJson, ctx: ClassifyContext): PodVerdict {
  const status = pod.status ?? {};
  const node = pod.spec?.nodeName ?? null;
  const phase = status.phase ?? 'Pending';
  const main = status.containerStatuses?.find((s) => s.name === ctx.containerName);

  if (phase === 'Succeeded' || phase === 'Failed') return terminal(pod, ctx, phase, node, main);

  // A terminated main container decides the try even while sidecars still run.
  if (main?.state?.terminated) return terminal(pod, ctx, phase, node, main);

  if (!node) {
    const sched = condition(pod, 'PodScheduled');
    const reason = sched && sched.status === 'False' ? sched.message || sched.reason || null : null;
    return { kind: 'unscheduled', reason };
  }
  const problem = waitingProblem(pod, status.initContainerStatuses, 'init container') ?? waitingProblem(pod, status.containerStatuses, 'container');
  if (problem) return { kind: 'fail_fast', node, ...problem };
  if (phase === 'Running' && main?.state?.running) return { kind: 'running', node };
  const w = main?.state?.waiting;
  return { kind: 'starting', node, waiting: w?.reason ? `${w.reason}${w.message ? `: ${w.message}` : ''}` : null };
}

function terminal(pod: PodJson, ctx: ClassifyContext, phase: string, node: string | null, main: ContainerStatusJson | undefined): PodVerdict {
  const status = pod.status ?? {};
  const t = main?.state?.terminated;
  const message = t?.message ?? null;
  const exitCode = t ? t.exitCode : null;
  const base = { kind: 'terminal' as const, node, exitCode, message };
  const where = node ? ` on node ${node}` : '';
  const k8sMessage = status.message ? `: ${status.message}` : '';

  if (phase === 'Succeeded' || (t && t.exitCode === 0 && phase !== 'Failed')) {
    return { ...base, outcome: 'success', exitCode: exitCode ?? 0 };
  }

  // Disruptions first: the container's own exit code says little when it was killed from outside.
  const disruption = condition(pod, 'DisruptionTarget');
  if (status.reason === 'Evicted') {
    return { ...base, outcome: 'failed', failureClass: 'evicted', reason: `the pod was evicted${where} (Evicted${k8sMessage})` };
  }
  if (disruption?.status === 'True') {
    const why = `${disruption.reason ?? 'DisruptionTarget'}${disruption.message ? `: ${disruption.message}` : ''}`;
    switch (disruption.reason) {
      case 'PreemptionByScheduler':
        return { ...base, outcome: 'failed', failureClass: 'preempted', reason: `the pod was preempted${where} to make room for a higher-priority pod (${why})` };
      case 'DeletionByTaintManager':
      case 'DeletionByPodGC':
        return { ...base, outcome: 'failed', failureClass: 'lost', reason: `the node${node ? ` ${node}` : ''} was lost or tainted, and the pod was deleted (${why})` };
      default:
        return { ...base, outcome: 'failed', failureClass: 'evicted', reason: `the pod was evicted${where} (${why})` };
    }
  }
  if (status.reason === 'NodeLost' || status.reason === 'Terminated' || status.reason === 'Shutdown' || status.reason === 'NodeShutdown') {
    return { ...base, outcome: 'failed', failureClass: 'lost', reason: `the node${node ? ` ${node}` : ''} running the pod was lost (${status.reason}${k8sMessage})` };
  }
  if (status.reason === 'DeadlineExceeded') {
    return { ...base, outcome: 'failed', failureClass: 'execution_timeout', reason: `the pod ran past its activeDeadlineSeconds (DeadlineExceeded${k8sMessage})` };
  }

  if (t?.reason === 'OOMKilled') {
    const limit = memoryLimit(pod, ctx.containerName);
    return {
      ...base,
      outcome: 'failed',
      failureClass: 'oom_killed',
      reason: `container ${JSON.stringify(ctx.containerName)} used more than its memory limit${limit ? ` of ${limit}` : ''} and was killed (OOMKilled, exit code ${t.exitCode})`,
    };
  }
  if (t && START_REASONS.has(t.reason ?? '')) {
    return {
      ...base,
      outcome: 'failed',
      failureClass: 'user_error',
      reason: `the command could not be started in container ${JSON.stringify(ctx.containerName)} (${t.reason}${t.message ? `: ${t.message}` : ''}); check that the command exists in the image`,
    };
  }
  if (t && t.exitCode === ctx.skipExitCode) {
    return { ...base, outcome: 'skipped', reason: `exited with skip code ${t.exitCode}` };
  }
  if (t && t.exitCode !== 0) {
    const tail = t.message ? `; last output lines:\n${lastLines(t.message)}` : '';
    return { ...base, outcome: 'failed', failureClass: 'user_error', reason: `exited with code ${t.exitCode}${t.reason ? ` (${t.reason})` : ''}${tail}` };
  }

  // The main container is fine (or never ran): find what else failed.
  for (const s of status.initContainerStatuses ?? []) {
    const it = s.state?.terminated;
    if (it && it.exitCode !== 0) {
      return { ...base, outcome: 'failed', failureClass: 'user_error', reason: `${describeExit(s.name, it, 'init container')}; the main container did not run` };
    }
  }
  for (const s of status.containerStatuses ?? []) {
    const st = s.state?.terminated;
    if (s.name !== ctx.containerName && st && st.exitCode !== 0) {
      return { ...base, outcome: 'failed', failureClass: 'user_error', reason: `${describeExit(s.name, st, 'sidecar container')}` };
    }
  }
  if (status.reason) {
    return { ...base, outcome: 'failed', failureClass: 'lost', reason: `the pod failed${where} (${status.reason}${k8sMessage})` };
  }
  return {
    ...base,
    outcome: 'failed',
    failureClass: 'lost',
    reason: `the pod failed${where} without a reason from Kubernetes${t ? ` (${describeExit(ctx.containerName, t)})` : ' and with no container status'}`,
  };
}
