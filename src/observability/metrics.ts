/**
 * Trainyard's Prometheus metrics, the helpers that record them, and the `/metrics` handlers.
 *
 * Labels are bounded: DAG ids, task ids (without map index), pools, executors, states,
 * failure classes and API route patterns. Never a run id, a map index or a raw URL path.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { ExecutorCapacity } from '../executors/types.js';
import { VERSION } from '../version.js';
import { CONTENT_TYPE, exponentialBuckets, Registry } from './registry.js';

export { CONTENT_TYPE, Counter, Gauge, Histogram, Registry } from './registry.js';

/** Task durations: 1 s to 1 day. */
const TASK_BUCKETS = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200, 86400];
/** Scheduling delay: 5 ms to 10 min. */
const DELAY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
/** Loop and request durations: 1 ms to ~16 s. */
const FAST_BUCKETS = exponentialBuckets(0.001, 2, 15);
/** DAG file parse time: 10 ms to ~80 s. */
const PARSE_BUCKETS = exponentialBuckets(0.01, 2, 14);

export type TryState = 'success' | 'failed' | 'skipped';

/** Every Trainyard metric, on one registry. */
export function createTrainyardMetrics(registry = new Registry()) {
  const m = {
    registry,
    buildInfo: registry.gauge<'version'>({ name: 'trainyard_build_info', help: 'Always 1; the version is a label.', labelNames: ['version'] }),
    triesStarted: registry.counter<'dag_id' | 'executor'>({
      name: 'trainyard_tries_started_total',
      help: 'Tries that started running, by DAG and executor.',
      labelNames: ['dag_id', 'executor'],
    }),
    triesFinished: registry.counter<'dag_id' | 'state' | 'failure_class'>({
      name: 'trainyard_tries_finished_total',
      help: 'Tries that finished, by DAG, state (success, failed, skipped) and failure class ("none" unless failed).',
      labelNames: ['dag_id', 'state', 'failure_class'],
    }),
    taskDuration: registry.histogram<'dag_id' | 'task_id' | 'state'>({
      name: 'trainyard_task_duration_seconds',
      help: 'Run time of finished tries, from start to finish, by DAG, task (map index dropped) and state.',
      labelNames: ['dag_id', 'task_id', 'state'],
      buckets: TASK_BUCKETS,
    }),
    schedulingDelay: registry.histogram<'dag_id'>({
      name: 'trainyard_scheduling_delay_seconds',
      help: 'Time from a task instance becoming ready (dependencies met) to its try starting.',
      labelNames: ['dag_id'],
      buckets: DELAY_BUCKETS,
    }),
    schedulerLoop: registry.histogram({
      name: 'trainyard_scheduler_loop_duration_seconds',
      help: 'Duration of one scheduler tick.',
      buckets: FAST_BUCKETS,
    }),
    queued: registry.gauge({ name: 'trainyard_task_instances_queued', help: 'Task instances admitted and waiting for their executor to start them.' }),
    running: registry.gauge({ name: 'trainyard_task_instances_running', help: 'Task instances running now.' }),
    poolSlotsUsed: registry.gauge<'pool'>({ name: 'trainyard_pool_slots_used', help: 'Pool slots held by queued and running tries.', labelNames: ['pool'] }),
    poolSlotsFree: registry.gauge<'pool'>({ name: 'trainyard_pool_slots_free', help: 'Pool slots free.', labelNames: ['pool'] }),
    executorUsed: registry.gauge<'executor' | 'resource'>({
      name: 'trainyard_executor_capacity_used',
      help: 'Executor capacity in use: resource cpu (cores), memory_bytes, gpu (devices).',
      labelNames: ['executor', 'resource'],
    }),
    executorFree: registry.gauge<'executor' | 'resource'>({
      name: 'trainyard_executor_capacity_free',
      help: 'Executor capacity free: resource cpu (cores), memory_bytes, gpu (devices).',
      labelNames: ['executor', 'resource'],
    }),
    executorRunning: registry.gauge<'executor'>({ name: 'trainyard_executor_running_tries', help: 'Tries the executor is running.', labelNames: ['executor'] }),
    dagParse: registry.histogram({
      name: 'trainyard_dag_parse_duration_seconds',
      help: 'Time to import one DAG file, including failed imports.',
      buckets: PARSE_BUCKETS,
    }),
    dagParseLast: registry.gauge<'file'>({
      name: 'trainyard_dag_file_last_parse_duration_seconds',
      help: 'Time the last import of each DAG file took.',
      labelNames: ['file'],
    }),
    importErrors: registry.gauge({ name: 'trainyard_dag_import_errors', help: 'DAG files that failed to import.' }),
    apiRequests: registry.histogram<'method' | 'route' | 'status'>({
      name: 'trainyard_api_request_duration_seconds',
      help: 'API request durations by method, route pattern (e.g. /api/v1/dags/{dag_id}) and status code.',
      labelNames: ['method', 'route', 'status'],
      buckets: FAST_BUCKETS,
    }),
  };
  m.buildInfo.set({ version: VERSION }, 1);
  return m;
}

