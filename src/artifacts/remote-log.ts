import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import { ArtifactError, errnoCode } from './errors.js';
import { tryPrefix, type TryKeyParts } from './keys.js';
import type { ArtifactStore, PutResult } from './types.js';

/** The environment variable of the remote log store (config key `remoteLogs`). */
export const REMOTE_LOGS_ENV = 'TRAINYARD_REMOTE_LOGS';

/** A piece of a log, in the same shape as the API's local log chunks. Offsets are bytes. */
export interface RemoteLogChunk {
  readonly text: string;
  readonly offset: number;
  /** Where the next read starts; always on a whole UTF-8 character. */
  readonly next_offset: number;
  /** Bytes in the stored log. */
  readonly size: number;
}

/**
 * The key of a try's log in a log store: `dag_id=…/run_id=…/task_id=…/map_index=…/attempt=N.log`,
 * the layout of `$TRAINYARD_HOME/logs` (HomeLayout.logPath), so a store rooted at
 * `s3://bucket/trainyard/logs/` mirrors the local log directory.
 */
export function logKey(k: TryKeyParts): string {
  const p = tryPrefix(k);
  return `${p.slice(0, -1)}.log`;
}

/** Logs up to this size are read whole and written in one request; larger ones are streamed. */
export const SHIP_WHOLE_MAX_BYTES = 4 * 1024 * 1024;

/**
 * Copies a finished try's log file to the store (remote logging): a small log in one request,
 * a large one streamed. A log that does not exist (a try that never started) is stored as an
 * empty object, so readers find it.
 */
export async function shipLog(localPath: string, store: ArtifactStore, key: string): Promise<PutResult> {
  const contentType = 'text/plain; charset=utf-8';
  let size: number;
  try {
    size = (await fs.stat(localPath)).size;
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return store.put(key, Buffer.alloc(0), { contentType });
    throw new ArtifactError('ARTIFACT_IO', `cannot read the log ${localPath} to ship it: ${(e as Error).message}`);
  }
  if (size <= SHIP_WHOLE_MAX_BYTES) {
    let body: Buffer;
    try {
      body = await fs.readFile(localPath);
    } catch (e) {
      throw new ArtifactError('ARTIFACT_IO', `cannot read the log ${localPath} to ship it: ${(e as Error).message}`);
    }
    return store.put(key, body, { contentType });
  }
  return store.put(key, createReadStream(localPath), { contentType });
}

/** How many leading bytes of `buf` are whole UTF-8 characters. */
function wholeUtf8(buf: Buffer): number {
  let i = buf.length - 1;
  // Step back over continuation bytes (10xxxxxx), at most three.
  while (i >= 0 && i > buf.length - 4 && (buf[i] & 0xc0) === 0x80) i--;
  if (i < 0) return buf.length;
  const lead = buf[i];
  const width = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return i + width > buf.length ? i : buf.length;
}

/**
 * Reads part of a shipped log with a range request: up to `length` bytes from `offset`
 * (default: the whole log). A character cut at the end is left for the next read. A negative
 * offset counts from the end (`-4096`: the last 4 KiB, from a character boundary).
 */
export async function readLog(store: ArtifactStore, key: string, range: { offset?: number; length?: number } = {}): Promise<RemoteLogChunk> {
  const st = await store.stat(key);
  if (!st) throw new ArtifactError('ARTIFACT_NOT_FOUND', `log ${store.uriOf(key)} has not been shipped (it does not exist)`, store.uriOf(key));
  const size = st.size;
  let offset = range.offset ?? 0;
  let fromEnd = false;
  if (offset < 0) {
    offset = Math.max(0, size + offset);
    fromEnd = offset > 0;
  }
  const length = range.length ?? size - offset;
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || length < 0) {
    throw new ArtifactError('ARTIFACT_KEY_INVALID', `log range offset=${range.offset} length=${range.length} is not valid: use integers, length ≥ 0`);
  }
  if (offset >= size || length === 0) return { text: '', offset, next_offset: offset, size };
  let buf = await store.getRange(key, { offset, length });
  if (fromEnd) {
    // Reading from the end may start inside a character: skip its continuation bytes.
    let skip = 0;
    while (skip < buf.length && skip < 3 && (buf[skip] & 0xc0) === 0x80) skip++;
    buf = buf.subarray(skip);
    offset += skip;
  }
  let used = wholeUtf8(buf);
  if (used === 0) used = buf.length;
  return { text: buf.toString('utf8', 0, used), offset, next_offset: offset + used, size };
}
