/** Cached instances counted apart from successes, in process: the shown counts, their words, and the sums for groups. */
import { describe, expect, test } from 'vitest';
import type { GridCell, TaskInstance, TaskSummary } from '../../web/src/api/types.js';
import { groupCachedCount, groupCounts } from '../../web/src/lib/grid-cells.js';
import { cachedCount, mergeCounts, type TaskCell } from '../../web/src/lib/run-tasks.js';
import { SHOWN_STATE_ORDER, countsWords, shownCounts } from '../../web/src/lib/states.js';

describe('shownCounts', () => {
  test('takes the cached instances out of the successes', () => {
    expect(shownCounts({ success: 100, failed: 2 }, 88)).toEqual({ success: 12, failed: 2, cached: 88 });
  });

  test('drops success when every success was cached, and never shows more cached than successes', () => {
    expect(shownCounts({ success: 3 }, 3)).toEqual({ cached: 3 });
    expect(shownCounts({ success: 3, running: 1 }, 7)).toEqual({ running: 1, cached: 3 });
  });

  test('leaves the counts as they are without cached instances, or from a server that does not count them', () => {
    expect(shownCounts({ success: 4, failed: 1 }, 0)).toEqual({ success: 4, failed: 1 });
    expect(shownCounts({ success: 4 })).toEqual({ success: 4 });
    expect(shownCounts({ failed: 4 }, 2)).toEqual({ failed: 4 });
  });

  test('does not change the counts it is given', () => {
    const counts = { success: 5 };
    shownCounts(counts, 2);
    expect(counts).toEqual({ success: 5 });
  });
});

describe('countsWords and the shown order', () => {
  test('puts cached right after success', () => {
    expect(SHOWN_STATE_ORDER.indexOf('cached')).toBe(SHOWN_STATE_ORDER.indexOf('success') + 1);
    expect(countsWords({ cached: 1200, success: 12, failed: 1 })).toBe('1 failed, 12 success, 1,200 cached');
    expect(countsWords({})).toBe('');
  });
});

const summary = (counts: Record<string, number>, cached_count?: number) => ({ counts, cached_count, total: Object.values(counts).reduce((a, b) => a + b, 0) }) as TaskSummary;
const ti = (cached: boolean) => ({ cached }) as TaskInstance;

describe('cachedCount (graph nodes)', () => {
  test("sums mapped tasks' cached counts and cached successes of single tasks", () => {
    const cells: (TaskCell | undefined)[] = [
      { taskId: 'fan', state: 'success', summary: summary({ success: 5 }, 3) },
      { taskId: 'prep', state: 'success', ti: ti(true) },
      { taskId: 'report', state: 'success', ti: ti(false) },
      // Cached, then marked failed: no longer shown as cached.
      { taskId: 'marked', state: 'failed', ti: ti(true) },
      undefined,
    ];
    expect(cachedCount(cells)).toBe(4);
    expect(shownCounts(mergeCounts(cells), cachedCount(cells))).toEqual({ success: 3, cached: 4, failed: 1 });
  });

  test('counts nothing for a summary from a server without cached counts', () => {
    expect(cachedCount([{ taskId: 'fan', state: 'success', summary: summary({ success: 5 }) }])).toBe(0);
  });
});

describe('groupCachedCount (collapsed grid groups)', () => {
  test("sums mapped cells' cached counts and cached single cells", () => {
    const cells: Record<string, GridCell> = {
      'g.fan': { state: 'removed', total: 5, counts: { success: 4, failed: 1 }, cached_count: 2 },
      'g.prep': { state: 'success', cached: true },
      'g.report': { state: 'success' },
      'g.marked': { state: 'failed', cached: true },
    };
    const members = Object.keys(cells);
    expect(groupCachedCount(cells, members)).toBe(3);
    expect(shownCounts(groupCounts(cells, members), groupCachedCount(cells, members))).toEqual({ success: 3, cached: 3, failed: 2 });
    expect(groupCachedCount(undefined, members)).toBe(0);
  });
});
