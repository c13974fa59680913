import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFirstMatch, matchGlob } from './glob.js';

describe('matchGlob', () => {
  it.each([
    ['/data/*.parquet', '/data/a.parquet', true],
    ['/data/*.parquet', '/data/sub/a.parquet', false],
    ['/data/*.parquet', '/data/.hidden.parquet', false],
    ['/data/.*.parquet', '/data/.hidden.parquet', true],
    ['/data/part-?.csv', '/data/part-1.csv', true],
    ['/data/part-?.csv', '/data/part-12.csv', false],
    ['/data/part-[0-3].csv', '/data/part-2.csv', true],
    ['/data/part-[0-3].csv', '/data/part-7.csv', false],
    ['/data/part-[!0-3].csv', '/data/part-7.csv', true],
    ['/data/part-[abc].csv', '/data/part-b.csv', true],
    ['/data/**/_SUCCESS', '/data/_SUCCESS', true],
    ['/data/**/_SUCCESS', '/data/a/b/c/_SUCCESS', true],
    ['/data/**/_SUCCESS', '/data/a/.tmp/_SUCCESS', false],
    ['/data/**', '/data/a/b', true],
    ['/data/a\\*b', '/data/a*b', true],
    ['/data/a\\*b', '/data/axb', false],
    ['/data/(x)+.txt', '/data/(x)+.txt', true],
    ['data/*.csv', '/data/a.csv', false],
  ])('%s vs %s → %s', (pattern, candidate, expected) => {
    expect(matchGlob(pattern, candidate)).toBe(expected);
  });
});

describe('findFirstMatch', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-glob-'));
    fs.mkdirSync(path.join(dir, '2026-11-21/shard=3'), { recursive: true });
    fs.writeFileSync(path.join(dir, '2026-11-21/shard=3/part-0.parquet'), 'x');
    fs.writeFileSync(path.join(dir, '2026-11-21/.part-1.parquet.tmp'), 'x');
    fs.mkdirSync(path.join(dir, 'loop'));
    fs.symlinkSync(dir, path.join(dir, 'loop/back'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('finds a file through * and **', async () => {
    expect((await findFirstMatch(`${dir}/2026-11-21/*/*.parquet`)).match).toBe(path.join(dir, '2026-11-21/shard=3/part-0.parquet'));
    expect((await findFirstMatch(`${dir}/**/part-[0-9].parquet`)).match).toBe(path.join(dir, '2026-11-21/shard=3/part-0.parquet'));
    expect((await findFirstMatch(`${dir}/2026-11-21/shard=3/part-0.parquet`)).match).toBe(path.join(dir, '2026-11-21/shard=3/part-0.parquet'));
  });

  it('finds nothing for a missing path or hidden files, without following symlink loops under **', async () => {
    expect((await findFirstMatch(`${dir}/2026-11-22/*.parquet`)).match).toBeUndefined();
    expect((await findFirstMatch(`${dir}/2026-11-21/*.tmp`)).match).toBeUndefined();
    const r = await findFirstMatch(`${dir}/**/nothing-here`);
    expect(r.match).toBeUndefined();
    expect(r.truncated).toBe(false);
  });

  it('stops at maxEntries', async () => {
    const r = await findFirstMatch(`${dir}/**/nothing-here`, { maxEntries: 1 });
    expect(r).toMatchObject({ truncated: true });
  });
});
