/**
 * Early-stopping policies for sweeps. Pure: `decide(policy, state)` reads the trials' metric
 * series (step → objective value) and says which running trials to stop and which stopped
 * trials to resume. The scheduler calls it when new metric points arrive, cancels the trials
 * in `stop` with failure class `early_stopped` (a stopped success, not a failure) and re-runs
 * the trials in `promote` from their checkpoints.
 *
 * ## Median stopping rule
 *
 * As described for Google Vizier (Golovin et al., 2017, §3.2.2) and Katib's `medianstop`:
 * a running trial T whose latest reported step is s is stopped when
 *
 *     best_T(s)  is strictly worse than  median{ avg_R(s) : R in the reference set }
 *
 * where
 * - best_T(s) is T's best objective value at steps ≤ s (min or max, by direction);
 * - avg_R(s) is the running average of R's values at steps ≤ s;
 * - the reference set is the other trials that have reported at least one value at a step
 *   ≤ s; with `reference: 'completed'` (the default, as in Vizier and Katib) only finished
 *   trials count, with `'all'` running trials count too;
 * - nothing is decided before `graceSteps` (T's step s must be ≥ graceSteps; Katib's
 *   `start_step`) or while the reference set has fewer than `minTrials` trials (Katib's
 *   `min_trials_required`, default 3).
 *
 * ## ASHA (asynchronous successive halving; Li et al., 2018)
 *
 * Rungs sit at steps r·η^k (k = 0, 1, …) below `maxSteps` (r = `minSteps`, η = `reductionFactor`).
 * A trial that reaches a rung is judged there: among the n trials that have reached that rung
 * (running or finished), the best ⌊n/η⌋ by their value at the rung may go on to the next rung.
 * - A running trial at a rung that is not among them is stopped (its checkpoint stays).
 * - A stopped trial at a rung that comes to be among them, as more trials arrive, is promoted:
 *   it resumes from its checkpoint and runs to the next rung. Promotions at a rung never exceed
 *   ⌊n/η⌋ in total, counting the trials that have already gone past it.
 * - A trial reaches a rung with its first point at a step ≥ the rung; that point's value is
 *   its value at the rung. It has "gone past" the rung when it reported any point after that
 *   one, or when it was promoted there (`promotedFrom`: a promoted trial is never judged again
 *   at the rung it left, even before its resumed try reports). State is read off the metric
 *   series and the promotions, so `decide` needs no memory between calls; a trial that
 *   reports past a rung before the policy sees it counts as promoted there.
 * - A finished trial whose last step is `maxSteps` or more completed; it is never promoted.
 *
 * With n trials and η, roughly n/η, n/η², … trials reach each next rung; at least η^K trials
 * are needed for one of them to pass K rungs.
 */
import { TrainyardError } from '../core/errors.js';

export type Direction = 'min' | 'max';

/** One trial's progress: its objective's (step, value) points, in any order. */
export interface TrialProgress {
  readonly steps: readonly (readonly [step: number, value: number])[];
  /** True when the trial is not running: completed, stopped, or failed. */
  readonly finished: boolean;
  /** True when it ended in failure: it still counts at the rungs it reached, but is never promoted. */
  readonly failed?: boolean;
  /** True when it ran to its own end (not stopped): it is never promoted, whatever its last step. */
  readonly completed?: boolean;
  /** The rungs (steps) it was promoted from by ASHA: it counts as gone past them. */
  readonly promotedFrom?: readonly number[];
}

export interface SweepState<Id = string> {
  readonly trials: ReadonlyMap<Id, TrialProgress>;
  readonly direction: Direction;
}

export interface Decision<Id = string> {
  /** Running trials to stop now. */
  readonly stop: Id[];
  /** Stopped trials to resume from their checkpoints (ASHA only). */
  readonly promote?: Id[];
  /** The rung each trial in `promote` leaves (ASHA only). */
  readonly promotedFrom?: ReadonlyMap<Id, number>;
  /** Why each trial in `stop` is stopped, for messages. */
  readonly why?: ReadonlyMap<Id, StopReason>;
}

/**
 * The figures behind a stop. Median rule: at `step` the trial's best `value` is worse than
 * `threshold`, the median of the reference trials' running averages. ASHA: at the rung `step`
 * its `value` is not among the best `keep` of the trials there; `threshold` is the worst value
 * kept (null when none is kept yet: the trial waits there until more arrive).
 */
export interface StopReason {
  readonly rule: 'median' | 'asha';
  readonly step: number;
  readonly value: number;
  readonly threshold: number | null;
  readonly keep?: number;
}

export interface MedianStoppingPolicy {
  readonly kind: 'median';
  /** No trial is stopped at a step below this (Katib's start_step). Default 4. */
  readonly graceSteps?: number;
  /** Reference trials needed before anything is stopped (Katib's min_trials_required). Default 3. */
  readonly minTrials?: number;
  /** Which other trials make the median: finished ones (default, as in Vizier) or all. */
  readonly reference?: 'completed' | 'all';
}

