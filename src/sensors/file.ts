import path from 'node:path';
import { DagValidationError } from '../core/errors.js';
import { findFirstMatch, hasMagic } from './glob.js';
import type { SensorCheck } from './types.js';

export interface FileSensorOptions {
  /** A path or a glob (`*`, `?`, `**`, `[abc]`), e.g. "/data/2026-11-21/*.parquet". */
  path: string;
  /** What a relative path is relative to; default the process's working directory. */
  baseDir?: string;
  /** Directory entries one check may read at most; default 100,000. */
  maxEntries?: number;
}

/** Done when a file, directory or glob match exists; the value is `{ path }` of the first match. */
export function fileSensor(opts: FileSensorOptions): SensorCheck {
  if (typeof opts?.path !== 'string' || opts.path.trim() === '') {
    throw new DagValidationError('SENSOR_OPTION_INVALID', 'fileSensor needs a path: a file path or a glob such as "/data/{{ ds }}/*.parquet".');
  }
  const pattern = path.isAbsolute(opts.path) ? opts.path : path.join(opts.baseDir ?? process.cwd(), opts.path);
  const glob = hasMagic(pattern);
  return async (ctx) => {
    const r = await findFirstMatch(pattern, { signal: ctx.signal, maxEntries: opts.maxEntries });
    if (r.match !== undefined) return { done: true, value: { path: r.match } };
    if (r.error) return { done: false, detail: `${r.error}; checking again` };
    if (r.truncated) {
      return { done: false, detail: `no file matches ${pattern} among the first ${r.scanned} entries read; narrow the pattern so that a check reads fewer directories` };
    }
    return { done: false, detail: glob ? `no file matches ${pattern} yet` : `${pattern} does not exist yet` };
  };
}
