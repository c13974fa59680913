import os from 'node:os';
import type { LogFields } from '../observability/logger.js';
import type { TaskState } from '../core/states.js';
import type { FailureClass } from '../core/failure.js';
import { type AnyLaunch, type Executor, type ExecutorEvent, type LaunchRequest, type TryKey, tryKeyString } from '../executors/types.js';
import type { DagRow, DagRunRow, Store, TiChange } from '../store/store.js';
import type { TaskTryTable } from '../store/schema.js';
import { decideTask } from './dependencies.js';
import { Heap } from '../util/heap.js';
import { formatMs } from './format.js';
import { buildLaunch, neededResults } from './launch.js';
import { WriteBuffer } from './write-buffer.js';
import { resolveTry } from './outcome.js';
import type { HomeLayout } from './paths.js';
import { RunModel, runKey, type TaskModel, type TiModel } from './run-model.js';
import { RealtimeLoop } from './realtime-loop.js';
import { notifiersFor, Outbox } from './notifications.js';
import type { CallbackWorkers } from '../notify/callback.js';
import { recordTickMetrics } from './tick-metrics.js';
import { dueDeadlines, nextDeadline } from './deadlines.js';
import { AdmissionCounters, addResources, blockReason, impossibleRequest, NO_RESOURCES, tiGpus, type PoolLimits } from './admission.js';
import { effectiveResources } from './task-overrides.js';
import type { DagSpec, Resources } from '../core/spec.js';
import { createDueRuns } from './scheduled-runs.js';
import { createAssetRuns } from './asset-runs.js';
import { SweepMonitor, type SweepHooks } from './sweeps.js';
import { type CacheHooks, fromCache } from './cache.js';

/** Scheduled runs created per sync: a long catch-up proceeds in slices, so other DAGs keep moving. */
const SCHEDULED_RUNS_PER_SYNC = 1_000;
/** The executor that pokes sensors; it holds no slot. */
const SENSOR_EXECUTOR = 'sensor';
/** States of a task instance whose try is live. */
const LIVE_STATES: readonly TaskState[] = ['queued', 'running', 'deferred'];
/** Active runs a scheduler claims per sync; the rest are left for others. */
const RUNS_CLAIMED_PER_SYNC = 32;
/** How often a scheduler writes its heartbeat. */
const HEARTBEAT_MS = 2_000;
/** Queued runs kept in memory per DAG; more wait in the store. */
const QUEUED_RUNS_LOADED_PER_DAG = 64;
import { newTaskInstanceRow } from './rows.js';

export interface SchedulerOptions {
  readonly store: Store;
  readonly executors: Readonly<Record<string, Executor>>;
  readonly defaultExecutor: string;
  readonly layout: HomeLayout;
  readonly parallelism: number;
  readonly killGraceMs: number;
  readonly resultLimitBytes: number;
  readonly freeRetryCap: number;
  readonly schedulerId: string;
  readonly random?: () => number;
  /** How often the store is re-read for runs triggered or changed elsewhere. */
  readonly syncIntervalMs?: number;
  /** Create the runs of scheduled DAGs (default true). */
  readonly createScheduledRuns?: boolean;
  /** A scheduler whose heartbeat is older than this is dead; its runs are taken over (default 30 s). */
  readonly staleSchedulerMs?: number;
  /** An OOM-killed try is retried with memory × 1.5, up to this many MiB (default 65536). */
  readonly oomMemoryCapMb?: number;
  readonly log?: (line: string, fields?: LogFields) => void;
  /** Runs callbacks (onSuccess, onFailure, …): the worker pool of inline tasks. */
  readonly workerPool?: CallbackWorkers;
  /** How long one callback may run before its worker is stopped (default 30 s). */
  readonly callbackTimeoutMs?: number;
}

interface LiveTry {
  ti: TiModel;
  readonly key: TryKey;
  readonly executor: string;
  startedAt: number | null;
  cancelling: boolean;
}

type Finished = Extract<ExecutorEvent, { type: 'finished' }>;

/**
 * The scheduler: a deterministic `tick(now)` over the store and the executors' events.
 * `start()` drives it in real time, waking on every executor event, so a finished task's
 * downstream starts at once.
 */
export class Scheduler {
  private readonly runs = new Map<string, RunModel>();
  private readonly queue = new Heap<TiModel>((a, b) =>
    a.task.spec.priorityWeight !== b.task.spec.priorityWeight ? a.task.spec.priorityWeight > b.task.spec.priorityWeight : a.seq < b.seq,
  );
  private readonly retryTimers = new Heap<TiModel>((a, b) => (a.nextRetryAt ?? 0) < (b.nextRetryAt ?? 0));
  private readonly inbox: ExecutorEvent[] = [];
  private readonly live = new Map<string, LiveTry>();
  private readonly counters = new AdmissionCounters((ti) => this.gpusOf(ti));
  private readonly dagFiles = new Map<string, string>();
  private readonly pausedDags = new Set<string>();
  private readonly specs = new Map<string, DagSpec>();
  private readonly outbox: Outbox;
  /** This tick's guarded writes, sent together. */
  private readonly writes = new WriteBuffer((missed) => this.onMissed(missed));
  private readonly sweeps = new SweepMonitor();
  /** Deadlines already handled (fired, or found fired in the store). */
  private readonly deadlinesDone = new Set<string>();
  /** Run time of tries finished in this tick, for duration metrics. */
  private readonly runSeconds = new Map<string, number>();
  private pools = new Map<string, PoolLimits>();
  private seq = 0;
  private lastSync = Number.NEGATIVE_INFINITY;
  /** Scheduled DAGs whose catch-up has runs left to create. */
  private catchUpDags?: readonly DagRow[];
  private lastHeartbeat = Number.NEGATIVE_INFINITY;
  private liveSensors = 0;
  private forceSync = true;
  private launching = true;
  private readonly random: () => number;
  private readonly log: (line: string, fields?: LogFields) => void;
  private readonly listeners = new Set<() => void>();
  private readonly loop: RealtimeLoop;

