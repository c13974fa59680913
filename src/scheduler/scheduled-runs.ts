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

/**
 * Creates the runs whose data intervals are due, for every unpaused scheduled DAG, at most
 * `budget` runs in all per call (a long catch-up continues on the next call), and records
 * each DAG's next run time.
 */
export async function createDueRuns(
  store: Store,
  dags: readonly DagRow[],
  specOf: (dagId: string, hash: string) => Promise<DagSpec | undefined>,
  now: number,
  budget: number,
): Promise<number> {
  let created = 0;
  for (const dag of dags) {
    if (dag.is_paused || created >= budget) continue;
    const kind = (JSON.parse(dag.schedule) as DagSpec['schedule']).kind;
    if (kind === 'none' || kind === 'assets') continue;
    const spec = await specOf(dag.dag_id, dag.latest_version);
    if (!spec) continue;
    const opts = { startDate: toMs(spec.startDate), endDate: toMs(spec.endDate), catchup: spec.catchup, now };
    let lastInterval = await store.lastScheduledInterval(dag.dag_id);
    const rows: Insertable<DagRunTable>[] = [];
    while (created + rows.length < budget) {
      const next = nextDataInterval(spec.schedule, { ...opts, lastInterval });
      if (!next || !isDue(next, now)) break;
      rows.push(scheduledRunRow(spec, dag.latest_version, next, now));
      lastInterval = next;
    }
    if (rows.length) created += await store.insertRuns(rows);
    const at = nextRunAt(spec.schedule, { ...opts, lastInterval });
    if (at !== dag.next_run_at) await store.setNextRunAt(dag.dag_id, at);
  }
  return created;
}
