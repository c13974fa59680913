import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dag } from '../src/index.js';
import { cleanOldRuns } from '../src/store/retention.js';
import { registerDag, tempStore } from './support/harness.js';

let t: Awaited<ReturnType<typeof tempStore>>;
afterEach(async () => t?.close());

const DAY = 86_400_000;

describe('db clean', () => {
  it('deletes finished runs older than the cut-off, in batches, with their rows and logs; keeps the rest', async () => {
    t = await tempStore();
    const d = dag('old');
    d.command('t', { command: 'true' });
    const hash = await registerDag(t.store, d);
    const now = 200 * DAY;
    const mk = async (runId: string, state: 'success' | 'failed' | 'running', endedDaysAgo: number | null) => {
      await t.store.createRun({ dag_id: 'old', run_id: runId, state, run_type: 'manual', version_hash: hash, conf: '{}', params: '{}', logical_date: 0, data_interval_start: 0, data_interval_end: 0, queued_at: 0, start_date: 0, end_date: endedDaysAgo === null ? null : now - endedDaysAgo * DAY, change_seq: 0, note: null });
      await t.store.insertTaskInstances([{ dag_id: 'old', run_id: runId, task_id: 't', map_index: -1, state: 'success', pool: 'default_pool', updated_at: 0, try_number: 1, budget_tries: 0, free_retries: 0, priority_weight: 1, pool_slots: 1 }]);
      await t.store.insertMetrics([{ dag_id: 'old', run_id: runId, task_id: 't', map_index: -1, try_number: 1, name: 'loss', step: 1, value: 0.5, at: 0 }]);
      const dir = path.join(t.home, 'logs', 'dag_id=old', `run_id=${runId}`);
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'x.log'), 'x');
    };
    for (let i = 0; i < 7; i++) await mk(`ancient${i}`, i % 2 ? 'failed' : 'success', 120);
    await mk('recent', 'success', 10);
    await mk('live', 'running', null);
    const opts = { before: now - 90 * DAY, batchSize: 3, logDirOf: (dagId: string, runId: string) => path.join(t.home, 'logs', `dag_id=${dagId}`, `run_id=${runId}`) };
    expect(await cleanOldRuns(t.store, { ...opts, dryRun: true })).toMatchObject({ runs: 7 });
    expect(await t.store.listRuns({ dagId: 'old' })).toHaveLength(9);
    expect(await cleanOldRuns(t.store, { ...opts, dryRun: false })).toEqual({ runs: 7, batches: 3, logDirsRemoved: 7 });
    expect((await t.store.listRuns({ dagId: 'old' })).map((r) => r.run_id).sort()).toEqual(['live', 'recent']);
    expect(await t.store.db.selectFrom('task_instance').select('run_id').execute()).toHaveLength(2);
    expect(await t.store.db.selectFrom('metric').select('run_id').execute()).toHaveLength(2);
    expect(fs.existsSync(path.join(t.home, 'logs', 'dag_id=old', 'run_id=ancient0'))).toBe(false);
    expect(fs.existsSync(path.join(t.home, 'logs', 'dag_id=old', 'run_id=recent'))).toBe(true);
  });
});
