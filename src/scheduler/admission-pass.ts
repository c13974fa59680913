/**
 * The tick's admission pass: scheduled instances leave the priority queue while there is
 * room (parallelism, pools, DAG and task limits, the executor's resources); each gets its
 * next try, recorded in the tick's writes and launched once the tick has committed. A cached
 * task takes an earlier try's result instead, and a task that can never be admitted fails.
 */
import type { Resources } from '../core/spec.js';
import type { AnyLaunch, Executor, ExecutorEvent, TryKey, UpcomingTry } from '../executors/types.js';
import type { Store } from '../store/store.js';
import type { ActiveRuns } from './active-runs.js';
import { AdmissionCounters, addResources, blockReason, impossibleRequest, NO_RESOURCES, type PoolLimits, tiGpus } from './admission.js';
import { type CacheHooks, fromCache } from './cache.js';
import { buildLaunch, neededResults } from './launch.js';
import { SENSOR_EXECUTOR } from './live-tries.js';
import type { RunModel, TiModel } from './run-model.js';
import { ensureResults } from './run-progress.js';
import type { SchedulerOptions } from './scheduler-options.js';
import { effectiveResources } from './task-overrides.js';

/** Instances set aside as blocked in one pass before it stops looking further down the queue. */
const BLOCKED_PER_PASS = 256;
/** How far down the queue executors hear of the tries that come next (see `prepareNext`). */
const PREPARED_AHEAD = 16;

export type AdmissionSettings = Pick<SchedulerOptions, 'executors' | 'defaultExecutor' | 'parallelism' | 'layout' | 'killGraceMs' | 'resultLimitBytes' | 'schedulerId'>;

/** What admission needs from the scheduler. */
export interface AdmissionContext {
  readonly active: ActiveRuns;
  readonly settings: AdmissionSettings;
  /** Pool limits and DAG files as last read from the store. */
  readonly catalog: { readonly pools: ReadonlyMap<string, PoolLimits>; dagFile(dagId: string): string };
  /** Evaluates dependencies after an instance ended without running (cached, unschedulable). */
  propagate(tx: Store, now: number): Promise<void>;
  /** Events for the next tick: tries that could not be prepared fail through it. */
  readonly inbox: ExecutorEvent[];
  /** Asks for another tick at once. */
  wake(): void;
}

/** The executor an instance's tries run on, unless it is a sensor. */
export function executorNameOf(ti: TiModel, defaultExecutor: string): string {
  return ti.task.spec.executor ?? ti.task.run.spec.executor ?? defaultExecutor;
}

/** The GPUs an instance asks for, counted against its pool's GPU quota. */
export function poolGpusOf(ti: TiModel, s: Pick<SchedulerOptions, 'executors' | 'defaultExecutor'>): number {
  return tiGpus(ti, s.executors[executorNameOf(ti, s.defaultExecutor)]);
}

/**
 * Admits what fits now; the launches go to `launches`, sent after the commit. Then tells the
 * executors which tries come next.
 */
export async function admit(c: AdmissionContext, tx: Store, now: number, launches: AnyLaunch[]): Promise<void> {
  // Nothing waits, or no room: the counters (a read under lock on Postgres) are not needed.
  if (c.active.queue.size > 0 && c.active.live.holdingSlots < c.settings.parallelism) await admitWhatFits(c, tx, now, launches);
  prepareNext(c);
}

async function admitWhatFits(c: AdmissionContext, tx: Store, now: number, launches: AnyLaunch[]): Promise<void> {
  const { active, settings: s } = c;
  const blocked: TiModel[] = [];
  const counters = await admissionCounters(c, tx);
  // Resources admitted in this pass, per executor: they launch only after the commit.
  const admitted = new Map<string, Resources>();
  // Waiting sensors hold no slot: only other tries count against parallelism.
  while (active.live.holdingSlots < s.parallelism && blocked.length < BLOCKED_PER_PASS) {
    const ti = active.queue.pop();
    if (!ti) break;
    if (ti.state !== 'scheduled' || !active.isCurrent(ti)) continue;
    const cache = ti.task.spec.cache ? await fromCache(tx, ti, s.layout, cacheHooks(c, tx, ti, now)) : undefined;
    if (cache?.hit) continue;
    const run = ti.task.run;
    const isSensor = ti.task.spec.kind === 'sensor';
    const executorName = isSensor ? SENSOR_EXECUTOR : executorNameOf(ti, s.defaultExecutor);
    const executor = s.executors[executorName];
    const reason = !executor
      ? `executor '${executorName}' is not configured; configure it or choose another executor`
      : isSensor
        ? null
        : blockReason(ti, run.spec, c.catalog.pools, counters, executor, admitted.get(executorName));
    if (reason) {
      const never = executor && impossibleRequest(ti, executor);
      if (never) await failUnschedulable(c, tx, ti, never, now);
      else blocked.push(ti);
      continue;
    }
    const key = nextTryKey(ti);
    await ensureResults(tx, run, neededResults(ti));
    const prepared = prepareLaunch(c, run, ti, key, executorName, executor!);
    startTry(c, ti, key, executorName, isSensor, cache?.key ?? null, now);
    if (counters !== active.live.counters && !isSensor) counters.add(ti);
    admitted.set(executorName, addResources(admitted.get(executorName) ?? NO_RESOURCES, effectiveResources(ti)));
    if ('req' in prepared) launches.push(prepared.req);
    else c.inbox.push({ type: 'finished', key, at: now, outcome: 'failed', exitCode: null, signal: null, failureClass: 'upstream_unavailable', reason: `could not prepare the task: ${prepared.error}` });
  }
  for (const ti of blocked) active.queue.push(ti);
  if (c.inbox.length) c.wake();
}

