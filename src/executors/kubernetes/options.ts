/**
 * The options of the Kubernetes executor, and the pod options a task (or a trigger, or a
 * machine preset) may give. Pod options use the Kubernetes API's own shapes (from
 * `@kubernetes/client-node`), so anything a pod spec can say can be said here.
 */
import type {
  V1Affinity,
  V1Container,
  V1EnvFromSource,
  V1EnvVar,
  V1LocalObjectReference,
  V1Pod,
  V1PodSecurityContext,
  V1ResourceRequirements,
  V1SecurityContext,
  V1Toleration,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';

/** What happens to a pod once its try has finished. */
export type CleanupPolicy = 'delete' | 'keep-failed' | 'keep-all';

/**
 * The pod settings of one layer: a machine preset, a task's `pod` options, or a trigger's
 * overrides. Layers merge in the order template < machine preset < task < trigger (see
 * docs/kubernetes.md for how maps and lists merge).
 */
export interface PodLayer {
  readonly image?: string;
  readonly imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  /** Secret names, or `{ name }` objects. */
  readonly imagePullSecrets?: readonly (string | V1LocalObjectReference)[];
  readonly serviceAccountName?: string;
  readonly priorityClassName?: string;
  readonly nodeSelector?: Readonly<Record<string, string>>;
  readonly affinity?: V1Affinity;
  readonly tolerations?: readonly V1Toleration[];
  /** Extra env of the main container (e.g. valueFrom secretKeyRef / configMapKeyRef). */
  readonly env?: readonly V1EnvVar[];
  readonly envFrom?: readonly V1EnvFromSource[];
  readonly volumes?: readonly V1Volume[];
  /** Mounts of the main container. */
  readonly volumeMounts?: readonly V1VolumeMount[];
  /** Raw requests/limits of the main container, merged per resource name over the task's `resources`. */
  readonly resources?: V1ResourceRequirements;
  readonly securityContext?: V1PodSecurityContext;
  readonly containerSecurityContext?: V1SecurityContext;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  /** Init containers (native sidecars are init containers with `restartPolicy: Always`). */
  readonly initContainers?: readonly V1Container[];
  /** Containers beside the main one. */
  readonly sidecars?: readonly V1Container[];
  readonly activeDeadlineSeconds?: number;
  readonly terminationGracePeriodSeconds?: number;
  /** Pending with no node for longer than this fails the try as `unschedulable` (ms, or "10m"). */
  readonly unscheduledTimeout?: number | string;
  /** Scheduled but containers not running for longer than this fails it as `startup_timeout`. */
  readonly startupTimeout?: number | string;
  readonly onFinish?: CleanupPolicy;
}

/** A named machine shape in executor options, e.g. `gpu-a100-1x`. */
export type MachinePreset = PodLayer;

/**
 * The `pod` options of a task (TaskSpec.command.pod): a layer, plus what only a task says.
 * `triggerOverrides` is set by the scheduler from the DAG run's conf; it wins over the task.
 */
export interface TaskPodOptions extends PodLayer {
  readonly namespace?: string;
  /** The name of a machine preset from the executor options. */
  readonly machine?: string;
  /** A full pod as the base: an object, or the path of a YAML file. */
  readonly template?: V1Pod | string;
  readonly triggerOverrides?: PodLayer & { readonly machine?: string };
}

export interface KubernetesExecutorOptions {
  /** Names the executor in events and marks its pods (label trainyard.dev/managed-by). Default "trainyard". */
  readonly id?: string;
  /** Kubeconfig file; default: KUBECONFIG, ~/.kube/config, then the in-cluster service account. */
  readonly kubeconfigPath?: string;
  /** Kubeconfig context to use (default: the current one). */
  readonly context?: string;
  /** Default namespace (default: the kubeconfig context's, else "default"). Tasks may override. */
  readonly namespace?: string;
  /** Image for tasks that name none. */
  readonly defaultImage?: string;
  /** A pod template applied to every try (object, or the path of a YAML file). */
  readonly podTemplate?: V1Pod | string;
  /** Machine presets by name. */
  readonly machines?: Readonly<Record<string, MachinePreset>>;
  /** Name of the main container (default "task", or the template's first container). */
  readonly containerName?: string;
  /** The result file inside the container, used as terminationMessagePath (default /dev/termination-log). */
  readonly resultPath?: string;
  /** The termination-message limit of the kubelet, bytes (default 4096). */
  readonly terminationMessageLimitBytes?: number;
  /** Default unscheduled timeout, ms (default 10 min). */
  readonly unscheduledTimeoutMs?: number;
  /** Default startup timeout, ms (default 10 min). */
  readonly startupTimeoutMs?: number;
  /** Default cleanup policy (default "delete"). */
  readonly onFinish?: CleanupPolicy;
  /** What close() does with running pods: leave them for adopt() after a restart (default), or delete them. */
  readonly onClose?: 'detach' | 'delete';
  /** Client-side rate limit: requests per second (default 50) and burst (default 100). */
  readonly qps?: number;
  readonly burst?: number;
  /** Pods created at once (default 16). */
  readonly createConcurrency?: number;
  /** Stream container logs into the try log (default true). */
  readonly streamLogs?: boolean;
  /** When set, hasCapacity admits tries while the GPUs they request stay within this many. */
  readonly gpuQuota?: number;
  /** Set a CPU limit equal to the request (default false: CPU is requested, not capped). */
  readonly cpuLimits?: boolean;
  /** Contract env vars that name local paths and mean nothing in a pod; dropped (default: see DEFAULT_LOCAL_ONLY_ENV). */
  readonly localOnlyEnv?: readonly string[];
  /** A last word on every pod before it is created (tests use it to steer simulated pods). */
  readonly decoratePod?: (pod: V1Pod, req: import('../types.js').CommandLaunch) => V1Pod;
  /** Where `secret(name)` env values come from (default: TRAINYARD_SECRET_*, then TRAINYARD_SECRETS_FILE); `secretRef` values are never read. */
  readonly secrets?: import('../../secrets/resolver.js').SecretResolver;
  /** Clock (default Date.now). */
  readonly now?: () => number;
}

/** Contract env vars that name paths on the scheduler's machine; a pod does not get them. */
export const DEFAULT_LOCAL_ONLY_ENV: readonly string[] = ['TRAINYARD_HOME', 'TRAINYARD_ARTIFACTS_DIR', 'TRAINYARD_RUN_ARTIFACTS_DIR'];

export const DEFAULT_RESULT_PATH = '/dev/termination-log';
export const TERMINATION_MESSAGE_LIMIT_BYTES = 4096;