  constructor(private readonly o: SchedulerOptions) {
    this.random = o.random ?? Math.random;
    this.log = o.log ?? (() => {});
    this.outbox = new Outbox(this.log, { store: o.store, workers: o.workerPool, callbackTimeoutMs: o.callbackTimeoutMs, schedulerId: o.schedulerId, staleSchedulerMs: o.staleSchedulerMs });
    this.loop = new RealtimeLoop(
      { tick: (now) => this.tick(now), nextWakeAt: (now) => this.nextWakeAt(now), hasPendingWork: () => this.inbox.length > 0 },
      (e) => this.log(`scheduler tick failed: ${(e as Error).stack ?? e}`),
    );
    for (const ex of Object.values(o.executors)) ex.onEvent((ev) => this.receive(ev));
  }

  /** Executor events are queued here and applied by the next tick. */
  receive(ev: ExecutorEvent): void {
    this.inbox.push(ev);
    this.wake();
  }

  /** Asks for a re-read of the store (a run was triggered or changed) on the next tick. */
  notify(): void {
    this.forceSync = true;
    this.wake();
  }

  /** Called after every tick; tests and `dags test` use it to watch progress. */
  onTick(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Starts up. With SQLite only one scheduler exists, so every live try is its predecessor's
   * and is taken back now; with Postgres, a dead scheduler's runs and tries are taken over
   * once its heartbeat is stale.
   */
  async recover(now: number): Promise<void> {
    if (this.o.store.dialect === 'sqlite') await this.o.store.db.updateTable('dag_run').set({ claimed_by: this.o.schedulerId }).where('state', 'in', ['queued', 'running']).execute();
    await this.sync(now);
    await this.outbox.resume(now);
    if (this.o.store.dialect === 'sqlite') await this.adoptTries(await this.o.store.liveTries(), now);
  }

  /** Hands live tries of earlier or dead schedulers to the executors; what they cannot adopt is lost (and retried). */
  private async adoptTries(tries: Awaited<ReturnType<Store['liveTries']>>, now: number): Promise<void> {
    tries = tries.filter((t) => this.runs.has(runKey(t.dag_id, t.run_id)) && !this.live.has(tryKeyString({ dagId: t.dag_id, runId: t.run_id, taskId: t.task_id, mapIndex: t.map_index, tryNumber: t.try_number })));
    const byExecutor = new Map<string, typeof tries>();
    for (const t of tries) byExecutor.set(t.executor, [...(byExecutor.get(t.executor) ?? []), t]);
    for (const [name, rows] of byExecutor) {
      const executor = this.o.executors[name];
      const records = rows.map((r) => ({
        key: { dagId: r.dag_id, runId: r.run_id, taskId: r.task_id, mapIndex: r.map_index, tryNumber: r.try_number },
        pid: r.pid,
        host: r.host,
        external: r.external,
        startedAt: r.start_date,
      }));
      const results = executor
        ? await executor.adopt(records)
        : records.map((r) => ({ key: r.key, adopted: false as const, reason: `executor '${name}' is not configured here` }));
      for (const res of results) {
        const ti = this.findTi(res.key);
        await this.o.store.updateTry(res.key, ['queued', 'running'], { scheduler_id: this.o.schedulerId });
        if (ti && res.adopted) this.track(ti, res.key, name, now);
        if (!res.adopted) {
          if (ti) this.track(ti, res.key, name, null);
          this.inbox.push(lostEvent(res.key, now, res.reason));
        }
      }
    }
  }

  // ---- the tick --------------------------------------------------------------------------

  async tick(now: number): Promise<void> {
    const started = process.hrtime.bigint();
    const synced = this.forceSync || now - this.lastSync >= (this.o.syncIntervalMs ?? 250);
    if (synced) await this.sync(now);
    const events = this.inbox.splice(0);
    const launches: AnyLaunch[] = [];
    const cancels: { live: LiveTry; cls: FailureClass; reason: string }[] = [];
    try {
      await this.o.store.transaction(async (storeTx) => {
        const tx = this.writes.wrap(storeTx);
        for (const ev of events) await this.applyEvent(tx, ev, now);
        await this.fireTimers(tx, now, cancels);
        await this.sweeps.evaluate(tx, events, this.runs, this.sweepHooks(tx, cancels));
        await this.startQueuedRuns(tx, now);
        await this.propagate(tx, now);
        await this.finishRuns(tx, now);
        if (this.launching) await this.admit(tx, now, launches);
        await this.outbox.persist(tx);
        await this.writes.flush(storeTx);
      });
    } catch (e) {
      this.log(`scheduler tick failed, reloading from the store: ${(e as Error).stack ?? e}`);
      this.writes.discard();
      this.outbox.discard();
      this.resetModels();
      return;
    }
    this.outbox.flush();
    for (const c of cancels) void this.executorOf(c.live.executor).cancel(c.live.key, c.cls, c.reason);
    for (const req of launches) this.launch(req);
    // After this tick's launches, so events that arrive meanwhile wait on one slice at most.
    if (!synced && this.catchUpDags) await this.createScheduledRuns(this.catchUpDags, now);
    recordTickMetrics(events, this.runSeconds, [...this.live.values()], this.pools, this.counters, started, this.o.defaultExecutor);
    for (const l of this.listeners) l();
  }

  /** The earliest time a timer needs the next tick. */
  nextWakeAt(now: number): number {
    let at = this.lastSync + (this.o.syncIntervalMs ?? 250);
    const retry = this.retryTimers.peek();
    if (retry?.nextRetryAt != null) at = Math.min(at, retry.nextRetryAt);
    for (const l of this.live.values()) {
      const timeout = l.ti.task.spec.executionTimeoutMs;
      if (l.startedAt !== null && timeout !== undefined && !l.cancelling) at = Math.min(at, l.startedAt + timeout);
    }
    for (const run of this.runs.values()) {
      const t = run.spec.dagrunTimeoutMs;
      if (t !== undefined && run.row.start_date !== null) at = Math.min(at, run.row.start_date + t);
      at = Math.min(at, nextDeadline(run, this.deadlinesDone));
    }
    return Math.max(at, now);
  }

  // ---- reading the store -----------------------------------------------------------------

  private async sync(now: number): Promise<void> {
    this.lastSync = now;
    this.forceSync = false;
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
    this.pools = new Map(pools.map((p) => [p.name, { slots: p.slots, gpus: p.gpus }]));
    this.pausedDags.clear();
    for (const d of dags) {
      this.dagFiles.set(d.dag_id, d.fileloc);
      if (d.is_paused) this.pausedDags.add(d.dag_id);
    }
    const active = new Set<string>();
    for (const row of [...running, ...queued]) {
      const key = runKey(row.dag_id, row.run_id);
      active.add(key);
      const model = this.runs.get(key);
      if (!model || model.row.change_seq !== row.change_seq || model.row.state !== row.state) await this.loadRun(row);
    }
    for (const [key, model] of this.runs) if (!active.has(key)) this.dropRun(model, 'the run was deleted or finished elsewhere');
    // Runs taken over from a dead scheduler: take back its tries, or record them as lost.
    if (claimed && dead.length) await this.adoptTries(await store.liveTries(dead), now);
  }

  /**
   * Creates due scheduled runs, one bounded slice per tick: while a long catch-up has more,
   * the next tick (at once) makes the next slice without a full sync, so the ticks in
   * between keep scheduling other DAGs' tasks.
   */
  private async createScheduledRuns(dags: readonly DagRow[], now: number): Promise<void> {
    const due = await createDueRuns(this.o.store, dags, (d, h) => this.specOf(d, h), now, SCHEDULED_RUNS_PER_SYNC);
    this.catchUpDags = due.more ? dags : undefined;
    if (due.more) this.wake();
  }

  /** DAG specs by version; a version never changes, so they are cached. */
  private async specOf(dagId: string, hash: string): Promise<DagSpec | undefined> {
    const key = `${dagId}@${hash}`;
    let spec = this.specs.get(key);
    if (!spec) {
      spec = await this.o.store.getSpec(dagId, hash);
      if (spec) this.specs.set(key, spec);
    }
    return spec;
  }

  private async loadRun(row: DagRunRow): Promise<void> {
    const spec = await this.specOf(row.dag_id, row.version_hash);
    if (!spec) {
      this.log(`run ${row.dag_id}/${row.run_id}: DAG version ${row.version_hash} is not in the store; skipping it`);
      return;
    }
    const model = new RunModel(row, spec);
    if (row.state === 'running') model.load(await this.o.store.listTaskInstances(row.dag_id, row.run_id), () => ++this.seq);
    const old = this.runs.get(model.key);
    this.runs.set(model.key, model);
    for (const ti of allInstances(model)) {
      if (ti.state === 'scheduled') this.queue.push(ti);
      if (ti.state === 'up_for_retry') this.retryTimers.push(ti);
    }
    if (old) this.rebindLive(old, model);
  }

  /** After a reload, live tries point at the new model; a try whose instance moved on is stopped. */
  private rebindLive(old: RunModel, model: RunModel): void {
    for (const l of this.live.values()) {
      if (l.ti.task.run !== old) continue;
      const ti = model.tasks.get(l.key.taskId)?.instances.get(l.key.mapIndex);
      if (ti && LIVE_STATES.includes(ti.state) && ti.tryNumber === l.key.tryNumber) {
        l.ti = ti;
      } else if (!l.cancelling) {
        l.cancelling = true;
        void this.executorOf(l.executor).cancel(l.key, 'cancelled', 'the task instance was cleared or marked while it ran');
      }
    }
  }

  private dropRun(model: RunModel, reason: string): void {
    this.runs.delete(model.key);
    for (const l of this.live.values()) {
      if (l.ti.task.run === model && !l.cancelling) {
        l.cancelling = true;
        void this.executorOf(l.executor).cancel(l.key, 'cancelled', reason);
      }
    }
  }

  private resetModels(): void {
    this.runs.clear();
    this.queue.clear();
    this.retryTimers.clear();
    this.forceSync = true;
    this.wake();
  }

  // ---- executor events -------------------------------------------------------------------

  private async applyEvent(tx: Store, ev: ExecutorEvent, now: number): Promise<void> {
    const k = ev.key;
    const live = this.live.get(tryKeyString(k));
    switch (ev.type) {
      case 'started': {
        this.writes.tryChange({ key: k, from: ['queued'], set: { state: 'running', start_date: ev.at, host: ev.host, pid: ev.pid ?? null, external: ev.external ?? null } });
        if (!live) return;
        live.startedAt = ev.at;
        if (live.ti.state === 'queued') this.setTi(live.ti, 'running', { start_date: ev.at }, ['queued']);
        return;
      }
      case 'telemetry': {
        if (ev.metrics.length) {
          await tx.insertMetrics(
            ev.metrics.map((m) => ({ dag_id: k.dagId, run_id: k.runId, task_id: k.taskId, map_index: k.mapIndex, try_number: k.tryNumber, ...m })),
          );
        }
        if (ev.params && live) this.setTi(live.ti, live.ti.state, { params: JSON.stringify(ev.params) }, [live.ti.state]);
        return;
      }
      case 'pending_reason':
        if (live) this.setTi(live.ti, live.ti.state, { reason: ev.reason }, [live.ti.state]);
        return;
      case 'finished':
        return this.applyFinished(tx, ev, live, now);
    }
  }

  private async applyFinished(tx: Store, ev: Finished, live: LiveTry | undefined, now: number): Promise<void> {
    const tryFields: Partial<TaskTryTable> = { end_date: ev.at, exit_code: ev.exitCode, signal: ev.signal, reason: ev.reason ?? null };
    if (live) this.untrack(live);
    if (live?.startedAt != null) this.runSeconds.set(tryKeyString(ev.key), (ev.at - live.startedAt) / 1000);
    const ti = live?.ti;
    const current = ti && ti.task.run === this.runs.get(ti.task.run.key) && ti.tryNumber === ev.key.tryNumber && LIVE_STATES.includes(ti.state);
    if (!ti || !current) {
      // The instance moved on (cleared, marked, run deleted): record the try only.
      this.writes.tryChange({ key: ev.key, from: ['queued', 'running'], set: { ...tryFields, state: ev.outcome === 'success' ? 'success' : ev.outcome, failure_class: ev.failureClass ?? null } });
      return;
    }
    const run = ti.task.run;
    const r = resolveTry(run, ti, ev, now, { freeRetryCap: this.o.freeRetryCap, random: this.random });
    const budget = r.state === 'up_for_retry' || r.state === 'failed' ? r.countsAgainstBudget : true;
    this.writes.tryChange({
      key: ev.key,
      from: ['queued', 'running'],
      set: {
        ...tryFields,
        state: r.state === 'success' ? 'success' : r.state === 'skipped' ? 'skipped' : 'failed',
        failure_class: ('failureClass' in r ? r.failureClass : null) ?? null,
        reason: ('reason' in r ? r.reason : null) ?? null,
        result: r.state === 'success' ? JSON.stringify(r.result) : null,
        counts_against_budget: budget ? 1 : 0,
      },
    });
    if (budget) ti.budgetTries += 1;
    else ti.freeRetries += 1;
    const common = { end_date: ev.at, budget_tries: ti.budgetTries, free_retries: ti.freeRetries };
    switch (r.state) {
      case 'success':
        ti.stoppedEarly = r.failureClass === 'early_stopped';
        this.setTi(ti, 'success', { ...common, result: JSON.stringify(r.result), failure_class: r.failureClass ?? null, reason: r.reason ?? null });
        if (ti.task.mapped) run.results.delete(ti.task.spec.taskId);
        else run.results.set(ti.task.spec.taskId, r.result);
        if (r.follow) this.skipUnfollowed(run, ti.task, r.follow, now);
        // Outlets: the assets this task updated, recorded only on success.
        const outlets = ti.task.spec.outlets ?? [];
        if (outlets.length) {
          await tx.insertAssetEvents(outlets.map((uri) => ({ uri, source: `${run.dagId}/${run.runId}/${ti.task.spec.taskId}`, extra: { map_index: ti.mapIndex, try_number: ev.key.tryNumber }, at: ev.at })));
          this.forceSync = true;
        }
        break;
      case 'skipped':
        this.setTi(ti, 'skipped', { ...common, reason: r.reason });
        break;
      case 'up_for_retry': {
        ti.nextRetryAt = r.nextRetryAt;
        let reason = r.reason;
        if (r.failureClass === 'oom_killed') {
          const memoryMb = oomRetryMemory(ti, this.o.oomMemoryCapMb ?? 65_536);
          ti.resourceOverrides = { ...(ti.resourceOverrides ?? {}), memoryMb };
          reason = `${reason} The retry asks for ${memoryMb} MiB of memory.`;
        }
        this.setTi(ti, 'up_for_retry', {
          ...common,
          next_retry_at: r.nextRetryAt,
          failure_class: r.failureClass,
          reason,
          resource_overrides: ti.resourceOverrides ? JSON.stringify(ti.resourceOverrides) : null,
        });
        this.retryTimers.push(ti);
        break;
      }
      case 'failed':
        this.setTi(ti, 'failed', { ...common, failure_class: r.failureClass, reason: r.reason });
        break;
    }
    run.markDownstreamDirty(ti.task.spec.taskId);
    const event = ({ success: 'task_success', skipped: 'task_skipped', up_for_retry: 'task_retry', failed: 'task_failed' } as const)[r.state];
    this.outbox.add(notifiersFor(event, run.spec, ti.task.spec), {
      kind: event,
      dagId: run.dagId,
      runId: run.runId,
      taskId: ti.task.spec.taskId,
      mapIndex: ti.mapIndex,
      tryNumber: ev.key.tryNumber,
      state: r.state,
      reason: 'reason' in r ? r.reason : undefined,
      failureClass: 'failureClass' in r ? r.failureClass : undefined,
      at: ev.at,
    });
  }

  /** A branch's unchosen direct downstream tasks are skipped; trigger rules carry it on. */
  private skipUnfollowed(run: RunModel, branch: TaskModel, follow: readonly string[], now: number): void {
    for (const downId of run.downstream.get(branch.spec.taskId) ?? []) {
      if (follow.includes(downId)) continue;
      const down = run.task(downId);
      for (const ti of down.instances.values()) {
        if (ti.state === 'none') this.setTi(ti, 'skipped', { end_date: now, reason: `not chosen by branch '${branch.spec.taskId}'` });
      }
      run.markDownstreamDirty(downId);
    }
  }

  // ---- timers ----------------------------------------------------------------------------

  private async fireTimers(tx: Store, now: number, cancels: { live: LiveTry; cls: FailureClass; reason: string }[]): Promise<void> {
    await this.fireDeadlines(tx, now);
    for (let ti = this.retryTimers.pop(); ti; ti = this.retryTimers.pop()) {
      if ((ti.nextRetryAt ?? 0) > now) {
        this.retryTimers.push(ti);
        break;
      }
      if (ti.state === 'up_for_retry' && this.isCurrent(ti)) this.schedule(ti, ['up_for_retry']);
    }
    for (const l of this.live.values()) {
      const timeout = l.ti.task.spec.executionTimeoutMs;
      if (timeout === undefined || l.startedAt === null || l.cancelling || now < l.startedAt + timeout) continue;
      l.cancelling = true;
      cancels.push({ live: l, cls: 'execution_timeout', reason: `ran longer than its execution timeout of ${formatMs(timeout)}` });
    }
    for (const run of this.runs.values()) {
      const t = run.spec.dagrunTimeoutMs;
      if (t === undefined || run.row.start_date === null || run.row.state !== 'running' || now < run.row.start_date + t || run.timedOut) continue;
      run.timedOut = true;
      for (const l of this.live.values()) {
        if (l.ti.task.run !== run || l.cancelling) continue;
        l.cancelling = true;
        cancels.push({ live: l, cls: 'cancelled', reason: `the run exceeded its dagrunTimeout of ${formatMs(t)}` });
      }
      for (const ti of allInstances(run)) {
        if (['none', 'scheduled', 'up_for_retry', 'deferred'].includes(ti.state)) {
          this.setTi(ti, 'skipped', { end_date: now, reason: `the run exceeded its dagrunTimeout of ${formatMs(t)}` });
        }
      }
    }
  }

  /** Fires each missed deadline once: the store's row is the proof it fired. */
  private async fireDeadlines(tx: Store, now: number): Promise<void> {
    for (const run of this.runs.values()) {
      for (const d of dueDeadlines(run, now, this.deadlinesDone)) {
        if (!(await tx.recordDeadlineMissed(run.dagId, run.runId, d.taskId, now))) continue;
        const task = d.taskId ? run.tasks.get(d.taskId)?.spec : undefined;
        this.log(`deadline missed: ${run.dagId}/${run.runId}: ${d.what}`, { dag_id: run.dagId, run_id: run.runId });
        this.outbox.add(notifiersFor('deadline_missed', run.spec, task), { kind: 'deadline_missed', dagId: run.dagId, runId: run.runId, taskId: d.taskId || undefined, state: run.row.state, reason: d.what, at: now });
      }
    }
  }

  // ---- runs ------------------------------------------------------------------------------

  /**
   * Starts queued runs within limits: a DAG's maxActiveRuns for its scheduled and manual runs,
   * and each backfill's own max active runs for the runs it made.
   */
  private async startQueuedRuns(tx: Store, now: number): Promise<void> {
    const limitKey = (r: RunModel) => r.row.backfill_id ?? `dag:${r.dagId}`;
    const running = new Map<string, number>();
    for (const r of this.runs.values()) if (r.row.state === 'running') running.set(limitKey(r), (running.get(limitKey(r)) ?? 0) + 1);
    const queued = [...this.runs.values()].filter((r) => r.row.state === 'queued' && !this.pausedDags.has(r.dagId));
    const backfillIds = [...new Set(queued.flatMap((r) => (r.row.backfill_id ? [r.row.backfill_id] : [])))];
    const backfillLimits = await tx.backfillLimits(backfillIds);
    queued.sort((a, b) => a.row.queued_at - b.row.queued_at);
    for (const run of queued) {
      const key = limitKey(run);
      const limit = run.row.backfill_id ? (backfillLimits.get(run.row.backfill_id) ?? 1) : run.spec.maxActiveRuns;
      const active = running.get(key) ?? 0;
      if (active >= limit) continue;
      if (!(await tx.setRunState(run.dagId, run.runId, ['queued'], { state: 'running', start_date: now }))) {
        this.forceSync = true;
        continue;
      }
      running.set(key, active + 1);
      run.row = { ...run.row, state: 'running', start_date: now };
      // A cleared run keeps its task instances; a new one gets one per task.
      const existing = await tx.listTaskInstances(run.dagId, run.runId);
      const present = new Set(existing.map((r) => r.task_id));
      const rows = run.spec.tasks.filter((t) => !present.has(t.taskId)).map((t) => newTaskInstanceRow(run, t, -1, 'none', now));
      await tx.insertTaskInstances(rows);
      run.load([...existing, ...(rows as typeof existing)], () => ++this.seq);
      for (const ti of allInstances(run)) if (ti.state === 'scheduled') this.queue.push(ti);
    }
  }

  /** Evaluates dependencies of every dirty task until nothing changes. */
  private async propagate(tx: Store, now: number): Promise<void> {
    for (const run of this.runs.values()) {
      if (run.row.state !== 'running') continue;
      while (run.dirty.size > 0) {
        const [taskId] = run.dirty;
        run.dirty.delete(taskId);
        const task = run.task(taskId);
        if (task.count('none') === 0) continue;
        await this.loadMappingResults(tx, run, task);
        const action = decideTask(run, task);
        if (action.kind === 'wait') continue;
        const pending = [...task.instances.values()].filter((ti) => ti.state === 'none');
        if (action.kind === 'schedule' && task.spec.sweepBestOf !== undefined) await this.sweeps.completeBest(tx, task, now, this.sweepHooks(tx, []));
        else if (action.kind === 'schedule') for (const ti of pending) this.schedule(ti, ['none']);
        else if (action.kind === 'finish') {
          for (const ti of pending) this.setTi(ti, action.state, { end_date: now, reason: action.reason });
        } else await this.expand(tx, run, task, action.items, now);
        run.markDownstreamDirty(taskId);
      }
    }
  }

  private async loadMappingResults(tx: Store, run: RunModel, task: TaskModel): Promise<void> {
    if (!task.mapped || task.expanded) return;
    const ids = Object.values(task.spec.mapping!.sources).flatMap((s) => (s.kind === 'result' ? [s.taskId] : []));
    await this.ensureResults(tx, run, ids);
  }

  private async ensureResults(tx: Store, run: RunModel, ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      if (run.results.has(id)) continue;
      const up = run.tasks.get(id);
      if (!up) continue;
      const rows = await tx.taskResults(run.dagId, run.runId, id);
      if (up.mapped) run.results.set(id, rows.map((r) => r.result));
      else if (rows.length) run.results.set(id, rows[0].result);
    }
  }

