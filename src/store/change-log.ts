import { sql } from 'kysely';
import type { ChangeEventTable } from './schema.js';
import type { Store } from './store.js';

/** A change, as the triggers of migration 0010_change_feed recorded it, with its position. */
export interface ChangeRow {
  readonly cursor: string;
  readonly id: number;
  readonly kind: ChangeEventTable['kind'];
  readonly dag_id: string | null;
  readonly run_id: string | null;
  readonly task_id: string | null;
  readonly map_index: number | null;
  readonly state: string | null;
  readonly try_number: number | null;
  readonly detail: string | null;
}

/** A position in the change log. */
interface Position {
  readonly txid: string;
  readonly id: number;
}

const COLUMNS = ['id', 'kind', 'dag_id', 'run_id', 'task_id', 'map_index', 'state', 'try_number', 'detail'] as const;

/**
 * Reads the `change_event` table in commit order. On SQLite, writers take turns, so ids are in
 * commit order and a cursor is the last id read ("123"). On Postgres, ids from the sequence
 * are not: a cursor is (transaction id, id) ("4711-123"), and only rows of transactions that
 * have ended (below the snapshot's xmin) are read, so a row that commits later can never land
 * behind a cursor already handed out.
 */
export class ChangeLog {
  constructor(private readonly store: Store) {}

  private get pg(): boolean {
    return this.store.dialect === 'postgres';
  }

  /** The position after every change committed so far. */
  async head(): Promise<string> {
    if (this.pg) {
      const r = await sql<{ txid: string; id: number }>`
        select txid::text as txid, id from change_event
        where txid < pg_snapshot_xmin(pg_current_snapshot())
        order by txid desc, id desc limit 1`.execute(this.store.db);
      const row = r.rows[0];
      return row ? format({ txid: row.txid, id: Number(row.id) }, true) : '0-0';
    }
    const row = await this.store.db
      .selectFrom('change_event')
      .select((eb) => eb.fn.max('id').as('id'))
      .executeTakeFirst();
    return String(Number(row?.id ?? 0));
  }

  /** Whether `cursor` is a position of this log from which nothing has been pruned since. */
  async resumable(cursor: string): Promise<boolean> {
    const at = parse(cursor, this.pg);
    if (!at) return false;
    const bounds = await this.store.db
      .selectFrom('change_event')
      .select((eb) => [eb.fn.min('id').as('lo'), eb.fn.max('id').as('hi')])
      .executeTakeFirst();
    const lo = bounds?.lo === null || bounds?.lo === undefined ? undefined : Number(bounds.lo);
    const hi = bounds?.hi === null || bounds?.hi === undefined ? 0 : Number(bounds.hi);
    if (at.id > hi) return false;
    return lo === undefined || at.id >= lo - 1;
  }

  /** Up to `limit` changes after `after` (and at most `upTo`), in commit order. */
  async read(after: string, limit: number, upTo?: string): Promise<ChangeRow[]> {
    const from = parse(after, this.pg);
    if (!from) throw new Error(`not a change-log position: '${after}'`);
    const to = upTo === undefined ? undefined : parse(upTo, this.pg);
    if (this.pg) {
      const r = await sql<Omit<ChangeRow, 'cursor'> & { txid: string }>`
        select txid::text as txid, ${sql.join(COLUMNS.map((c) => sql.ref(c)))} from change_event
        where (txid, id) > (${from.txid}::xid8, ${from.id})
          and txid < pg_snapshot_xmin(pg_current_snapshot())
          ${to ? sql`and (txid, id) <= (${to.txid}::xid8, ${to.id})` : sql``}
        order by txid, id limit ${limit}`.execute(this.store.db);
      return r.rows.map(({ txid, ...row }) => ({ ...normal(row), cursor: format({ txid, id: Number(row.id) }, true) }));
    }
    let q = this.store.db.selectFrom('change_event').select(COLUMNS).where('id', '>', from.id);
    if (to) q = q.where('id', '<=', to.id);
    const rows = await q.orderBy('id').limit(limit).execute();
    return rows.map((row) => ({ ...normal(row), cursor: String(row.id) }));
  }
}

function normal(row: Omit<ChangeRow, 'cursor'>): Omit<ChangeRow, 'cursor'> {
  return { ...row, id: Number(row.id), map_index: row.map_index === null ? null : Number(row.map_index), try_number: row.try_number === null ? null : Number(row.try_number) };
}

function format(p: Position, pg: boolean): string {
  return pg ? `${p.txid}-${p.id}` : String(p.id);
}

function parse(cursor: string, pg: boolean): Position | undefined {
  const m = pg ? /^(\d{1,19})-(\d{1,19})$/.exec(cursor) : /^()(\d{1,19})$/.exec(cursor);
  if (!m) return undefined;
  const id = Number(m[2]);
  return Number.isSafeInteger(id) ? { txid: m[1] || '0', id } : undefined;
}