export type TrainyardMetrics = ReturnType<typeof createTrainyardMetrics>;

/** The process-wide metrics, served at `/metrics`. */
export const metrics: TrainyardMetrics = createTrainyardMetrics();

// ---- helpers the scheduler, executors, DAG processor and API call ----

/** A try began running (its executor's `started` event). */
export function recordTryStarted(dagId: string, executor: string, m: TrainyardMetrics = metrics): void {
  m.triesStarted.inc({ dag_id: dagId, executor });
}

/**
 * A try finished (its executor's `finished` event, or a try ended by the scheduler).
 * `seconds` is its run time; pass undefined when it never started.
 */
export function recordTryFinished(
  dagId: string,
  taskId: string,
  state: TryState,
  failureClass: string | undefined,
  seconds: number | undefined,
  m: TrainyardMetrics = metrics,
): void {
  m.triesFinished.inc({ dag_id: dagId, state, failure_class: state === 'failed' ? failureClass ?? 'user_error' : 'none' });
  if (seconds !== undefined && seconds >= 0) m.taskDuration.observe({ dag_id: dagId, task_id: taskId, state }, seconds);
}

/** Ready (dependencies met, scheduled) → started. */
export function recordSchedulingDelay(dagId: string, seconds: number, m: TrainyardMetrics = metrics): void {
  if (seconds >= 0) m.schedulingDelay.observe({ dag_id: dagId }, seconds);
}

/** One scheduler tick took this long. */
export function recordSchedulerLoop(seconds: number, m: TrainyardMetrics = metrics): void {
  m.schedulerLoop.observe(undefined, seconds);
}

/** Times a scheduler tick: `await timeSchedulerLoop(() => this.tick(now))`. */
export async function timeSchedulerLoop<T>(fn: () => Promise<T> | T, m: TrainyardMetrics = metrics): Promise<T> {
  const t0 = process.hrtime.bigint();
  try {
    return await fn();
  } finally {
    recordSchedulerLoop(Number(process.hrtime.bigint() - t0) / 1e9, m);
  }
}

export function setTaskInstanceCounts(queued: number, running: number, m: TrainyardMetrics = metrics): void {
  m.queued.set(undefined, queued);
  m.running.set(undefined, running);
}

export interface PoolUsage {
  readonly name: string;
  readonly slots: number;
  readonly used: number;
}

/** Sets every pool's used and free slots; pools not in the list are dropped. */
export function setPoolSlots(pools: readonly PoolUsage[], m: TrainyardMetrics = metrics): void {
  m.poolSlotsUsed.reset();
  m.poolSlotsFree.reset();
  for (const p of pools) {
    m.poolSlotsUsed.set({ pool: p.name }, p.used);
    m.poolSlotsFree.set({ pool: p.name }, Math.max(0, p.slots - p.used));
  }
}

