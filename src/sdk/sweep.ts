/**
 * Sweeps: a mapped command task whose map indexes are trials, judged on one metric of their
 * metric lines, optionally stopped early by a policy (median stopping rule or ASHA), with a
 * second task whose result is the best trial. Everything here is checked when the DAG is
 * built, so a typo in an option fails the DAG file's import, not a run.
 */
import { DagValidationError, TrainyardError } from '../core/errors.js';
import type { EarlyStoppingSpec, SweepSpec } from '../core/spec.js';
import { validatePolicy } from '../ml/early-stopping.js';
import type { CommandOptions, Inputs, MapList } from './options.js';
import { isRef, type Ref, resultRef } from './refs.js';
import type { TaskHandle } from './task.js';

export type SweepDirection = 'minimize' | 'maximize';

/** Early stopping for a sweep: the median stopping rule or ASHA, with their options. */
export type SweepEarlyStopping = EarlyStoppingSpec;

export interface SweepOptions<P, I extends Inputs, K, R> extends CommandOptions<P, I, K, R> {
  /** The trials' params: a list (from `grid`, `random`, or written out) or a ref to an upstream list. */
  readonly space: MapList<K>;
  /** The metric that judges the trials: a key of their `::trainyard::metric` lines. */
  readonly objective: string;
  readonly direction: SweepDirection;
  /** Stop unpromising trials while they run (default: every trial runs in full). */
  readonly earlyStopping?: SweepEarlyStopping;
  /** Fixed values merged into every trial's params. */
  readonly partial?: Readonly<Record<string, unknown>>;
  /** Id of the task whose result is the best trial (default `<id>_best`). */
  readonly bestTaskId?: string;
  /**
   * Pick the best of the trials that succeeded even when others failed (default false: a
   * failed trial fails the best-trial task, and with it the run).
   */
  readonly allowFailedTrials?: boolean;
}

/** What the scheduler reports about a sweep, in the best-trial task's result. */
export interface SweepReport {
  readonly trials: number;
  /** Trials that ran to their end. */
  readonly completed: number;
  /** Map indexes of the trials stopped early. */
  readonly stoppedEarly: readonly number[];
  readonly failed: readonly number[];
  /** Time not spent because trials were stopped early, against running every trial in full. */
  readonly saved: {
    /** Mean wall seconds of the trials that ran in full: the estimate of a full trial. */
    readonly fullTrialSeconds: number | null;
    readonly trialSeconds: number;
    readonly cpuSeconds: number;
    readonly gpuSeconds: number;
    /** trialSeconds over what running every trial in full would have taken (0 to 1). */
    readonly fraction: number;
  };
}

/** The best trial: its map index, params, and its best value of the objective. */
export interface BestTrial<K> {
  readonly mapIndex: number;
  readonly params: K;
  readonly objective: string;
  readonly direction: SweepDirection;
  /** The trial's best value of the objective (the lowest when minimising). */
  readonly value: number;
  /** The step at which it reported that value (null when its lines had no step). */
  readonly step: number | null;
  readonly report: SweepReport;
}

/** A declared sweep: the trials (a mapped task) and the best trial (a task downstream of them). */
export class Sweep<K, R> {
  constructor(
    /** The mapped trial task; its output is every trial's result in map-index order. */
    readonly trials: TaskHandle<R[]>,
    /** The best-trial task; pass `best.output` (or `bestParam`) to downstream tasks. */
    readonly best: TaskHandle<BestTrial<K>>,
  ) {}

  /** A ref to one param of the best trial: `sweep.bestParam('lr')`. */
  bestParam<Key extends keyof K & string>(key: Key): Ref<K[Key]> {
    return resultRef<K[Key]>(this.best.taskId, ['params', key]);
  }

  /** A ref to the best trial's objective value. */
  get bestValue(): Ref<number> {
    return resultRef<number>(this.best.taskId, ['value']);
  }
}

const POLICY_OPTIONS: Readonly<Record<EarlyStoppingSpec['kind'], readonly string[]>> = {
  median: ['kind', 'graceSteps', 'minTrials', 'reference'],
  asha: ['kind', 'minSteps', 'maxSteps', 'reductionFactor'],
};
const DIRECTIONS: readonly SweepDirection[] = ['minimize', 'maximize'];
/** Mapping options a sweep sets itself from `space`. */
const NOT_FOR_SWEEPS = ['expand', 'expandKwargs'] as const;