  private async expand(tx: Store, run: RunModel, task: TaskModel, items: readonly Record<string, unknown>[], now: number): Promise<void> {
    const placeholder = task.instances.get(-1);
    if (placeholder) this.setTi(placeholder, 'removed', { end_date: now, reason: `expanded into ${items.length} instances` });
    const rows = items.map((item, i) => newTaskInstanceRow(run, task.spec, i, 'scheduled', now, item));
    await tx.insertTaskInstances(rows);
    task.expanded = true;
    items.forEach((item, i) => {
      const ti: TiModel = { task, mapIndex: i, state: 'scheduled', tryNumber: 0, budgetTries: 0, freeRetries: 0, nextRetryAt: null, seq: ++this.seq, item, resourceOverrides: null };
      task.add(ti);
      this.queue.push(ti);
    });
  }

  private async finishRuns(tx: Store, now: number): Promise<void> {
    for (const run of [...this.runs.values()]) {
      if (run.row.state !== 'running' || run.unfinished > 0) continue;
      const failedLeaf = run.leaves().some((t) => t.count('failed') + t.count('upstream_failed') > 0);
      const state = failedLeaf || run.timedOut ? 'failed' : 'success';
      if (await tx.setRunState(run.dagId, run.runId, ['running'], { state, end_date: now })) {
        this.log(`run ${run.dagId}/${run.runId} finished: ${state}`, { dag_id: run.dagId, run_id: run.runId, state });
        const event = state === 'success' ? 'run_success' : 'run_failed';
        const reason = run.timedOut ? 'the run exceeded its dagrunTimeout' : failedLeaf ? 'a final task failed' : undefined;
        this.outbox.add(notifiersFor(event, run.spec), { kind: event, dagId: run.dagId, runId: run.runId, state, reason, at: now });
      }
      this.runs.delete(run.key);
    }
  }

