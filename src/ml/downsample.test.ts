import { describe, expect, it } from 'vitest';
import { downsample } from './downsample.js';

const series = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => ({ x: i, y: f(i) }));

describe('downsample', () => {
  it('returns short series whole, and at most max points of long ones with both ends', () => {
    const short = series(10, (i) => i);
    expect(downsample(short, 10)).toEqual(short);
    const long = series(10_000, (i) => Math.sin(i / 100));
    const out = downsample(long, 300);
    expect(out).toHaveLength(300);
    expect(out[0]).toBe(long[0]);
    expect(out.at(-1)).toBe(long.at(-1));
    // In order, a subset of the input.
    for (let i = 1; i < out.length; i++) expect(out[i].x).toBeGreaterThan(out[i - 1].x);
  });

  it('keeps a one-point spike that every-k-th sampling would lose', () => {
    const spiky = series(1000, (i) => (i === 501 ? 100 : 1));
    expect(downsample(spiky, 20).some((p) => p.y === 100)).toBe(true);
  });

  it('handles tiny limits and refuses nonsense', () => {
    const s = series(5, (i) => i);
    expect(downsample(s, 1)).toEqual([s[4]]);
    expect(downsample(s, 2)).toEqual([s[0], s[4]]);
    expect(() => downsample(s, 0)).toThrow(/whole number ≥ 1/);
  });
});
