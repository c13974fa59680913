import { describe, expect, it } from 'vitest';
import { assetsSatisfied, assetUris, validateAssetExpr, validateAssetUri } from './assets.js';

describe('assets', () => {
  it('validates URIs, naming the field and the fix', () => {
    expect(validateAssetUri('s3://bucket/features/daily', 'outlets')).toBe('s3://bucket/features/daily');
    for (const bad of ['features/daily', 's3://bucket/has space', 's3://b/*', '', 42]) {
      expect(() => validateAssetUri(bad, 'outlets')).toThrow(/outlets: .* is not an asset URI; use scheme:\/\/location/);
    }
  });

  it('evaluates any/all expressions', () => {
    const expr = validateAssetExpr({ all: [{ uri: 'a://x' }, { any: [{ uri: 'b://y' }, { uri: 'c://z' }] }] });
    expect(assetUris(expr)).toEqual(['a://x', 'b://y', 'c://z']);
    expect(assetsSatisfied(expr, new Set(['a://x']))).toBe(false);
    expect(assetsSatisfied(expr, new Set(['a://x', 'c://z']))).toBe(true);
    expect(assetsSatisfied(expr, new Set(['b://y', 'c://z']))).toBe(false);
    expect(() => validateAssetExpr({ any: [] })).toThrow(/needs at least one asset/);
  });
});