  // ---- admission and launch --------------------------------------------------------------

  private async admit(tx: Store, now: number, launches: AnyLaunch[]): Promise<void> {
    // Nothing waits, or no room: the counters (a read under lock on Postgres) are not needed.
    if (this.queue.size === 0 || this.live.size - this.liveSensors >= this.o.parallelism) return;
    const blocked: TiModel[] = [];
    const counters = await this.admissionCounters(tx);
    // Resources admitted in this pass, per executor: they launch only after the commit.
    const admitted = new Map<string, Resources>();
    // Waiting sensors hold no slot: only other tries count against parallelism.
    while (this.live.size - this.liveSensors < this.o.parallelism && blocked.length < 256) {
      const ti = this.queue.pop();
      if (!ti) break;
      if (ti.state !== 'scheduled' || !this.isCurrent(ti)) continue;
      const cache = ti.task.spec.cache ? await fromCache(tx, ti, this.o.layout, this.cacheHooks(tx, ti, now)) : undefined;
      if (cache?.hit) continue;
      const run = ti.task.run;
      const isSensor = ti.task.spec.kind === 'sensor';
      const executorName = isSensor ? SENSOR_EXECUTOR : (ti.task.spec.executor ?? run.spec.executor ?? this.o.defaultExecutor);
      const executor = this.o.executors[executorName];
      const reason = !executor
        ? `executor '${executorName}' is not configured; configure it or choose another executor`
        : isSensor
          ? null
          : blockReason(ti, run.spec, this.pools, counters, executor, admitted.get(executorName));
      if (reason) {
        const never = executor && impossibleRequest(ti, executor);
        if (never) await this.failUnschedulable(tx, ti, never, now);
        else blocked.push(ti);
        continue;
      }
      const key: TryKey = { dagId: run.dagId, runId: run.runId, taskId: ti.task.spec.taskId, mapIndex: ti.mapIndex, tryNumber: ti.tryNumber + 1 };
      await this.ensureResults(tx, run, neededResults(ti));
      let req: AnyLaunch | undefined;
      let launchError: string | undefined;
      try {
        req = buildLaunch(run, ti, key, {
          layout: this.o.layout,
          killGraceMs: this.o.killGraceMs,
          resultLimitBytes: this.o.resultLimitBytes,
          dagFile: this.dagFiles.get(run.dagId) ?? '',
        });
      } catch (e) {
        launchError = (e as Error).message;
      }
      if (req && 'deferred' in req && req.deferred && !executor!.readsStoredResults) {
        const from = Object.keys(req.deferred.results).join(', ');
        launchError = `it reads a result kept in the artifact store (from ${from}), which executor '${executorName}' cannot read; keep that result under the inline limit (TRAINYARD_RESULT_LIMIT_BYTES), or have the upstream task write it to the artifact store itself and return its URI`;
        req = undefined;
      }
      this.writes.insertTries([
        {
          dag_id: key.dagId,
          run_id: key.runId,
          task_id: key.taskId,
          map_index: key.mapIndex,
          try_number: key.tryNumber,
          state: 'queued',
          executor: executorName,
          queued_at: now,
          log_path: this.o.layout.logPath(key),
          scheduler_id: this.o.schedulerId,
          counts_against_budget: 1,
          cache_key: cache?.key ?? null,
        },
      ]);
      ti.tryNumber = key.tryNumber;
      const poolGpus = isSensor ? 0 : this.gpusOf(ti);
      this.setTi(ti, isSensor ? 'deferred' : 'queued', { try_number: key.tryNumber, queued_at: now, next_retry_at: null, reason: null, pool_gpus: poolGpus }, ['scheduled']);
      this.track(ti, key, executorName, null);
      if (counters !== this.counters && !isSensor) counters.add(ti);
      admitted.set(executorName, addResources(admitted.get(executorName) ?? NO_RESOURCES, effectiveResources(ti)));
      if (req) launches.push(req);
      else this.inbox.push({ type: 'finished', key, at: now, outcome: 'failed', exitCode: null, signal: null, failureClass: 'upstream_unavailable', reason: `could not prepare the task: ${launchError}` });
    }
    for (const ti of blocked) this.queue.push(ti);
    if (this.inbox.length) this.wake();
  }

