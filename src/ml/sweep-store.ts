/**
 * Reads a sweep (the instances of a mapped task in one run) from the store, in a few queries
 * whatever the number of trials: each trial's latest try and params (the mapped item merged
 * with the params the task reported), and either its series (for charts) or its summary (each
 * metric's last value and the objective's range, picked by the database, so a sweep of 64
 * trials × 1,000 steps sends 64 rows per metric to the server, not 64,000). Also keeps the
 * scheduler's early-stopping decisions, so a restarted scheduler rebuilds the rungs.
 */
import { sql } from 'kysely';
import type { Store } from '../store/store.js';
import type { TrialSummary } from './sweep.js';

export interface SweepKey {
  readonly dagId: string;
  readonly runId: string;
  readonly taskId: string;
}

export interface MetricPoint {
  readonly name: string;
  readonly step: number | null;
  readonly value: number;
  readonly at: number;
}

export interface TrialSeries {
  readonly mapIndex: number;
  readonly tryNumber: number;
  readonly state: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly points: readonly MetricPoint[];
}

type Instance = Omit<TrialSummary, 'final' | 'objectiveRange'>;

function parseObject(text: string | null): Record<string, unknown> {
  if (text === null) return {};
  const v = JSON.parse(text) as unknown;
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : { item: v };
}

/** The mapped instances of the task, by map index; empty when it has none. */
export async function loadInstances(store: Store, k: SweepKey): Promise<Instance[]> {
  const tis = await store.db
    .selectFrom('task_instance')
    .select(['map_index', 'try_number', 'state', 'failure_class', 'item', 'params', 'start_date', 'end_date'])
    .where('dag_id', '=', k.dagId)
    .where('run_id', '=', k.runId)
    .where('task_id', '=', k.taskId)
    .where('map_index', '>=', 0)
    .orderBy('map_index')
    .execute();
  return tis.map((t) => ({
    mapIndex: Number(t.map_index),
    tryNumber: Number(t.try_number),
    state: t.state,
    failureClass: t.failure_class,
    params: { ...parseObject(t.item), ...parseObject(t.params) },
    startDate: t.start_date === null ? null : Number(t.start_date),
    endDate: t.end_date === null ? null : Number(t.end_date),
  }));
}

const tryKey = (mapIndex: number, tryNumber: number) => `${mapIndex}#${tryNumber}`;

/**
 * Every trial's latest try with its points (only the named metrics when `names` is given):
 * one query per trial on the metric index's full key, which reads only that try's rows.
 */
export async function loadTrialSeries(store: Store, k: SweepKey, names?: readonly string[]): Promise<TrialSeries[]> {
  const instances = await loadInstances(store, k);
  const points = await Promise.all(instances.map((t) => (t.tryNumber > 0 ? store.metricPoints({ ...k, mapIndex: t.mapIndex, tryNumber: t.tryNumber }, names) : [])));
  return instances.map((t, i) => ({
    mapIndex: t.mapIndex,
    tryNumber: t.tryNumber,
    state: t.state,
    params: t.params,
    points: points[i],
  }));
}

/**
 * Every trial's summary: the last value of each metric of its latest try (highest step, points
 * without a step before those with one, then the latest time).
 */
export async function loadTrialSummaries(store: Store, k: SweepKey): Promise<TrialSummary[]> {
  const instances = await loadInstances(store, k);
  if (!instances.length) return [];
  const finals = await lastValues(store, k);
  const finalOf = new Map<string, Record<string, number>>();
  for (const r of finals.rows) {
    const key = tryKey(Number(r.map_index), Number(r.try_number));
    let f = finalOf.get(key);
    if (!f) finalOf.set(key, (f = {}));
    f[r.name] = Number(r.value);
  }
  return instances.map((t) => {
    const final = finalOf.get(tryKey(t.mapIndex, t.tryNumber)) ?? {};
    return { ...t, final: Object.fromEntries(Object.keys(final).sort().map((n) => [n, final[n]])) };
  });
}

