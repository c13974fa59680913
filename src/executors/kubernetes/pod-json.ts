/**
 * The parts of a pod, event and list as they come from the API server's JSON (timestamps
 * are strings here, unlike the client library's model classes).
 */

export interface ObjectMetaJson {
  readonly name: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
  readonly creationTimestamp?: string;
  readonly deletionTimestamp?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface ContainerStateJson {
  readonly waiting?: { readonly reason?: string; readonly message?: string };
  readonly running?: { readonly startedAt?: string };
  readonly terminated?: {
    readonly exitCode: number;
    readonly signal?: number;
    readonly reason?: string;
    readonly message?: string;
    readonly startedAt?: string;
    readonly finishedAt?: string;
  };
}

export interface ContainerStatusJson {
  readonly name: string;
  readonly state?: ContainerStateJson;
  readonly lastState?: ContainerStateJson;
  readonly ready?: boolean;
  readonly restartCount?: number;
}

export interface PodConditionJson {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
  readonly lastTransitionTime?: string;
}

export interface PodJson {
  readonly metadata: ObjectMetaJson;
  readonly spec?: {
    readonly nodeName?: string;
    readonly containers?: readonly { readonly name: string }[];
    readonly initContainers?: readonly { readonly name: string; readonly restartPolicy?: string }[];
  };
  readonly status?: {
    readonly phase?: string;
    readonly reason?: string;
    readonly message?: string;
    readonly conditions?: readonly PodConditionJson[];
    readonly containerStatuses?: readonly ContainerStatusJson[];
    readonly initContainerStatuses?: readonly ContainerStatusJson[];
    readonly startTime?: string;
  };
}

export interface EventJson {
  readonly metadata: ObjectMetaJson;
  readonly involvedObject: { readonly kind?: string; readonly name?: string; readonly namespace?: string; readonly uid?: string };
  readonly reason?: string;
  readonly message?: string;
  readonly type?: string;
  readonly count?: number;
  readonly lastTimestamp?: string;
  readonly eventTime?: string;
}

export interface ListJson<T> {
  readonly metadata: { readonly resourceVersion?: string; readonly continue?: string };
  readonly items: readonly T[];
}

/** A Status object (errors, and watch ERROR events). */
export interface StatusJson {
  readonly kind?: 'Status';
  readonly code?: number;
  readonly reason?: string;
  readonly message?: string;
  readonly details?: { readonly retryAfterSeconds?: number };
}
