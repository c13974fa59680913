import type { FailureClass } from '../core/failure.js';
import type { Resources, SecretEnvRef } from '../core/spec.js';
import type { DeferredValues } from './deferred.js';

/** Identifies one try. Unique in the store; a launch is idempotent on it. */
export interface TryKey {
  readonly dagId: string;
  readonly runId: string;
  readonly taskId: string;
  readonly mapIndex: number;
  readonly tryNumber: number;
}

export function tryKeyString(k: TryKey): string {
  return `${k.dagId}/${k.runId}/${k.taskId}/${k.mapIndex}/${k.tryNumber}`;
}

/** Where user code for an inline task or an argument function lives. */
export interface UserCodeRef {
  /** Absolute path of the DAG file. */
  readonly file: string;
  readonly dagId: string;
  readonly taskId: string;
}

/** The runtime context handed to inline functions and argument functions. */
export interface TaskContextData {
  readonly dagId: string;
  readonly runId: string;
  readonly taskId: string;
  readonly mapIndex: number;
  readonly tryNumber: number;
  readonly ds: string;
  readonly logicalDate: string;
  readonly dataIntervalStart: string;
  readonly dataIntervalEnd: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly conf: Readonly<Record<string, unknown>>;
  /** The mapped item, for a mapped task. */
  readonly item?: unknown;
  /** Resolved named inputs (upstream results). */
  readonly inputs: Readonly<Record<string, unknown>>;
  readonly artifactsDir: string;
  readonly runArtifactsDir: string;
  readonly checkpointDir: string;
  /** For a run triggered by asset events: those events. */
  readonly triggeringAssetEvents?: readonly unknown[];
}

interface LaunchBase {
  readonly key: TryKey;
  /** Environment following the task contract, already resolved (CUDA_VISIBLE_DEVICES is added by the executor). */
  readonly env: Readonly<Record<string, string>>;
  readonly resources: Resources;
  /** The executor kills the try after this long, with failure class execution_timeout. */
  readonly executionTimeoutMs?: number;
  /** Time between SIGTERM and SIGKILL. */
  readonly killGraceMs: number;
  /** Log file of this try; stdout and stderr go there, each line timestamped. */
  readonly logPath: string;
  /** Where the task writes its JSON result (the contract's TRAINYARD_RESULT_PATH). */
  readonly resultPath: string;
  readonly resultLimitBytes: number;
  /**
   * Set when an upstream result the try reads is kept in the artifact store: the values that
   * read it, evaluated by a worker once the references are read (see deferred.ts). Inputs,
   * command, args and plain env are then empty in this request.
   */
  readonly deferred?: DeferredValues;
  /**
   * Local directories the try uses (its work dir, artifacts, checkpoints), made by an executor
   * that runs the try on this machine before it starts; an executor that runs it elsewhere
   * ignores them.
   */
  readonly dirs?: readonly string[];
}

/** What an executor is told of a try before its launch (see Executor.prepare). */
export type UpcomingTry = Pick<LaunchBase, 'key' | 'logPath' | 'dirs'>;

export interface CommandLaunch extends LaunchBase {
  readonly kind: 'command';
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd?: string;
  readonly shell: boolean;
  /** Exit code that marks the try skipped. */
  readonly skipExitCode?: number;
  readonly image?: string;
  readonly pod?: Readonly<Record<string, unknown>>;
  /**
   * Env variables whose values are secrets, as references: the executor resolves them at
   * launch (or, on Kubernetes, points the pod at the Secret). Never resolved into `env`.
   */
  readonly secretEnv?: Readonly<Record<string, SecretEnvRef>>;
  /**
   * When set, args and/or env come from functions in the DAG file: a worker renders them
   * with this context before the process starts.
   */
  readonly render?: { readonly code: UserCodeRef; readonly context: TaskContextData; readonly args: boolean; readonly env: boolean };
}

export interface InlineLaunch extends LaunchBase {
  readonly kind: 'inline';
  readonly code: UserCodeRef;
  readonly context: TaskContextData;
}

/** A sensor: checked by the scheduler's sensor runner; it holds no process and no slot while it waits. */
export interface SensorLaunch extends LaunchBase {
  readonly kind: 'sensor';
  /** A built-in sensor spec (see src/sensors/spec.ts), rendered. */
  readonly sensor: Readonly<Record<string, unknown>>;
  readonly options: {
    readonly pokeIntervalMs: number;
    readonly timeoutMs: number;
    readonly softFail: boolean;
    readonly exponentialBackoff: boolean;
    readonly maxWaitMs: number;
    readonly checkTimeoutMs?: number;
    readonly maxConsecutiveErrors?: number;
  };
  readonly logicalDate: number;
  /** A custom sensor (`sensor` is `{ kind: 'custom' }`): its check function, run in a worker with this context. */
  readonly code?: UserCodeRef;
  readonly context?: TaskContextData;
}