  /**
   * Slots in use. One scheduler (SQLite) knows them all; with several (Postgres) pool and
   * DAG usage are read from the store under the pool rows' locks.
   */
  private async admissionCounters(tx: Store): Promise<AdmissionCounters> {
    if (tx.dialect !== 'postgres') return this.counters;
    const usage = await tx.activeUsage([...this.pools.keys()]);
    return AdmissionCounters.from(usage, this.counters.byTask, (ti) => this.gpusOf(ti));
  }

  /** The GPUs an instance asks for, counted against its pool's GPU quota. */
  private gpusOf(ti: TiModel): number {
    return tiGpus(ti, this.o.executors[ti.task.spec.executor ?? ti.task.run.spec.executor ?? this.o.defaultExecutor]);
  }

  private launch(req: AnyLaunch): void {
    const live = this.live.get(tryKeyString(req.key));
    if (!live) return;
    this.executorOf(live.executor)
      // Only the sensor executor is given sensor launches.
      .launch(req as LaunchRequest)
      .catch((e: Error) =>
        this.receive({ type: 'finished', key: req.key, at: Date.now(), outcome: 'failed', exitCode: null, signal: null, failureClass: 'lost', reason: `the executor could not launch the task: ${e.message}` }),
      );
  }

  /** A task that can never be admitted fails at once, saying why; it is not retried. */
  private async failUnschedulable(tx: Store, ti: TiModel, reason: string, now: number): Promise<void> {
    this.setTi(ti, 'failed', { end_date: now, failure_class: 'unschedulable', reason }, ['scheduled']);
    ti.task.run.markDownstreamDirty(ti.task.spec.taskId);
    await this.propagate(tx, now);
  }

