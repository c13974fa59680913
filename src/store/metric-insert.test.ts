import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateToLatest, openSqlite, type OpenedDatabase } from './db.js';
import { batchSize, insertMetricRows, METRIC_BATCH, type MetricRow } from './metric-insert.js';

describe('metric batches', () => {
  it('uses full batches, then powers of two: few distinct statements', () => {
    const sizes = (n: number) => {
      const out: number[] = [];
      for (let left = n; left > 0; left -= batchSize(left)) out.push(batchSize(left));
      return out;
    };
    expect(sizes(1)).toEqual([1]);
    expect(sizes(7)).toEqual([4, 2, 1]);
    expect(sizes(METRIC_BATCH * 2 + 5)).toEqual([METRIC_BATCH, METRIC_BATCH, 4, 1]);
    expect(new Set(Array.from({ length: 3000 }, (_, i) => sizes(i + 1)).flat()).size).toBeLessThanOrEqual(9);
  });

  describe('on SQLite', () => {
    let home: string;
    let opened: OpenedDatabase;
    beforeAll(async () => {
      home = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-metric-insert-'));
      opened = openSqlite(path.join(home, 't.db'));
      await migrateToLatest(opened.db);
    });
    afterAll(async () => {
      await opened.close();
      fs.rmSync(home, { recursive: true, force: true });
    });

    it('stores every row with its values, null steps included', async () => {
      const rows: MetricRow[] = Array.from({ length: 1000 }, (_, i) => ({ dag_id: 'd', run_id: 'r', task_id: 't', map_index: i % 3, try_number: 1 + (i % 2), name: i % 2 ? 'loss' : 'acc', step: i % 10 === 0 ? null : i, value: i / 7, at: 2 ** 41 + i }));
      await opened.db.transaction().execute((tx) => insertMetricRows(tx, 'sqlite', rows));
      const back = await opened.db.selectFrom('metric').selectAll().orderBy('at').execute();
      expect(back).toHaveLength(1000);
      expect(back.map((r) => ({ ...r, step: r.step === null ? null : Number(r.step), at: Number(r.at) }))).toEqual(rows);
    });
  });
});
