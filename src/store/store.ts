import crypto from 'node:crypto';
import { sql, type Insertable, type Kysely, type Selectable, type Updateable } from 'kysely';
import { TrainyardError } from '../core/errors.js';
import type { DagSpec } from '../core/spec.js';
import type { RunState, TaskState } from '../core/states.js';
import { claimFairShare } from './claims.js';
import { applyGuarded, type GuardedTable } from './guarded-update.js';
import { insertMetricRows } from './metric-insert.js';
import type { DialectName } from './db.js';
import type { Database, DagRunTable, DagTable, TaskInstanceTable, TaskTryTable } from './schema.js';

export type DagRow = Selectable<DagTable>;
export type DagRunRow = Selectable<DagRunTable>;
export type TaskInstanceRow = Selectable<TaskInstanceTable>;
export type TaskTryRow = Selectable<TaskTryTable>;
export type NewTaskInstance = Insertable<TaskInstanceTable>;
export type NewTry = Insertable<TaskTryTable>;

export interface TiKey {
  readonly dagId: string;
  readonly runId: string;
  readonly taskId: string;
  readonly mapIndex: number;
}

/** A guarded change: applied only if the row is still in state `from`. */
export interface TiChange {
  readonly key: TiKey;
  readonly from: readonly TaskState[];
  readonly set: Updateable<TaskInstanceTable>;
}

type TryKeyFields = TiKey & { readonly tryNumber: number };

/** A guarded change to a try: applied only if the try is still in state `from`. */
export interface TryChange {
  readonly key: TryKeyFields;
  readonly from: readonly string[];
  readonly set: Updateable<TaskTryTable>;
}

const tiKeyColumns = (k: TiKey) => ({ dag_id: k.dagId, run_id: k.runId, task_id: k.taskId, map_index: k.mapIndex });
const TI_TABLE: GuardedTable<TiChange> = {
  table: 'task_instance',
  keyColumns: ['dag_id', 'run_id', 'task_id', 'map_index'],
  keyOf: (c) => tiKeyColumns(c.key),
};
const TRY_TABLE: GuardedTable<TryChange> = {
  table: 'task_try',
  keyColumns: ['dag_id', 'run_id', 'task_id', 'map_index', 'try_number'],
  keyOf: (c) => ({ ...tiKeyColumns(c.key), try_number: c.key.tryNumber }),
};

const LIVE_TRY_STATES = ['queued', 'running'] as const;
const CHUNK = 400;

/**
 * The metadata store. Every state change is guarded (`UPDATE … WHERE state IN (expected)`)
 * and callers group them in one transaction with `transaction()`.
 */
export class Store {
  constructor(
    readonly db: Kysely<Database>,
    readonly dialect: DialectName,
  ) {}

  /** Runs `fn` in one transaction, with a Store bound to it. */
  async transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T> {
    if (this.db.isTransaction) return fn(this);
    return this.db.transaction().execute((trx) => fn(new Store(trx, this.dialect)));
  }

  // ---- DAGs ------------------------------------------------------------------------------

  /** Records a parsed DAG. Returns true when its version is new. */
  async upsertDag(spec: DagSpec, fileloc: string, versionHash: string, now: number): Promise<boolean> {
    const existing = await this.db
      .selectFrom('dag_version')
      .select('version_hash')
      .where('dag_id', '=', spec.dagId)
      .where('version_hash', '=', versionHash)
      .executeTakeFirst();
    if (!existing) {
      await this.db
        .insertInto('dag_version')
        .values({ dag_id: spec.dagId, version_hash: versionHash, spec: JSON.stringify(spec), created_at: now })
        .execute();
    }
    const row = {
      fileloc,
      is_active: 1,
      latest_version: versionHash,
      description: spec.description ?? null,
      tags: JSON.stringify(spec.tags),
      schedule: JSON.stringify(spec.schedule),
      updated_at: now,
    };
    await this.db
      .insertInto('dag')
      .values({ dag_id: spec.dagId, is_paused: 0, next_run_at: null, ...row })
      .onConflict((oc) => oc.column('dag_id').doUpdateSet(row))
      .execute();
    return !existing;
  }