  // ---- helpers ---------------------------------------------------------------------------

  private cacheHooks(tx: Store, ti: TiModel, now: number): CacheHooks {
    return {
      now,
      ensureResults: (ids) => this.ensureResults(tx, ti.task.run, ids),
      succeed: async (fields) => this.setTi(ti, 'success', fields, ['scheduled']),
      propagate: () => this.propagate(tx, now),
    };
  }

  /** What sweeps may do: see live tries, stop them with class early_stopped, schedule promoted trials. */
  private sweepHooks(tx: Store, cancels: { live: LiveTry; cls: FailureClass; reason: string }[]): SweepHooks {
    const liveOf = (ti: TiModel) => this.live.get(tryKeyString({ dagId: ti.task.run.dagId, runId: ti.task.run.runId, taskId: ti.task.spec.taskId, mapIndex: ti.mapIndex, tryNumber: ti.tryNumber }));
    return {
      isRunning: (ti) => liveOf(ti)?.cancelling === false,
      stop: (ti, reason) => {
        const l = liveOf(ti);
        if (!l || l.cancelling) return;
        l.cancelling = true;
        cancels.push({ live: l, cls: 'early_stopped', reason });
      },
      promote: async (ti, reason) => {
        ti.stoppedEarly = false;
        ti.seq = ++this.seq;
        this.setTi(ti, 'scheduled', { failure_class: null, reason, end_date: null }, ['success']);
        this.queue.push(ti);
      },
      setTi: async (ti, to, fields, from) => this.setTi(ti, to, fields, from),
      log: this.log,
    };
  }