export interface AshaPolicy {
  readonly kind: 'asha';
  /** r: the first rung's step. */
  readonly minSteps: number;
  /** R: a trial's full length in steps; rungs are below it. */
  readonly maxSteps: number;
  /** η: keep the best 1/η at each rung. Default 3. */
  readonly reductionFactor?: number;
}

export type EarlyStoppingPolicy = MedianStoppingPolicy | AshaPolicy;

function invalid(message: string): never {
  throw new TrainyardError('EARLY_STOPPING_INVALID', message);
}

/** Checks a policy; throws a clear error for a bad one. */
export function validatePolicy(policy: EarlyStoppingPolicy): void {
  if (policy.kind === 'median') {
    const grace = policy.graceSteps ?? 4;
    const min = policy.minTrials ?? 3;
    if (!Number.isFinite(grace) || grace < 0) invalid(`median stopping: graceSteps must be a number ≥ 0, got ${String(grace)}`);
    if (!Number.isInteger(min) || min < 1) invalid(`median stopping: minTrials must be a whole number ≥ 1, got ${String(min)}`);
    if (policy.reference !== undefined && policy.reference !== 'completed' && policy.reference !== 'all') {
      invalid(`median stopping: reference must be 'completed' or 'all', got '${String(policy.reference)}'`);
    }
    return;
  }
  if (policy.kind === 'asha') {
    const eta = policy.reductionFactor ?? 3;
    if (!(policy.minSteps > 0)) invalid(`ASHA: minSteps must be greater than 0, got ${String(policy.minSteps)}`);
    if (!(policy.maxSteps > policy.minSteps)) invalid(`ASHA: maxSteps (${String(policy.maxSteps)}) must be greater than minSteps (${String(policy.minSteps)})`);
    if (!(eta >= 2)) invalid(`ASHA: reductionFactor must be at least 2, got ${String(eta)}`);
    return;
  }
  invalid(`unknown early-stopping policy '${String((policy as { kind?: unknown }).kind)}'; use 'median' or 'asha'`);
}

/** The rungs (steps) of an ASHA policy: r·η^k below maxSteps. */
export function ashaRungs(policy: AshaPolicy): number[] {
  validatePolicy(policy);
  const eta = policy.reductionFactor ?? 3;
  const rungs: number[] = [];
  for (let s = policy.minSteps; s < policy.maxSteps; s *= eta) rungs.push(s);
  return rungs;
}

/** Which trials to stop (and, for ASHA, resume) now. */
export function decide<Id>(policy: EarlyStoppingPolicy, state: SweepState<Id>): Decision<Id> {
  validatePolicy(policy);
  if (state.direction !== 'min' && state.direction !== 'max') invalid(`direction must be 'min' or 'max', got '${String(state.direction)}'`);
  return policy.kind === 'median' ? decideMedian(policy, state) : decideAsha(policy, state);
}

/** a is strictly better than b. */
function better(direction: Direction, a: number, b: number): boolean {
  return direction === 'min' ? a < b : a > b;
}

function sortedPoints(t: TrialProgress): (readonly [number, number])[] {
  return t.steps.filter(([s, v]) => Number.isFinite(s) && Number.isFinite(v)).sort((a, b) => a[0] - b[0]);
}

