import { open } from 'node:fs/promises';

export type ResultRead = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly message: string };

const fmt = (n: number) => n.toLocaleString('en-US');

/** The message for a result over the limit; names the limit and what to do instead. */
export function resultTooLargeMessage(bytes: number, limit: number): string {
  return (
    `result is ${fmt(bytes)} bytes, over the ${fmt(limit)}-byte limit; write large outputs to the artifact store ` +
    `(TRAINYARD_ARTIFACTS_DIR) and return their URI`
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
 * Reads the result a task wrote. No file means a null result. The size is checked before
 * reading, so a huge file is never loaded.
 */
export async function readResultFile(path: string, limitBytes: number): Promise<ResultRead> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { ok: true, value: null };
    return { ok: false, message: `the result file could not be read: ${(err as Error).message}` };
  }
  try {
    const { size } = await handle.stat();
    if (size > limitBytes) return { ok: false, message: resultTooLargeMessage(size, limitBytes) };
    return parseJson(await handle.readFile('utf8'));
  } finally {
    await handle.close();
  }
}
