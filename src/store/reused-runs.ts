import { sql } from 'kysely';
import type { Store } from './store.js';

export interface RunKeyRow {
  readonly dag_id: string;
  readonly run_id: string;
}

/** Runs looked up per statement, so that the filter stays well inside SQL's limits. */
const CHUNK = 100;

const idOf = (r: RunKeyRow): string => JSON.stringify([r.dag_id, r.run_id]);

/**
 * How `task_instance.cached_from` starts for an instance that reused a try of this run: the
 * scheduler writes it with JSON.stringify, `dag_id` and `run_id` first (scheduler/cache.ts).
 */
export function cachedFromPrefix(r: RunKeyRow): string {
  return `${JSON.stringify({ dag_id: r.dag_id, run_id: r.run_id }).slice(0, -1)},`;
}

/** A LIKE pattern (escape character `!`) for text that starts with `prefix`. */
function startsWithPattern(prefix: string): string {
  return `${prefix.replace(/[!%_]/g, '!$&')}%`;
}

/**
 * The task instances whose `cached_from` names a try of one of `sources` (and a few that only
 * look so: the caller checks). It reads the partial index of instances with `cached_from` set
 * (migration 0015), not the whole table.
 */
export function reusingInstances(store: Store, sources: readonly RunKeyRow[]) {
  return store.db
    .selectFrom('task_instance')
    .select(['dag_id', 'run_id', 'cached_from'])
    .where('cached_from', 'is not', null)
    .where((eb) => eb.or(sources.map((s) => sql<boolean>`${eb.ref('cached_from')} like ${startsWithPattern(cachedFromPrefix(s))} escape '!'`)));
}

/**
 * For each of `runs` that another run reuses, the runs reusing it: those with a cached task
 * instance whose result and artifacts are one of its tries' (task caching). Keyed by
 * JSON [dag_id, run_id]; runs nobody reuses are absent. This does not rely on the tries' cache
 * keys: `db clean` clears those of a run it is about to delete, and must still see who reused it.
 */
export async function reusedRuns(store: Store, runs: readonly RunKeyRow[]): Promise<Map<string, RunKeyRow[]>> {
  const out = new Map<string, RunKeyRow[]>();
  for (let i = 0; i < runs.length; i += CHUNK) {
    const sources = runs.slice(i, i + CHUNK);
    const wanted = new Set(sources.map(idOf));
    const rows = await reusingInstances(store, sources).execute();
    for (const row of rows) {
      const source = sourceOf(row.cached_from);
      if (!source || !wanted.has(idOf(source)) || idOf(source) === idOf(row)) continue;
      const users = out.get(idOf(source)) ?? [];
      if (!users.some((u) => idOf(u) === idOf(row))) users.push({ dag_id: row.dag_id, run_id: row.run_id });
      out.set(idOf(source), users);
    }
  }
  return out;
}

/** Makes these runs' tries unfindable by the cache: no new run reuses them. */
export async function clearCacheKeys(store: Store, runs: readonly RunKeyRow[]): Promise<void> {
  for (let i = 0; i < runs.length; i += CHUNK) {
    const chunk = runs.slice(i, i + CHUNK);
    await store.db
      .updateTable('task_try')
      .set({ cache_key: null })
      .where('cache_key', 'is not', null)
      .where((eb) => eb.or(chunk.map((r) => eb.and([eb('dag_id', '=', r.dag_id), eb('run_id', '=', r.run_id)]))))
      .execute();
  }
}

function sourceOf(cachedFrom: string | null | undefined): RunKeyRow | undefined {
  if (!cachedFrom) return undefined;
  try {
    const v = JSON.parse(cachedFrom) as Partial<RunKeyRow>;
    return typeof v.dag_id === 'string' && typeof v.run_id === 'string' ? { dag_id: v.dag_id, run_id: v.run_id } : undefined;
  } catch {
    return undefined;
  }
}
