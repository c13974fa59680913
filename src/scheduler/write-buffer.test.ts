import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrateToLatest, openSqlite } from '../store/db.js';
import { run, ti } from '../store/store.conformance.js';
import { Store, type TiChange } from '../store/store.js';
import { WriteBuffer } from './write-buffer.js';

describe('WriteBuffer', () => {
  let dir: string;
  let close: () => Promise<void>;
  let store: Store;
  let missed: TiChange[];
  let buffer: WriteBuffer;
  const key = (taskId: string) => ({ dagId: 'd', runId: 'r', taskId, mapIndex: -1 });
  const state = async (taskId: string) => (await store.getTaskInstance(key(taskId)))?.state;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-writes-'));
    const opened = openSqlite(path.join(dir, 'trainyard.db'));
    await migrateToLatest(opened.db);
    close = opened.close;
    store = new Store(opened.db, 'sqlite');
    await store.createRun(run('d', 'r'));
    await store.insertTaskInstances([ti('d', 'r', 'a', -1, { state: 'scheduled' }), ti('d', 'r', 'b', -1, { state: 'running' })]);
    missed = [];
    buffer = new WriteBuffer((m) => missed.push(...m));
  });
  afterEach(async () => {
    await close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('holds changes until a flush, then applies one row’s changes in order', async () => {
    buffer.ti({ key: key('a'), from: ['scheduled'], set: { state: 'queued' } });
    buffer.ti({ key: key('a'), from: ['queued'], set: { state: 'running' } });
    expect(await state('a')).toBe('scheduled');
    await buffer.flush(store);
    expect(await state('a')).toBe('running');
    expect(missed).toEqual([]);
    expect(buffer.empty).toBe(true);
  });

  it('reports a change whose row moved on, and still applies that row’s later changes', async () => {
    const stale: TiChange = { key: key('b'), from: ['queued'], set: { state: 'running' } };
    buffer.ti(stale);
    buffer.ti({ key: key('b'), from: ['running'], set: { state: 'success' } });
    await buffer.flush(store);
    expect(missed).toEqual([stale]);
    expect(await state('b')).toBe('success');
  });

  it('through wrap(), any other store call sees what was held', async () => {
    const tx = buffer.wrap(store);
    buffer.ti({ key: key('a'), from: ['scheduled'], set: { state: 'queued' } });
    buffer.insertTries([
      { dag_id: 'd', run_id: 'r', task_id: 'a', map_index: -1, try_number: 1, state: 'queued', executor: 'local', queued_at: 1, log_path: '/l', counts_against_budget: 1 },
    ]);
    buffer.tryChange({ key: { ...key('a'), tryNumber: 1 }, from: ['queued'], set: { state: 'running' } });
    expect((await tx.getTaskInstance(key('a')))?.state).toBe('queued');
    expect((await tx.listTries(key('a'))).map((t) => t.state)).toEqual(['running']);
  });

  it('discard() drops what was held', async () => {
    buffer.ti({ key: key('a'), from: ['scheduled'], set: { state: 'queued' } });
    buffer.discard();
    await buffer.flush(store);
    expect(await state('a')).toBe('scheduled');
  });
});
