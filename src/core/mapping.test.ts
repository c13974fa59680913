import { describe, expect, it, vi } from 'vitest';
import type { MapSource, MappingSpec } from './spec.js';
import { describeType, expandMapping, mapLength, type MappingExpansion } from './mapping.js';

const lit = (...values: unknown[]): MapSource => ({ kind: 'literal', values });
const res = (taskId: string, ...path: string[]): MapSource => ({ kind: 'result', taskId, path });

function spec(
  mode: MappingSpec['mode'],
  sources: Record<string, MapSource>,
  partial: Record<string, unknown> = {},
): MappingSpec {
  return { mode, sources, partial };
}

/** A resolver that serves upstream results by task id. */
function resultsOf(results: Record<string, unknown>): (src: MapSource) => unknown {
  return (src) => {
    if (src.kind !== 'result') throw new Error('literal sources must not reach the resolver');
    return results[src.taskId];
  };
}

const noResults = resultsOf({});

function items(e: MappingExpansion): Record<string, unknown>[] {
  if (!e.ok) throw new Error(`expected ok, got ${e.code}: ${e.message}`);
  return e.items;
}

function failure(e: MappingExpansion): { code: string; message: string } {
  if (e.ok) throw new Error(`expected an error, got ${e.items.length} items`);
  return e;
}

describe('expandMapping: product', () => {
  it('expands an empty list to no items', () => {
    expect(items(expandMapping(spec('product', { x: lit() }), noResults, 10))).toEqual([]);
  });

  it('expands an empty list inside a product to no items', () => {
    const s = spec('product', { a: lit(1, 2), b: lit() });
    expect(items(expandMapping(s, noResults, 10))).toEqual([]);
  });

  it('expands one item', () => {
    expect(items(expandMapping(spec('product', { x: lit('only') }), noResults, 10))).toEqual([
      { x: 'only' },
    ]);
  });

  it('crosses three lists with the first key varying slowest', () => {
    const s = spec('product', { a: lit(1, 2), b: lit('x', 'y', 'z'), c: lit(true, false) });
    const got = items(expandMapping(s, noResults, 100));
    expect(got).toHaveLength(12);
    expect(got.slice(0, 4)).toEqual([
      { a: 1, b: 'x', c: true },
      { a: 1, b: 'x', c: false },
      { a: 1, b: 'y', c: true },
      { a: 1, b: 'y', c: false },
    ]);
    expect(got[6]).toEqual({ a: 2, b: 'x', c: true });
    expect(got[11]).toEqual({ a: 2, b: 'z', c: false });
    // Every combination exactly once.
    const seen = new Set(got.map((i) => JSON.stringify([i.a, i.b, i.c])));
    expect(seen.size).toBe(12);
  });

  it('keeps key order from the sources, not alphabetical order', () => {
    const s = spec('product', { z: lit(1, 2), a: lit(3, 4) });
    expect(items(expandMapping(s, noResults, 10)).map((i) => [i.z, i.a])).toEqual([
      [1, 3],
      [1, 4],
      [2, 3],
      [2, 4],
    ]);
  });

  it('reads result sources through the resolver, once per source', () => {
    const resolve = vi.fn(resultsOf({ list_files: ['a.csv', 'b.csv'] }));
    const s = spec('product', { file: res('list_files'), lr: lit(0.1) });
    expect(items(expandMapping(s, resolve, 10))).toEqual([
      { file: 'a.csv', lr: 0.1 },
      { file: 'b.csv', lr: 0.1 },
    ]);
    expect(resolve).toHaveBeenCalledTimes(1);
    expect(resolve).toHaveBeenCalledWith({ kind: 'result', taskId: 'list_files', path: [] });
  });

  it('returns no items when there are no sources', () => {
    expect(items(expandMapping(spec('product', {}), noResults, 10))).toEqual([]);
  });

  it('keeps values as they are, objects included', () => {
    const obj = { nested: [1, 2] };
    expect(items(expandMapping(spec('product', { x: lit(obj, null) }), noResults, 10))).toEqual([
      { x: obj },
      { x: null },
    ]);
  });
});

