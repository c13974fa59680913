import type { ExpressionBuilder, Expression, SqlBool } from 'kysely';
import type { Database } from '../../store/schema.js';
import type { DagRow, Store } from '../../store/store.js';
import { containsPattern, ilike } from './like.js';

export interface DagFilter {
  readonly tags?: readonly string[];
  readonly search?: string;
  readonly paused?: boolean;
  readonly active?: boolean;
  readonly limit: number;
  readonly offset: number;
}

function conditions(f: DagFilter) {
  return (eb: ExpressionBuilder<Database, 'dag'>) => {
    const all: Expression<SqlBool>[] = [];
    if (f.search) all.push(ilike('dag_id', containsPattern(f.search)));
    // Tags are a JSON array of strings; look for the quoted tag.
    if (f.tags?.length) all.push(eb.or(f.tags.map((t) => ilike('tags', containsPattern(JSON.stringify(t))))));
    if (f.paused !== undefined) all.push(eb('is_paused', '=', f.paused ? 1 : 0));
    if (f.active !== undefined) all.push(eb('is_active', '=', f.active ? 1 : 0));
    return eb.and(all);
  };
}

/** A page of DAGs matching the filter, and how many match in all. */
export async function listDags(store: Store, f: DagFilter): Promise<{ rows: DagRow[]; total: number }> {
  const where = conditions(f);
  const rows = await store.db.selectFrom('dag').selectAll().where(where).orderBy('dag_id').limit(f.limit).offset(f.offset).execute();
  const count = await store.db
    .selectFrom('dag')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where(where)
    .executeTakeFirstOrThrow();
  return { rows, total: Number(count.n) };
}
