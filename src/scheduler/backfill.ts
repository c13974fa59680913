import crypto from 'node:crypto';
import { TrainyardError } from '../core/errors.js';
import { intervalsBetween } from '../core/schedule.js';
import type { Insertable } from 'kysely';
import type { DagRunTable } from '../store/schema.js';
import type { Store } from '../store/store.js';
import { scheduledRunRow } from './scheduled-runs.js';
import { validateConf } from './trigger.js';

export type Reprocess = 'none' | 'failed' | 'completed';

export interface BackfillRequest {
  readonly dagId: string;
  readonly from: number;
  readonly to: number;
  readonly reprocess: Reprocess;
  readonly maxActiveRuns: number;
  readonly reverse: boolean;
  readonly dryRun: boolean;
  /** Needed for more than BACKFILL_CONFIRM_ABOVE runs. */
  readonly confirmed: boolean;
  readonly conf?: Record<string, unknown>;
}

export interface BackfillPlanItem {
  readonly logicalDate: number;
  readonly runId: string;
  /** create: a new run; rerun: an existing finished run is cleared; skip: left as it is. */
  readonly action: 'create' | 'rerun' | 'skip';
  readonly existingState?: string;
}

export const BACKFILL_CONFIRM_ABOVE = 1_000;

/**
 * Plans and, unless it is a dry run, creates a backfill: one run per data interval whose
 * logical date lies in [from, to], oldest first (or newest first with `reverse`).
 */
export async function backfill(store: Store, req: BackfillRequest, now: number): Promise<{ id?: string; plan: BackfillPlanItem[] }> {
  if (!(req.from <= req.to)) throw new TrainyardError('INVALID_BACKFILL', `--from must not be after --to`);
  if (!Number.isInteger(req.maxActiveRuns) || req.maxActiveRuns < 1) throw new TrainyardError('INVALID_BACKFILL', 'max active runs must be a whole number ≥ 1');
  const dag = await store.getDag(req.dagId);
  if (!dag) throw new TrainyardError('DAG_NOT_FOUND', `no DAG '${req.dagId}'; see \`trainyard dags list\``);
  const spec = (await store.getSpec(req.dagId, dag.latest_version))!;
  if (spec.schedule.kind === 'none' || spec.schedule.kind === 'assets') throw new TrainyardError('INVALID_BACKFILL', `DAG '${req.dagId}' has no schedule, so it has no intervals to backfill; trigger runs instead`);
  const params = validateConf(spec, req.conf ?? {});
  const existing = new Map((await store.runsBetween(req.dagId, req.from, req.to)).map((r) => [r.logical_date, r]));
  const plan: BackfillPlanItem[] = [];
  const rows: Insertable<DagRunTable>[] = [];
  for (const iv of intervalsBetween(spec.schedule, req.from, req.to, { reverse: req.reverse })) {
    const run = existing.get(iv.start);
    const row = { ...scheduledRunRow(spec, dag.latest_version, iv, now), run_type: 'backfill' as const, run_id: `backfill__${new Date(iv.start).toISOString()}`, params: JSON.stringify(params), conf: JSON.stringify(req.conf ?? {}) };
    if (!run) plan.push({ logicalDate: iv.start, runId: row.run_id, action: 'create' });
    else {
      const rerun = (req.reprocess === 'failed' && run.state === 'failed') || (req.reprocess === 'completed' && (run.state === 'failed' || run.state === 'success'));
      plan.push({ logicalDate: iv.start, runId: run.run_id, action: rerun ? 'rerun' : 'skip', existingState: run.state });
    }
    // queued_at orders the runs: oldest first, or newest first when reversed.
    rows.push({ ...row, queued_at: now + plan.length });
    if (plan.length > 100_000) throw new TrainyardError('INVALID_BACKFILL', 'a backfill may cover at most 100,000 intervals; split the range');
  }
  const toRun = plan.filter((p) => p.action !== 'skip').length;
  if (toRun > BACKFILL_CONFIRM_ABOVE && !req.confirmed && !req.dryRun) {
    throw new TrainyardError('BACKFILL_TOO_LARGE', `this backfill would run ${toRun} runs (more than ${BACKFILL_CONFIRM_ABOVE}); check it with --dry-run, then pass --yes to go ahead`);
  }
  if (req.dryRun) return { plan };
  const id = `bf-${crypto.randomBytes(6).toString('hex')}`;
  await store.transaction(async (tx) => {
    await tx.db
      .insertInto('backfill')
      .values({ id, dag_id: req.dagId, from_date: req.from, to_date: req.to, reprocess: req.reprocess, max_active_runs: req.maxActiveRuns, reverse: req.reverse ? 1 : 0, created_at: now })
      .execute();
    await tx.insertRuns(rows.filter((_, i) => plan[i].action === 'create').map((r) => ({ ...r, backfill_id: id })));
    for (const [i, p] of plan.entries()) {
      if (p.action !== 'rerun') continue;
      await tx.db.updateTable('task_instance').set({ state: 'none', budget_tries: 0, free_retries: 0, failure_class: null, reason: null, result: null, end_date: null, updated_at: now }).where('dag_id', '=', req.dagId).where('run_id', '=', p.runId).execute();
      await tx.db.deleteFrom('task_instance').where('dag_id', '=', req.dagId).where('run_id', '=', p.runId).where('map_index', '>=', 0).execute();
      await tx.db.updateTable('dag_run').set({ state: 'queued', end_date: null, queued_at: rows[i].queued_at, backfill_id: id }).where('dag_id', '=', req.dagId).where('run_id', '=', p.runId).execute();
      await tx.bumpRunChange(req.dagId, p.runId);
    }
  });
  return { id, plan };
}
