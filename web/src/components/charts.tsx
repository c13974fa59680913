/** SVG charts with no library: a histogram, line charts of metric series. */
import { useState } from 'react';
import { duration } from '../lib/format.js';

export function Histogram({ buckets, label }: { buckets: { from_ms: number; to_ms: number; count: number }[]; label: string }) {
  if (!buckets.length) return <div className="muted">No finished instances yet.</div>;
  const max = Math.max(...buckets.map((b) => b.count), 1);
  const w = 360;
  const h = 110;
  const bw = w / buckets.length;
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${w} ${h + 18}`} role="img" aria-label={label} width="100%" style={{ maxWidth: w * 1.4 }}>
        {buckets.map((b, i) => {
          const bh = (b.count / max) * h;
          return (
            <g key={i}>
              <rect x={i * bw + 1} y={h - bh} width={Math.max(1, bw - 2)} height={bh} className="bar">
                <title>{`${duration(b.from_ms)} – ${duration(b.to_ms)}: ${b.count.toLocaleString()}`}</title>
              </rect>
            </g>
          );
        })}
        <line x1="0" x2={w} y1={h} y2={h} className="axis" />
        <text x="0" y={h + 14} className="tick">
          {duration(buckets[0].from_ms)}
        </text>
        <text x={w} y={h + 14} className="tick" textAnchor="end">
          {duration(buckets[buckets.length - 1].to_ms)}
        </text>
      </svg>
      <figcaption className="muted">{label}</figcaption>
    </figure>
  );
}

export interface Series {
  name: string;
  points: { step: number | null; value: number; at: string }[];
}

/** One chart per metric, x = step (or time when there are no steps). */
export function MetricCharts({ series }: { series: Series[] }) {
  if (!series.length) return <div className="muted">This try reported no metrics (print lines like <code>::trainyard::metric {'{"step": 1, "loss": 0.4}'}</code>).</div>;
  return (
    <div className="charts">
      {series.map((s) => (
        <LineChart key={s.name} series={s} />
      ))}
    </div>
  );
}

function LineChart({ series }: { series: Series }) {
  const [hover, setHover] = useState<number | null>(null);
  const pts = series.points.map((p, i) => ({ x: p.step ?? Date.parse(p.at), y: p.value, i }));
  const w = 320;
  const h = 140;
  const pad = { l: 44, r: 8, t: 10, b: 22 };
  const xs = pts.map((p) => p.x);
  const ys = pts.map((p) => p.y);
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs);
  let y0 = Math.min(...ys);
  let y1 = Math.max(...ys);
  if (y0 === y1) {
    y0 -= 0.5;
    y1 += 0.5;
  }
  const sx = (x: number) => pad.l + (x1 === x0 ? (w - pad.l - pad.r) / 2 : ((x - x0) / (x1 - x0)) * (w - pad.l - pad.r));
  const sy = (y: number) => pad.t + (1 - (y - y0) / (y1 - y0)) * (h - pad.t - pad.b);
  const d = pts.map((p, i) => `${i ? 'L' : 'M'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ');
  const last = pts[pts.length - 1];
  const shown = hover === null ? last : pts[hover];
  const fmt = (v: number) => (Math.abs(v) >= 1000 || (Math.abs(v) < 0.001 && v !== 0) ? v.toExponential(2) : Number(v.toPrecision(4)).toString());
  return (
    <figure className="chart metric" data-metric={series.name}>
      <figcaption>
        <strong>{series.name}</strong>{' '}
        <span className="muted">
          {series.points[shown.i].step !== null ? `step ${series.points[shown.i].step}: ` : ''}
          {fmt(shown.y)}
        </span>
      </figcaption>
      <svg
        viewBox={`0 0 ${w} ${h}`}
        width="100%"
        role="img"
        aria-label={`${series.name}: ${pts.length} points, last ${fmt(last.y)}`}
        onMouseLeave={() => setHover(null)}
        onMouseMove={(e) => {
          const r = e.currentTarget.getBoundingClientRect();
          const x = ((e.clientX - r.left) / r.width) * w;
          let best = 0;
          pts.forEach((p, i) => {
            if (Math.abs(sx(p.x) - x) < Math.abs(sx(pts[best].x) - x)) best = i;
          });
          setHover(best);
        }}
      >
        <line x1={pad.l} x2={w - pad.r} y1={h - pad.b} y2={h - pad.b} className="axis" />
        <line x1={pad.l} x2={pad.l} y1={pad.t} y2={h - pad.b} className="axis" />
        <text x={pad.l - 4} y={pad.t + 8} className="tick" textAnchor="end">
          {fmt(y1)}
        </text>
        <text x={pad.l - 4} y={h - pad.b} className="tick" textAnchor="end">
          {fmt(y0)}
        </text>
        <text x={pad.l} y={h - 6} className="tick">
          {series.points[0].step !== null ? x0 : ''}
        </text>
        <text x={w - pad.r} y={h - 6} className="tick" textAnchor="end">
          {series.points[0].step !== null ? x1 : ''}
        </text>
        <path d={d} className="line" />
        {pts.length <= 60 && pts.map((p) => <circle key={p.i} cx={sx(p.x)} cy={sy(p.y)} r={2} className="pt" />)}
        {hover !== null && <circle cx={sx(pts[hover].x)} cy={sy(pts[hover].y)} r={4} className="pt hover" />}
      </svg>
    </figure>
  );
}
