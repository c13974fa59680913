/**
 * The Kubernetes executor: a pod per try. `@kubernetes/client-node` is loaded only when the
 * executor first talks to a cluster, so importing this barrel costs nothing for local runs.
 */
export { KubernetesExecutor, LAUNCH_ANNOTATION } from './kubernetes-executor.js';
export {
  DEFAULT_LOCAL_ONLY_ENV,
  DEFAULT_RESULT_PATH,
  TERMINATION_MESSAGE_LIMIT_BYTES,
  type CleanupPolicy,
  type KubernetesExecutorOptions,
  type MachinePreset,
  type PodLayer,
  type TaskPodOptions,
} from './options.js';
export { buildPod, checkMachinePreset, GPU_RESOURCE, PodSpecError, resourcesToRequirements, taskPodOptions, type BuiltPod, type PodBuildDefaults, type PodBuildInput } from './pod-spec.js';
export { ANNOTATIONS, LABELS, labelValue, managedSelector, podName, tryAnnotations, tryKeyOfPod, tryLabels } from './naming.js';
export { classifyPod, type PodVerdict } from './classify.js';
export { parseTerminationResult } from './result.js';
export { KubeApiClient, KubeApiError } from './api-client.js';
