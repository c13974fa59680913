import { describe, expect, it } from 'vitest';
import { choice, grid, intRange, logUniform, random, seededRng, uniform } from './search-space.js';

describe('grid', () => {
  it('is the cross product, first key slowest, like expand', () => {
    const items = grid({ lr: [0.1, 1], l2: [0, 1e-3] });
    expect(items).toEqual([
      { lr: 0.1, l2: 0 },
      { lr: 0.1, l2: 1e-3 },
      { lr: 1, l2: 0 },
      { lr: 1, l2: 1e-3 },
    ]);
    // The item type is inferred from the lists.
    const lr: number = items[0].lr;
    expect(lr).toBe(0.1);
  });

  it('takes choice() and intRange() as axes', () => {
    const items = grid({ hidden: choice([16, 32] as const), layers: intRange(1, 3) });
    expect(items).toHaveLength(6);
    expect(items.map((i) => i.layers)).toEqual([1, 2, 3, 1, 2, 3]);
    expect(items[5]).toEqual({ hidden: 32, layers: 3 });
  });

  it('rejects an empty axis, an empty space and a continuous distribution', () => {
    expect(() => grid({ lr: [] })).toThrow(/'lr' is an empty list/);
    expect(() => grid({})).toThrow(/no parameters/);
    expect(() => grid({ lr: uniform(0, 1) })).toThrow(/'lr' is uniform\(0, 1\), a continuous distribution/);
  });
});

describe('random', () => {
  const space = { lr: logUniform(1e-4, 1), hidden: choice([16, 32]), dropout: uniform(0, 0.5), layers: intRange(1, 4) };

  it('draws the same trials for the same seed, and others for another seed', () => {
    const a = random(space, { trials: 16, seed: 7 });
    const b = random(space, { trials: 16, seed: 7 });
    const c = random(space, { trials: 16, seed: 8 });
    expect(a).toHaveLength(16);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('keeps every value inside its distribution', () => {
    const items = random(space, { trials: 500, seed: 1 });
    for (const i of items) {
      expect(i.lr).toBeGreaterThanOrEqual(1e-4);
      expect(i.lr).toBeLessThanOrEqual(1);
      expect([16, 32]).toContain(i.hidden);
      expect(i.dropout).toBeGreaterThanOrEqual(0);
      expect(i.dropout).toBeLessThanOrEqual(0.5);
      expect([1, 2, 3, 4]).toContain(i.layers);
    }
    // Log-uniform: about a quarter of the draws in each decade of [1e-4, 1].
    const decades = [0, 0, 0, 0];
    for (const i of items) decades[Math.min(3, Math.floor(Math.log10(i.lr) + 4))]++;
    for (const n of decades) expect(n).toBeGreaterThan(80);
    // Both choices and every integer appear.
    expect(new Set(items.map((i) => i.hidden)).size).toBe(2);
    expect(new Set(items.map((i) => i.layers)).size).toBe(4);
  });

  it('rounds continuous values to 6 significant digits unless told otherwise', () => {
    const [r] = random({ x: uniform(0, 1) }, { trials: 1, rng: () => 0.123456789 });
    expect(r.x).toBe(0.123457);
    const [full] = random({ x: uniform(0, 1) }, { trials: 1, rng: () => 0.123456789, digits: 0 });
    expect(full.x).toBe(0.123456789);
  });

  it('uses an injected rng', () => {
    const seq = [0, 0.999999];
    let i = 0;
    const items = random({ h: choice(['a', 'b']) }, { trials: 2, rng: () => seq[i++] });
    expect(items).toEqual([{ h: 'a' }, { h: 'b' }]);
  });

  it('gives clear errors for bad input', () => {
    expect(() => logUniform(0, 1)).toThrow(/low must be greater than 0/);
    expect(() => uniform(2, 1)).toThrow(/low must be less than high/);
    expect(() => choice([])).toThrow(/at least one value/);
    expect(() => intRange(1, 3, 0)).toThrow(/step must be at least 1/);
    expect(() => random(space, { trials: 0 })).toThrow(/trials must be a whole number/);
  });

  it('seededRng is uniform enough', () => {
    const rng = seededRng(42);
    let sum = 0;
    for (let i = 0; i < 10_000; i++) sum += rng();
    expect(sum / 10_000).toBeGreaterThan(0.48);
    expect(sum / 10_000).toBeLessThan(0.52);
  });
});
