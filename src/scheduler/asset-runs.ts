import { assetsSatisfied, assetUris } from '../core/assets.js';
import type { DagSpec } from '../core/spec.js';
import type { DagRow, Store } from '../store/store.js';
import { scheduledRunRow } from './scheduled-runs.js';

/**
 * Creates a run for every unpaused asset-scheduled DAG whose expression is satisfied by the
 * asset events since its last asset-triggered run. The run records the events that
 * triggered it. With `all`, events wait until every asset has one.
 */
export async function createAssetRuns(store: Store, dags: readonly DagRow[], specOf: (dagId: string, hash: string) => Promise<DagSpec | undefined>, now: number): Promise<number> {
  let created = 0;
  for (const dag of dags) {
    if (dag.is_paused) continue;
    const schedule = JSON.parse(dag.schedule) as DagSpec['schedule'];
    if (schedule.kind !== 'assets') continue;
    const spec = await specOf(dag.dag_id, dag.latest_version);
    if (!spec) continue;
    const events = await store.assetEventsSince(assetUris(schedule.expr), dag.asset_cursor ?? 0);
    if (!events.length || !assetsSatisfied(schedule.expr, new Set(events.map((e) => e.uri)))) continue;
    const cursor = events[events.length - 1].created_at;
    const triggeredBy = events.map((e) => ({ uri: e.uri, source: e.source, extra: JSON.parse(e.extra), at: new Date(e.created_at).toISOString() }));
    await store.transaction(async (tx) => {
      const row = { ...scheduledRunRow(spec, dag.latest_version, { start: now, end: now }, now), run_type: 'asset_triggered' as const, run_id: `asset_triggered__${new Date(now).toISOString()}`, triggered_by: JSON.stringify(triggeredBy) };
      created += await tx.insertRuns([row]);
      await tx.setAssetCursor(dag.dag_id, cursor);
    });
  }
  return created;
}
