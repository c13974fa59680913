/**
 * Metric points into the store in large prepared batches: the ingestion path of every metric
 * line a task prints.
 *
 * The SQL of a batch is written here rather than by the query builder, and batches have only
 * a few sizes (256 rows, then the powers of two below for the rest), so each size's text is
 * built once per dialect, prepared once per connection (SQLite's statement cache, Postgres's
 * named statements), and then only executed: about twice the rows per second of building a
 * multi-row insert of arbitrary length for every call.
 */
import { CompiledQuery, type Insertable, type Kysely } from 'kysely';
import type { DialectName } from './db.js';
import type { Database } from './schema.js';

export type MetricRow = Insertable<Database['metric']>;

const COLUMNS = ['dag_id', 'run_id', 'task_id', 'map_index', 'try_number', 'name', 'step', 'value', 'at'] as const;
/** Rows per statement: 2,304 parameters, under SQLite's and Postgres's limits. */
export const METRIC_BATCH = 256;

const texts = new Map<string, string>();

function insertText(dialect: DialectName, rows: number): string {
  const key = `${dialect}:${rows}`;
  let text = texts.get(key);
  if (text === undefined) {
    const tuples: string[] = [];
    for (let r = 0; r < rows; r++) {
      const marks = COLUMNS.map((_, c) => (dialect === 'postgres' ? `$${r * COLUMNS.length + c + 1}` : '?'));
      tuples.push(`(${marks.join(', ')})`);
    }
    text = `insert into "metric" (${COLUMNS.map((c) => `"${c}"`).join(', ')}) values ${tuples.join(', ')}`;
    texts.set(key, text);
  }
  return text;
}

/** The size of the next statement for `left` rows: a full batch, else the largest power of two that fits. */
export function batchSize(left: number): number {
  return left >= METRIC_BATCH ? METRIC_BATCH : 2 ** Math.floor(Math.log2(left));
}

/** Inserts the rows in as few statements as the batch sizes allow; call it inside a transaction for one commit. */
export async function insertMetricRows(db: Kysely<Database>, dialect: DialectName, rows: readonly MetricRow[]): Promise<void> {
  for (let i = 0; i < rows.length; ) {
    const n = batchSize(rows.length - i);
    const params: unknown[] = new Array(n * COLUMNS.length);
    for (let k = 0; k < n; k++) {
      const r = rows[i + k];
      const o = k * COLUMNS.length;
      params[o] = r.dag_id;
      params[o + 1] = r.run_id;
      params[o + 2] = r.task_id;
      params[o + 3] = r.map_index;
      params[o + 4] = r.try_number;
      params[o + 5] = r.name;
      params[o + 6] = r.step ?? null;
      params[o + 7] = r.value;
      params[o + 8] = r.at;
    }
    await db.executeQuery(CompiledQuery.raw(insertText(dialect, n), params));
    i += n;
  }
}
