import fs from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** A piece of a log file. Offsets are bytes; `next_offset` always ends on a whole UTF-8 character. */
export interface LogChunk {
  readonly text: string;
  readonly offset: number;
  readonly next_offset: number;
  /** Bytes in the file when it was read. */
  readonly size: number;
}

/** How many leading bytes of `buf` are whole UTF-8 characters (a cut multi-byte character is left for the next read). */
export function wholeUtf8Length(buf: Buffer): number {
  const len = buf.length;
  let i = len - 1;
  while (i >= 0 && i > len - 4 && (buf[i] & 0xc0) === 0x80) i--;
  if (i < 0) return len;
  const lead = buf[i];
  const needed = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return i + needed > len ? i : len;
}

/** Reads up to `length` bytes from `offset`. A log that does not exist yet reads as empty. */
export async function readLogRange(file: string, offset: number, length: number): Promise<LogChunk> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { text: '', offset, next_offset: offset, size: 0 };
    throw e;
  }
  try {
    const { size } = await handle.stat();
    const want = Math.max(0, Math.min(length, size - offset));
    if (want === 0) return { text: '', offset, next_offset: offset, size };
    const buf = Buffer.alloc(want);
    const { bytesRead } = await handle.read(buf, 0, want, offset);
    let used = wholeUtf8Length(buf.subarray(0, bytesRead));
    // A read too short for even one character: hand it over as it is rather than stall.
    if (used === 0) used = bytesRead;
    return { text: buf.toString('utf8', 0, used), offset, next_offset: offset + used, size };
  } finally {
    await handle.close();
  }
}

export type FollowEvent = ({ readonly kind: 'data' } & LogChunk) | { readonly kind: 'idle' };

export interface FollowOptions {
  readonly file: string;
  readonly offset: number;
  /** True once the try has ended and its log will not grow. */
  readonly isFinished: () => Promise<boolean>;
  readonly signal: AbortSignal;
  readonly pollMs?: number;
  /** An `idle` event after this long without data, so the connection stays open through proxies. */
  readonly idleMs?: number;
  readonly chunkBytes?: number;
}

/**
 * Yields a log's new data as it is appended, until the try finishes (after a last read, so
 * nothing written before the end is lost) or the signal aborts.
 */
export async function* followLog(o: FollowOptions): AsyncGenerator<FollowEvent> {
  const pollMs = o.pollMs ?? 200;
  const idleMs = o.idleMs ?? 15_000;
  const chunkBytes = o.chunkBytes ?? 256 * 1024;
  let offset = o.offset;
  let quietSince = Date.now();
  let finalPass = false;
  while (!o.signal.aborted) {
    const chunk = await readLogRange(o.file, offset, chunkBytes);
    if (chunk.next_offset > offset) {
      offset = chunk.next_offset;
      quietSince = Date.now();
      yield { kind: 'data', ...chunk };
      continue;
    }
    if (finalPass) return;
    // Read once more after the try is seen finished: its last lines may have landed meanwhile.
    if (await o.isFinished()) {
      finalPass = true;
      continue;
    }
    if (Date.now() - quietSince >= idleMs) {
      quietSince = Date.now();
      yield { kind: 'idle' };
    }
    try {
      await sleep(pollMs, undefined, { signal: o.signal });
    } catch {
      return;
    }
  }
}
