import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureDir } from './dirs.js';

describe('ensureDir', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trainyard-dirs-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('makes nested folders, then sibling levels under them, and again after a known folder was removed', async () => {
    const task = join(dir, 'logs', 'dag_id=d', 'task_id=t');
    await ensureDir(join(task, 'map_index=0', 'attempt=1'));
    await ensureDir(join(task, 'map_index=1', 'attempt=1'));
    await ensureDir(join(task, 'map_index=1', 'attempt=2'));
    expect((await stat(join(task, 'map_index=1', 'attempt=2'))).isDirectory()).toBe(true);
    // Someone removes the task's folder (e.g. `db clean`) while this process remembers it.
    await rm(task, { recursive: true });
    await ensureDir(join(task, 'map_index=2', 'attempt=1'));
    expect((await stat(join(task, 'map_index=2', 'attempt=1'))).isDirectory()).toBe(true);
    // A folder that exists already is fine.
    await mkdir(join(task, 'map_index=3'));
    await ensureDir(join(task, 'map_index=3', 'attempt=1'));
    expect((await stat(join(task, 'map_index=3', 'attempt=1'))).isDirectory()).toBe(true);
  });

  it('makes a folder once for concurrent callers, and tries again after a failure', async () => {
    const blocker = join(dir, 'run');
    await writeFile(blocker, 'a file where a folder should be');
    const target = join(blocker, 'map_index=0');
    const first = ensureDir(target);
    expect(ensureDir(target)).toBe(first);
    await expect(first).rejects.toThrow(/EEXIST|ENOTDIR/);
    await rm(blocker);
    await ensureDir(target);
    expect((await stat(target)).isDirectory()).toBe(true);
  });
});
