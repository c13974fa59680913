/**
 * Making a try's folders. The calls are synchronous on purpose: the state directory is on
 * local disk (the SQLite store writes there synchronously too), where a mkdir takes tens of
 * microseconds, while handing it to libuv's thread pool costs several times that in CPU
 * (a thread wake-up per call), which short tries feel as lost throughput.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/** Directories already made by this process, so a try pays no mkdir when its folder exists. */
const createdDirs = new Set<string>();
const CREATED_DIRS_KEPT = 50_000;

function remember(dir: string): void {
  if (createdDirs.size >= CREATED_DIRS_KEPT) createdDirs.clear();
  createdDirs.add(dir);
}

/** One directory whose parent exists; one that exists already is fine. */
function mkdirLevel(dir: string): void {
  try {
    mkdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
}

/**
 * Makes a directory and its parents, once per process for a given path. Below a folder known
 * to exist, each missing level is one mkdir (a try's folders are a level or two under its
 * task's); otherwise the whole path is made at once.
 */
export function ensureDir(dir: string): void {
  if (createdDirs.has(dir)) return;
  const missing = [dir];
  for (let d = dirname(dir); missing.length <= 3 && !createdDirs.has(d); d = dirname(d)) {
    if (d === dirname(d)) break;
    missing.push(d);
  }
  if (!createdDirs.has(dirname(missing[missing.length - 1]))) {
    mkdirSync(dir, { recursive: true });
  } else {
    try {
      for (const d of [...missing].reverse()) mkdirLevel(d);
    } catch (e) {
      // A folder known to exist was removed meanwhile (e.g. by `db clean`): make the whole path.
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      mkdirSync(dir, { recursive: true });
    }
  }
  for (const d of missing) remember(d);
}