describe('expandMapping: zip', () => {
  it('pairs lists position by position', () => {
    const s = spec('zip', { lr: lit(0.1, 0.01, 0.001), bs: lit(32, 64, 128) });
    expect(items(expandMapping(s, noResults, 10))).toEqual([
      { lr: 0.1, bs: 32 },
      { lr: 0.01, bs: 64 },
      { lr: 0.001, bs: 128 },
    ]);
  });

  it('rejects lists of unequal length instead of truncating, naming each length', () => {
    const s = spec('zip', { lr: lit(0.1, 0.01, 0.001), bs: lit(32, 64) });
    const e = failure(expandMapping(s, noResults, 10));
    expect(e.code).toBe('MAP_ZIP_LENGTH_MISMATCH');
    expect(e.message).toContain("'lr' has 3");
    expect(e.message).toContain("'bs' has 2");
    expect(e.message).toContain("mode 'product'");
  });

  it('zips two empty lists to no items', () => {
    expect(items(expandMapping(spec('zip', { a: lit(), b: lit() }), noResults, 10))).toEqual([]);
  });

  it('checks the zipped length against the limit, not the sum of lengths', () => {
    const s = spec('zip', { a: lit(1, 2, 3), b: lit(4, 5, 6) });
    expect(items(expandMapping(s, noResults, 3))).toHaveLength(3);
  });
});

describe('expandMapping: kwargs', () => {
  it('makes one item per object', () => {
    const s = spec('kwargs', { kwargs: res('make_configs') });
    const resolve = resultsOf({ make_configs: [{ lr: 0.1, bs: 32 }, { lr: 0.2 }] });
    expect(items(expandMapping(s, resolve, 10))).toEqual([{ lr: 0.1, bs: 32 }, { lr: 0.2 }]);
  });

  it('rejects an item that is not a plain object, naming its index and type', () => {
    const s = spec('kwargs', { kwargs: lit({ a: 1 }, [1, 2]) });
    const e = failure(expandMapping(s, noResults, 10));
    expect(e.code).toBe('MAP_KWARGS_NOT_OBJECT');
    expect(e.message).toContain('item 1');
    expect(e.message).toContain('a list');
  });

  it('rejects null and strings among kwargs', () => {
    expect(failure(expandMapping(spec('kwargs', { kwargs: lit(null) }), noResults, 10)).code).toBe(
      'MAP_KWARGS_NOT_OBJECT',
    );
    const e = failure(expandMapping(spec('kwargs', { kwargs: lit({}, 'lr=1') }), noResults, 10));
    expect(e.message).toMatch(/item 1 is a string \("lr=1"\)/);
  });

  it('rejects class instances such as dates', () => {
    const e = failure(expandMapping(spec('kwargs', { kwargs: lit(new Date(0)) }), noResults, 10));
    expect(e.code).toBe('MAP_KWARGS_NOT_OBJECT');
  });

  it('rejects a kwargs source that is not a list', () => {
    const e = failure(expandMapping(spec('kwargs', { kwargs: res('t') }), resultsOf({ t: { a: 1 } }), 10));
    expect(e.code).toBe('MAP_INPUT_NOT_LIST');
    expect(e.message).toContain("'kwargs'");
  });

  it('has no items without a kwargs source', () => {
    expect(items(expandMapping(spec('kwargs', {}), noResults, 10))).toEqual([]);
  });
});

describe('expandMapping: partial', () => {
  it('merges partial values into every product item', () => {
    const s = spec('product', { lr: lit(0.1, 0.2) }, { epochs: 5, dataset: 'mnist' });
    expect(items(expandMapping(s, noResults, 10))).toEqual([
      { epochs: 5, dataset: 'mnist', lr: 0.1 },
      { epochs: 5, dataset: 'mnist', lr: 0.2 },
    ]);
  });

  it('merges partial first, so a mapped value wins on a clash', () => {
    const s = spec('zip', { lr: lit(0.5) }, { lr: 1, epochs: 3 });
    expect(items(expandMapping(s, noResults, 10))).toEqual([{ lr: 0.5, epochs: 3 }]);
    const k = spec('kwargs', { kwargs: lit({ epochs: 9 }) }, { epochs: 3, seed: 1 });
    expect(items(expandMapping(k, noResults, 10))).toEqual([{ epochs: 9, seed: 1 }]);
  });

  it('gives each item its own object', () => {
    const got = items(expandMapping(spec('product', { x: lit(1, 2) }, { p: 0 }), noResults, 10));
    got[0].p = 99;
    expect(got[1].p).toBe(0);
  });
});

