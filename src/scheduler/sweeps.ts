/**
 * Sweeps in the scheduler. A sweep is a mapped task whose instances are trials judged on one
 * metric. As metric lines arrive (and as trials end) the tick hands the events here: the
 * sweep's objective series, read once from the store and then kept in step with every point
 * the tick inserts, goes through the pure early-stopping policy, and the trials it stops are
 * cancelled with class `early_stopped` (ASHA's promotions are scheduled again). When every
 * trial is done, the best-trial task gets its result here, without running anything.
 *
 * Everything is decided from the store's data and the tick's events, so a fake clock drives it.
 */
import type { TaskState } from '../core/states.js';
import type { SweepSpec } from '../core/spec.js';
import type { ExecutorEvent } from '../executors/types.js';
import { decide, type Direction, type EarlyStoppingPolicy, type MetricRow, savedTimeFromRuns, type StopReason, sweepStateFromMetrics, type TrialRun } from '../ml/early-stopping.js';
import type { Store, TaskTryRow, TiChange } from '../store/store.js';
import { type RunModel, runKey, type TaskModel, type TiModel } from './run-model.js';

/** What the scheduler lends the sweep logic: its live tries, cancels, and guarded writes. */
export interface SweepHooks {
  /** Whether the instance's current try is live and not being stopped already. */
  isRunning(ti: TiModel): boolean;
  /** Cancels the instance's live try with class early_stopped. */
  stop(ti: TiModel, reason: string): void;
  /** Schedules a stopped trial again (it resumes from its checkpoint). */
  promote(ti: TiModel, reason: string): Promise<void>;
  setTi(ti: TiModel, to: TaskState, fields: TiChange['set'], from?: readonly TaskState[]): Promise<void>;
  log(line: string): void;
}

interface Series {
  /** The objective's points, every instance and try. */
  readonly rows: MetricRow[];
  /** Metric names the trials reported (bounded), to tell an objective no trial reports. */
  readonly names: Set<string>;
  /** The problem already reported on the best-trial task, so it is written once. */
  reported?: string;
  /**
   * The step at which each stopped try ("mapIndex:tryNumber") was stopped: points it prints
   * while it winds down do not count, so ASHA sees it waiting at the rung where it stopped.
   */
  readonly stoppedAt: Map<string, number>;
}

const LIVE: readonly TaskState[] = ['queued', 'running'];
const NAMES_KEPT = 50;

export const toDirection = (d: SweepSpec['direction']): Direction => (d === 'minimize' ? 'min' : 'max');

export class SweepMonitor {
  private readonly series = new Map<string, Series>();

  /** Applies a tick's telemetry and finished events to the sweeps they concern, and runs their policies. */
  async evaluate(tx: Store, events: readonly ExecutorEvent[], runs: ReadonlyMap<string, RunModel>, hooks: SweepHooks): Promise<void> {
    for (const key of this.series.keys()) if (!runs.has(key.slice(0, key.lastIndexOf('\u0001')))) this.series.delete(key);
    const dirty = new Map<string, TaskModel>();
    for (const ev of events) {
      if (ev.type !== 'telemetry' && ev.type !== 'finished') continue;
      const task = runs.get(runKey(ev.key.dagId, ev.key.runId))?.tasks.get(ev.key.taskId);
      if (!task?.spec.sweep) continue;
      const key = seriesKey(task);
      const s = this.series.get(key);
      if (s && ev.type === 'telemetry') addPoints(s, task.spec.sweep.objective, ev);
      dirty.set(key, task);
    }
    for (const task of dirty.values()) {
      try {
        await this.judge(tx, task, hooks);
      } catch (e) {
        hooks.log(`sweep ${task.run.dagId}/${task.run.runId}/${task.spec.taskId}: early stopping failed: ${(e as Error).message}`);
      }
    }
  }

