/**
 * Parallel coordinates: one vertical axis per param and one for the objective, one line per
 * trial across them, colored by its objective (dark = best). Numeric params get a linear axis
 * (logarithmic when they span more than two decades and are all positive); anything else is
 * placed by its sorted distinct values.
 */
import { formatValue } from '../lib/chart-scale.js';

export interface PcTrial {
  readonly id: number;
  readonly values: Readonly<Record<string, unknown>>;
  readonly objective: number | undefined;
}

interface Axis {
  readonly name: string;
  /** Position 0..1 (0 at the bottom) of a value, or undefined when it has none. */
  readonly at: (v: unknown) => number | undefined;
  readonly ticks: readonly { label: string; at: number }[];
}

function axisOf(name: string, values: readonly unknown[]): Axis {
  const nums = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  if (nums.length && nums.length === values.filter((v) => v !== undefined && v !== null).length) {
    let lo = Math.min(...nums);
    let hi = Math.max(...nums);
    const log = lo > 0 && hi / lo > 100;
    const f = log ? Math.log10 : (x: number) => x;
    if (lo === hi) {
      lo -= 1;
      hi += 1;
    }
    const a = f(lo);
    const b = f(hi);
    const at = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? (f(v) - a) / (b - a) : undefined);
    return { name: log ? `${name} (log)` : name, at, ticks: [lo, hi].map((v) => ({ label: formatValue(v), at: at(v)! })) };
  }
  const keys = [...new Set(values.filter((v) => v !== undefined).map((v) => JSON.stringify(v)))].sort();
  const at = (v: unknown) => {
    const i = keys.indexOf(JSON.stringify(v));
    return i < 0 ? undefined : keys.length === 1 ? 0.5 : i / (keys.length - 1);
  };
  return { name, at, ticks: keys.map((k) => ({ label: k.replaceAll('"', ''), at: at(JSON.parse(k))! })) };
}

export function ParallelCoordinates({ trials, params, objective, direction, highlight, onPick }: {
  trials: readonly PcTrial[];
  params: readonly string[];
  objective: string;
  direction: 'min' | 'max';
  highlight?: number;
  onPick?: (id: number) => void;
}) {
  const axes = [...params.map((p) => axisOf(p, trials.map((t) => t.values[p]))), axisOf(objective, trials.map((t) => t.objective))];
  const objAxis = axes[axes.length - 1];
  const w = Math.max(360, axes.length * 150);
  const h = 240;
  const pad = { l: 50, r: 70, t: 28, b: 30 };
  const x = (i: number) => pad.l + (axes.length === 1 ? 0 : (i / (axes.length - 1)) * (w - pad.l - pad.r));
  const y = (p: number) => pad.t + (1 - p) * (h - pad.t - pad.b);
  const goodness = (t: PcTrial) => {
    const p = objAxis.at(t.objective);
    return p === undefined ? undefined : direction === 'max' ? p : 1 - p;
  };
  const sorted = [...trials].sort((a, b) => (goodness(a) ?? -1) - (goodness(b) ?? -1));
  return (
    <figure className="chart parallel" data-testid="parallel-coordinates">
      <svg viewBox={`0 0 ${w} ${h}`} width="100%" style={{ maxWidth: w * 1.2 }} role="img" aria-label={`parallel coordinates of ${params.join(', ')} against ${objective}`}>
        {sorted.map((t) => {
          const g = goodness(t);
          const pts = axes.map((a, i) => {
            const p = a.at(i === axes.length - 1 ? t.objective : t.values[params[i]]);
            return p === undefined ? null : `${x(i).toFixed(1)},${y(p).toFixed(1)}`;
          });
          if (pts.some((p) => p === null)) return null;
          const on = t.id === highlight;
          return (
            <polyline
              key={t.id}
              points={pts.join(' ')}
              className={on ? 'pc-line on' : 'pc-line'}
              style={{ stroke: g === undefined ? 'var(--st-none)' : `hsl(${220 - g * 200}, 70%, ${60 - g * 22}%)` }}
              onClick={() => onPick?.(t.id)}
            >
              <title>{`[${t.id}] ${objective} = ${t.objective === undefined ? '—' : formatValue(t.objective)}`}</title>
            </polyline>
          );
        })}
        {axes.map((a, i) => (
          <g key={a.name} className="pc-axis">
            <line x1={x(i)} x2={x(i)} y1={pad.t} y2={h - pad.b} className="axis" />
            <text x={x(i)} y={pad.t - 10} textAnchor="middle" className="pc-name">
              {a.name}
            </text>
            {a.ticks.slice(0, 8).map((t) => (
              <text key={t.label} x={x(i) + 5} y={y(t.at) + 4} className="tick">
                {t.label}
              </text>
            ))}
          </g>
        ))}
      </svg>
    </figure>
  );
}