function nextTryKey(ti: TiModel): TryKey {
  const run = ti.task.run;
  return { dagId: run.dagId, runId: run.runId, taskId: ti.task.spec.taskId, mapIndex: ti.mapIndex, tryNumber: ti.tryNumber + 1 };
}

/**
 * Tells the executors of the instances at the head of the queue that their tries come next,
 * once per try, so that an executor can make ready what their launch needs (the local one
 * makes their folders) while the slots are still taken. Sensors and cached tasks are left
 * out: they may never launch a process.
 */
function prepareNext(c: AdmissionContext): void {
  const { active, settings: s } = c;
  const head: TiModel[] = [];
  while (head.length < PREPARED_AHEAD) {
    const ti = active.queue.pop();
    if (!ti) break;
    if (ti.state === 'scheduled' && active.isCurrent(ti)) head.push(ti);
  }
  const upcoming = new Map<Executor, UpcomingTry[]>();
  for (const ti of head) {
    active.queue.push(ti);
    const spec = ti.task.spec;
    if (ti.preparedTry === ti.tryNumber + 1 || spec.kind === 'sensor' || spec.cache) continue;
    const executor = s.executors[executorNameOf(ti, s.defaultExecutor)];
    if (!executor?.prepare) continue;
    ti.preparedTry = ti.tryNumber + 1;
    const key = nextTryKey(ti);
    const list = upcoming.get(executor) ?? [];
    list.push({ key, logPath: s.layout.logPath(key), dirs: s.layout.tryDirs(key) });
    upcoming.set(executor, list);
  }
  for (const [executor, tries] of upcoming) executor.prepare!(tries);
}

/**
 * Slots in use. One scheduler (SQLite) knows them all; with several (Postgres) pool and
 * DAG usage are read from the store under the pool rows' locks.
 */
async function admissionCounters(c: AdmissionContext, tx: Store): Promise<AdmissionCounters> {
  const own = c.active.live.counters;
  if (tx.dialect !== 'postgres') return own;
  const usage = await tx.activeUsage([...c.catalog.pools.keys()]);
  return AdmissionCounters.from(usage, own.byTask, (ti) => poolGpusOf(ti, c.settings));
}

/** The launch request of a try, or why it cannot be made. */
function prepareLaunch(c: AdmissionContext, run: RunModel, ti: TiModel, key: TryKey, executorName: string, executor: Executor): { req: AnyLaunch } | { error: string } {
  const s = c.settings;
  let req: AnyLaunch;
  try {
    req = buildLaunch(run, ti, key, { layout: s.layout, killGraceMs: s.killGraceMs, resultLimitBytes: s.resultLimitBytes, dagFile: c.catalog.dagFile(run.dagId) });
  } catch (e) {
    return { error: (e as Error).message };
  }
  if ('deferred' in req && req.deferred && !executor.readsStoredResults) {
    const from = Object.keys(req.deferred.results).join(', ');
    return {
      error: `it reads a result kept in the artifact store (from ${from}), which executor '${executorName}' cannot read; keep that result under the inline limit (TRAINYARD_RESULT_LIMIT_BYTES), or have the upstream task write it to the artifact store itself and return its URI`,
    };
  }
  return { req };
}

/** Records the instance's next try as queued (a sensor's as deferred) and tracks it as live. */
function startTry(c: AdmissionContext, ti: TiModel, key: TryKey, executorName: string, isSensor: boolean, cacheKey: string | null, now: number): void {
  const { active, settings: s } = c;
  active.writes.insertTries([
    {
      dag_id: key.dagId,
      run_id: key.runId,
      task_id: key.taskId,
      map_index: key.mapIndex,
      try_number: key.tryNumber,
      state: 'queued',
      executor: executorName,
      queued_at: now,
      log_path: s.layout.logPath(key),
      scheduler_id: s.schedulerId,
      counts_against_budget: 1,
      cache_key: cacheKey,
    },
  ]);
  ti.tryNumber = key.tryNumber;
  const poolGpus = isSensor ? 0 : poolGpusOf(ti, s);
  active.setTi(ti, isSensor ? 'deferred' : 'queued', { try_number: key.tryNumber, queued_at: now, next_retry_at: null, reason: null, pool_gpus: poolGpus }, ['scheduled']);
  active.live.track(ti, key, executorName, null);
}

/** A task that can never be admitted fails at once, saying why; it is not retried. */
async function failUnschedulable(c: AdmissionContext, tx: Store, ti: TiModel, reason: string, now: number): Promise<void> {
  c.active.setTi(ti, 'failed', { end_date: now, failure_class: 'unschedulable', reason }, ['scheduled']);
  ti.task.run.markDownstreamDirty(ti.task.spec.taskId);
  await c.propagate(tx, now);
}

/** What the cache may do for an instance about to be admitted. */
function cacheHooks(c: AdmissionContext, tx: Store, ti: TiModel, now: number): CacheHooks {
  return {
    now,
    ensureResults: (ids) => ensureResults(tx, ti.task.run, ids),
    succeed: async (fields) => c.active.setTi(ti, 'success', fields, ['scheduled']),
    propagate: () => c.propagate(tx, now),
  };
}
