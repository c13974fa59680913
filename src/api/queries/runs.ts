import type { ExpressionBuilder, Expression, SqlBool } from 'kysely';
import type { RunState } from '../../core/states.js';
import type { Database } from '../../store/schema.js';
import type { DagRunRow, Store } from '../../store/store.js';
import { cachedSuccesses } from './task-instances.js';

export interface RunFilter {
  readonly dagId?: string;
  readonly states?: readonly RunState[];
  readonly limit: number;
  readonly offset: number;
}

/** A page of runs, newest first, and how many match in all. */
export async function listRuns(store: Store, f: RunFilter): Promise<{ rows: DagRunRow[]; total: number }> {
  const where = (eb: ExpressionBuilder<Database, 'dag_run'>) => {
    const all: Expression<SqlBool>[] = [];
    if (f.dagId !== undefined) all.push(eb('dag_id', '=', f.dagId));
    if (f.states?.length) all.push(eb('state', 'in', f.states));
    return eb.and(all);
  };
  const rows = await store.db
    .selectFrom('dag_run')
    .selectAll()
    .where(where)
    .orderBy('queued_at', 'desc')
    .orderBy('run_id', 'desc')
    .limit(f.limit)
    .offset(f.offset)
    .execute();
  const count = await store.db
    .selectFrom('dag_run')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where(where)
    .executeTakeFirstOrThrow();
  return { rows, total: Number(count.n) };
}

/**
 * Task instances of a run by state (removed placeholders left out), and how many of the
 * successes reused an earlier try's result (task caching).
 */
export async function taskCounts(store: Store, dagId: string, runId: string): Promise<{ counts: Record<string, number>; cached: number }> {
  const rows = await store.db
    .selectFrom('task_instance')
    .select((eb) => ['state', eb.fn.countAll<number | string>().as('n'), eb.fn.count<number | string>('cached_from').as('cached')])
    .where('dag_id', '=', dagId)
    .where('run_id', '=', runId)
    .where('state', '!=', 'removed')
    .groupBy('state')
    .execute();
  return { counts: Object.fromEntries(rows.map((r) => [r.state, Number(r.n)])), cached: cachedSuccesses(rows) };
}
