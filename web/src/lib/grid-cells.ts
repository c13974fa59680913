/** Cells of the grid endpoint's answer: what state a cell shows, and a collapsed group's counts. */
import type { GridCell } from '../api/types.js';
import { summaryState } from './run-tasks.js';

/** Runs the grid shows unless the URL says otherwise (`?runs=`, 1–50). */
export const GRID_RUNS = 12;

export function gridRunCount(search: URLSearchParams): number {
  return Math.min(50, Math.max(1, Number(search.get('runs') ?? GRID_RUNS) || GRID_RUNS));
}

/** Whether a cell is a mapped task shown by its instances' counts. */
export function isMappedCell(c: GridCell): c is GridCell & { counts: Record<string, number>; total: number } {
  return c.counts !== undefined && (c.total ?? 0) > 0;
}

/** The state a cell shows: a mapped task's from its counts, any other task's own. */
export function cellState(c: GridCell): string {
  return isMappedCell(c) ? summaryState(c.counts) : (c.state ?? 'none');
}

/** Counts by state of a collapsed group's tasks in one run. */
export function groupCounts(cells: Readonly<Record<string, GridCell>> | undefined, members: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of members) {
    const c = cells?.[m];
    if (!c) continue;
    if (isMappedCell(c)) for (const [s, n] of Object.entries(c.counts)) out[s] = (out[s] ?? 0) + n;
    else out[cellState(c)] = (out[cellState(c)] ?? 0) + 1;
  }
  return out;
}

/** Of a collapsed group's successes in one run, those that were cached (task caching). */
export function groupCachedCount(cells: Readonly<Record<string, GridCell>> | undefined, members: readonly string[]): number {
  let n = 0;
  for (const m of members) {
    const c = cells?.[m];
    if (!c) continue;
    n += isMappedCell(c) ? (c.cached_count ?? 0) : c.cached && c.state === 'success' ? 1 : 0;
  }
  return n;
}
