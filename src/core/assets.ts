import { DagValidationError } from './errors.js';

/** A schedule on assets: a run when the expression is satisfied by events since the last such run. */
export type AssetExpr = { readonly uri: string } | { readonly any: readonly AssetExpr[] } | { readonly all: readonly AssetExpr[] };

const ASSET_URI = /^[a-z][a-z0-9+.-]*:\/\/[^\s]+$/i;

/** Checks an asset URI ("s3://bucket/features/daily", "file:///data/x"), naming the field and the fix. */
export function validateAssetUri(uri: unknown, field: string): string {
  if (typeof uri !== 'string' || !ASSET_URI.test(uri) || uri.includes('*')) {
    throw new DagValidationError(
      'INVALID_ASSET_URI',
      `${field}: ${JSON.stringify(uri)} is not an asset URI; use scheme://location with no spaces or wildcards, e.g. "s3://bucket/features/daily"`,
    );
  }
  return uri;
}

export function assetUris(expr: AssetExpr): string[] {
  if ('uri' in expr) return [expr.uri];
  return [...new Set(('any' in expr ? expr.any : expr.all).flatMap(assetUris))];
}

/** Whether the expression holds, given the URIs that have had an event. */
export function assetsSatisfied(expr: AssetExpr, updated: ReadonlySet<string>): boolean {
  if ('uri' in expr) return updated.has(expr.uri);
  if ('any' in expr) return expr.any.some((e) => assetsSatisfied(e, updated));
  return expr.all.length > 0 && expr.all.every((e) => assetsSatisfied(e, updated));
}

export function validateAssetExpr(expr: AssetExpr, field = 'schedule'): AssetExpr {
  if ('uri' in expr) return { uri: validateAssetUri(expr.uri, field) };
  const list = 'any' in expr ? expr.any : 'all' in expr ? expr.all : undefined;
  if (!list || list.length === 0) throw new DagValidationError('INVALID_ASSET_SCHEDULE', `${field}: an any()/all() of assets needs at least one asset`);
  const inner = list.map((e) => validateAssetExpr(e, field));
  return 'any' in expr ? { any: inner } : { all: inner };
}
