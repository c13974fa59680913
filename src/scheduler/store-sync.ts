/**
 * The scheduler's reads of the store, every `syncIntervalMs` or when asked: it heartbeats,
 * creates due scheduled and asset runs, claims active runs (a dead scheduler's included),
 * and loads the runs it works on into models: a run changed elsewhere (clear, mark) is loaded
 * again, and one gone from its claims (deleted, finished elsewhere) is dropped. It keeps what
 * the tick reads besides: pools, paused DAGs and DAG files.
 */
import os from 'node:os';
import type { DagSpec } from '../core/spec.js';
import type { DagRow, DagRunRow } from '../store/store.js';
import { type ActiveRuns, allInstances } from './active-runs.js';
import type { PoolLimits } from './admission.js';
import { createAssetRuns } from './asset-runs.js';
import { LIVE_STATES, type LiveTry } from './live-tries.js';
import { RunModel, runKey } from './run-model.js';
import { createDueRuns } from './scheduled-runs.js';
import type { SchedulerLog, SchedulerOptions } from './scheduler-options.js';

/** Scheduled runs created per sync: a long catch-up proceeds in slices, so other DAGs keep moving. */
const SCHEDULED_RUNS_PER_SYNC = 1_000;
/** Active runs a scheduler claims per sync; the rest are left for others. */
const RUNS_CLAIMED_PER_SYNC = 32;
/** How often a scheduler writes its heartbeat. */
const HEARTBEAT_MS = 2_000;
/** Queued runs kept in memory per DAG; more wait in the store. */
const QUEUED_RUNS_LOADED_PER_DAG = 64;

export type SyncSettings = Pick<SchedulerOptions, 'store' | 'schedulerId' | 'syncIntervalMs' | 'createScheduledRuns' | 'staleSchedulerMs'>;

/** What syncing needs from the scheduler. */
export interface SyncHooks {
  /** Cancels a live try (class cancelled): its instance moved on, or its run is gone. */
  cancel(live: LiveTry, reason: string): void;
  /** Asks for another tick at once. */
  wake(): void;
  readonly log: SchedulerLog;
}

export class StoreSync {
  private lastSync = Number.NEGATIVE_INFINITY;
  private forced = true;
  private lastHeartbeat = Number.NEGATIVE_INFINITY;
  /** Scheduled DAGs whose catch-up has runs left to create. */
  private catchUpDags?: readonly DagRow[];
  /** DAG specs by version; a version never changes, so they are cached. */
  private readonly specs = new Map<string, DagSpec>();
  private readonly dagFiles = new Map<string, string>();
  private poolLimits = new Map<string, PoolLimits>();
  /** DAGs that are paused, as last read. */
  readonly pausedDags = new Set<string>();

  constructor(
    private readonly o: SyncSettings,
    private readonly active: ActiveRuns,
    private readonly hooks: SyncHooks,
  ) {}

  /** Pools and their limits, as last read. */
  get pools(): ReadonlyMap<string, PoolLimits> {
    return this.poolLimits;
  }

  /** The file a DAG was loaded from ('' when unknown). */
  dagFile(dagId: string): string {
    return this.dagFiles.get(dagId) ?? '';
  }

  /** Asks for a sync on the next tick, whenever the last one was. */
  request(): void {
    this.forced = true;
  }

  isDue(now: number): boolean {
    return this.forced || now - this.lastSync >= this.interval;
  }

  /** When the next sync falls due. */
  get dueAt(): number {
    return this.lastSync + this.interval;
  }

  private get interval(): number {
    return this.o.syncIntervalMs ?? 250;
  }

