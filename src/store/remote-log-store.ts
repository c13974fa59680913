import type { TryState } from '../core/states.js';
import type { Store, TiKey } from './store.js';

/** One try: a task instance and its try number. */
export type TryKey = TiKey & { readonly tryNumber: number };

/** Try states after which a try's log does not grow. */
export const ENDED_TRY_STATES: readonly TryState[] = ['success', 'failed', 'skipped'];

/** A try that ended and whose log has not been shipped yet. */
export interface UnshippedTry {
  readonly key: TryKey;
  readonly logPath: string;
}

/** Queries of remote logging (migration 0013): where each finished try's log was shipped. */
export class RemoteLogStore {
  constructor(private readonly store: Store) {}

  /** Records where a try's log was shipped; false when the try does not exist (its run was deleted). */
  async recordShipped(k: TryKey, uri: string): Promise<boolean> {
    const r = await this.store.db
      .updateTable('task_try')
      .set({ remote_log_uri: uri })
      .where('dag_id', '=', k.dagId)
      .where('run_id', '=', k.runId)
      .where('task_id', '=', k.taskId)
      .where('map_index', '=', k.mapIndex)
      .where('try_number', '=', k.tryNumber)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /**
   * Ended tries whose log has not been shipped, oldest end first. `skip` passes over the first
   * rows of that order (tries a caller could not ship and leaves for later).
   */
  async listUnshipped(limit: number, skip = 0): Promise<UnshippedTry[]> {
    const rows = await this.store.db
      .selectFrom('task_try')
      .select(['dag_id', 'run_id', 'task_id', 'map_index', 'try_number', 'log_path'])
      .where('remote_log_uri', 'is', null)
      .where('state', 'in', ENDED_TRY_STATES)
      .orderBy('end_date')
      .orderBy('dag_id')
      .orderBy('run_id')
      .orderBy('task_id')
      .orderBy('map_index')
      .orderBy('try_number')
      .limit(limit)
      .offset(skip)
      .execute();
    return rows.map((r) => ({
      key: { dagId: r.dag_id, runId: r.run_id, taskId: r.task_id, mapIndex: Number(r.map_index), tryNumber: Number(r.try_number) },
      logPath: r.log_path,
    }));
  }
}