/**
 * The last point of each (trial, try, metric): one aggregate pass. SQLite returns the other
 * columns of the row that holds max() (steps first, then time; points without a step rank
 * below those with one); Postgres picks the same row with DISTINCT ON.
 */
async function lastValues(store: Store, k: SweepKey) {
  const where = sql`dag_id = ${k.dagId} and run_id = ${k.runId} and task_id = ${k.taskId} and map_index >= 0`;
  const q =
    store.dialect === 'postgres'
      ? sql<LastValue>`select distinct on (map_index, try_number, name) map_index, try_number, name, value from metric where ${where}
          order by map_index, try_number, name, step desc nulls last, at desc`
      : sql<LastValue>`select map_index, try_number, name, value, max((coalesce(step, -1) + 1) * 1e13 + at) as rank from metric where ${where}
          group by map_index, try_number, name`;
  return q.execute(store.db);
}

interface LastValue {
  map_index: number;
  try_number: number;
  name: string;
  value: number;
}

/** The trials with the lowest and highest value `objective` took over each one's latest try. */
export async function withObjectiveRange(store: Store, k: SweepKey, trials: readonly TrialSummary[], objective: string): Promise<TrialSummary[]> {
  const ranges = await store.db
    .selectFrom('metric')
    .select(['map_index', 'try_number', (eb) => eb.fn.min<number>('value').as('lo'), (eb) => eb.fn.max<number>('value').as('hi')])
    .where('dag_id', '=', k.dagId)
    .where('run_id', '=', k.runId)
    .where('task_id', '=', k.taskId)
    .where('map_index', '>=', 0)
    .where('name', '=', objective)
    .groupBy(['map_index', 'try_number'])
    .execute();
  const rangeOf = new Map(ranges.map((r) => [tryKey(Number(r.map_index), Number(r.try_number)), { min: Number(r.lo), max: Number(r.hi) }]));
  return trials.map((t) => {
    const range = rangeOf.get(tryKey(t.mapIndex, t.tryNumber));
    return range ? { ...t, objectiveRange: range } : t;
  });
}

/** Points of one series in chart order: by step, then time (points without a step by time, first). */
export function sortPoints<T extends { step: number | null; at: number }>(points: T[]): T[] {
  return points.sort((a, b) => (a.step ?? -Infinity) - (b.step ?? -Infinity) || a.at - b.at);
}

/** An early stop or an ASHA promotion of one trial, as the scheduler records it. */
export interface SweepDecision {
  readonly mapIndex: number;
  /** 'stop': the stopped try; 'promote': the stopped try the trial resumes from. */
  readonly tryNumber: number;
  readonly kind: 'stop' | 'promote';
  /** 'stop': the last step the policy counted; 'promote': the rung the trial leaves. */
  readonly step: number;
  readonly reason: string;
  readonly at: number;
}

/** Records a decision in the caller's transaction; recording the same one again changes nothing. */
export async function recordSweepDecision(store: Store, k: SweepKey, d: SweepDecision): Promise<void> {
  await store.db
    .insertInto('sweep_decision')
    .values({ dag_id: k.dagId, run_id: k.runId, task_id: k.taskId, map_index: d.mapIndex, try_number: d.tryNumber, kind: d.kind, step: d.step, reason: d.reason, at: d.at })
    .onConflict((oc) => oc.columns(['dag_id', 'run_id', 'task_id', 'map_index', 'try_number', 'kind']).doNothing())
    .execute();
}

/** The sweep's recorded decisions, oldest first. */
export async function loadSweepDecisions(store: Store, k: SweepKey): Promise<SweepDecision[]> {
  const rows = await store.db
    .selectFrom('sweep_decision')
    .select(['map_index', 'try_number', 'kind', 'step', 'reason', 'at'])
    .where('dag_id', '=', k.dagId)
    .where('run_id', '=', k.runId)
    .where('task_id', '=', k.taskId)
    .orderBy('at')
    .orderBy('map_index')
    .orderBy('try_number')
    .execute();
  return rows.map((r) => ({ mapIndex: Number(r.map_index), tryNumber: Number(r.try_number), kind: r.kind, step: Number(r.step), reason: r.reason, at: Number(r.at) }));
}