  /**
   * Reads the store and brings the run models in step with it. Returns the dead schedulers
   * whose runs this one took over: their live tries are to be taken back, or recorded as lost.
   */
  async sync(now: number): Promise<readonly string[]> {
    this.lastSync = now;
    this.forced = false;
    const store = this.o.store;
    if (now - this.lastHeartbeat >= HEARTBEAT_MS) {
      this.lastHeartbeat = now;
      await store.heartbeat(this.o.schedulerId, os.hostname(), process.pid, now);
    }
    // One read of the DAG list per sync serves run creation and the paused set.
    const dags = await store.listDags({ includeInactive: true });
    if (this.o.createScheduledRuns !== false) {
      const activeDags = dags.filter((d) => d.is_active === 1);
      await this.createScheduledRuns(activeDags, now);
      await createAssetRuns(store, activeDags, (d, h) => this.specOf(d, h), now);
    }
    const dead = (await store.deadSchedulers(now - (this.o.staleSchedulerMs ?? 30_000))).filter((id) => id !== this.o.schedulerId);
    const claimed = await store.claimRuns(this.o.schedulerId, dead, RUNS_CLAIMED_PER_SYNC);
    const [running, queued, pools] = await Promise.all([
      store.runningRuns(this.o.schedulerId),
      store.nextQueuedRuns(QUEUED_RUNS_LOADED_PER_DAG, this.o.schedulerId),
      store.listPools(),
    ]);
    this.poolLimits = new Map(pools.map((p) => [p.name, { slots: p.slots, gpus: p.gpus }]));
    this.pausedDags.clear();
    for (const d of dags) {
      this.dagFiles.set(d.dag_id, d.fileloc);
      if (d.is_paused) this.pausedDags.add(d.dag_id);
    }
    await this.loadRuns([...running, ...queued]);
    return claimed && dead.length ? dead : [];
  }

  /** Makes the next slice of a catch-up left over from the last sync, if any. */
  async continueCatchUp(now: number): Promise<void> {
    if (this.catchUpDags) await this.createScheduledRuns(this.catchUpDags, now);
  }

  /**
   * Creates due scheduled runs, one bounded slice per tick: while a long catch-up has more,
   * the next tick (at once) makes the next slice without a full sync, so the ticks in
   * between keep scheduling other DAGs' tasks.
   */
  private async createScheduledRuns(dags: readonly DagRow[], now: number): Promise<void> {
    const due = await createDueRuns(this.o.store, dags, (d, h) => this.specOf(d, h), now, SCHEDULED_RUNS_PER_SYNC);
    this.catchUpDags = due.more ? dags : undefined;
    if (due.more) this.hooks.wake();
  }

  private async specOf(dagId: string, hash: string): Promise<DagSpec | undefined> {
    const key = `${dagId}@${hash}`;
    let spec = this.specs.get(key);
    if (!spec) {
      spec = await this.o.store.getSpec(dagId, hash);
      if (spec) this.specs.set(key, spec);
    }
    return spec;
  }

  /** Loads the claimed active runs that are new or changed, and drops the models of the others. */
  private async loadRuns(rows: readonly DagRunRow[]): Promise<void> {
    const runs = this.active.runs;
    const present = new Set<string>();
    for (const row of rows) {
      const key = runKey(row.dag_id, row.run_id);
      present.add(key);
      const model = runs.get(key);
      if (!model || model.row.change_seq !== row.change_seq || model.row.state !== row.state) await this.loadRun(row);
    }
    for (const [key, model] of runs) if (!present.has(key)) this.dropRun(model, 'the run was deleted or finished elsewhere');
  }

  private async loadRun(row: DagRunRow): Promise<void> {
    const spec = await this.specOf(row.dag_id, row.version_hash);
    if (!spec) {
      this.hooks.log(`run ${row.dag_id}/${row.run_id}: DAG version ${row.version_hash} is not in the store; skipping it`);
      return;
    }
    const { active } = this;
    const model = new RunModel(row, spec);
    if (row.state === 'running') model.load(await this.o.store.listTaskInstances(row.dag_id, row.run_id), active.nextSeq);
    const old = active.runs.get(model.key);
    active.runs.set(model.key, model);
    for (const ti of allInstances(model)) {
      if (ti.state === 'scheduled') active.queue.push(ti);
      if (ti.state === 'up_for_retry') active.retryTimers.push(ti);
    }
    if (old) this.rebindLive(old, model);
  }

  /** After a reload, live tries point at the new model; a try whose instance moved on is stopped. */
  private rebindLive(old: RunModel, model: RunModel): void {
    for (const l of this.active.live.values()) {
      if (l.ti.task.run !== old) continue;
      const ti = model.tasks.get(l.key.taskId)?.instances.get(l.key.mapIndex);
      if (ti && LIVE_STATES.includes(ti.state) && ti.tryNumber === l.key.tryNumber) {
        l.ti = ti;
      } else if (!l.cancelling) {
        l.cancelling = true;
        this.hooks.cancel(l, 'the task instance was cleared or marked while it ran');
      }
    }
  }

  private dropRun(model: RunModel, reason: string): void {
    this.active.runs.delete(model.key);
    for (const l of this.active.live.values()) {
      if (l.ti.task.run === model && !l.cancelling) {
        l.cancelling = true;
        this.hooks.cancel(l, reason);
      }
    }
  }
}
