import { isDue, nextDataInterval, nextRunAt } from '../core/schedule.js';
import type { DagSpec } from '../core/spec.js';
import type { Insertable } from 'kysely';
import type { DagRunTable } from '../store/schema.js';
import type { DagRow, Store } from '../store/store.js';

const toMs = (iso: string | undefined) => (iso === undefined ? undefined : Date.parse(iso));

/** The run of one data interval; its logical date is the interval's start, as in Airflow. */
export function scheduledRunRow(spec: DagSpec, versionHash: string, interval: { start: number; end: number }, now: number): Insertable<DagRunTable> {
  return {
    dag_id: spec.dagId,
    run_id: `scheduled__${new Date(interval.start).toISOString()}`,
    state: 'queued',
    run_type: 'scheduled',
    version_hash: versionHash,
    conf: '{}',
    params: JSON.stringify(spec.paramsDefaults),
    logical_date: interval.start,
    data_interval_start: interval.start,
    data_interval_end: interval.end,
    queued_at: now,
    start_date: null,
    end_date: null,
    change_seq: 0,
    note: null,
  };
}

/** Runs written per transaction: one commit per slice, not per row. */
const SLICE = 100;
/**
 * A call starts no new slice after this long (it always makes at least one), so a tick never
 * waits long on a catch-up: the rest is made on the next ticks.
 */
export const CREATION_TIME_BUDGET_MS = 10;

export interface DueRunsResult {
  /** Runs inserted. */
  readonly created: number;
  /** Due runs are left: a budget stopped this call. Call again soon. */
  readonly more: boolean;
}

interface ScheduleOpts {
  readonly startDate?: number;
  readonly endDate?: number;
  readonly catchup: boolean;
  readonly now: number;
}

/** The due intervals after `last`, oldest first, generated one at a time. */
function* dueIntervals(schedule: DagSpec['schedule'], opts: ScheduleOpts, last: { start: number; end: number } | undefined): Generator<{ start: number; end: number }> {
  for (;;) {
    const next = nextDataInterval(schedule, { ...opts, lastInterval: last });
    if (!next || !isDue(next, opts.now)) return;
    yield next;
    last = next;
  }
}

interface DagCatchUp {
  readonly dag: DagRow;
  readonly spec: DagSpec;
  readonly opts: ScheduleOpts;
  readonly due: Generator<{ start: number; end: number }>;
  lastInterval?: { start: number; end: number };
  done: boolean;
}

/**
 * Creates the runs whose data intervals are due, for every unpaused scheduled DAG, and records
 * each DAG's next run time. Bounded per call, so a long catch-up never starves other DAGs:
 * DAGs take turns, a slice of up to SLICE runs each (one transaction per slice); the call
 * stops at `budget` runs, and starts no new slice after `maxMs` (it always makes one).
 * Intervals are generated lazily. `more` says that due runs are left for the next call.
 */
export async function createDueRuns(
  store: Store,
  dags: readonly DagRow[],
  specOf: (dagId: string, hash: string) => Promise<DagSpec | undefined>,
  now: number,
  budget: number,
  maxMs = CREATION_TIME_BUDGET_MS,
  clock: () => number = () => performance.now(),
): Promise<DueRunsResult> {
  const started = clock();
  let taken = 0;
  let created = 0;
  const outOfBudget = () => taken >= budget || (taken > 0 && clock() - started >= maxMs);
  const turns: DagCatchUp[] = [];
  for (const dag of dags) {
    if (dag.is_paused) continue;
    const kind = (JSON.parse(dag.schedule) as DagSpec['schedule']).kind;
    if (kind === 'none' || kind === 'assets') continue;
    const spec = await specOf(dag.dag_id, dag.latest_version);
    if (!spec) continue;
    const opts = { startDate: toMs(spec.startDate), endDate: toMs(spec.endDate), catchup: spec.catchup, now };
    const lastInterval = await store.lastScheduledInterval(dag.dag_id);
    turns.push({ dag, spec, opts, due: dueIntervals(spec.schedule, opts, lastInterval), lastInterval, done: false });
  }
  while (!outOfBudget() && turns.some((t) => !t.done)) {
    for (const t of turns) {
      if (t.done) continue;
      if (outOfBudget()) break;
      const rows: Insertable<DagRunTable>[] = [];
      for (let n = Math.min(SLICE, budget - taken); rows.length < n; ) {
        const next = t.due.next();
        if (next.done) {
          t.done = true;
          break;
        }
        rows.push(scheduledRunRow(t.spec, t.dag.latest_version, next.value, now));
        t.lastInterval = next.value;
      }
      if (rows.length === 0) continue;
      taken += rows.length;
      created += await store.transaction((tx) => tx.insertRuns(rows));
    }
  }
  let more = false;
  for (const t of turns) {
    // Peeking at the next due interval consumes it from the generator only, not from the store.
    if (!t.done && !t.due.next().done) more = true;
    const at = nextRunAt(t.spec.schedule, { ...t.opts, lastInterval: t.lastInterval });
    if (at !== t.dag.next_run_at) await store.setNextRunAt(t.dag.dag_id, at);
  }
  return { created, more };
}
