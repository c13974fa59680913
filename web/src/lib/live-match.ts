/**
 * Which queries a change touches, and when to refresh them: pure, so it is tested in process.
 * A query says which kinds of change concern it (default: runs and task instances) within an
 * optional DAG and run; a change refreshes only those, at most once a second each, so a burst
 * (10,000 mapped instances finishing) is a handful of refetches.
 */

/** The event types of `GET /api/v1/events` that carry changes. */
export type ChangeKind = 'run' | 'ti' | 'task' | 'dag' | 'import_errors';
export const CHANGE_KINDS: readonly ChangeKind[] = ['run', 'ti', 'task', 'dag', 'import_errors'];

export interface LiveScope {
  readonly dagId?: string;
  readonly runId?: string;
  /** Changes that refresh it; default: runs and task instances (`run`, `ti`, `task`). */
  readonly on?: readonly ChangeKind[];
  /** Also refresh this often while active: data that moves without a state change (a running try's metrics). */
  readonly pollActiveMs?: number;
}

export interface Change {
  readonly kind: ChangeKind;
  readonly dag_id?: string;
  readonly run_id?: string;
}

export const DEFAULT_KINDS: readonly ChangeKind[] = ['run', 'ti', 'task'];

export function touches(scope: LiveScope, c: Change): boolean {
  if (!(scope.on ?? DEFAULT_KINDS).includes(c.kind)) return false;
  if (scope.dagId !== undefined && c.dag_id !== undefined && scope.dagId !== c.dag_id) return false;
  if (scope.runId !== undefined && c.run_id !== undefined && scope.runId !== c.run_id) return false;
  return true;
}

/** Changes are gathered this long before the first refresh… */
export const COALESCE_MS = 250;
/** …and one query is refreshed at most this often while they keep coming. */
export const MIN_REFRESH_GAP_MS = 1000;

/** When a query last refreshed at `lastRun` should refresh for a change seen at `now`. */
export function refreshAt(now: number, lastRun: number): number {
  return Math.max(now + COALESCE_MS, lastRun + MIN_REFRESH_GAP_MS);
}

/** Reconnect delays: 1 s, 2 s, 4 s … up to 30 s, with up to 20 % jitter so many tabs do not return at once. */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(30_000, 1000 * 2 ** Math.max(0, attempt));
  return Math.round(base * (1 + 0.2 * random()));
}

/** Key of a scope, for effects that resubscribe when it changes. */
export function scopeKey(s: LiveScope | undefined): string | undefined {
  return s === undefined ? undefined : JSON.stringify([s.dagId ?? null, s.runId ?? null, s.on ?? null, s.pollActiveMs ?? null]);
}

export function parseScopeKey(key: string): LiveScope {
  const [dagId, runId, on, pollActiveMs] = JSON.parse(key) as [string | null, string | null, ChangeKind[] | null, number | null];
  return { dagId: dagId ?? undefined, runId: runId ?? undefined, on: on ?? undefined, pollActiveMs: pollActiveMs ?? undefined };
}