  /** Marks DAGs of a file inactive when the file no longer defines them. */
  async deactivateDagsExcept(fileloc: string, keepIds: readonly string[], now: number): Promise<void> {
    let q = this.db.updateTable('dag').set({ is_active: 0, updated_at: now }).where('fileloc', '=', fileloc).where('is_active', '=', 1);
    if (keepIds.length) q = q.where('dag_id', 'not in', keepIds);
    await q.execute();
  }

  async setImportError(fileloc: string, message: string, now: number): Promise<void> {
    await this.db
      .insertInto('import_error')
      .values({ fileloc, message, updated_at: now })
      .onConflict((oc) => oc.column('fileloc').doUpdateSet({ message, updated_at: now }))
      .execute();
  }

  async clearImportError(fileloc: string): Promise<void> {
    await this.db.deleteFrom('import_error').where('fileloc', '=', fileloc).execute();
  }

  listImportErrors() {
    return this.db.selectFrom('import_error').selectAll().orderBy('fileloc').execute();
  }

  listDags(opts: { includeInactive?: boolean } = {}): Promise<DagRow[]> {
    let q = this.db.selectFrom('dag').selectAll().orderBy('dag_id');
    if (!opts.includeInactive) q = q.where('is_active', '=', 1);
    return q.execute();
  }

  getDag(dagId: string): Promise<DagRow | undefined> {
    return this.db.selectFrom('dag').selectAll().where('dag_id', '=', dagId).executeTakeFirst();
  }

  async getSpec(dagId: string, versionHash: string): Promise<DagSpec | undefined> {
    const row = await this.db
      .selectFrom('dag_version')
      .select('spec')
      .where('dag_id', '=', dagId)
      .where('version_hash', '=', versionHash)
      .executeTakeFirst();
    return row ? (JSON.parse(row.spec) as DagSpec) : undefined;
  }

