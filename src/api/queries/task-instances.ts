import { type Expression, type ExpressionBuilder, type SqlBool, sql } from 'kysely';
import type { TaskState } from '../../core/states.js';
import type { Database } from '../../store/schema.js';
import type { Store, TaskInstanceRow } from '../../store/store.js';

export interface TaskInstanceFilter {
  readonly dagId: string;
  readonly runId: string;
  readonly states?: readonly TaskState[];
  readonly taskId?: string;
  readonly mapIndex?: number;
  /** true: only cached instances (successes that reused an earlier try's result); false: only the others. */
  readonly cached?: boolean;
  readonly limit: number;
  readonly offset: number;
}

/** Columns a listed task instance shows: not its result, which may be kilobytes per row. */
const LIST_COLUMNS = [
  'dag_id',
  'run_id',
  'task_id',
  'map_index',
  'state',
  'try_number',
  'priority_weight',
  'pool',
  'queued_at',
  'start_date',
  'end_date',
  'next_retry_at',
  'failure_class',
  'reason',
  'item',
  'cached_from',
] as const;

export type ListedTaskInstance = Pick<TaskInstanceRow, (typeof LIST_COLUMNS)[number]>;

/** A page of a run's task instances by task and map index, and how many match in all. */
export async function listTaskInstances(store: Store, f: TaskInstanceFilter): Promise<{ rows: ListedTaskInstance[]; total: number }> {
  const where = (eb: ExpressionBuilder<Database, 'task_instance'>) => {
    const all: Expression<SqlBool>[] = [eb('dag_id', '=', f.dagId), eb('run_id', '=', f.runId)];
    // A mapped task's placeholder (removed after expansion) is noise unless asked for.
    all.push(f.states?.length ? eb('state', 'in', f.states) : eb('state', '!=', 'removed'));
    if (f.taskId !== undefined) all.push(eb('task_id', '=', f.taskId));
    if (f.mapIndex !== undefined) all.push(eb('map_index', '=', f.mapIndex));
    if (f.cached !== undefined) {
      const cached = eb.and([eb('state', '=', 'success'), eb('cached_from', 'is not', null)]);
      all.push(f.cached ? cached : eb.not(cached));
    }
    return eb.and(all);
  };
  const rows = await store.db
    .selectFrom('task_instance')
    .select(LIST_COLUMNS)
    .where(where)
    .orderBy('task_id')
    .orderBy('map_index')
    .limit(f.limit)
    .offset(f.offset)
    .execute();
  const count = await store.db
    .selectFrom('task_instance')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where(where)
    .executeTakeFirstOrThrow();
  return { rows, total: Number(count.n) };
}

export interface TaskSummaryData {
  readonly total: number;
  readonly counts: Record<string, number>;
  /** Of `counts.success`, the instances that reused an earlier try's result (task caching) instead of running. */
  readonly cached: number;
  readonly duration: {
    readonly finished: number;
    readonly min_ms: number | null;
    readonly max_ms: number | null;
    readonly mean_ms: number | null;
    readonly buckets: { from_ms: number; to_ms: number; count: number }[];
  };
  readonly topErrors: { failure_class: string | null; reason: string | null; count: number }[];
}

/**
 * One task's instances in aggregate, for a mapped task with thousands of them: counts by
 * state, a duration histogram and the commonest failure reasons. Every number comes from a
 * GROUP BY in the database; no instance row is loaded.
 */
export async function summarizeTask(
  store: Store,
  k: { dagId: string; runId: string; taskId: string; mapped: boolean; cacheable: boolean },
  opts: { buckets: number; top: number },
): Promise<TaskSummaryData> {
  const base = () => {
    let q = store.db.selectFrom('task_instance').where('dag_id', '=', k.dagId).where('run_id', '=', k.runId).where('task_id', '=', k.taskId);
    // An expanded mapped task's instances are 0..n-1; its placeholder (-1) is not one of them.
    if (k.mapped) q = q.where('map_index', '>=', 0);
    return q;
  };

  const stateRows = await base()
    // Only a task with `cache` can have cached instances: the others skip reading the column.
    .select((eb) => ['state', eb.fn.countAll<number | string>().as('n'), (k.cacheable ? eb.fn.count<number | string>('cached_from') : sql<number>`0`).as('cached')])
    .groupBy('state')
    .execute();
  const counts = Object.fromEntries(stateRows.map((r) => [r.state, Number(r.n)]));
  const total = stateRows.reduce((s, r) => s + Number(r.n), 0);
  const cached = cachedSuccesses(stateRows);

  const dur = sql<number>`(end_date - start_date)`;
  const timed = () => base().where('start_date', 'is not', null).where('end_date', 'is not', null);
  const stats = await timed()
    .select((eb) => [
      eb.fn.countAll<number | string>().as('n'),
      eb.fn.min<number>(dur).as('lo'),
      eb.fn.max<number>(dur).as('hi'),
      eb.fn.avg<number | string>(dur).as('mean'),
    ])
    .executeTakeFirstOrThrow();
  const finished = Number(stats.n);
  const lo = finished ? Number(stats.lo) : null;
  const hi = finished ? Number(stats.hi) : null;
  const buckets: { from_ms: number; to_ms: number; count: number }[] = [];
  if (lo !== null && hi !== null) {
    const n = hi === lo ? 1 : opts.buckets;
    // Integer width, so bucket = (d - lo) / width is integer division on both dialects.
    const width = Math.max(1, Math.ceil((hi - lo + 1) / n));
    // Literals, not parameters: Postgres needs the GROUP BY expression to equal the selected one.
    const bucket = sql<number>`((end_date - start_date - ${sql.lit(lo)}) / ${sql.lit(width)})`;
    const rows = await timed()
      .select((eb) => [bucket.as('b'), eb.fn.countAll<number | string>().as('n')])
      .groupBy(bucket)
      .execute();
    const byBucket = new Map(rows.map((r) => [Number(r.b), Number(r.n)]));
    for (let i = 0; i < n; i++) buckets.push({ from_ms: lo + i * width, to_ms: lo + (i + 1) * width, count: byBucket.get(i) ?? 0 });
  }

  const errorRows = await base()
    .where('state', 'in', ['failed', 'up_for_retry', 'upstream_failed'])
    .select((eb) => ['failure_class', 'reason', eb.fn.countAll<number | string>().as('n')])
    .groupBy(['failure_class', 'reason'])
    .orderBy('n', 'desc')
    .orderBy('reason')
    .limit(opts.top)
    .execute();

  return {
    total,
    counts,
    cached,
    duration: { finished, min_ms: lo, max_ms: hi, mean_ms: finished ? Number(stats.mean) : null, buckets },
    topErrors: errorRows.map((r) => ({ failure_class: r.failure_class, reason: r.reason, count: Number(r.n) })),
  };
}

/**
 * Of rows counted by state with `count(cached_from)` beside each, the successes that were
 * cached. An instance is cached only while it is a success: a cleared one loses its
 * `cached_from`, and one marked failed keeps it but no longer counts.
 */
export function cachedSuccesses(rows: readonly { state: string; cached: number | string }[]): number {
  return rows.reduce((sum, r) => sum + (r.state === 'success' ? Number(r.cached) : 0), 0);
}
