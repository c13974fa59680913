/**
 * Many line series on one canvas: the overlaid curves of a sweep's trials (64 trials × 1,000
 * steps draw in a few milliseconds, where as many SVG nodes would not), with an optional
 * step line on top (the best so far), a highlighted series, axes with round ticks, and the
 * nearest point under the pointer.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { type CanvasLine, formatValue, niceTicks } from '../lib/chart-scale.js';

export type { CanvasLine };

export interface LineCanvasProps {
  readonly lines: readonly CanvasLine[];
  readonly label: string;
  readonly xLabel?: string;
  /** Drawn thicker, on top of the others. */
  readonly highlight?: number;
  /** A step line on top of everything (e.g. the best value so far). */
  readonly overlay?: { readonly x: ArrayLike<number>; readonly y: ArrayLike<number>; readonly label: string };
  readonly height?: number;
  readonly onPick?: (id: number) => void;
}

const PAD = { l: 56, r: 12, t: 10, b: 28 };

/** A color per series id, spread around the hue circle. */
export function lineColor(id: number, alpha = 1): string {
  return `hsla(${(id * 137.508) % 360}, 62%, 48%, ${alpha})`;
}

interface Bounds {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
  points: number;
}

function boundsOf(lines: readonly CanvasLine[], overlay?: LineCanvasProps['overlay']): Bounds {
  let x0 = Infinity;
  let x1 = -Infinity;
  let y0 = Infinity;
  let y1 = -Infinity;
  let points = 0;
  const take = (x: ArrayLike<number>, y: ArrayLike<number>) => {
    for (let i = 0; i < x.length; i++) {
      const xv = x[i];
      const yv = y[i];
      if (!Number.isFinite(xv) || !Number.isFinite(yv)) continue;
      if (xv < x0) x0 = xv;
      if (xv > x1) x1 = xv;
      if (yv < y0) y0 = yv;
      if (yv > y1) y1 = yv;
      points++;
    }
  };
  for (const l of lines) take(l.x, l.y);
  if (overlay) take(overlay.x, overlay.y);
  if (!points) return { x0: 0, x1: 1, y0: 0, y1: 1, points };
  if (x0 === x1) x1 = x0 + 1;
  if (y0 === y1) {
    y0 -= 0.5;
    y1 += 0.5;
  }
  return { x0, x1, y0, y1, points };
}

