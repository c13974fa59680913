import type { Dag } from '../../src/sdk/dag.js';
import { LocalExecutor, type LocalExecutorOptions } from '../../src/executors/local/local-executor.js';
import { SensorExecutor } from '../../src/executors/sensor/sensor-executor.js';
import { WorkerPool } from '../../src/executors/worker/pool.js';
import { HomeLayout } from '../../src/scheduler/paths.js';
import { Scheduler, type SchedulerOptions } from '../../src/scheduler/scheduler.js';
import { triggerRun } from '../../src/scheduler/trigger.js';
import type { Store } from '../../src/store/store.js';
import { registerDag, tempStore } from './harness.js';

/** A scheduler running in real time with real worker processes, over a fresh SQLite store. */
export interface LiveScheduler {
  readonly scheduler: Scheduler;
  readonly store: Store;
  readonly home: string;
  readonly pool: WorkerPool;
  readonly lines: string[];
  register(d: Dag<Record<string, unknown>>, file: string): Promise<void>;
  trigger(dagId: string, conf?: Record<string, unknown>): Promise<string>;
  /** Waits until the run ends (success or failed) and returns its state. */
  finished(dagId: string, runId: string, timeoutMs?: number): Promise<string>;
  /** Stops the scheduler and closes everything; a second call does nothing. */
  close(): Promise<void>;
}

/** `local` adds options of the local executor (its worker pool is the one made here). */
export async function liveScheduler(opts: Partial<SchedulerOptions> = {}, local: Omit<LocalExecutorOptions, 'workerPool'> = {}): Promise<LiveScheduler> {
  const t = await tempStore();
  const pool = new WorkerPool({ size: 2 });
  const lines: string[] = [];
  const scheduler = new Scheduler({
    store: t.store,
    executors: { local: new LocalExecutor({ killGraceMs: 200, ...local, workerPool: pool }), sensor: new SensorExecutor({ store: t.store, workerPool: pool }) },
    defaultExecutor: 'local',
    layout: new HomeLayout(t.home),
    parallelism: 8,
    killGraceMs: 200,
    resultLimitBytes: 65536,
    freeRetryCap: 3,
    schedulerId: 'live',
    syncIntervalMs: 100,
    workerPool: pool,
    log: (line) => lines.push(line),
    ...opts,
  });
  await scheduler.recover(Date.now());
  scheduler.start();
  let closed = false;
  return {
    scheduler,
    store: t.store,
    home: t.home,
    pool,
    lines,
    async register(d, file) {
      await registerDag(t.store, d, file, Date.now());
      scheduler.notify();
    },
    async trigger(dagId, conf = {}) {
      const { runId } = await triggerRun(t.store, dagId, { conf }, Date.now());
      scheduler.notify();
      return runId;
    },
    async finished(dagId, runId, timeoutMs = 60_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const state = (await t.store.getRun(dagId, runId))?.state;
        if (state === 'success' || state === 'failed') return state;
        if (Date.now() > end) throw new Error(`run ${dagId}/${runId} still ${state} after ${timeoutMs} ms; scheduler log:\n${lines.join('\n')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await scheduler.stop(0);
      await pool.close(200);
      await t.close();
    },
  };
}