  /** Runs the sweep's policy over its trials; stops and promotes what it says. */
  private async judge(tx: Store, task: TaskModel, hooks: SweepHooks): Promise<void> {
    const sweep = task.spec.sweep!;
    const s = await this.load(tx, task);
    if (s.rows.length === 0) {
      if (s.names.size > 0) await this.reportOnBest(task, s, unknownObjective(sweep, s.names), hooks);
      return;
    }
    if (!sweep.earlyStopping) return;
    const rows = s.stoppedAt.size ? s.rows.filter((r) => r.step === null || r.step <= (s.stoppedAt.get(`${r.map_index}:${r.try_number}`) ?? Infinity)) : s.rows;
    const state = sweepStateFromMetrics(rows, { objective: sweep.objective, direction: toDirection(sweep.direction), status: (i) => trialStatus(task.instances.get(i), hooks) });
    const decision = decide(sweep.earlyStopping as EarlyStoppingPolicy, state);
    for (const mapIndex of decision.stop) {
      const ti = task.instances.get(mapIndex);
      if (!ti || !hooks.isRunning(ti)) continue;
      const pts = state.trials.get(mapIndex)!.steps;
      s.stoppedAt.set(`${mapIndex}:${ti.tryNumber}`, pts[pts.length - 1][0]);
      hooks.stop(ti, stopMessage(sweep.objective, decision.why?.get(mapIndex)));
    }
    for (const mapIndex of decision.promote ?? []) {
      const ti = task.instances.get(mapIndex);
      if (ti?.state !== 'success' || !ti.stoppedEarly) continue;
      await hooks.promote(ti, `promoted by ASHA: its ${sweep.objective} is among the best at its rung; it resumes from its checkpoint`);
    }
  }

  /**
   * Gives the best-trial task its result: the trial with the best value of the objective
   * among those that succeeded (stopped ones included), and the sweep's report. An objective
   * that no trial reported fails the task, saying which metrics the trials did report.
   */
  async completeBest(tx: Store, best: TaskModel, now: number, hooks: SweepHooks): Promise<void> {
    const run = best.run;
    const trials = run.task(best.spec.sweepBestOf!);
    const sweep = trials.spec.sweep!;
    const s = await this.load(tx, trials);
    const pending = [...best.instances.values()].filter((ti) => ti.state === 'none');
    const winner = bestTrial(trials, s.rows, toDirection(sweep.direction));
    if (!winner) {
      const reason = s.names.size > 0 ? unknownObjective(sweep, s.names) : `no trial of '${trials.spec.taskId}' reported any metric; trials print lines such as ::trainyard::metric {"step": 1, "${sweep.objective}": 0.5}`;
      for (const ti of pending) await hooks.setTi(ti, 'failed', { start_date: now, end_date: now, failure_class: 'config', reason });
      return;
    }
    const report = sweepReport(trials, await tx.listTaskTries(run.dagId, run.runId, trials.spec.taskId));
    const result = { ...winner, objective: sweep.objective, direction: sweep.direction, report };
    for (const ti of pending) await hooks.setTi(ti, 'success', { start_date: now, end_date: now, result: JSON.stringify(result), failure_class: null, reason: null });
    run.results.set(best.spec.taskId, result);
  }

  private async load(tx: Store, task: TaskModel): Promise<Series> {
    const key = seriesKey(task);
    let s = this.series.get(key);
    if (!s) {
      const { dagId, runId } = task.run;
      const objective = task.spec.sweep!.objective;
      const [rows, names] = await Promise.all([
        tx.taskMetric(dagId, runId, task.spec.taskId, objective),
        tx.taskMetricNames(dagId, runId, task.spec.taskId, NAMES_KEPT),
      ]);
      s = { rows: rows.map((r) => ({ ...r, step: r.step === null ? null : Number(r.step), value: Number(r.value) })), names: new Set(names), stoppedAt: new Map() };
      this.series.set(key, s);
    }
    return s;
  }

  /** Says on the best-trial task (while it waits) that the trials do not report the objective. */
  private async reportOnBest(task: TaskModel, s: Series, message: string, hooks: SweepHooks): Promise<void> {
    if (s.reported === message) return;
    s.reported = message;
    hooks.log(`sweep ${task.run.dagId}/${task.run.runId}/${task.spec.taskId}: ${message}`);
    const best = task.run.tasks.get(task.spec.sweep!.bestTaskId);
    for (const ti of best?.instances.values() ?? []) if (ti.state === 'none') await hooks.setTi(ti, 'none', { reason: message }, ['none']);
  }
}

function seriesKey(task: TaskModel): string {
  return `${task.run.key}\u0001${task.spec.taskId}`;
}

function addPoints(s: Series, objective: string, ev: Extract<ExecutorEvent, { type: 'telemetry' }>): void {
  for (const m of ev.metrics) {
    if (s.names.size < NAMES_KEPT) s.names.add(m.name);
    if (m.name === objective) s.rows.push({ map_index: ev.key.mapIndex, try_number: ev.key.tryNumber, name: m.name, step: m.step, value: m.value });
  }
}

