import { afterEach, describe, expect, it } from 'vitest';
import { openPostgres } from '../src/store/postgres.js';
import { Store } from '../src/store/store.js';
import { claimOutboxRow, finishOutboxRow, insertOutboxRows, interruptOrphanedRows, pendingOutboxRows } from '../src/scheduler/outbox-store.js';
import { tempStore } from './support/harness.js';
import { freshPostgresDatabase } from './support/postgres.js';

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function open(dialect: 'sqlite' | 'postgres'): Promise<Store> {
  if (dialect === 'sqlite') {
    const t = await tempStore();
    cleanup.push(t.close);
    return t.store;
  }
  const db = await freshPostgresDatabase();
  const opened = await openPostgres(db.url, 4);
  cleanup.push(db.drop, opened.close);
  return new Store(opened.db, 'postgres');
}

const n = (taskId: string) => ({ kind: 'task_failed' as const, dagId: 'd', runId: 'r', taskId, state: 'failed', at: 1 });

describe.each(['sqlite', 'postgres'] as const)('the notification outbox on %s', (dialect) => {
  it('a row is claimed by one scheduler only, and a row cut off mid-send is interrupted, never resent', async () => {
    const store = await open(dialect);
    const [a, b, c] = await insertOutboxRows(store, [
      { target: { kind: 'callback', taskId: 'a' }, n: n('a') },
      { target: { kind: 'webhook', url: 'http://127.0.0.1:9/' }, n: n('b') },
      { target: { kind: 'callback' }, n: n('c') },
    ], 100);
    expect((await pendingOutboxRows(store, 10)).map((r) => r.notification.taskId).sort()).toEqual(['a', 'b', 'c']);
    expect(await claimOutboxRow(store, a.id, 'one')).toBe(true);
    expect(await claimOutboxRow(store, a.id, 'two')).toBe(false);
    await finishOutboxRow(store, a.id, false, 'it threw', 200);
    expect(await claimOutboxRow(store, b.id, 'gone')).toBe(true);
    expect(await claimOutboxRow(store, c.id, 'alive')).toBe(true);
    expect((await pendingOutboxRows(store, 10)).length).toBe(0);
    // 'alive' heartbeats now; 'gone' never did.
    await store.heartbeat('alive', 'host', 1, 1_000);
    await store.heartbeat('me', 'host', 2, 1_000);
    const interrupted = await interruptOrphanedRows(store, 'me', 900, 1_000);
    const rows = Object.fromEntries((await store.db.selectFrom('notification_outbox').selectAll().execute()).map((r) => [JSON.parse(r.payload).taskId, r]));
    expect(rows.a).toMatchObject({ state: 'failed', error: 'it threw', claimed_by: 'one' });
    expect(rows.b.state).toBe('interrupted');
    // On SQLite only one scheduler runs, so any other's half-sent row is orphaned; on Postgres a live one keeps its row.
    expect(rows.c.state).toBe(dialect === 'sqlite' ? 'interrupted' : 'sending');
    expect(interrupted).toBe(dialect === 'sqlite' ? 2 : 1);
    expect(await claimOutboxRow(store, b.id, 'me')).toBe(false);
  }, 60_000);
});