  private schedule(ti: TiModel, from: TaskState[]): void {
    ti.seq = ++this.seq;
    this.setTi(ti, 'scheduled', {}, from);
    this.queue.push(ti);
  }

  /** Guarded write of a task instance's state, mirrored in the model; sent with the tick's other writes. */
  private setTi(ti: TiModel, to: TaskState, fields: TiChange['set'], from: readonly TaskState[] = [ti.state]): void {
    const run = ti.task.run;
    this.writes.ti({
      key: { dagId: run.dagId, runId: run.runId, taskId: ti.task.spec.taskId, mapIndex: ti.mapIndex },
      from,
      set: { ...fields, state: to, updated_at: Date.now() },
    });
    ti.task.setState(ti, to);
  }

  /** Changes that found their row moved on: something outside this scheduler changed it, so its run is reloaded. */
  private onMissed(missed: readonly TiChange[]): void {
    for (const c of missed) {
      this.log(`task instance ${c.key.taskId}[${c.key.mapIndex}] changed outside the scheduler; reloading its run`);
      const run = this.runs.get(runKey(c.key.dagId, c.key.runId));
      if (run) run.row = { ...run.row, change_seq: -1 };
    }
    this.forceSync = true;
  }

  private track(ti: TiModel, key: TryKey, executor: string, startedAt: number | null): void {
    const l: LiveTry = { ti, key, executor, startedAt, cancelling: false };
    this.live.set(tryKeyString(key), l);
    if (executor === SENSOR_EXECUTOR) this.liveSensors += 1;
    else this.counters.add(ti);
  }

