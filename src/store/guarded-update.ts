import { sql, type Kysely } from 'kysely';
import type { DialectName } from './db.js';

/** A change to one row, applied only while the row's `state` is one of `from`. */
export interface GuardedChange {
  readonly from: readonly string[];
  readonly set: Readonly<Record<string, unknown>>;
}

export interface GuardedTable<C extends GuardedChange> {
  readonly table: string;
  readonly keyColumns: readonly string[];
  /** The change's key, as values of `keyColumns`. */
  readonly keyOf: (c: C) => Readonly<Record<string, unknown>>;
}

/** Rows per statement on Postgres: one JSON parameter carries them all. */
const BATCH = 1_000;

/**
 * Applies guarded changes to one table and returns those that did not apply (their row was
 * gone or in another state), untouched. Each key may appear once.
 *
 * On Postgres, changes that set the same columns from the same states become one statement:
 * `UPDATE t SET c = v.c … FROM json_populate_recordset(NULL::t, $1) v WHERE <keys match> AND
 * t.state IN (…) RETURNING <keys>`, typed by the table's own row type, so a tick's writes
 * cost a few round trips rather than one per row. On SQLite, which runs in this process,
 * each change is its own statement.
 */
export async function applyGuarded<C extends GuardedChange>(db: Kysely<any>, dialect: DialectName, t: GuardedTable<C>, changes: readonly C[]): Promise<C[]> {
  if (dialect !== 'postgres') return applyEach(db, t, changes);
  const groups = new Map<string, C[]>();
  for (const c of changes) {
    const sig = `${Object.keys(c.set).sort().join(',')}|${[...c.from].sort().join(',')}`;
    const g = groups.get(sig);
    if (g) g.push(c);
    else groups.set(sig, [c]);
  }
  const missed: C[] = [];
  for (const group of groups.values()) {
    if (group.length === 1) {
      missed.push(...(await applyEach(db, t, group)));
      continue;
    }
    for (let i = 0; i < group.length; i += BATCH) missed.push(...(await applyBatch(db, t, group.slice(i, i + BATCH))));
  }
  return missed;
}

async function applyEach<C extends GuardedChange>(db: Kysely<any>, t: GuardedTable<C>, changes: readonly C[]): Promise<C[]> {
  const missed: C[] = [];
  for (const c of changes) {
    let q = db.updateTable(t.table).set(c.set).where('state', 'in', c.from);
    for (const [col, v] of Object.entries(t.keyOf(c))) q = q.where(col, '=', v);
    const r = await q.executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) missed.push(c);
  }
  return missed;
}

async function applyBatch<C extends GuardedChange>(db: Kysely<any>, t: GuardedTable<C>, changes: readonly C[]): Promise<C[]> {
  const columns = Object.keys(changes[0].set);
  const rows = changes.map((c) => ({ ...c.set, ...t.keyOf(c) }));
  const sets = sql.join(columns.map((col) => sql`${sql.ref(col)} = v.${sql.ref(col)}`));
  const keysMatch = sql.join(
    t.keyColumns.map((col) => sql`t.${sql.ref(col)} = v.${sql.ref(col)}`),
    sql` and `,
  );
  const returned = await sql<Record<string, unknown>>`
    update ${sql.table(t.table)} as t set ${sets}
    from json_populate_recordset(null::${sql.table(t.table)}, ${JSON.stringify(rows)}::json) as v
    where ${keysMatch} and t.state in (${sql.join(changes[0].from.map((s) => sql.lit(s)))})
    returning ${sql.join(t.keyColumns.map((col) => sql`t.${sql.ref(col)}`))}`.execute(db);
  const keyText = (k: Readonly<Record<string, unknown>>) => t.keyColumns.map((col) => String(k[col])).join('\u0000');
  const applied = new Set(returned.rows.map(keyText));
  return changes.filter((c) => !applied.has(keyText(t.keyOf(c))));
}