export type LaunchRequest = CommandLaunch | InlineLaunch;

/** What the scheduler hands to an executor: a try, or a sensor (for the sensor executor only). */
export type AnyLaunch = LaunchRequest | SensorLaunch;

export interface MetricPoint {
  readonly name: string;
  readonly value: number;
  readonly step: number | null;
  /** Epoch milliseconds. */
  readonly at: number;
}

export type TryOutcome = 'success' | 'failed' | 'skipped';

export type ExecutorEvent =
  | {
      readonly type: 'started';
      readonly key: TryKey;
      readonly at: number;
      readonly host: string;
      readonly pid?: number;
      /** Pod name, or worker id for inline tasks. */
      readonly external?: string;
    }
  | {
      /** Metric or params lines parsed while the try runs. */
      readonly type: 'telemetry';
      readonly key: TryKey;
      readonly metrics: readonly MetricPoint[];
      readonly params?: Readonly<Record<string, unknown>>;
    }
  | {
      /** Why the try is not running yet, in plain words (e.g. a pod's FailedScheduling). */
      readonly type: 'pending_reason';
      readonly key: TryKey;
      readonly reason: string;
    }
  | {
      readonly type: 'finished';
      readonly key: TryKey;
      readonly at: number;
      readonly outcome: TryOutcome;
      readonly exitCode: number | null;
      readonly signal: string | null;
      readonly failureClass?: FailureClass;
      /** Plain-words reason, for failures (and skips). */
      readonly reason?: string;
      /** Parsed JSON result (success only); null when the task wrote none. */
      readonly result?: unknown;
    };

/** A try that the store says is queued or running, handed to adopt() after a restart. */
export interface LiveTryRecord {
  readonly key: TryKey;
  readonly pid?: number | null;
  readonly host?: string | null;
  readonly external?: string | null;
  readonly startedAt?: number | null;
}

export type AdoptResult =
  /** The executor watches it again; it will emit `finished` later. */
  | { readonly key: TryKey; readonly adopted: true }
  /** It could not be adopted (process gone, host dead...): record it as lost. */
  | { readonly key: TryKey; readonly adopted: false; readonly reason: string };

export interface Executor {
  readonly name: string;
  /** Whether a try with these resources fits now, next to what is running. */
  hasCapacity(resources: Resources): boolean;
  /**
   * Start the try. Idempotent on the try key: a second call for a key the executor knows
   * does nothing. Emits `started`, then `finished`. Never throws for the task's own failure
   * (a missing command is a `finished` event with class user_error).
   */
  launch(req: LaunchRequest): Promise<void>;
  /** Stop a try: SIGTERM, grace, SIGKILL. Emits `finished` with the given class. */
  cancel(key: TryKey, failureClass: FailureClass, reason: string): Promise<void>;
  /** After a restart: take back tries the store lists as live. */
  adopt(records: readonly LiveTryRecord[]): Promise<AdoptResult[]>;
  onEvent(listener: (event: ExecutorEvent) => void): void;
  /** Used and total capacity, for metrics and "why pending". */
  capacity(): ExecutorCapacity;
  /**
   * The GPUs a try with these resources and pod options asks for, before it is launched
   * (pools with a GPU quota count them). Default: `resources.gpu`.
   */
  gpuRequest?(req: { readonly resources: Resources; readonly pod?: Readonly<Record<string, unknown>> }): number;
  /**
   * Tries likely to be launched soon, first the likeliest: an executor may make ready now what
   * their launch will need (the local executor makes their folders), so that a try starts
   * sooner once there is room for it. A hint only: a try named here may never be launched.
   */
  prepare?(tries: readonly UpcomingTry[]): void;
  /** Whether it can start tries whose values read results kept in the artifact store (`deferred`). */
  readonly readsStoredResults?: boolean;
  /** Stop accepting launches; wait up to graceMs for running tries; then kill them. */
  close(graceMs?: number): Promise<void>;
}

export interface ExecutorCapacity {
  readonly cpu: { readonly used: number; readonly total: number };
  readonly memoryMb: { readonly used: number; readonly total: number };
  readonly gpu: { readonly used: number; readonly total: number };
  readonly running: number;
}