export function LineCanvas({ lines, label, xLabel = 'step', highlight, overlay, height = 260, onPick }: LineCanvasProps) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [width, setWidth] = useState(0);
  const [hover, setHover] = useState<{ id: number; i: number } | null>(null);
  const b = useMemo(() => boundsOf(lines, overlay), [lines, overlay]);

  useEffect(() => {
    const el = canvas.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setWidth(el.clientWidth));
    ro.observe(el);
    setWidth(el.clientWidth);
    return () => ro.disconnect();
  }, []);

  const sx = (x: number) => PAD.l + ((x - b.x0) / (b.x1 - b.x0)) * (width - PAD.l - PAD.r);
  const sy = (y: number) => PAD.t + (1 - (y - b.y0) / (b.y1 - b.y0)) * (height - PAD.t - PAD.b);

  useEffect(() => {
    const el = canvas.current;
    if (!el || width === 0) return;
    const t0 = performance.now();
    const dpr = window.devicePixelRatio || 1;
    el.width = Math.round(width * dpr);
    el.height = Math.round(height * dpr);
    const ctx = el.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const css = getComputedStyle(el);
    const muted = css.getPropertyValue('--muted').trim() || '#666';
    const border = css.getPropertyValue('--border').trim() || '#ccc';
    drawAxes(ctx, b, width, height, sx, sy, muted, border);
    const path = (l: { x: ArrayLike<number>; y: ArrayLike<number> }, step = false) => {
      ctx.beginPath();
      let started = false;
      let prevY = 0;
      for (let i = 0; i < l.x.length; i++) {
        if (!Number.isFinite(l.y[i])) continue;
        const px = sx(l.x[i]);
        const py = sy(l.y[i]);
        if (!started) ctx.moveTo(px, py);
        else if (step) {
          ctx.lineTo(px, prevY);
          ctx.lineTo(px, py);
        } else ctx.lineTo(px, py);
        started = true;
        prevY = py;
      }
      ctx.stroke();
    };
    ctx.lineJoin = 'round';
    ctx.lineWidth = 1.2;
    const dim = highlight !== undefined || hover !== null;
    for (const l of lines) {
      if (l.id === highlight || l.id === hover?.id) continue;
      ctx.strokeStyle = lineColor(l.id, dim ? 0.35 : 0.85);
      path(l);
    }
    for (const id of [highlight, hover?.id]) {
      const l = id === undefined ? undefined : lines.find((x) => x.id === id);
      if (!l) continue;
      ctx.lineWidth = 2.6;
      ctx.strokeStyle = lineColor(l.id, 1);
      path(l);
    }
    if (overlay) {
      ctx.lineWidth = 2;
      ctx.setLineDash([6, 4]);
      ctx.strokeStyle = css.getPropertyValue('--text').trim() || '#000';
      path(overlay, true);
      ctx.setLineDash([]);
    }
    // For tests and benchmarks: how many series are on the canvas, and what drawing them took.
    el.dataset.drawMs = (performance.now() - t0).toFixed(1);
    el.dataset.drawn = String(lines.length);
  });

  const pick = (clientX: number, clientY: number) => {
    const el = canvas.current!;
    const r = el.getBoundingClientRect();
    const mx = clientX - r.left;
    const my = clientY - r.top;
    let best: { id: number; i: number; d: number } | null = null;
    for (const l of lines) {
      for (let i = 0; i < l.x.length; i++) {
        const dx = sx(l.x[i]) - mx;
        const dy = sy(l.y[i]) - my;
        const d = dx * dx + dy * dy;
        if (!best || d < best.d) best = { id: l.id, i, d };
      }
    }
    return best && best.d < 400 ? best : null;
  };

  const shown = hover ? lines.find((l) => l.id === hover.id) : undefined;
  return (
    <figure className="chart line-canvas" data-lines={lines.length} data-points={b.points}>
      <figcaption className="small">
        <strong>{label}</strong>{' '}
        <span className="muted" data-testid="chart-hover">
          {shown && hover ? `${shown.label} · ${xLabel} ${formatValue(shown.x[hover.i])}: ${formatValue(shown.y[hover.i])}` : `${lines.length} series · ${b.points.toLocaleString()} points`}
        </span>
        {overlay && <span className="muted"> · dashed: {overlay.label}</span>}
      </figcaption>
      <canvas
        ref={canvas}
        style={{ width: '100%', height }}
        role="img"
        aria-label={`${label}: ${lines.length} series, ${b.points} points`}
        onMouseMove={(e) => setHover(pick(e.clientX, e.clientY))}
        onMouseLeave={() => setHover(null)}
        onClick={(e) => {
          const p = pick(e.clientX, e.clientY);
          if (p && onPick) onPick(p.id);
        }}
      />
    </figure>
  );
}

function drawAxes(ctx: CanvasRenderingContext2D, b: Bounds, w: number, h: number, sx: (x: number) => number, sy: (y: number) => number, muted: string, border: string) {
  ctx.font = '11px system-ui, sans-serif';
  ctx.fillStyle = muted;
  ctx.strokeStyle = border;
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(PAD.l, PAD.t);
  ctx.lineTo(PAD.l, h - PAD.b);
  ctx.lineTo(w - PAD.r, h - PAD.b);
  ctx.stroke();
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const t of niceTicks(b.y0, b.y1, 5)) {
    const y = sy(t);
    ctx.fillText(formatValue(t), PAD.l - 6, y);
    ctx.globalAlpha = 0.35;
    ctx.beginPath();
    ctx.moveTo(PAD.l, y);
    ctx.lineTo(w - PAD.r, y);
    ctx.stroke();
    ctx.globalAlpha = 1;
  }
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (const t of niceTicks(b.x0, b.x1, Math.max(2, Math.floor((w - PAD.l) / 90)))) ctx.fillText(formatValue(t), sx(t), h - PAD.b + 6);
}
