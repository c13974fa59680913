/**
 * The rows of the notification outbox (table `notification_outbox`). Every change is guarded
 * by the row's state, so two schedulers never send the same row.
 */
import crypto from 'node:crypto';
import type { Store } from '../store/store.js';
import type { Notification } from '../notify/types.js';
import type { OutboxTarget } from './notifications.js';

export interface OutboxRow {
  readonly id: string;
  readonly target: OutboxTarget;
  readonly notification: Notification;
}

/** Writes pending rows, one per target; returns them with their ids. */
export async function insertOutboxRows(tx: Store, items: readonly { target: OutboxTarget; n: Notification }[], now: number): Promise<OutboxRow[]> {
  const rows = items.map(({ target, n }) => ({ id: crypto.randomUUID(), target, notification: n }));
  for (let i = 0; i < rows.length; i += 200) {
    await tx.db
      .insertInto('notification_outbox')
      .values(
        rows.slice(i, i + 200).map((r) => ({
          id: r.id,
          created_at: now,
          dag_id: r.notification.dagId,
          run_id: r.notification.runId,
          event: r.notification.kind,
          target: JSON.stringify(r.target),
          payload: JSON.stringify(r.notification),
          state: 'pending' as const,
          claimed_by: null,
          error: null,
          finished_at: null,
        })),
      )
      .execute();
  }
  return rows;
}

/** Takes a pending row for `me`. False when another scheduler took it, or it was already sent. */
export async function claimOutboxRow(store: Store, id: string, me: string): Promise<boolean> {
  const r = await store.db.updateTable('notification_outbox').set({ state: 'sending', claimed_by: me }).where('id', '=', id).where('state', '=', 'pending').executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Records how sending went. */
export async function finishOutboxRow(store: Store, id: string, ok: boolean, error: string | undefined, now: number): Promise<void> {
  await store.db
    .updateTable('notification_outbox')
    .set({ state: ok ? 'sent' : 'failed', error: error ?? null, finished_at: now })
    .where('id', '=', id)
    .where('state', '=', 'sending')
    .execute();
}

/** Pending rows, oldest first: written before a restart, or by a scheduler that stopped before it sent them. */
export async function pendingOutboxRows(store: Store, limit: number): Promise<OutboxRow[]> {
  const rows = await store.db.selectFrom('notification_outbox').select(['id', 'target', 'payload']).where('state', '=', 'pending').orderBy('created_at').limit(limit).execute();
  return rows.map((r) => ({ id: r.id, target: JSON.parse(r.target) as OutboxTarget, notification: JSON.parse(r.payload) as Notification }));
}

/**
 * Rows that were being sent by a scheduler that is gone (any scheduler but `me` on SQLite,
 * where only one runs; one not heartbeating since `staleBefore` on Postgres) become
 * `interrupted`: whether they reached their target is unknown, and they are not sent twice.
 */
export async function interruptOrphanedRows(store: Store, me: string, staleBefore: number, now: number): Promise<number> {
  let q = store.db
    .updateTable('notification_outbox')
    .set({ state: 'interrupted', error: 'the scheduler sending this stopped before it finished; not sent again, so it is never sent twice', finished_at: now })
    .where('state', '=', 'sending')
    .where('claimed_by', '!=', me);
  if (store.dialect === 'postgres') {
    q = q.where((eb) => eb.not(eb('claimed_by', 'in', eb.selectFrom('scheduler').select('id').where('heartbeat_at', '>=', staleBefore))));
  }
  const r = await q.executeTakeFirst();
  return Number(r.numUpdatedRows);
}
