/**
 * A sweep is a mapped task: each map index is a trial with its params (the mapped item merged
 * with the params the task reported) and its metric series. Pure helpers over trial summaries
 * (read by sweep-store.ts, which lets the database pick each metric's last value): the
 * objective and its direction, a row per trial, the best trial, and the best value so far as
 * trials finish.
 */

export type Direction = 'min' | 'max';

export interface TrialSummary {
  readonly mapIndex: number;
  readonly tryNumber: number;
  readonly state: string;
  readonly failureClass: string | null;
  readonly params: Readonly<Record<string, unknown>>;
  /** Epoch ms; null when it has not started or not ended. */
  readonly startDate: number | null;
  readonly endDate: number | null;
  /** The last value of each metric of its latest try (highest step, then latest time). */
  readonly final: Readonly<Record<string, number>>;
  /** The lowest and highest value of the objective over its latest try, when asked for. */
  readonly objectiveRange?: { readonly min: number; readonly max: number };
}

export interface TrialRow {
  readonly mapIndex: number;
  readonly tryNumber: number;
  readonly state: string;
  readonly failureClass: string | null;
  readonly params: Readonly<Record<string, unknown>>;
  readonly final: Readonly<Record<string, number>>;
  /** The objective's best value over the trial's points. */
  readonly bestValue: number | null;
  readonly durationMs: number | null;
  readonly endDate: number | null;
}

export interface BestSoFarPoint {
  /** When the trial finished (epoch ms). */
  readonly at: number;
  readonly mapIndex: number;
  /** This trial's final objective value. */
  readonly value: number;
  /** The best final value of the trials finished until then. */
  readonly best: number;
  readonly bestMapIndex: number;
}

const LOWER_IS_BETTER = /loss|error|err$|mse|mae|rmse|perplexity|latency|time/i;

/** `min` for names that read like a loss or an error, `max` otherwise. */
export function guessDirection(metric: string): Direction {
  return LOWER_IS_BETTER.test(metric) ? 'min' : 'max';
}

const better = (d: Direction) => (a: number, b: number) => (d === 'min' ? a < b : a > b);

/** Metric names that appear in the sweep, sorted. */
export function metricNames(trials: readonly TrialSummary[]): string[] {
  const names = new Set<string>();
  for (const t of trials) for (const k of Object.keys(t.final)) names.add(k);
  return [...names].sort();
}

/** Param names that appear in the sweep, sorted. */
export function paramNames(trials: readonly TrialSummary[]): string[] {
  const names = new Set<string>();
  for (const t of trials) for (const k of Object.keys(t.params)) names.add(k);
  return [...names].sort();
}

/**
 * The objective when none is named: a metric every trial with metrics reports, preferring
 * names that look like a validation score; undefined when the sweep has no metrics.
 */
export function defaultObjective(trials: readonly TrialSummary[]): string | undefined {
  const withMetrics = trials.filter((t) => Object.keys(t.final).length > 0);
  if (!withMetrics.length) return undefined;
  const all = metricNames(withMetrics);
  const common = all.filter((n) => withMetrics.every((t) => t.final[n] !== undefined));
  const pool = common.length ? common : all;
  return pool.find((n) => /^val/i.test(n)) ?? pool.find((n) => /acc|auc|f1|score/i.test(n)) ?? pool[0];
}

/** One row per trial, by map index: params, final metrics, and the objective's best value. */
export function trialRows(trials: readonly TrialSummary[], direction: Direction): TrialRow[] {
  return [...trials]
    .sort((a, b) => a.mapIndex - b.mapIndex)
    .map((t) => ({
      mapIndex: t.mapIndex,
      tryNumber: t.tryNumber,
      state: t.state,
      failureClass: t.failureClass,
      params: t.params,
      final: t.final,
      bestValue: t.objectiveRange ? (direction === 'min' ? t.objectiveRange.min : t.objectiveRange.max) : null,
      durationMs: t.startDate !== null && t.endDate !== null ? t.endDate - t.startDate : null,
      endDate: t.endDate,
    }));
}

/** The trial whose final objective value is best; ties go to the lower map index. */
export function bestTrial(rows: readonly TrialRow[], objective: string, direction: Direction): TrialRow | undefined {
  const isBetter = better(direction);
  let best: TrialRow | undefined;
  for (const r of rows) {
    const v = r.final[objective];
    if (v === undefined) continue;
    if (!best || isBetter(v, best.final[objective])) best = r;
  }
  return best;
}

/** The best final objective value as trials finish, in order of their end. */
export function bestSoFar(rows: readonly TrialRow[], objective: string, direction: Direction): BestSoFarPoint[] {
  const isBetter = better(direction);
  const finished = rows.filter((r) => r.endDate !== null && r.final[objective] !== undefined).sort((a, b) => a.endDate! - b.endDate! || a.mapIndex - b.mapIndex);
  const out: BestSoFarPoint[] = [];
  let best: { value: number; mapIndex: number } | undefined;
  for (const r of finished) {
    const value = r.final[objective];
    if (!best || isBetter(value, best.value)) best = { value, mapIndex: r.mapIndex };
    out.push({ at: r.endDate!, mapIndex: r.mapIndex, value, best: best.value, bestMapIndex: best.mapIndex });
  }
  return out;
}
