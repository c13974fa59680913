import fs from 'node:fs/promises';
import path from 'node:path';
import { errnoCode } from './errors.js';

/**
 * `mkdir -p`, one level at a time. Node's `mkdir(…, { recursive: true })` spins forever where
 * mkdir keeps answering ENOENT (under /proc, for one); this fails at once there instead.
 */
export async function makeDirs(dir: string): Promise<void> {
  const missing: string[] = [];
  let d = path.resolve(dir);
  for (;;) {
    try {
      const st = await fs.stat(d);
      if (!st.isDirectory()) throw Object.assign(new Error(`ENOTDIR: ${d} is not a directory`), { code: 'ENOTDIR' });
      break;
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') throw e;
      missing.push(d);
      const parent = path.dirname(d);
      if (parent === d) break;
      d = parent;
    }
  }
  for (const m of missing.reverse()) {
    try {
      await fs.mkdir(m);
    } catch (e) {
      // Made meanwhile by a concurrent writer: fine.
      if (errnoCode(e) !== 'EEXIST') throw e;
    }
  }
}