describe('expandMapping: limits', () => {
  it('allows exactly maxMapLength items', () => {
    const s = spec('product', { a: lit(1, 2, 3), b: lit(1, 2) });
    expect(items(expandMapping(s, noResults, 6))).toHaveLength(6);
  });

  it('rejects one more than maxMapLength, naming the count, limit and option', () => {
    const s = spec('product', { a: lit(1, 2, 3), b: lit(1, 2) });
    const e = failure(expandMapping(s, noResults, 5));
    expect(e.code).toBe('MAP_LENGTH_EXCEEDED');
    expect(e.message).toContain('6 task instances');
    expect(e.message).toContain('limit of 5');
    expect(e.message).toContain('maxMapLength');
  });

  it('rejects a huge cross product before building it', () => {
    const big = Array.from({ length: 100_000 }, (_, i) => i);
    const s = spec('product', { a: lit(...big), b: lit(...big), c: lit(...big) });
    const e = failure(expandMapping(s, noResults, 10_000));
    expect(e.code).toBe('MAP_LENGTH_EXCEEDED');
    expect(e.message).toContain('1000000000000000 task instances');
  });

  it('rejects an over-long kwargs list', () => {
    const e = failure(expandMapping(spec('kwargs', { kwargs: lit({}, {}, {}) }), noResults, 2));
    expect(e.code).toBe('MAP_LENGTH_EXCEEDED');
  });
});

describe('expandMapping: non-list input', () => {
  const cases: [string, unknown, string][] = [
    ['a string', 'a,b,c', 'a string ("a,b,c")'],
    ['an object', { a: 1 }, 'an object'],
    ['null', null, 'null'],
    ['a number', 42, 'a number (42)'],
    ['nothing', undefined, 'undefined'],
  ];
  for (const [name, value, described] of cases) {
    it(`rejects ${name}, naming the key and the type`, () => {
      const s = spec('product', { files: res('list') });
      const e = failure(expandMapping(s, resultsOf({ list: value }), 10));
      expect(e.code).toBe('MAP_INPUT_NOT_LIST');
      expect(e.message).toContain("'files'");
      expect(e.message).toContain(described);
    });
  }
});

describe('mapLength', () => {
  it('counts without building items', () => {
    const s = spec('product', { a: lit(1, 2, 3), b: lit(1, 2, 3, 4) });
    expect(mapLength(s, noResults, 100)).toEqual({ ok: true, length: 12 });
  });

  it('reports the same errors as expandMapping', () => {
    const s = spec('zip', { a: lit(1), b: lit(1, 2) });
    const got = mapLength(s, noResults, 100);
    expect(got.ok).toBe(false);
    expect(got.ok ? '' : got.code).toBe('MAP_ZIP_LENGTH_MISMATCH');
    const k = mapLength(spec('kwargs', { kwargs: lit(1) }), noResults, 100);
    expect(k.ok ? '' : k.code).toBe('MAP_KWARGS_NOT_OBJECT');
  });

  it('is zero for empty input', () => {
    expect(mapLength(spec('zip', { a: lit() }), noResults, 0)).toEqual({ ok: true, length: 0 });
  });
});

describe('describeType', () => {
  it('names JSON types plainly and truncates long strings', () => {
    expect(describeType([])).toBe('a list');
    expect(describeType(true)).toBe('a boolean (true)');
    expect(describeType('x'.repeat(100))).toBe(`a string ("${'x'.repeat(40)}…")`);
  });
});
