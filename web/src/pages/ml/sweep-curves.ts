/** The sweep view's data for its canvas: one line per trial, and the best value reached so far. */
import type { SweepSeries } from '../../api/ml.js';
import type { CanvasLine } from '../../lib/chart-scale.js';

/** Per step, the best value any trial had reached by then. */
export function bestEnvelope(lines: readonly CanvasLine[], direction: 'min' | 'max'): { x: number[]; y: number[] } {
  const bestAt = new Map<number, number>();
  const better = (a: number, b: number) => (direction === 'min' ? a < b : a > b);
  for (const l of lines) {
    for (let i = 0; i < l.x.length; i++) {
      const seen = bestAt.get(l.x[i]);
      if (seen === undefined || better(l.y[i], seen)) bestAt.set(l.x[i], l.y[i]);
    }
  }
  const xs = [...bestAt.keys()].sort((a, b) => a - b);
  const x: number[] = [];
  const y: number[] = [];
  let run: number | undefined;
  for (const s of xs) {
    const v = bestAt.get(s)!;
    if (run === undefined || better(v, run)) run = v;
    x.push(s);
    y.push(run);
  }
  return { x, y };
}

export function curves(series: SweepSeries | undefined, metric: string): CanvasLine[] {
  if (!series) return [];
  const out: CanvasLine[] = [];
  for (const t of series.trials) {
    const s = t.series.find((x) => x.name === metric);
    if (!s || !s.value.length) continue;
    out.push({ id: t.map_index, label: `[${t.map_index}]`, x: s.step.map((v, i) => v ?? i), y: s.value });
  }
  return out;
}