  async setPaused(dagId: string, paused: boolean, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('dag')
      .set({ is_paused: paused ? 1 : 0, updated_at: now })
      .where('dag_id', '=', dagId)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  // ---- runs ------------------------------------------------------------------------------

  async createRun(run: Insertable<DagRunTable>): Promise<void> {
    try {
      await this.db.insertInto('dag_run').values(run).execute();
    } catch (e) {
      if (/unique|duplicate/i.test(String((e as Error).message))) {
        throw new TrainyardError('RUN_EXISTS', `DAG '${run.dag_id}' already has a run '${run.run_id}'; choose another run id`);
      }
      throw e;
    }
  }

  getRun(dagId: string, runId: string): Promise<DagRunRow | undefined> {
    return this.db.selectFrom('dag_run').selectAll().where('dag_id', '=', dagId).where('run_id', '=', runId).executeTakeFirst();
  }

  listRuns(opts: { dagId?: string; states?: readonly RunState[]; limit?: number; offset?: number } = {}): Promise<DagRunRow[]> {
    let q = this.db.selectFrom('dag_run').selectAll();
    if (opts.dagId) q = q.where('dag_id', '=', opts.dagId);
    if (opts.states?.length) q = q.where('state', 'in', opts.states);
    return q
      .orderBy('queued_at', 'desc')
      .orderBy('run_id', 'desc')
      .limit(opts.limit ?? 100)
      .offset(opts.offset ?? 0)
      .execute();
  }

  /** Runs the scheduler works on, with their change counters. */
  activeRuns(): Promise<DagRunRow[]> {
    return this.db.selectFrom('dag_run').selectAll().where('state', 'in', ['queued', 'running']).orderBy('queued_at').execute();
  }

  /** Running runs claimed by this scheduler. */
  runningRuns(claimedBy: string): Promise<DagRunRow[]> {
    return this.db.selectFrom('dag_run').selectAll().where('state', '=', 'running').where('claimed_by', '=', claimedBy).execute();
  }

  /** The next queued runs of each DAG (claimed by this scheduler), oldest first, at most `perDag` each. */
  async nextQueuedRuns(perDag: number, claimedBy: string): Promise<DagRunRow[]> {
    const dags = await this.db.selectFrom('dag_run').select('dag_id').distinct().where('state', '=', 'queued').where('claimed_by', '=', claimedBy).execute();
    const out: DagRunRow[] = [];
    for (const { dag_id } of dags) {
      out.push(
        ...(await this.db
          .selectFrom('dag_run')
          .selectAll()
          .where('dag_id', '=', dag_id)
          .where('state', '=', 'queued')
          .where('claimed_by', '=', claimedBy)
          .orderBy('queued_at')
          .orderBy('logical_date')
          .limit(perDag)
          .execute()),
      );
    }
    return out;
  }

  /** Creates runs, skipping any whose id exists already. Returns how many were new. */
  async insertRuns(rows: readonly Insertable<DagRunTable>[]): Promise<number> {
    let n = 0;
    for (let i = 0; i < rows.length; i += CHUNK) {
      const r = await this.db
        .insertInto('dag_run')
        .values(rows.slice(i, i + CHUNK))
        .onConflict((oc) => oc.columns(['dag_id', 'run_id']).doNothing())
        .executeTakeFirst();
      n += Number(r.numInsertedOrUpdatedRows ?? 0);
    }
    return n;
  }

  /** The data interval of the DAG's latest scheduled run. */
  async lastScheduledInterval(dagId: string): Promise<{ start: number; end: number } | undefined> {
    const row = await this.db
      .selectFrom('dag_run')
      .select(['data_interval_start', 'data_interval_end'])
      .where('dag_id', '=', dagId)
      .where('run_type', '=', 'scheduled')
      .orderBy('data_interval_start', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row ? { start: row.data_interval_start, end: row.data_interval_end } : undefined;
  }

  /** Runs of a DAG whose logical date is in [from, to]. */
  runsBetween(dagId: string, from: number, to: number): Promise<DagRunRow[]> {
    return this.db.selectFrom('dag_run').selectAll().where('dag_id', '=', dagId).where('logical_date', '>=', from).where('logical_date', '<=', to).execute();
  }

  /** Active-run limits of backfills, by id. */
  async backfillLimits(ids: readonly string[]): Promise<Map<string, number>> {
    if (!ids.length) return new Map();
    const rows = await this.db.selectFrom('backfill').select(['id', 'max_active_runs']).where('id', 'in', ids).execute();
    return new Map(rows.map((r) => [r.id, r.max_active_runs]));
  }

  /** Records a missed deadline; true only the first time, so its alert fires once. */
  async recordDeadlineMissed(dagId: string, runId: string, taskId: string, now: number): Promise<boolean> {
    const r = await this.db
      .insertInto('deadline_alert')
      .values({ dag_id: dagId, run_id: runId, task_id: taskId, fired_at: now })
      .onConflict((oc) => oc.columns(['dag_id', 'run_id', 'task_id']).doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  // ---- assets -----------------------------------------------------------------------------

  async insertAssetEvents(rows: readonly { uri: string; source: string; extra: Record<string, unknown>; at: number }[]): Promise<void> {
    if (!rows.length) return;
    await this.db
      .insertInto('asset_event')
      .values(rows.map((r) => ({ id: crypto.randomUUID(), uri: r.uri, source: r.source, extra: JSON.stringify(r.extra), created_at: r.at })))
      .execute();
  }

  /** Events for these URIs after `since`, oldest first. */
  assetEventsSince(uris: readonly string[], since: number) {
    return this.db.selectFrom('asset_event').selectAll().where('uri', 'in', uris).where('created_at', '>', since).orderBy('created_at').execute();
  }

  async setAssetCursor(dagId: string, at: number): Promise<void> {
    await this.db.updateTable('dag').set({ asset_cursor: at }).where('dag_id', '=', dagId).execute();
  }

  async setNextRunAt(dagId: string, at: number | null): Promise<void> {
    await this.db.updateTable('dag').set({ next_run_at: at }).where('dag_id', '=', dagId).execute();
  }

  /** Guarded run state change. Returns false if the run was not in a `from` state. */
  async setRunState(dagId: string, runId: string, from: readonly RunState[], set: Updateable<DagRunTable>): Promise<boolean> {
    const r = await this.db
      .updateTable('dag_run')
      .set(set)
      .where('dag_id', '=', dagId)
      .where('run_id', '=', runId)
      .where('state', 'in', from)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Tells schedulers that something outside them changed this run. */
  async bumpRunChange(dagId: string, runId: string): Promise<void> {
    await this.db
      .updateTable('dag_run')
      .set((eb) => ({ change_seq: eb('change_seq', '+', 1) }))
      .where('dag_id', '=', dagId)
      .where('run_id', '=', runId)
      .execute();
  }

  async deleteRun(dagId: string, runId: string): Promise<boolean> {
    return this.transaction(async (tx) => {
      for (const table of ['metric', 'sweep_decision', 'task_try', 'task_instance'] as const) {
        await tx.db.deleteFrom(table).where('dag_id', '=', dagId).where('run_id', '=', runId).execute();
      }
      const r = await tx.db.deleteFrom('dag_run').where('dag_id', '=', dagId).where('run_id', '=', runId).executeTakeFirst();
      return Number(r.numDeletedRows) === 1;
    });
  }

  // ---- schedulers ------------------------------------------------------------------------

  async heartbeat(id: string, host: string, pid: number, now: number): Promise<void> {
    await this.db
      .insertInto('scheduler')
      .values({ id, host, pid, started_at: now, heartbeat_at: now })
      .onConflict((oc) => oc.column('id').doUpdateSet({ heartbeat_at: now }))
      .execute();
  }

  /** Schedulers whose heartbeat is older than `staleBefore`. */
  async deadSchedulers(staleBefore: number): Promise<string[]> {
    const rows = await this.db.selectFrom('scheduler').select('id').where('heartbeat_at', '<', staleBefore).execute();
    return rows.map((r) => r.id);
  }

  async removeScheduler(id: string): Promise<void> {
    await this.db.deleteFrom('scheduler').where('id', '=', id).execute();
  }

  /**
   * Claims active runs that no live scheduler works on (unclaimed, or claimed by a dead one):
   * at most `limit`, and no more than this scheduler's fair share of all active runs, so that
   * live schedulers divide the runs between them (claims.ts). One statement; on Postgres
   * concurrent schedulers skip each other's locked rows.
   */
  claimRuns(me: string, dead: readonly string[], limit: number): Promise<number> {
    return claimFairShare(this.db, this.dialect, me, dead, limit);
  }

  /** Lets go of this scheduler's runs (on shutdown), so another takes them at once. */
  async releaseRuns(me: string): Promise<void> {
    await this.db.updateTable('dag_run').set({ claimed_by: null }).where('claimed_by', '=', me).execute();
  }

  /**
   * Slots in use across all schedulers: per pool, and per DAG (queued or running instances).
   * On Postgres the pool rows are locked until the transaction ends, so admissions of several
   * schedulers into one pool take turns.
   */
  async activeUsage(pools: readonly string[]): Promise<{ pools: Map<string, number>; dags: Map<string, number>; gpus: Map<string, number> }> {
    if (pools.length && this.dialect === 'postgres') await this.db.selectFrom('pool').select('name').where('name', 'in', pools).forUpdate().execute();
    // One statement for both counts: per pool (slots and GPUs) and per DAG.
    const live = sql.join(['queued', 'running'].map((s) => sql.lit(s)));
    const poolPart = pools.length
      ? sql`select 'pool' as kind, pool as name, sum(pool_slots) as used, sum(pool_gpus) as gpus from task_instance
          where state in (${live}) and pool in (${sql.join(pools)}) group by pool union all `
      : sql``;
    const { rows } = await sql<{ kind: 'pool' | 'dag'; name: string; used: number | string; gpus: number | string }>`${poolPart}
      select 'dag' as kind, dag_id as name, count(*) as used, 0 as gpus from task_instance where state in (${live}) group by dag_id`.execute(this.db);
    const usage = { pools: new Map<string, number>(), dags: new Map<string, number>(), gpus: new Map<string, number>() };
    for (const r of rows) {
      if (r.kind === 'dag') usage.dags.set(r.name, Number(r.used));
      else {
        usage.pools.set(r.name, Number(r.used));
        if (Number(r.gpus) > 0) usage.gpus.set(r.name, Number(r.gpus));
      }
    }
    return usage;
  }

  // ---- task instances --------------------------------------------------------------------

  async insertTaskInstances(rows: readonly NewTaskInstance[]): Promise<void> {
    for (let i = 0; i < rows.length; i += CHUNK) {
      await this.db
        .insertInto('task_instance')
        .values(rows.slice(i, i + CHUNK))
        .execute();
    }
  }

  listTaskInstances(dagId: string, runId: string, opts: { taskId?: string; states?: readonly TaskState[]; limit?: number; offset?: number } = {}) {
    let q = this.db.selectFrom('task_instance').selectAll().where('dag_id', '=', dagId).where('run_id', '=', runId);
    if (opts.taskId) q = q.where('task_id', '=', opts.taskId);
    if (opts.states?.length) q = q.where('state', 'in', opts.states);
    q = q.orderBy('task_id').orderBy('map_index');
    if (opts.limit !== undefined) q = q.limit(opts.limit).offset(opts.offset ?? 0);
    return q.execute();
  }

  getTaskInstance(k: TiKey): Promise<TaskInstanceRow | undefined> {
    return this.db
      .selectFrom('task_instance')
      .selectAll()
      .where('dag_id', '=', k.dagId)
      .where('run_id', '=', k.runId)
      .where('task_id', '=', k.taskId)
      .where('map_index', '=', k.mapIndex)
      .executeTakeFirst();
  }

  /** Applies guarded changes; returns those that did not apply (the row had moved on). Each key at most once. */
  applyTiChanges(changes: readonly TiChange[]): Promise<TiChange[]> {
    return applyGuarded(this.db, this.dialect, TI_TABLE, changes);
  }

  /** Results of a task's successful instances, in map-index order. */
  async taskResults(dagId: string, runId: string, taskId: string): Promise<{ mapIndex: number; result: unknown }[]> {
    const rows = await this.db
      .selectFrom('task_instance')
      .select(['map_index', 'result'])
      .where('dag_id', '=', dagId)
      .where('run_id', '=', runId)
      .where('task_id', '=', taskId)
      .where('state', '=', 'success')
      .orderBy('map_index')
      .execute();
    return rows.map((r) => ({ mapIndex: r.map_index, result: r.result === null ? null : JSON.parse(r.result) }));
  }

  // ---- tries -----------------------------------------------------------------------------

  async insertTries(rows: readonly NewTry[]): Promise<void> {
    for (let i = 0; i < rows.length; i += CHUNK) {
      await this.db
        .insertInto('task_try')
        .values(rows.slice(i, i + CHUNK))
        .execute();
    }
  }

  async updateTry(k: TryKeyFields, from: readonly string[], set: Updateable<TaskTryTable>): Promise<boolean> {
    return (await this.applyTryChanges([{ key: k, from, set }])).length === 0;
  }

  /** Guarded changes to tries; returns those that did not apply. Each key at most once. */
  applyTryChanges(changes: readonly TryChange[]): Promise<TryChange[]> {
    return applyGuarded(this.db, this.dialect, TRY_TABLE, changes);
  }

  /** The latest successful try (not stopped early) with this cache key. */
  findCachedTry(cacheKey: string): Promise<TaskTryRow | undefined> {
    return this.db
      .selectFrom('task_try')
      .selectAll()
      .where('cache_key', '=', cacheKey)
      .where('state', '=', 'success')
      .where('failure_class', 'is', null)
      .orderBy('end_date', 'desc')
      .limit(1)
      .executeTakeFirst();
  }

  /** Tries still queued or running, for adoption: all of them, or those of the given schedulers. */
  liveTries(schedulerIds?: readonly string[]): Promise<TaskTryRow[]> {
    let q = this.db.selectFrom('task_try').selectAll().where('state', 'in', LIVE_TRY_STATES);
    if (schedulerIds) {
      if (!schedulerIds.length) return Promise.resolve([]);
      q = q.where('scheduler_id', 'in', schedulerIds);
    }
    return q.execute();
  }

  listTries(k: TiKey): Promise<TaskTryRow[]> {
    return this.db
      .selectFrom('task_try')
      .selectAll()
      .where('dag_id', '=', k.dagId)
      .where('run_id', '=', k.runId)
      .where('task_id', '=', k.taskId)
      .where('map_index', '=', k.mapIndex)
      .orderBy('try_number')
      .execute();
  }

  // ---- pools -----------------------------------------------------------------------------

  listPools() {
    return this.db.selectFrom('pool').selectAll().orderBy('name').execute();
  }

  /** Creates or replaces a pool. `gpus` is its GPU quota (null: none); a bad quota throws INVALID_POOL and changes nothing. */
  async upsertPool(name: string, slots: number, description: string | null, gpus: number | null = null): Promise<void> {
    checkPoolQuota(name, slots, gpus);
    await this.db
      .insertInto('pool')
      .values({ name, slots, description, gpus })
      .onConflict((oc) => oc.column('name').doUpdateSet({ slots, description, gpus }))
      .execute();
  }

  async deletePool(name: string): Promise<boolean> {
    const r = await this.db.deleteFrom('pool').where('name', '=', name).executeTakeFirst();
    return Number(r.numDeletedRows) === 1;
  }

  // ---- metrics ---------------------------------------------------------------------------

  /** Metric points in large prepared batches (metric-insert.ts): the ingestion path of every metric line. */
  async insertMetrics(rows: readonly Insertable<Database['metric']>[]): Promise<void> {
    await insertMetricRows(this.db, this.dialect, rows);
  }

  /** One metric's points over every instance and try of a task (a sweep's objective). */
  taskMetric(dagId: string, runId: string, taskId: string, name: string) {
    return this.db
      .selectFrom('metric')
      .select(['map_index', 'try_number', 'name', 'step', 'value'])
      .where('dag_id', '=', dagId)
      .where('run_id', '=', runId)
      .where('task_id', '=', taskId)
      .where('name', '=', name)
      .execute();
  }

  /** The names of the metrics a task's instances reported, at most `limit`. */
  async taskMetricNames(dagId: string, runId: string, taskId: string, limit = 50): Promise<string[]> {
    const rows = await this.db
      .selectFrom('metric')
      .select('name')
      .distinct()
      .where('dag_id', '=', dagId)
      .where('run_id', '=', runId)
      .where('task_id', '=', taskId)
      .orderBy('name')
      .limit(limit)
      .execute();
    return rows.map((r) => r.name);
  }

  /** Every try of every instance of a task, by map index and try number. */
  listTaskTries(dagId: string, runId: string, taskId: string): Promise<TaskTryRow[]> {
    return this.db
      .selectFrom('task_try')
      .selectAll()
      .where('dag_id', '=', dagId)
      .where('run_id', '=', runId)
      .where('task_id', '=', taskId)
      .orderBy('map_index')
      .orderBy('try_number')
      .execute();
  }

  /** A try's metric points (only those named, when `names` is given), in the order they were reported. */
  async metricPoints(k: TiKey & { tryNumber: number }, names?: readonly string[]): Promise<MetricPoint[]> {
    let q = this.db
      .selectFrom('metric')
      .select(['name', 'step', 'value', 'at'])
      .where('dag_id', '=', k.dagId)
      .where('run_id', '=', k.runId)
      .where('task_id', '=', k.taskId)
      .where('map_index', '=', k.mapIndex)
      .where('try_number', '=', k.tryNumber);
    if (names?.length) q = q.where('name', 'in', names);
    const rows = await q.orderBy('at').orderBy('step').execute();
    return rows.map((r) => ({ name: r.name, step: r.step === null ? null : Number(r.step), value: Number(r.value), at: Number(r.at) }));
  }

  listMetrics(k: TiKey & { tryNumber?: number }) {
    let q = this.db
      .selectFrom('metric')
      .selectAll()
      .where('dag_id', '=', k.dagId)
      .where('run_id', '=', k.runId)
      .where('task_id', '=', k.taskId)
      .where('map_index', '=', k.mapIndex);
    if (k.tryNumber !== undefined) q = q.where('try_number', '=', k.tryNumber);
    return q.orderBy('try_number').orderBy('name').orderBy('step', (ob) => ob.asc().nullsFirst()).execute();
  }
}

/** One point of a try's metric series. */
export interface MetricPoint {
  readonly name: string;
  readonly step: number | null;
  readonly value: number;
  readonly at: number;
}

/** A pool's slots and GPU quota must be whole numbers, 0 or more. */
export function checkPoolQuota(name: string, slots: number, gpus: number | null): void {
  if (!Number.isInteger(slots) || slots < 0) {
    throw new TrainyardError('INVALID_POOL', `pool '${name}': slots must be a whole number, 0 or more (got ${slots})`);
  }
  if (gpus !== null && (!Number.isInteger(gpus) || gpus < 0)) {
    throw new TrainyardError('INVALID_POOL', `pool '${name}': the GPU quota must be a whole number of GPUs, 0 or more, or null for no quota (got ${gpus})`);
  }
}
