import { statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { ArtifactError } from '../../artifacts/errors.js';
import { offloadIfLarge } from '../../artifacts/offload.js';
import type { ArtifactStore } from '../../artifacts/types.js';

export type ResultRead = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly message: string };

/** Where a result over the inline limit goes, and the largest result accepted at all. */
export interface OffloadTarget {
  readonly store: () => ArtifactStore | Promise<ArtifactStore>;
  /** The object's key in the store (the try's prefix, `trainyard.result.json`). */
  readonly key: string;
  readonly maxBytes: number;
}

/** The setting that bounds offloaded results. */
export const RESULT_MAX_ENV = 'TRAINYARD_RESULT_MAX_BYTES';

const fmt = (n: number) => n.toLocaleString('en-US');

/** The message for a result over the limit; names the limit and what to do instead. */
export function resultTooLargeMessage(bytes: number, limit: number): string {
  return (
    `result is ${fmt(bytes)} bytes, over the ${fmt(limit)}-byte limit; write large outputs to the artifact store ` +
    `(TRAINYARD_ARTIFACTS_DIR) and return their URI`
  );
}

/** The message for a result too large even for the artifact store; names the setting. */
export function resultOverMaxMessage(bytes: number, max: number): string {
  return (
    `result is ${fmt(bytes)} bytes, over the ${fmt(max)}-byte maximum for results (${RESULT_MAX_ENV}); ` +
    `write large outputs as files to the artifact store (TRAINYARD_ARTIFACTS_DIR) and return their URI`
  );
}

/** Parses result JSON text, checking its size in bytes first. */
export function parseResultText(text: string, limitBytes: number): ResultRead {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > limitBytes) return { ok: false, message: resultTooLargeMessage(bytes, limitBytes) };
  return parseJson(text);
}

function parseJson(text: string): ResultRead {
  if (text.trim() === '') return { ok: false, message: 'the result file is empty; write a JSON document (e.g. null or {}) or no file at all' };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    const preview = text.length > 80 ? `${text.slice(0, 80)}…` : text;
    return { ok: false, message: `the result is not valid JSON (${(err as Error).message}): ${JSON.stringify(preview)}` };
  }
}

/**
 * Accepts result JSON text: up to `limitBytes` it is parsed and passed inline; above that,
 * with a target, it is written to the artifact store and the value becomes the reference
 * `{"$artifact": uri, "bytes": n}`. Without a target, or above the target's maximum, the
 * result is refused with a message that names the limit.
 */
export async function acceptResultText(text: string, limitBytes: number, target?: OffloadTarget): Promise<ResultRead> {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (!target || bytes <= limitBytes) return parseResultText(text, limitBytes);
  if (bytes > target.maxBytes) return { ok: false, message: resultOverMaxMessage(bytes, target.maxBytes) };
  let store: ArtifactStore | undefined;
  try {
    store = await target.store();
    const stored = await offloadIfLarge(text, limitBytes, store, target.key);
    return { ok: true, value: 'ref' in stored ? stored.ref : stored.inline };
  } catch (err) {
    if (err instanceof ArtifactError && err.code === 'RESULT_NOT_JSON') return parseJson(text);
    const where = store ? ` ${store.rootUri}` : '';
    return {
      ok: false,
      message:
        `result is ${fmt(bytes)} bytes, over the ${fmt(limitBytes)}-byte inline limit, and could not be written to the artifact store${where}: ` +
        `${(err as Error).message} (check TRAINYARD_ARTIFACT_STORE and the store's endpoint and credentials)`,
    };
  }
}

/**
 * Opens the result a task wrote, once. No file means a null result. The size is known before
 * reading, so `read(size)` decides what to do with a large file without loading it.
 */
async function withResultFile<T>(path: string, read: (size: number, text: () => Promise<string>) => Promise<T | ResultRead>): Promise<T | ResultRead> {
  // Most short tasks write no result: a synchronous stat tells so for a fraction of what a
  // failed open through the thread pool costs.
  if (!statSync(path, { throwIfNoEntry: false })) return { ok: true, value: null };
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { ok: true, value: null };
    return { ok: false, message: `the result file could not be read: ${(err as Error).message}` };
  }
  try {
    const { size } = await handle.stat();
    return await read(size, () => handle.readFile('utf8'));
  } finally {
    await handle.close();
  }
}

/**
 * Reads the result a task wrote: over `limitBytes` the result is refused, or, with a target,
 * offloaded up to the target's maximum (see acceptResultText). A file over the largest size
 * accepted is never loaded.
 */
export function readResultFile(path: string, limitBytes: number, target?: OffloadTarget): Promise<ResultRead> {
  return withResultFile(path, async (size, text) => {
    if (size > (target?.maxBytes ?? limitBytes)) return { ok: false, message: target ? resultOverMaxMessage(size, target.maxBytes) : resultTooLargeMessage(size, limitBytes) };
    return acceptResultText(await text(), limitBytes, target);
  });
}

/** Reads a result file up to `limitBytes`; a larger one is left unread and reported by its size. */
export function readInlineResultFile(path: string, limitBytes: number): Promise<ResultRead | { readonly large: number }> {
  return withResultFile(path, async (size, text) => (size > limitBytes ? { large: size } : parseResultText(await text(), limitBytes)));
}
