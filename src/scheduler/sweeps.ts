/**
 * Sweeps in the scheduler. A sweep is a mapped task whose instances are trials judged on one
 * metric. As metric lines arrive (and as trials end) the tick hands the events here: the
 * sweep's objective series, read once from the store and then kept in step with every point
 * the tick inserts, goes through the pure early-stopping policy, and the trials it stops are
 * cancelled with class `early_stopped` (ASHA's promotions are scheduled again). When every
 * trial is done, the best-trial task gets its result here, without running anything.
 *
 * Each stop and promotion is recorded in the store in the tick's transaction (the step a
 * stopped try was stopped at, the rung a promoted trial left), so a scheduler that restarts
 * mid-sweep rebuilds the rungs: trials waiting at a rung stay candidates for promotion, a
 * promoted trial is not judged again at the rung it left, and a try whose stop was decided but
 * whose cancel may not have reached it is stopped again with the same reason.
 *
 * Everything is decided from the store's data and the tick's events, so a fake clock drives it.
 */
import type { TaskState } from '../core/states.js';
import type { SweepSpec } from '../core/spec.js';
import type { ExecutorEvent } from '../executors/types.js';
import { decide, type Direction, type EarlyStoppingPolicy, type MetricRow, savedTimeFromRuns, type StopReason, sweepStateFromMetrics, type TrialRun } from '../ml/early-stopping.js';
import { loadSweepDecisions, recordSweepDecision, type SweepDecision } from '../ml/sweep-store.js';
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
  /** A guarded write of the instance's state, sent now or with the tick's other writes. */
  setTi(ti: TiModel, to: TaskState, fields: TiChange['set'], from?: readonly TaskState[]): Promise<void> | void;
  log(line: string): void;
}

interface Series {
  /**
   * The run model it was read for. The scheduler rebuilds its models from the store after a
   * failed tick (whose writes, decisions included, were rolled back): the series is read again.
   */
  readonly run: RunModel;
  /** The objective's points, every instance and try. */
  readonly rows: MetricRow[];
  /** Metric names the trials reported (bounded), to tell an objective no trial reports. */
  readonly names: Set<string>;
  /** The problem already reported on the best-trial task, so it is written once. */
  reported?: string;
  /**
   * The recorded stop of each stopped try ("mapIndex:tryNumber"): points it prints after the
   * step recorded, while it winds down, do not count, so ASHA sees it waiting at its rung.
   */
  readonly stops: Map<string, SweepDecision>;
  /** The rungs each trial (by map index) was promoted from. */
  readonly promotedFrom: Map<number, number[]>;
}

const LIVE: readonly TaskState[] = ['queued', 'running'];
const NAMES_KEPT = 50;

export const toDirection = (d: SweepSpec['direction']): Direction => (d === 'minimize' ? 'min' : 'max');

export class SweepMonitor {
  private readonly series = new Map<string, Series>();

  /** Applies a tick's telemetry and finished events to the sweeps they concern, and runs their policies. */
  async evaluate(tx: Store, events: readonly ExecutorEvent[], runs: ReadonlyMap<string, RunModel>, hooks: SweepHooks): Promise<void> {
    for (const [key, s] of this.series) if (runs.get(s.run.key) !== s.run) this.series.delete(key);
    const dirty = new Map<string, { task: TaskModel; at: number }>();
    for (const ev of events) {
      if (ev.type !== 'telemetry' && ev.type !== 'finished') continue;
      const task = runs.get(runKey(ev.key.dagId, ev.key.runId))?.tasks.get(ev.key.taskId);
      if (!task?.spec.sweep) continue;
      const key = seriesKey(task);
      const s = this.series.get(key);
      if (s && ev.type === 'telemetry') addPoints(s, task.spec.sweep.objective, ev);
      dirty.set(key, { task, at: Math.max(dirty.get(key)?.at ?? 0, eventTime(ev)) });
    }
    for (const { task, at } of dirty.values()) {
      try {
        await this.judge(tx, task, at, hooks);
      } catch (e) {
        hooks.log(`sweep ${task.run.dagId}/${task.run.runId}/${task.spec.taskId}: early stopping failed: ${(e as Error).message}`);
      }
    }
  }

