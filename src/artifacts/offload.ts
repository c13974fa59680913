import { ArtifactError } from './errors.js';
import { joinKey, tryPrefix, type TryKeyParts } from './keys.js';
import type { ArtifactStore } from './types.js';

/** A result that was too large to pass inline: where it is, and its size in bytes. */
export interface ArtifactRef {
  readonly $artifact: string;
  readonly bytes: number;
}

export type OffloadedResult = { readonly inline: unknown } | { readonly ref: ArtifactRef };

/** True for exactly `{ "$artifact": string, "bytes": number }`. */
export function isArtifactRef(v: unknown): v is ArtifactRef {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const keys = Object.keys(v);
  const o = v as Record<string, unknown>;
  return keys.length === 2 && typeof o.$artifact === 'string' && typeof o.bytes === 'number';
}

/**
 * Whether a stored result is a reference, or a list holding references (the results of a
 * mapped task). Only whole results are offloaded, so a reference is never deeper than that.
 */
export function holdsArtifactRef(v: unknown): boolean {
  return isArtifactRef(v) || (Array.isArray(v) && v.some(isArtifactRef));
}

/**
 * Where a try's offloaded result is kept: `trainyard.result.json` under the try's own prefix
 * (a name of its own, so that it never replaces a file the task wrote to its artifacts).
 */
export function resultKey(k: TryKeyParts): string {
  return joinKey(tryPrefix(k), 'trainyard.result.json');
}

/**
 * Passes a result inline when its JSON is at most `limitBytes` (UTF-8 bytes), else writes the
 * JSON to `key` in the store and returns a reference to it. The JSON must parse either way, so
 * that resolving the reference later cannot fail on it.
 */
export async function offloadIfLarge(resultJson: string, limitBytes: number, store: ArtifactStore, key: string): Promise<OffloadedResult> {
  let value: unknown;
  try {
    value = JSON.parse(resultJson);
  } catch (e) {
    throw new ArtifactError('RESULT_NOT_JSON', `the task result is not valid JSON (${(e as Error).message}); write one JSON document to TRAINYARD_RESULT_PATH`);
  }
  const bytes = Buffer.byteLength(resultJson);
  if (bytes <= limitBytes) return { inline: value };
  const put = await store.put(key, Buffer.from(resultJson), { contentType: 'application/json' });
  return { ref: { $artifact: put.uri, bytes } };
}

/**
 * Replaces every `$artifact` reference in a value (at the top, or inside arrays and plain
 * objects, as in the results of a mapped task) with the JSON it points to. Other values come
 * back unchanged. A reference outside the store, or to a missing object, throws
 * ARTIFACT_REF_INVALID or ARTIFACT_NOT_FOUND.
 */
export async function resolveResult(value: unknown, store: ArtifactStore): Promise<unknown> {
  if (isArtifactRef(value)) return readRef(value, store);
  if (Array.isArray(value)) {
    let changed = false;
    const out: unknown[] = [];
    for (const v of value) {
      const r = await resolveResult(v, store);
      changed ||= r !== v;
      out.push(r);
    }
    return changed ? out : value;
  }
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    let changed = false;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const r = await resolveResult(v, store);
      changed ||= r !== v;
      out[k] = r;
    }
    return changed ? out : value;
  }
  return value;
}

async function readRef(ref: ArtifactRef, store: ArtifactStore): Promise<unknown> {
  const key = store.keyOf(ref.$artifact);
  if (key === undefined) {
    throw new ArtifactError(
      'ARTIFACT_REF_INVALID',
      `result reference ${ref.$artifact} is outside the artifact store ${store.rootUri}; the result was offloaded under another artifacts URI — configure that one to read it`,
      ref.$artifact,
    );
  }
  const buf = await store.get(key);
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch (e) {
    throw new ArtifactError('ARTIFACT_REF_INVALID', `offloaded result ${ref.$artifact} is not valid JSON (${(e as Error).message})`, ref.$artifact);
  }
}
