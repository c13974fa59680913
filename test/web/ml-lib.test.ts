/** The ML pages' pure logic, in process: the sweep's best-so-far envelope and curves, chart ticks and labels. */
import { describe, expect, test } from 'vitest';
import type { SweepSeries } from '../../web/src/api/ml.js';
import { formatValue, niceTicks } from '../../web/src/lib/chart-scale.js';
import { bestEnvelope, curves } from '../../web/src/pages/ml/sweep-curves.js';

describe('sweep curves', () => {
  const series: SweepSeries = {
    task_id: 'train',
    trials: [
      { map_index: 0, try_number: 1, state: 'success', params: {}, series: [{ name: 'loss', total_points: 3, step: [1, 2, 3], value: [0.9, 0.5, 0.6] }] },
      { map_index: 1, try_number: 1, state: 'success', params: {}, series: [{ name: 'loss', total_points: 3, step: [1, 2, 4], value: [0.8, 0.7, 0.3] }] },
      { map_index: 2, try_number: 1, state: 'running', params: {}, series: [{ name: 'acc', total_points: 1, step: [null], value: [0.5] }] },
    ],
  };

  test('one line per trial that has the metric, x = step', () => {
    const lines = curves(series, 'loss');
    expect(lines.map((l) => [l.id, l.label, l.x, l.y])).toEqual([
      [0, '[0]', [1, 2, 3], [0.9, 0.5, 0.6]],
      [1, '[1]', [1, 2, 4], [0.8, 0.7, 0.3]],
    ]);
    // A series without steps is drawn by its index.
    expect(curves(series, 'acc')[0].x).toEqual([0]);
    expect(curves(undefined, 'loss')).toEqual([]);
  });

  test('the envelope is the best value any trial reached by each step, never worse than before', () => {
    const lines = curves(series, 'loss');
    expect(bestEnvelope(lines, 'min')).toEqual({ x: [1, 2, 3, 4], y: [0.8, 0.5, 0.5, 0.3] });
    expect(bestEnvelope(lines, 'max')).toEqual({ x: [1, 2, 3, 4], y: [0.9, 0.9, 0.9, 0.9] });
  });
});

describe('chart scales', () => {
  test('round ticks inside the range', () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(3, 997, 4)).toEqual([200, 400, 600, 800]);
    expect(niceTicks(0.0123, 0.0127, 4)).toEqual([0.0123, 0.0124, 0.0125, 0.0126, 0.0127]);
    expect(niceTicks(5, 5, 4)).toEqual([5]);
  });

  test('short labels', () => {
    expect(formatValue(0.123456)).toBe('0.1235');
    expect(formatValue(1234567)).toBe('1.23e+6');
    expect(formatValue(0.0000123)).toBe('1.23e-5');
    expect(formatValue(0)).toBe('0');
  });
});