/** The checked sweep spec and the options of its two tasks. Throws DagValidationError naming the field. */
export function planSweep(
  taskId: string,
  options: SweepOptions<unknown, Inputs, unknown, unknown>,
): { spec: Omit<SweepSpec, 'bestTaskId'>; trialOptions: Record<string, unknown>; bestLocalId: string; bestOptions: Record<string, unknown> } {
  const fail = (field: string, message: string): never => {
    throw new DagValidationError('SWEEP_INVALID', `sweep '${taskId}': ${field} ${message}`);
  };
  for (const key of NOT_FOR_SWEEPS) if (key in options) fail(key, "is set by the sweep from 'space'; remove it");
  if (options.space === undefined) fail('space', 'is missing; give the trials\' params, e.g. space: grid({ lr: [0.01, 0.1] })');
  if (!isRef(options.space) && (!Array.isArray(options.space) || options.space.length === 0)) {
    fail('space', 'must be a non-empty list of params objects (from grid() or random()) or a ref to an upstream list');
  }
  if (typeof options.objective !== 'string' || options.objective.trim() === '') {
    fail('objective', "is missing; name the metric that judges the trials, e.g. objective: 'val_loss'");
  }
  if (!DIRECTIONS.includes(options.direction)) {
    fail('direction', `must be 'minimize' or 'maximize', got ${JSON.stringify(options.direction ?? null)}`);
  }
  const earlyStopping = options.earlyStopping === undefined ? undefined : checkPolicy(options.earlyStopping, fail);
  const { space, objective, direction, bestTaskId, allowFailedTrials, earlyStopping: _policy, ...command } = options;
  const bestLocalId = bestTaskId ?? `${localId(taskId)}_best`;
  return {
    spec: { objective, direction, ...(earlyStopping ? { earlyStopping } : {}) },
    trialOptions: { ...command, expandKwargs: space },
    bestLocalId,
    bestOptions: { triggerRule: allowFailedTrials ? 'all_done_min_one_success' : 'all_success', doc: `The best trial of sweep '${taskId}' by ${objective} (${direction}).` },
  };
}

function localId(taskId: string): string {
  return taskId.slice(taskId.lastIndexOf('.') + 1);
}

function checkPolicy(policy: unknown, fail: (field: string, message: string) => never): EarlyStoppingSpec {
  if (typeof policy !== 'object' || policy === null) return fail('earlyStopping', "must be an object such as { kind: 'median' } or { kind: 'asha', minSteps: 4, maxSteps: 64 }");
  const kind = (policy as { kind?: unknown }).kind;
  if (kind !== 'median' && kind !== 'asha') return fail('earlyStopping.kind', `must be 'median' or 'asha', got ${JSON.stringify(kind ?? null)}`);
  const allowed = POLICY_OPTIONS[kind];
  for (const key of Object.keys(policy)) {
    if (!allowed.includes(key)) fail(`earlyStopping.${key}`, `is not an option of the ${kind} policy; its options are ${allowed.filter((k) => k !== 'kind').join(', ')}`);
  }
  try {
    validatePolicy(policy as EarlyStoppingSpec);
  } catch (e) {
    if (e instanceof TrainyardError) fail('earlyStopping', `is invalid: ${e.message}`);
    throw e;
  }
  return { ...(policy as EarlyStoppingSpec) };
}

/** The function standing for the best-trial task in workers: it never runs, the scheduler computes the result. */
export function bestTrialPlaceholder(taskId: string): () => never {
  return () => {
    throw new TrainyardError('SWEEP_BEST_NOT_RUNNABLE', `'${taskId}' is computed by the scheduler from its sweep's metrics; it does not run in a worker`);
  };
}

/** One line about a finished sweep, from its best-trial task's result. */
export function formatSweepSummary(trialTaskId: string, best: BestTrial<unknown>): string {
  const r = best.report;
  const saved = r.saved.fullTrialSeconds === null ? 'no full trial to estimate the time saved' : `saved ${r.saved.cpuSeconds} CPU-s, ${r.saved.gpuSeconds} GPU-s (${Math.round(r.saved.fraction * 100)}% of running every trial in full)`;
  return (
    `sweep ${trialTaskId}: best trial ${best.mapIndex} ${JSON.stringify(best.params)} with ${best.objective} ${best.value}; ` +
    `${r.trials} trials, ${r.stoppedEarly.length} stopped early, ${r.failed.length} failed; ${saved}`
  );
}
