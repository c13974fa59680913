/**
 * Making a try's folders, off the event loop: a mkdir on ext4 takes 0.1 ms or more (it
 * allocates a block), and a try makes several, so made synchronously they hold up every other
 * launch and event of the same turn.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Directories already made by this process, so a try pays no mkdir when its folder exists. */
const createdDirs = new Set<string>();
const CREATED_DIRS_KEPT = 50_000;

function remember(dir: string): void {
  if (createdDirs.size >= CREATED_DIRS_KEPT) createdDirs.clear();
  createdDirs.add(dir);
}

/** One directory whose parent exists; one that exists already is fine. */
async function mkdirLevel(dir: string): Promise<void> {
  try {
    await mkdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
}

/** Directories being made now, so that a second caller waits for the same mkdir. */
const makingDirs = new Map<string, Promise<void>>();

/**
 * Makes a directory and its parents, once per process for a given path. Below a folder known
 * to exist, each missing level is one mkdir (a try's folders are a level or two under its
 * task's); otherwise the whole path is made at once.
 */
export function ensureDir(dir: string): Promise<void> {
  if (createdDirs.has(dir)) return Promise.resolve();
  let making = makingDirs.get(dir);
  if (!making) {
    making = makeDir(dir).finally(() => makingDirs.delete(dir));
    makingDirs.set(dir, making);
  }
  return making;
}

async function makeDir(dir: string): Promise<void> {
  const missing = [dir];
  for (let d = dirname(dir); missing.length <= 3 && !createdDirs.has(d); d = dirname(d)) {
    if (d === dirname(d)) break;
    missing.push(d);
  }
  if (!createdDirs.has(dirname(missing[missing.length - 1]))) {
    await mkdir(dir, { recursive: true });
  } else {
    try {
      for (const d of [...missing].reverse()) await mkdirLevel(d);
    } catch (e) {
      // A folder known to exist was removed meanwhile (e.g. by `db clean`): make the whole path.
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      await mkdir(dir, { recursive: true });
    }
  }
  for (const d of missing) remember(d);
}
