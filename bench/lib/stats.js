/** Order statistics over plain number arrays (nearest-rank percentiles). */

export function sorted(values) {
  return [...values].filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
}

export function percentile(values, p) {
  const s = sorted(values);
  if (s.length === 0) return null;
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))];
}

export function median(values) {
  const s = sorted(values);
  if (s.length === 0) return null;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function summary(values) {
  const s = sorted(values);
  if (s.length === 0) return { n: 0, median: null, p95: null, min: null, max: null };
  return { n: s.length, median: round(median(s)), p95: round(percentile(s, 95)), min: round(s[0]), max: round(s[s.length - 1]) };
}

export function round(v, digits = 3) {
  if (v === null || v === undefined || !Number.isFinite(v)) return v ?? null;
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

export function ratio(a, b) {
  if (a === null || b === null || a === undefined || b === undefined || b === 0) return null;
  return round(a / b, 4);
}