  /** Runs the sweep's policy over its trials; stops and promotes what it says, and records it at `at`. */
  private async judge(tx: Store, task: TaskModel, at: number, hooks: SweepHooks): Promise<void> {
    const sweep = task.spec.sweep!;
    const s = await this.load(tx, task);
    if (s.rows.length === 0) {
      if (s.names.size > 0) await this.reportOnBest(task, s, unknownObjective(sweep, s.names), hooks);
      return;
    }
    if (!sweep.earlyStopping) return;
    restop(task, s, hooks);
    const rows = s.stops.size ? s.rows.filter((r) => r.step === null || r.step <= (s.stops.get(`${r.map_index}:${r.try_number}`)?.step ?? Infinity)) : s.rows;
    const status = (i: number) => ({ ...trialStatus(task.instances.get(i), hooks), promotedFrom: s.promotedFrom.get(i) });
    const state = sweepStateFromMetrics(rows, { objective: sweep.objective, direction: toDirection(sweep.direction), status });
    const decision = decide(sweep.earlyStopping as EarlyStoppingPolicy, state);
    for (const mapIndex of decision.stop) {
      const ti = task.instances.get(mapIndex);
      if (!ti || !hooks.isRunning(ti)) continue;
      const pts = state.trials.get(mapIndex)!.steps;
      const reason = stopMessage(sweep.objective, decision.why?.get(mapIndex));
      await this.record(tx, task, s, { mapIndex, tryNumber: ti.tryNumber, kind: 'stop', step: pts[pts.length - 1][0], reason, at });
      hooks.stop(ti, reason);
    }
    for (const mapIndex of decision.promote ?? []) {
      const ti = task.instances.get(mapIndex);
      const rung = decision.promotedFrom?.get(mapIndex);
      if (ti?.state !== 'success' || !ti.stoppedEarly || rung === undefined) continue;
      const reason = `promoted by ASHA at the rung at step ${rung}: its ${sweep.objective} is among the best there; it resumes from its checkpoint`;
      await this.record(tx, task, s, { mapIndex, tryNumber: ti.tryNumber, kind: 'promote', step: rung, reason, at });
      await hooks.promote(ti, reason);
    }
  }

  /** Writes a decision in the tick's transaction and applies it to the sweep's state. */
  private async record(tx: Store, task: TaskModel, s: Series, d: SweepDecision): Promise<void> {
    await recordSweepDecision(tx, { dagId: task.run.dagId, runId: task.run.runId, taskId: task.spec.taskId }, d);
    applyDecision(s, d);
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
      const [rows, names, decisions] = await Promise.all([
        tx.taskMetric(dagId, runId, task.spec.taskId, objective),
        tx.taskMetricNames(dagId, runId, task.spec.taskId, NAMES_KEPT),
        loadSweepDecisions(tx, { dagId, runId, taskId: task.spec.taskId }),
      ]);
      s = { run: task.run, rows: rows.map((r) => ({ ...r, step: r.step === null ? null : Number(r.step), value: Number(r.value) })), names: new Set(names), stops: new Map(), promotedFrom: new Map() };
      for (const d of decisions) applyDecision(s, d);
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

function applyDecision(s: Series, d: SweepDecision): void {
  if (d.kind === 'stop') s.stops.set(`${d.mapIndex}:${d.tryNumber}`, d);
  else s.promotedFrom.set(d.mapIndex, [...(s.promotedFrom.get(d.mapIndex) ?? []), d.step]);
}

/**
 * Stops again, with the recorded reason, a live try whose stop is recorded but which is not
 * being stopped: a scheduler that restarted after deciding the stop, before the cancel reached
 * the try, adopted it running. No second decision is recorded.
 */
function restop(task: TaskModel, s: Series, hooks: SweepHooks): void {
  if (!s.stops.size) return;
  for (const ti of task.instances.values()) {
    const d = s.stops.get(`${ti.mapIndex}:${ti.tryNumber}`);
    if (d && hooks.isRunning(ti)) hooks.stop(ti, d.reason);
  }
}

/** When an event happened: a finished try's end, or its latest metric point. */
function eventTime(ev: Extract<ExecutorEvent, { type: 'telemetry' | 'finished' }>): number {
  return ev.type === 'finished' ? ev.at : ev.metrics.reduce((t, m) => Math.max(t, m.at), 0);
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
