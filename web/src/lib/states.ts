/** Task and run states: their order, their colour (a CSS variable) and their words. */
import type { TaskState } from '../api/types.js';

export const TASK_STATE_ORDER: readonly TaskState[] = [
  'failed',
  'upstream_failed',
  'up_for_retry',
  'running',
  'queued',
  'scheduled',
  'deferred',
  'none',
  'skipped',
  'success',
  'removed',
];

export const STATE_WORDS: Readonly<Record<string, string>> = {
  none: 'not started',
  scheduled: 'scheduled',
  queued: 'queued',
  running: 'running',
  deferred: 'deferred',
  up_for_retry: 'up for retry',
  success: 'success',
  failed: 'failed',
  skipped: 'skipped',
  upstream_failed: 'upstream failed',
  removed: 'removed',
  cached: 'cached',
};

/**
 * The state shown for an instance: `cached` for a success that reused an earlier try's result
 * (task caching) instead of running, its own state otherwise. `cached` is not a state of the
 * store: it has its own word and colour only.
 */
export function shownState(state: string, cached?: boolean): string {
  return cached && state === 'success' ? 'cached' : state;
}

/** The order of the states shown in counts: the store's, with `cached` right after `success`. */
export const SHOWN_STATE_ORDER: readonly string[] = TASK_STATE_ORDER.flatMap((s) => (s === 'success' ? [s, 'cached'] : [s]));

/**
 * Counts by state as shown: of `counts.success`, the `cached` ones (task caching) apart. The
 * API counts a cached instance as a success and says how many there are beside the counts.
 */
export function shownCounts(counts: Readonly<Record<string, number>>, cached = 0): Record<string, number> {
  const n = Math.min(cached, counts.success ?? 0);
  if (n <= 0) return { ...counts };
  const { success = 0, ...rest } = counts;
  return success > n ? { ...rest, success: success - n, cached: n } : { ...rest, cached: n };
}

/** Shown counts in words, in shown order: "2 success, 3 cached". */
export function countsWords(shown: Readonly<Record<string, number>>): string {
  return SHOWN_STATE_ORDER.filter((s) => (shown[s] ?? 0) > 0)
    .map((s) => `${shown[s].toLocaleString()} ${STATE_WORDS[s]}`)
    .join(', ');
}

export const FINISHED = new Set(['success', 'failed', 'skipped', 'upstream_failed', 'removed']);
export const ACTIVE_RUN = new Set(['queued', 'running']);

export function stateColor(state: string): string {
  return `var(--st-${state.replaceAll('_', '-')}, var(--st-none))`;
}

/** The state that sums up a group of instances: the most urgent one present. */
export function dominantState(counts: Record<string, number>): string {
  for (const s of TASK_STATE_ORDER) if ((counts[s] ?? 0) > 0 && s !== 'removed') return s;
  return 'none';
}
