/**
 * What the parts of the Kubernetes executor share: its id and options, the clock, the
 * counters, the creation gate, the API client once it is made, and the event stream.
 */
import type { ExecutorEvent } from '../types.js';
import type { KubeApiClient } from './api-client.js';
import type { CreationGate } from './creation-gate.js';
import type { KubernetesExecutorOptions } from './options.js';

/** Counters for figures and tests. */
export interface ExecutorStats {
  podsCreated: number;
  alreadyExisted: number;
  podsDeleted: number;
  watchEvents: number;
}

export interface ExecutorContext {
  readonly id: string;
  readonly options: KubernetesExecutorOptions;
  readonly now: () => number;
  readonly stats: ExecutorStats;
  /** Pod creations queued or in flight; while there are any, housekeeping waits (creations first). */
  readonly creations: CreationGate;
  /** The API client; made when the executor first loads its configuration. */
  client(): KubeApiClient;
  /** The namespace tries go to unless they name one (the kubeconfig context's once it is loaded). */
  namespace(): string;
  emit(event: ExecutorEvent): void;
}