  private untrack(l: LiveTry): void {
    if (!this.live.delete(tryKeyString(l.key))) return;
    if (l.executor === SENSOR_EXECUTOR) this.liveSensors -= 1;
    else this.counters.remove(l.ti);
  }

  private isCurrent(ti: TiModel): boolean {
    return this.runs.get(ti.task.run.key) === ti.task.run;
  }

  private findTi(k: TryKey): TiModel | undefined {
    return this.runs.get(runKey(k.dagId, k.runId))?.tasks.get(k.taskId)?.instances.get(k.mapIndex);
  }

  private executorOf(name: string): Executor {
    const ex = this.o.executors[name];
    if (!ex) throw new Error(`executor '${name}' is not configured`);
    return ex;
  }

  // ---- real-time loop --------------------------------------------------------------------

  /** Runs ticks in real time until stop(). */
  start(): void {
    this.loop.start();
  }

  private wake(): void {
    this.loop.wake();
  }

  /**
   * Stops launching, lets running tries finish within graceMs (then stops them), records
   * every outcome, and stops the loop.
   */
  async stop(graceMs = 0): Promise<void> {
    this.launching = false;
    await Promise.all(Object.values(this.o.executors).map((e) => e.close(graceMs)));
    await this.tick(Date.now());
    this.loop.stop();
    // Another scheduler may take this one's runs at once.
    await this.outbox.idle(Math.max(graceMs, 2_000));
    await this.o.store.releaseRuns(this.o.schedulerId);
    await this.o.store.removeScheduler(this.o.schedulerId);
  }

  /** Live tries, for status output. */
  get liveCount(): number {
    return this.live.size;
  }

  get activeRunCount(): number {
    return this.runs.size;
  }
}

/** Memory for the retry of an OOM-killed try: 1.5 × what it had, up to the cap. */
export function oomRetryMemory(ti: TiModel, capMb: number): number {
  const had = Number(ti.resourceOverrides?.memoryMb ?? ti.task.spec.resources.memoryMb) || 256;
  return Math.min(capMb, Math.ceil(had * 1.5));
}

function allInstances(run: RunModel): TiModel[] {
  return [...run.tasks.values()].flatMap((t) => [...t.instances.values()]);
}

function lostEvent(key: TryKey, now: number, reason: string): Finished {
  return { type: 'finished', key, at: now, outcome: 'failed', exitCode: null, signal: null, failureClass: 'lost', reason };
}



