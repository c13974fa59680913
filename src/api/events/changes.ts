/**
 * Rows of the change log → server-sent events. A batch's changes of one mapped task come as
 * one `task` event (how many instances changed, and to which states), so a 10,000-instance
 * task finishing is a handful of events, not 10,000; import errors as one `import_errors`
 * event per batch.
 */
import type { ChangeRow } from '../../store/change-log.js';

export type FeedEventType = 'run' | 'ti' | 'task' | 'dag' | 'import_errors';

export interface FeedEvent {
  readonly type: FeedEventType;
  /**
   * Where to resume after this event: every change up to this position has been sent, as
   * this event or one before it. Several events may share one.
   */
  readonly id: string;
  readonly dagId?: string;
  readonly runId?: string;
  readonly data: Readonly<Record<string, unknown>>;
}

interface Pending {
  readonly type: FeedEventType;
  /** Index of the first and last row it covers. */
  first: number;
  last: number;
  readonly data: Record<string, unknown>;
  readonly dagId?: string;
  readonly runId?: string;
}

function single(row: ChangeRow, i: number): Pending {
  const base = { first: i, last: i };
  switch (row.kind) {
    case 'run':
      return { ...base, type: 'run', dagId: row.dag_id!, runId: row.run_id!, data: { dag_id: row.dag_id, run_id: row.run_id, state: row.state } };
    case 'ti':
      return {
        ...base,
        type: 'ti',
        dagId: row.dag_id!,
        runId: row.run_id!,
        data: { dag_id: row.dag_id, run_id: row.run_id, task_id: row.task_id, map_index: row.map_index, state: row.state, try_number: row.try_number },
      };
    case 'dag':
      return { ...base, type: 'dag', dagId: row.dag_id!, data: { dag_id: row.dag_id, is_paused: row.state === 'paused', is_active: row.detail !== 'inactive' } };
    default:
      return { ...base, type: 'import_errors', data: { files: [row.detail] } };
  }
}

/** Groups a batch into events, in the order of each event's last change. `before` is the position before the batch. */
export function toEvents(rows: readonly ChangeRow[], before: string): FeedEvent[] {
  const groups = new Map<string, Pending>();
  const pending: Pending[] = [];
  rows.forEach((row, i) => {
    const key = row.kind === 'ti' && (row.map_index ?? -1) >= 0 ? `task\u0000${row.dag_id}\u0000${row.run_id}\u0000${row.task_id}` : row.kind === 'import_error' ? 'import_errors' : undefined;
    const group = key === undefined ? undefined : groups.get(key);
    if (group) {
      group.last = i;
      addTo(group, row);
      return;
    }
    const p = key?.startsWith('task') ? mappedTask(row, i) : single(row, i);
    if (key !== undefined) groups.set(key, p);
    pending.push(p);
  });
  pending.sort((a, b) => a.last - b.last);
  // An event's id is the position of the last change before the first one not yet sent.
  const sent = new Uint8Array(rows.length);
  let unsent = 0;
  return pending.map((p) => {
    for (let i = p.first; i <= p.last; i++) if (coveredBy(p, rows[i], i)) sent[i] = 1;
    while (unsent < rows.length && sent[unsent]) unsent++;
    const id = unsent === 0 ? before : rows[unsent - 1].cursor;
    return { type: p.type, id, dagId: p.dagId, runId: p.runId, data: p.data };
  });
}

function mappedTask(row: ChangeRow, i: number): Pending {
  const p: Pending = {
    type: 'task',
    first: i,
    last: i,
    dagId: row.dag_id!,
    runId: row.run_id!,
    data: { dag_id: row.dag_id, run_id: row.run_id, task_id: row.task_id, changed: 0, states: {} as Record<string, number> },
  };
  addTo(p, row);
  return p;
}

function addTo(p: Pending, row: ChangeRow): void {
  if (p.type === 'task') {
    p.data.changed = (p.data.changed as number) + 1;
    const states = p.data.states as Record<string, number>;
    states[row.state!] = (states[row.state!] ?? 0) + 1;
  } else if (p.type === 'import_errors') {
    const files = p.data.files as (string | null)[];
    if (!files.includes(row.detail)) files.push(row.detail);
  }
}

function coveredBy(p: Pending, row: ChangeRow, i: number): boolean {
  if (i === p.first || i === p.last) return true;
  if (p.type === 'task') return row.kind === 'ti' && row.dag_id === p.dagId && row.run_id === p.runId && row.task_id === p.data.task_id && (row.map_index ?? -1) >= 0;
  if (p.type === 'import_errors') return row.kind === 'import_error';
  return false;
}

/** Whether an event passes a stream's filters. */
export function matchesFilter(e: FeedEvent, f: { dagId?: string; runId?: string }): boolean {
  if (f.dagId !== undefined && e.dagId !== f.dagId) return false;
  if (f.runId !== undefined && e.runId !== f.runId) return false;
  return true;
}