/** A trial runs while its try is live and not being stopped; a stopped one may be promoted, a completed one never. */
function trialStatus(ti: TiModel | undefined, hooks: SweepHooks): { finished: boolean; failed?: boolean; completed?: boolean } {
  if (!ti) return { finished: true, failed: true };
  if (LIVE.includes(ti.state)) return { finished: !hooks.isRunning(ti) };
  if (ti.state === 'scheduled' || ti.state === 'up_for_retry' || ti.state === 'none') return { finished: false };
  return { finished: true, failed: ti.state !== 'success', completed: ti.state === 'success' && !ti.stoppedEarly };
}

function unknownObjective(sweep: SweepSpec, names: ReadonlySet<string>): string {
  return `the sweep's objective metric '${sweep.objective}' has not been reported by any trial; they report ${[...names].sort().join(', ')}. Fix the objective's name or the trials' metric lines`;
}

/** Plain words for why the policy stopped a trial. */
export function stopMessage(objective: string, why: StopReason | undefined): string {
  if (!why) return 'stopped early by the sweep’s stopping rule';
  if (why.rule === 'median') {
    return `stopped early by the median stopping rule at step ${why.step}: its best ${objective} so far (${why.value}) is worse than the median of the other trials' running averages (${why.threshold})`;
  }
  if (why.threshold === null) {
    return `stopped by ASHA at the rung at step ${why.step}: it is among the first trials there, so it waits (${objective} ${why.value}) and resumes if it ranks among the best as others arrive`;
  }
  return `stopped by ASHA at the rung at step ${why.step}: its ${objective} (${why.value}) is not among the best ${why.keep} there (the cut-off is ${why.threshold})`;
}

/** The trial with the best value of the objective among the successful ones; ties go to the lower map index. */
function bestTrial(trials: TaskModel, rows: readonly MetricRow[], direction: Direction): { mapIndex: number; params: unknown; value: number; step: number | null } | undefined {
  let found: { mapIndex: number; params: unknown; value: number; step: number | null } | undefined;
  const sorted = [...rows].sort((a, b) => a.map_index - b.map_index || a.try_number - b.try_number);
  for (const r of sorted) {
    const ti = trials.instances.get(r.map_index);
    if (ti?.state !== 'success' || !Number.isFinite(r.value)) continue;
    const better = !found || (direction === 'min' ? r.value < found.value : r.value > found.value);
    if (better) found = { mapIndex: r.map_index, params: ti.item ?? {}, value: r.value, step: r.step };
  }
  return found;
}

/** Counts of the trials by how they ended, and the time saved by stopping some early. */
function sweepReport(trials: TaskModel, tries: readonly TaskTryRow[]) {
  const seconds = new Map<number, number>();
  for (const t of tries) {
    if (t.start_date === null || t.end_date === null) continue;
    seconds.set(t.map_index, (seconds.get(t.map_index) ?? 0) + (Number(t.end_date) - Number(t.start_date)) / 1000);
  }
  const stoppedEarly: number[] = [];
  const failed: number[] = [];
  const runs: TrialRun[] = [];
  let total = 0;
  for (const ti of [...trials.instances.values()].sort((a, b) => a.mapIndex - b.mapIndex)) {
    if (ti.mapIndex < 0) continue;
    total += 1;
    const outcome = ti.state === 'success' ? (ti.stoppedEarly ? 'stopped' : 'full') : 'failed';
    if (outcome === 'stopped') stoppedEarly.push(ti.mapIndex);
    if (outcome === 'failed') failed.push(ti.mapIndex);
    const resources = { ...trials.spec.resources, ...(ti.resourceOverrides ?? {}) };
    runs.push({ seconds: seconds.get(ti.mapIndex) ?? 0, outcome, cpus: Number(resources.cpu), gpus: Number(resources.gpu) });
  }
  const saved = savedTimeFromRuns(runs);
  const round = (n: number) => Math.round(n * 1000) / 1000;
  return {
    trials: total,
    completed: total - stoppedEarly.length - failed.length,
    stoppedEarly,
    failed,
    saved: {
      fullTrialSeconds: saved.fullTrialSeconds === null ? null : round(saved.fullTrialSeconds),
      trialSeconds: round(saved.trialSeconds),
      cpuSeconds: round(saved.cpuSeconds),
      gpuSeconds: round(saved.gpuSeconds),
      fraction: round(saved.fraction),
    },
  };
}
