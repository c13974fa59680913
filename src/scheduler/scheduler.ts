import type { FailureClass } from '../core/failure.js';
import type { AnyLaunch, Executor, ExecutorEvent, LaunchRequest } from '../executors/types.js';
import type { Store, TiChange } from '../store/store.js';
import { ActiveRuns } from './active-runs.js';
import { admit, type AdmissionContext, poolGpusOf } from './admission-pass.js';
import { adoptTries, type AdoptionContext } from './adoption.js';
import { applyEvent, type EventContext } from './executor-events.js';
import { type Cancel, LiveTries, type LiveTry } from './live-tries.js';
import { Outbox } from './notifications.js';
import { RealtimeLoop } from './realtime-loop.js';
import { finishRuns, type ProgressContext, propagate, startQueuedRuns } from './run-progress.js';
import { runKey } from './run-model.js';
import type { SchedulerLog, SchedulerOptions } from './scheduler-options.js';
import { StoreSync } from './store-sync.js';
import { SweepMonitor, type SweepHooks } from './sweeps.js';
import { recordTickMetrics } from './tick-metrics.js';
import { fireTimers, nextTimerAt, type TimerContext } from './timers.js';
import { WriteBuffer } from './write-buffer.js';

export type { SchedulerOptions } from './scheduler-options.js';
export { oomRetryMemory } from './executor-events.js';

/**
 * The scheduler: a deterministic `tick(now)` over the store and the executors' events.
 * `start()` drives it in real time, waking on every executor event, so a finished task's
 * downstream starts at once.
 *
 * The tick's parts live in their own modules, each given what it needs: `StoreSync` reads
 * the store into run models (`ActiveRuns`), `executor-events` applies executor events,
 * `timers` fires retries, timeouts and deadlines, `run-progress` starts, advances and finishes
 * runs, and `admission-pass` admits and prepares tries. This class owns the order of a tick,
 * its transaction, and what happens once it has committed.
 */
export class Scheduler {
  private readonly inbox: ExecutorEvent[] = [];
  /** This tick's guarded writes, sent together. */
  private readonly writes = new WriteBuffer((missed) => this.onMissed(missed));
  private readonly active: ActiveRuns;
  private readonly storeSync: StoreSync;
  private readonly outbox: Outbox;
  private readonly sweeps = new SweepMonitor();
  /** Run time of tries finished in this tick, for duration metrics. */
  private readonly runSeconds = new Map<string, number>();
  private readonly events: EventContext;
  private readonly timers: TimerContext;
  private readonly progress: ProgressContext;
  private readonly admission: AdmissionContext;
  private readonly adoption: AdoptionContext;
  private launching = true;
  private readonly log: SchedulerLog;
  private readonly listeners = new Set<() => void>();
  private readonly loop: RealtimeLoop;

  constructor(private readonly o: SchedulerOptions) {
    this.log = o.log ?? (() => {});
    this.outbox = new Outbox(this.log, { store: o.store, workers: o.workerPool, callbackTimeoutMs: o.callbackTimeoutMs, schedulerId: o.schedulerId, staleSchedulerMs: o.staleSchedulerMs });
    this.active = new ActiveRuns(new LiveTries((ti) => poolGpusOf(ti, o)), this.writes);
    const active = this.active;
    this.storeSync = new StoreSync(o, active, {
      cancel: (l, reason) => this.cancel(l, 'cancelled', reason),
      wake: () => this.wake(),
      log: this.log,
    });
    const requestSync = () => this.storeSync.request();
    this.events = { active, outbox: this.outbox, runSeconds: this.runSeconds, policy: { freeRetryCap: o.freeRetryCap, random: o.random ?? Math.random }, oomMemoryCapMb: o.oomMemoryCapMb ?? 65_536, requestSync };
    this.timers = { active, outbox: this.outbox, deadlinesDone: new Set(), log: this.log };
    this.progress = {
      active,
      outbox: this.outbox,
      log: this.log,
      pausedDags: this.storeSync.pausedDags,
      completeBest: (tx, task, now) => this.sweeps.completeBest(tx, task, now, this.sweepHooks([])),
      requestSync,
    };
    this.admission = {
      active,
      settings: o,
      catalog: this.storeSync,
      propagate: (tx, now) => propagate(this.progress, tx, now),
      inbox: this.inbox,
      wake: () => this.wake(),
    };
    this.adoption = { store: o.store, schedulerId: o.schedulerId, executors: o.executors, active, inbox: this.inbox };
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
    this.storeSync.request();
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
    if (this.o.store.dialect === 'sqlite') await adoptTries(this.adoption, await this.o.store.liveTries(), now);
  }

