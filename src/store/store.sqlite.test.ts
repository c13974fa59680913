import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CompiledQuery } from 'kysely';
import { describe, expect, it } from 'vitest';
import { migrateToLatest, openDatabase, openSqlite } from './db.js';
import { MIGRATIONS } from './migrations/index.js';
import { claimsConformance } from './claims.conformance.js';
import { guardedUpdateConformance } from './guarded-update.conformance.js';
import { type OpenedStore, storeConformance } from './store.conformance.js';
import { reusingInstances } from './reused-runs.js';
import { Store } from './store.js';

// A file, not :memory:, so SQLite runs as it does in `trainyard standalone` (WAL, one file).
const openFreshStore = async (): Promise<OpenedStore> => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-store-'));
  const opened = openSqlite(path.join(dir, 'trainyard.db'));
  await migrateToLatest(opened.db);
  return {
    store: new Store(opened.db, 'sqlite'),
    close: async () => {
      await opened.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
};
storeConformance('sqlite', openFreshStore);
claimsConformance('sqlite', openFreshStore);
guardedUpdateConformance('sqlite', openFreshStore);

describe('SQLite migrations', () => {
  it('several connections migrating one file at once all succeed, and the schema is created once', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-store-'));
    const file = path.join(dir, 'trainyard.db');
    const conns = Array.from({ length: 4 }, () => openSqlite(file));
    try {
      const results = await Promise.allSettled(conns.map((c) => migrateToLatest(c.db)));
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
      const store = new Store(conns[0].db, 'sqlite');
      expect((await store.listPools()).map((p) => p.name)).toEqual(['default_pool']);
    } finally {
      for (const c of conns) await c.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the lookup of runs that reuse a run reads the index of cached instances, not the whole table', async () => {
    const { store, close } = await openFreshStore();
    try {
      const q = reusingInstances(store, [{ dag_id: 'd', run_id: 'r1' }, { dag_id: 'd', run_id: 'r2' }]).compile();
      const plan = await store.db.executeQuery<{ detail: string }>(CompiledQuery.raw(`explain query plan ${q.sql}`, [...q.parameters]));
      const details = plan.rows.map((r) => r.detail).join('\n');
      expect(details).toContain('task_instance_cached_from');
      expect(details).not.toMatch(/^SCAN task_instance$/m);
    } finally {
      await close();
    }
  });

  it('openDatabase takes a sqlite: URL', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-store-'));
    const opened = await openDatabase({ url: `sqlite:${path.join(dir, 'x.db')}` });
    try {
      expect(opened.dialect).toBe('sqlite');
      expect(await migrateToLatest(opened.db)).toEqual(Object.keys(MIGRATIONS));
    } finally {
      await opened.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

});