/** One executor's capacity (`Executor.capacity()`). Memory is reported in bytes. */
export function setExecutorCapacity(executor: string, c: ExecutorCapacity, m: TrainyardMetrics = metrics): void {
  const rows: [string, number, number][] = [
    ['cpu', c.cpu.used, c.cpu.total],
    ['memory_bytes', c.memoryMb.used * 1024 * 1024, c.memoryMb.total * 1024 * 1024],
    ['gpu', c.gpu.used, c.gpu.total],
  ];
  for (const [resource, used, total] of rows) {
    m.executorUsed.set({ executor, resource }, used);
    m.executorFree.set({ executor, resource }, Math.max(0, total - used));
  }
  m.executorRunning.set({ executor }, c.running);
}

/** Reads every executor's capacity at each scrape. Returns a function that stops it. */
export function trackExecutorCapacity(
  executors: Readonly<Record<string, { capacity(): ExecutorCapacity }>>,
  m: TrainyardMetrics = metrics,
): () => void {
  return m.registry.onCollect(() => {
    for (const [name, ex] of Object.entries(executors)) setExecutorCapacity(name, ex.capacity(), m);
  });
}

/** One DAG file was imported (or failed to), taking this long. */
export function recordDagParse(file: string, seconds: number, m: TrainyardMetrics = metrics): void {
  m.dagParse.observe(undefined, seconds);
  m.dagParseLast.set({ file }, seconds);
}

/** A DAG file was removed from the folder. */
export function forgetDagFile(file: string, m: TrainyardMetrics = metrics): void {
  m.dagParseLast.remove({ file });
}

export function setImportErrorCount(count: number, m: TrainyardMetrics = metrics): void {
  m.importErrors.set(undefined, count);
}

/** One API request: `route` is the pattern (`/api/v1/dags/{dag_id}`), never the raw path. */
export function recordApiRequest(method: string, route: string, status: number, seconds: number, m: TrainyardMetrics = metrics): void {
  m.apiRequests.observe({ method: method.toUpperCase(), route, status: String(status) }, seconds);
}

// ---- HTTP ----

/** `/dags/:dag_id` → `/dags/{dag_id}`; paths that matched no route (wildcards) → `unmatched`. */
export function routeLabel(honoPath: string | undefined): string {
  if (!honoPath || honoPath.includes('*')) return 'unmatched';
  return honoPath.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, '{$1}');
}

/**
 * Hono middleware timing every request by route pattern. Install it first:
 * `app.use('*', apiMetricsMiddleware())`.
 */
export function apiMetricsMiddleware(m: TrainyardMetrics = metrics): MiddlewareHandler {
  return async (c, next) => {
    const t0 = process.hrtime.bigint();
    let status = 500;
    try {
      await next();
      status = c.res.status;
    } finally {
      const route = c.req.routeIndex >= 0 ? matchedRoutes(c)[c.req.routeIndex] : undefined;
      const label = route && route.method !== 'ALL' ? routeLabel(route.path) : 'unmatched';
      if (label !== '/metrics') recordApiRequest(c.req.method, label, status, Number(process.hrtime.bigint() - t0) / 1e9, m);
    }
  };
}

/** A Hono handler for `GET /metrics`. */
export function metricsHandler(registry: Registry = metrics.registry) {
  return async (c: Context): Promise<Response> => c.body(await registry.expose(), 200, { 'content-type': CONTENT_TYPE, 'cache-control': 'no-store' });
}

/**
 * A bare HTTP server answering `GET /metrics`, for processes without the API server
 * (`trainyard scheduler`). Port from TRAINYARD_METRICS_PORT in the caller.
 */
export async function startMetricsServer(
  port: number,
  host = '0.0.0.0',
  registry: Registry = metrics.registry,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics here\n');
      return;
    }
    registry.expose().then(
      (body) => res.writeHead(200, { 'content-type': CONTENT_TYPE, 'cache-control': 'no-store' }).end(body),
      (e: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${e.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  return {
    url: `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