export function median(values: readonly number[]): number {
  const v = [...values].sort((a, b) => a - b);
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

function decideMedian<Id>(policy: MedianStoppingPolicy, state: SweepState<Id>): Decision<Id> {
  const grace = policy.graceSteps ?? 4;
  const minTrials = policy.minTrials ?? 3;
  const reference = policy.reference ?? 'completed';
  const series = new Map<Id, (readonly [number, number])[]>();
  for (const [id, t] of state.trials) series.set(id, sortedPoints(t));
  const stop: Id[] = [];
  const why = new Map<Id, StopReason>();
  for (const [id, t] of state.trials) {
    if (t.finished) continue;
    const pts = series.get(id)!;
    if (pts.length === 0) continue;
    const s = pts[pts.length - 1][0];
    if (s < grace) continue;
    let best = pts[0][1];
    for (const [, v] of pts) if (better(state.direction, v, best)) best = v;
    const averages: number[] = [];
    for (const [other, o] of state.trials) {
      if (other === id || (reference === 'completed' && !o.finished)) continue;
      let sum = 0;
      let n = 0;
      for (const [step, v] of series.get(other)!) {
        if (step > s) break;
        sum += v;
        n++;
      }
      if (n > 0) averages.push(sum / n);
    }
    if (averages.length < minTrials) continue;
    const threshold = median(averages);
    if (better(state.direction, threshold, best)) {
      stop.push(id);
      why.set(id, { rule: 'median', step: s, value: best, threshold });
    }
  }
  return { stop, why };
}

/** Index of a trial's first point at a step ≥ rung, or -1 when it has not reached the rung. */
function arrivalAt(pts: readonly (readonly [number, number])[], rung: number): number {
  return pts.findIndex(([s]) => s >= rung);
}

function decideAsha<Id>(policy: AshaPolicy, state: SweepState<Id>): Decision<Id> {
  const eta = policy.reductionFactor ?? 3;
  const rungs = ashaRungs(policy);
  const trials = [...state.trials]
    .map(([id, t]) => ({ id, finished: t.finished, failed: t.failed === true, ended: t.completed === true, left: t.promotedFrom ?? [], pts: sortedPoints(t) }))
    .filter((t) => t.pts.length > 0);
  const stop = new Set<Id>();
  const promote: Id[] = [];
  const promotedFrom = new Map<Id, number>();
  const why = new Map<Id, StopReason>();
  for (const rung of rungs) {
    const reached = trials
      .map((t) => ({ t, at: arrivalAt(t.pts, rung) }))
      .filter((r) => r.at >= 0)
      .map((r) => ({ ...r, v: r.t.pts[r.at][1], past: r.at < r.t.pts.length - 1 || r.t.left.includes(rung) }));
    const quota = Math.floor(reached.length / eta);
    reached.sort((a, b) => (better(state.direction, a.v, b.v) ? -1 : better(state.direction, b.v, a.v) ? 1 : 0));
    const top = new Set(reached.slice(0, quota).map((r) => r.t.id));
    let passed = reached.filter((r) => r.past).length;
    // Trials waiting at this rung (reached it, nothing reported after), best first.
    for (const r of reached) {
      if (r.past) continue;
      const { t } = r;
      const completed = t.ended || t.pts[t.pts.length - 1][0] >= policy.maxSteps;
      if (!t.finished) {
        if (!top.has(t.id)) {
          stop.add(t.id);
          if (!why.has(t.id)) why.set(t.id, { rule: 'asha', step: rung, value: r.v, threshold: quota > 0 ? reached[quota - 1].v : null, keep: quota });
        }
      } else if (!completed && !t.failed && top.has(t.id) && passed < quota) {
        promote.push(t.id);
        promotedFrom.set(t.id, rung);
        passed++;
      }
    }
  }
  return { stop: [...stop], promote, promotedFrom, why };
}

// ---- time saved ------------------------------------------------------------------------------

export interface TrialUsage {
  /** The last step the trial ran. */
  readonly lastStep: number;
  /** True when it was stopped early (class early_stopped), false when it ran in full or failed. */
  readonly stoppedEarly: boolean;
  /** Wall seconds one step took (measured: the try's wall time / its steps). */
  readonly secondsPerStep: number;
  /** Devices it held: GPUs and CPU cores (default 0 and 1). */
  readonly gpus?: number;
  readonly cpus?: number;
}

export interface TimeSaved {
  /** Steps not run, over the stopped trials. */
  readonly stepsSaved: number;
  /** Wall seconds those steps would have taken, summed over trials. */
  readonly trialSeconds: number;
  readonly gpuSeconds: number;
  readonly cpuSeconds: number;
  /** What running every trial in full would have taken, in trial-seconds. */
  readonly fullSeconds: number;
  /** trialSeconds / fullSeconds (0 when nothing ran). */
  readonly fraction: number;
}

/**
 * GPU- and CPU-time saved against running every trial to `maxSteps`: for each trial stopped
 * early, (maxSteps − lastStep) × its seconds per step × the devices it held. Trials that ran in
 * full or failed save nothing.
 */
export function savedTime(maxSteps: number, trials: Iterable<TrialUsage>): TimeSaved {
  if (!(maxSteps > 0)) invalid(`savedTime: maxSteps must be greater than 0, got ${String(maxSteps)}`);
  let stepsSaved = 0;
  let trialSeconds = 0;
  let gpuSeconds = 0;
  let cpuSeconds = 0;
  let fullSeconds = 0;
  for (const t of trials) {
    const rate = Math.max(0, t.secondsPerStep);
    fullSeconds += maxSteps * rate;
    if (!t.stoppedEarly) continue;
    const left = Math.max(0, maxSteps - t.lastStep);
    stepsSaved += left;
    trialSeconds += left * rate;
    gpuSeconds += left * rate * (t.gpus ?? 0);
    cpuSeconds += left * rate * (t.cpus ?? 1);
  }
  return { stepsSaved, trialSeconds, gpuSeconds, cpuSeconds, fullSeconds, fraction: fullSeconds > 0 ? trialSeconds / fullSeconds : 0 };
}

export interface TrialRun {
  /** Wall seconds the trial ran, over all its tries. */
  readonly seconds: number;
  /** 'full': it ran to its end; 'stopped': stopped early; 'failed': it failed. */
  readonly outcome: 'full' | 'stopped' | 'failed';
  /** Devices it held: GPUs and CPU cores (default 0 and 1). */
  readonly gpus?: number;
  readonly cpus?: number;
}

export interface TimeSavedEstimate {
  /** The estimate of one full trial: the mean wall seconds of the trials that ran in full; null when none did. */
  readonly fullTrialSeconds: number | null;
  readonly trialSeconds: number;
  readonly gpuSeconds: number;
  readonly cpuSeconds: number;
  /** What running every trial in full would have taken, in trial-seconds. */
  readonly fullSeconds: number;
  /** trialSeconds / fullSeconds (0 when nothing ran). */
  readonly fraction: number;
}

/**
 * Time saved by stopping trials early, estimated from the trials that ran in full: each stopped
 * trial would have taken their mean wall time, so it saved that minus the time it ran (never
 * less than 0), times the devices it held. With no full trial there is no estimate: nothing
 * is counted as saved.
 */
export function savedTimeFromRuns(trials: Iterable<TrialRun>): TimeSavedEstimate {
  const all = [...trials];
  const full = all.filter((t) => t.outcome === 'full');
  const fullTrialSeconds = full.length ? full.reduce((n, t) => n + Math.max(0, t.seconds), 0) / full.length : null;
  let trialSeconds = 0;
  let gpuSeconds = 0;
  let cpuSeconds = 0;
  let fullSeconds = 0;
  for (const t of all) {
    const ran = Math.max(0, t.seconds);
    const left = t.outcome === 'stopped' && fullTrialSeconds !== null ? Math.max(0, fullTrialSeconds - ran) : 0;
    fullSeconds += ran + left;
    trialSeconds += left;
    gpuSeconds += left * (t.gpus ?? 0);
    cpuSeconds += left * (t.cpus ?? 1);
  }
  return { fullTrialSeconds, trialSeconds, gpuSeconds, cpuSeconds, fullSeconds, fraction: fullSeconds > 0 ? trialSeconds / fullSeconds : 0 };
}

// ---- from stored metric rows -----------------------------------------------------------------

/** A stored metric point (the `metric` table's columns the policies need). */
export interface MetricRow {
  readonly map_index: number;
  readonly try_number: number;
  readonly name: string;
  readonly step: number | null;
  readonly value: number;
}

/**
 * The sweep state of a mapped task from its metric rows: one trial per map index, the tries
 * of an instance merged into one series (a resumed try continues the steps of the one
 * before; where two tries report the same step, the later try wins). Points without a step
 * are numbered after the trial's previous point. `status(mapIndex)` says whether a trial is
 * finished, failed or completed, and the rungs it was promoted from; trials with no rows yet
 * are left out.
 *
 * Throws `UNKNOWN_OBJECTIVE_METRIC` when trials have reported metrics but none under the
 * objective's name, naming the metrics they did report: a typo in the objective would
 * otherwise silently disable early stopping.
 */
export function sweepStateFromMetrics(
  rows: Iterable<MetricRow>,
  opts: { objective: string; direction: Direction; status: (mapIndex: number) => Omit<TrialProgress, 'steps'> },
): SweepState<number> {
  const seen = new Set<string>();
  const byTrial = new Map<number, Map<number, { tryNumber: number; value: number }>>();
  const lastStep = new Map<number, number>();
  const sorted = [...rows].sort((a, b) => a.map_index - b.map_index || a.try_number - b.try_number);
  for (const r of sorted) {
    seen.add(r.name);
    if (r.name !== opts.objective || !Number.isFinite(r.value)) continue;
    const step = r.step ?? (lastStep.get(r.map_index) ?? -1) + 1;
    lastStep.set(r.map_index, Math.max(step, lastStep.get(r.map_index) ?? -Infinity));
    let series = byTrial.get(r.map_index);
    if (!series) byTrial.set(r.map_index, (series = new Map()));
    const prev = series.get(step);
    if (!prev || r.try_number >= prev.tryNumber) series.set(step, { tryNumber: r.try_number, value: r.value });
  }
  if (seen.size > 0 && !seen.has(opts.objective)) {
    throw new TrainyardError(
      'UNKNOWN_OBJECTIVE_METRIC',
      `the sweep's objective metric '${opts.objective}' has not been reported by any trial; they report ${[...seen].sort().join(', ')}. Fix the objective's name or the metric lines`,
    );
  }
  const trials = new Map<number, TrialProgress>();
  for (const [mapIndex, series] of byTrial) {
    const s = opts.status(mapIndex);
    trials.set(mapIndex, { ...s, steps: [...series].sort((a, b) => a[0] - b[0]).map(([step, p]) => [step, p.value] as const) });
  }
  return { trials, direction: opts.direction };
}
