import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileArtifactStore } from '../../artifacts/file-store.js';
import { isArtifactRef } from '../../artifacts/offload.js';
import { acceptResultText, readResultFile, type OffloadTarget } from './result-file.js';

let dir: string;
let store: FileArtifactStore;
const target = (maxBytes = 1000): OffloadTarget => ({ store: () => store, key: 'dag_id=d/run_id=r/task_id=t/map_index=-1/attempt=1/result.json', maxBytes });

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-result-file-'));
  store = new FileArtifactStore(path.join(dir, 'store'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('acceptResultText', () => {
  const json = (n: number) => JSON.stringify('x'.repeat(n - 2)); // n bytes of JSON

  it('passes a result up to the inline limit as it is, and writes nothing', async () => {
    expect(await acceptResultText(json(100), 100, target())).toEqual({ ok: true, value: 'x'.repeat(98) });
    expect(await store.list('')).toEqual([]);
  });

  it('writes a result one byte over the limit to the store and returns its reference', async () => {
    const r = await acceptResultText(json(101), 100, target());
    expect(r.ok).toBe(true);
    const ref = (r as { value: unknown }).value;
    expect(isArtifactRef(ref)).toBe(true);
    expect(ref).toEqual({ $artifact: store.uriOf(target().key), bytes: 101 });
    expect((await store.get(target().key)).toString()).toBe(json(101));
  });

  it('refuses a result over the maximum, naming TRAINYARD_RESULT_MAX_BYTES, and writes nothing', async () => {
    expect(await acceptResultText(json(1001), 100, target(1000))).toEqual({
      ok: false,
      message: expect.stringMatching(/^result is 1,001 bytes, over the 1,000-byte maximum for results \(TRAINYARD_RESULT_MAX_BYTES\)/),
    });
    expect(await store.list('')).toEqual([]);
  });

  it('refuses text that is not JSON, over the limit as under it, and writes nothing', async () => {
    const bad = `{"a": ${'1'.repeat(200)}`;
    expect(await acceptResultText(bad, 100, target())).toEqual({ ok: false, message: expect.stringMatching(/^the result is not valid JSON/) });
    expect(await store.list('')).toEqual([]);
  });

  it('without a store, a result over the limit fails as too large', async () => {
    expect(await acceptResultText(json(101), 100)).toEqual({ ok: false, message: expect.stringMatching(/^result is 101 bytes, over the 100-byte limit/) });
  });

  it('names the store and the error when the store cannot be written', async () => {
    fs.writeFileSync(path.join(dir, 'blocker'), 'a file where the store directory should be');
    const blocked = new FileArtifactStore(path.join(dir, 'blocker', 'store'));
    const r = await acceptResultText(json(101), 100, { ...target(), store: () => blocked });
    expect(r).toEqual({ ok: false, message: expect.stringContaining(`over the 100-byte inline limit, and could not be written to the artifact store ${blocked.rootUri}`) });
  });
});

describe('readResultFile with a store', () => {
  it('does not read a file over the maximum', async () => {
    const file = path.join(dir, 'result.json');
    fs.writeFileSync(file, JSON.stringify('y'.repeat(2000)));
    expect(await readResultFile(file, 100, target(1000))).toEqual({ ok: false, message: expect.stringContaining('over the 1,000-byte maximum for results (TRAINYARD_RESULT_MAX_BYTES)') });
  });

  it('offloads a file over the inline limit; a missing file is a null result', async () => {
    const file = path.join(dir, 'result.json');
    fs.writeFileSync(file, JSON.stringify({ rows: 'r'.repeat(500) }));
    const r = await readResultFile(file, 100, target());
    expect(r.ok && isArtifactRef(r.value)).toBe(true);
    expect(await readResultFile(path.join(dir, 'none.json'), 100, target())).toEqual({ ok: true, value: null });
  });
});
