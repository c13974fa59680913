/**
 * Downsampling of metric series for charts: largest-triangle-three-buckets. The first and
 * last points are kept; the points between are cut into `max − 2` buckets, and from each the
 * point that makes the largest triangle with the point kept before it and the mean of the next
 * bucket is kept. Peaks and valleys survive where a plain "every k-th point" would drop them.
 * Pure; points are taken in the order given (by step or time).
 */

export interface XY {
  readonly x: number;
  readonly y: number;
}

/** At most `max` of `points` (all of them when there are no more than that). `max` < 3 keeps the ends. */
export function downsample<T extends XY>(points: readonly T[], max: number): T[] {
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`max must be a whole number ≥ 1, got ${max}`);
  const n = points.length;
  if (n <= max) return points.slice();
  if (max === 1) return [points[n - 1]];
  if (max === 2) return [points[0], points[n - 1]];
  const out: T[] = [points[0]];
  const every = (n - 2) / (max - 2);
  let kept = 0;
  for (let b = 0; b < max - 2; b++) {
    const from = Math.floor(b * every) + 1;
    const to = Math.min(Math.floor((b + 1) * every) + 1, n - 1);
    // The mean of the next bucket (the last point for the last bucket).
    const nextFrom = to;
    const nextTo = Math.min(Math.floor((b + 2) * every) + 1, n);
    let mx = 0;
    let my = 0;
    for (let i = nextFrom; i < nextTo; i++) {
      mx += points[i].x;
      my += points[i].y;
    }
    const len = Math.max(1, nextTo - nextFrom);
    mx /= len;
    my /= len;
    const a = points[kept];
    let best = from;
    let bestArea = -1;
    for (let i = from; i < to; i++) {
      const area = Math.abs((a.x - mx) * (points[i].y - a.y) - (a.x - points[i].x) * (my - a.y));
      if (area > bestArea) {
        bestArea = area;
        best = i;
      }
    }
    out.push(points[best]);
    kept = best;
  }
  out.push(points[n - 1]);
  return out;
}