  /** Reads the store; runs taken over from a dead scheduler bring its tries, taken back or recorded as lost. */
  private async sync(now: number): Promise<void> {
    const takenOver = await this.storeSync.sync(now);
    if (takenOver.length) await adoptTries(this.adoption, await this.o.store.liveTries(takenOver), now);
  }

  // ---- the tick --------------------------------------------------------------------------

  async tick(now: number): Promise<void> {
    const started = process.hrtime.bigint();
    const synced = this.storeSync.isDue(now);
    if (synced) await this.sync(now);
    const events = this.inbox.splice(0);
    const launches: AnyLaunch[] = [];
    const cancels: Cancel[] = [];
    try {
      await this.o.store.transaction(async (storeTx) => {
        const tx = this.writes.wrap(storeTx);
        for (const ev of events) await applyEvent(this.events, tx, ev, now);
        await fireTimers(this.timers, tx, now, cancels);
        await this.sweeps.evaluate(tx, events, this.active.runs, this.sweepHooks(cancels));
        await startQueuedRuns(this.progress, tx, now);
        await propagate(this.progress, tx, now);
        await finishRuns(this.progress, tx, now);
        if (this.launching) await admit(this.admission, tx, now, launches);
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
    for (const c of cancels) this.cancel(c.live, c.cls, c.reason);
    for (const req of launches) this.launch(req);
    // After this tick's launches, so events that arrive meanwhile wait on one slice at most.
    if (!synced) await this.storeSync.continueCatchUp(now);
    const live = this.active.live;
    recordTickMetrics(events, this.runSeconds, [...live.values()], this.storeSync.pools, live.counters, started, this.o.defaultExecutor);
    for (const l of this.listeners) l();
  }

  /** The earliest time a timer needs the next tick. */
  nextWakeAt(now: number): number {
    return Math.max(nextTimerAt(this.timers, this.storeSync.dueAt), now);
  }

  // ---- after the commit ------------------------------------------------------------------

  private launch(req: AnyLaunch): void {
    const live = this.active.live.get(req.key);
    if (!live) return;
    this.executorOf(live.executor)
      // Only the sensor executor is given sensor launches.
      .launch(req as LaunchRequest)
      .catch((e: Error) =>
        this.receive({ type: 'finished', key: req.key, at: Date.now(), outcome: 'failed', exitCode: null, signal: null, failureClass: 'lost', reason: `the executor could not launch the task: ${e.message}` }),
      );
  }

  private cancel(l: LiveTry, cls: FailureClass, reason: string): void {
    void this.executorOf(l.executor).cancel(l.key, cls, reason);
  }

  private executorOf(name: string): Executor {
    const ex = this.o.executors[name];
    if (!ex) throw new Error(`executor '${name}' is not configured`);
    return ex;
  }

  // ---- hooks -----------------------------------------------------------------------------

  /** What sweeps may do: see live tries, stop them with class early_stopped, schedule promoted trials. */
  private sweepHooks(cancels: Cancel[]): SweepHooks {
    const active = this.active;
    return {
      isRunning: (ti) => active.live.of(ti)?.cancelling === false,
      stop: (ti, reason) => {
        const l = active.live.of(ti);
        if (!l || l.cancelling) return;
        l.cancelling = true;
        cancels.push({ live: l, cls: 'early_stopped', reason });
      },
      promote: async (ti, reason) => {
        ti.stoppedEarly = false;
        ti.seq = active.nextSeq();
        active.setTi(ti, 'scheduled', { failure_class: null, reason, end_date: null }, ['success']);
        active.queue.push(ti);
      },
      setTi: async (ti, to, fields, from) => active.setTi(ti, to, fields, from),
      log: this.log,
    };
  }

  /** Changes that found their row moved on: something outside this scheduler changed it, so its run is reloaded. */
  private onMissed(missed: readonly TiChange[]): void {
    for (const c of missed) {
      this.log(`task instance ${c.key.taskId}[${c.key.mapIndex}] changed outside the scheduler; reloading its run`);
      const run = this.active.runs.get(runKey(c.key.dagId, c.key.runId));
      if (run) run.row = { ...run.row, change_seq: -1 };
    }
    this.storeSync.request();
  }

  /** After a failed tick, every model is read again from the store. */
  private resetModels(): void {
    this.active.clear();
    this.storeSync.request();
    this.wake();
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
    return this.active.live.size;
  }

  get activeRunCount(): number {
    return this.active.runs.size;
  }
}
