import { streamSSE } from 'hono/streaming';
import { describeFailure, type FailureClass } from '../../core/failure.js';
import type { TaskState } from '../../core/states.js';
import { markTask } from '../../scheduler/operations.js';
import { notFound } from '../errors.js';
import { followTryLog, readTryLog } from '../try-log.js';
import { listTaskInstances, summarizeTask } from '../queries/task-instances.js';
import { route } from '../route.js';
import {
  listTaskInstancesQuery,
  LogChunk,
  logRangeQuery,
  logStreamQuery,
  MarkResult,
  Metrics,
  metricsQuery,
  PatchTaskInstanceBody,
  runPath,
  summaryQuery,
  TaskInstance,
  TaskInstancePage,
  TaskResult,
  TaskSummary,
  taskPath,
  tiPath,
  TryList,
  tryPath,
} from '../schemas.js';
import { iso, taskInstanceView, tryView } from '../views.js';
import { requireRun, requireSpec, requireTaskInstance, requireTry, tiKey } from './lookup.js';

const LIVE_TRY_STATES = new Set(['queued', 'running']);
const TI_BASE = '/dags/{dag_id}/runs/{run_id}/taskInstances';

export const taskInstanceRoutes = [
  route({
    method: 'get',
    path: TI_BASE,
    tag: 'Task instances',
    summary: "List a run's task instances",
    params: runPath,
    query: listTaskInstancesQuery,
    response: TaskInstancePage,
    handler: async ({ deps, params, query }) => {
      await requireRun(deps.store, params.dag_id, params.run_id);
      const { rows, total } = await listTaskInstances(deps.store, {
        dagId: params.dag_id,
        runId: params.run_id,
        states: query.state as TaskState[] | undefined,
        taskId: query.task_id,
        mapIndex: query.map_index,
        cached: query.cached,
        limit: query.limit,
        offset: query.offset,
      });
      return { items: rows.map(taskInstanceView), total, limit: query.limit, offset: query.offset };
    },
  }),
  // Before `{task_id}/{map_index}`, which would otherwise take "summary" for a map index.
  route({
    method: 'get',
    path: `${TI_BASE}/{task_id}/summary`,
    tag: 'Task instances',
    summary: "One task's instances in aggregate: counts by state, a duration histogram, the commonest errors",
    description: 'Computed in the database (GROUP BY), so it stays fast for a mapped task with 100k instances.',
    params: taskPath,
    query: summaryQuery,
    response: TaskSummary,
    handler: async ({ deps, params, query }) => {
      const run = await requireRun(deps.store, params.dag_id, params.run_id);
      const spec = await requireSpec(deps.store, run.dag_id, run.version_hash);
      const task = spec.tasks.find((t) => t.taskId === params.task_id);
      if (!task) throw notFound('TASK_NOT_FOUND', `DAG '${run.dag_id}' (version ${run.version_hash}) has no task '${params.task_id}'`);
      const mapped = task.mapping !== undefined;
      const s = await summarizeTask(deps.store, { dagId: run.dag_id, runId: run.run_id, taskId: task.taskId, mapped, cacheable: task.cache !== undefined }, query);
      return {
        dag_id: run.dag_id,
        run_id: run.run_id,
        task_id: task.taskId,
        mapped,
        total: s.total,
        counts: s.counts,
        cached_count: s.cached,
        duration: s.duration,
        top_errors: s.topErrors.map((e) => ({ ...e, failure: e.failure_class ? describeFailure(e.failure_class as FailureClass) : null })),
      };
    },
  }),
  route({
    method: 'get',
    path: `${TI_BASE}/{task_id}/{map_index}`,
    tag: 'Task instances',
    summary: 'Get a task instance (map_index -1 when the task is not mapped)',
    params: tiPath,
    response: TaskInstance,
    handler: async ({ deps, params }) => taskInstanceView(await requireTaskInstance(deps.store, tiKey(params))),
  }),
  route({
    method: 'patch',
    path: `${TI_BASE}/{task_id}/{map_index}`,
    tag: 'Task instances',
    summary: 'Mark a task instance success or failed',
    params: tiPath,
    body: PatchTaskInstanceBody,
    response: MarkResult,
    handler: async ({ deps, params, body, now }) => {
      const k = tiKey(params);
      await requireTaskInstance(deps.store, k);
      const updated = await markTask(deps.store, k, body.state, now);
      deps.scheduler?.notify();
      return { updated };
    },
  }),
  route({
    method: 'get',
    path: `${TI_BASE}/{task_id}/{map_index}/result`,
    tag: 'Task instances',
    summary: "A successful task instance's result (its JSON output)",
    params: tiPath,
    response: TaskResult,
    handler: async ({ deps, params }) => {
      const ti = await requireTaskInstance(deps.store, tiKey(params));
      if (ti.state !== 'success' || ti.result === null) {
        throw notFound('RESULT_NOT_FOUND', `${ti.task_id}[${ti.map_index}] has no result: it is ${ti.state}${ti.state === 'success' ? ' and returned nothing' : ''}`);
      }
      return { state: ti.state, result: JSON.parse(ti.result) as unknown };
    },
  }),
  route({
    method: 'get',
    path: `${TI_BASE}/{task_id}/{map_index}/tries`,
    tag: 'Task instances',
    summary: 'Try history of a task instance',
    params: tiPath,
    response: TryList,
    handler: async ({ deps, params }) => {
      const k = tiKey(params);
      await requireTaskInstance(deps.store, k);
      return { items: (await deps.store.listTries(k)).map(tryView) };
    },
  }),
  route({
    method: 'get',
    path: `${TI_BASE}/{task_id}/{map_index}/tries/{try_number}/logs`,
    tag: 'Logs',
    summary: "Read part of a try's log",
    description:
      'Byte ranges: read from `offset`, then from `next_offset`, until `finished` is true and `next_offset` equals `size`. An ended try whose local log is gone is read from the remote log store it was shipped to, with the same offsets; 404 LOG_NOT_FOUND when the log is in neither place.',
    params: tryPath,
    query: logRangeQuery,
    response: LogChunk,
    handler: async ({ deps, params, query }) => {
      const t = await requireTry(deps.store, { ...tiKey(params), tryNumber: params.try_number });
      const chunk = await readTryLog(t, deps.config.remoteLogs, query.offset, query.length);
      return { ...chunk, finished: !LIVE_TRY_STATES.has(t.state) };
    },
  }),
  route({
    method: 'get',
    path: `${TI_BASE}/{task_id}/{map_index}/tries/{try_number}/logs/stream`,
    tag: 'Logs',
    summary: "Follow a try's log as it is written (server-sent events)",
    description:
      'Events: `log` (data: {text, offset, next_offset}; id: next_offset, so a reconnect resumes from Last-Event-ID) as data is appended, then one `end` (data: {state, next_offset}) when the try has finished, after which the stream closes.',
    params: tryPath,
    query: logStreamQuery,
    produces: 'text/event-stream',
    handler: async ({ c, deps, params, query }) => {
      const k = { ...tiKey(params), tryNumber: params.try_number };
      const first = await requireTry(deps.store, k);
      const lastEventId = c.req.header('last-event-id');
      const resumeAt = lastEventId !== undefined && /^\d+$/.test(lastEventId) ? Number(lastEventId) : query.offset;
      let state: string = first.state;
      const isFinished = async () => {
        state = (await requireTry(deps.store, k).catch(() => undefined))?.state ?? 'deleted';
        return !LIVE_TRY_STATES.has(state);
      };
      c.header('cache-control', 'no-store');
      c.header('x-accel-buffering', 'no');
      return streamSSE(c, async (stream) => {
        const client = new AbortController();
        stream.onAbort(() => client.abort());
        const signal = AbortSignal.any([client.signal, deps.shutdown]);
        let offset = resumeAt;
        try {
          for await (const ev of followTryLog(first, deps.config.remoteLogs, { offset, isFinished, signal })) {
            if (ev.kind === 'idle') await stream.write(': keep-alive\n\n');
            else {
              offset = ev.next_offset;
              await stream.writeSSE({ event: 'log', id: String(ev.next_offset), data: JSON.stringify({ text: ev.text, offset: ev.offset, next_offset: ev.next_offset }) });
            }
          }
          if (!signal.aborted) await stream.writeSSE({ event: 'end', data: JSON.stringify({ state, next_offset: offset }) });
        } catch (e) {
          // A client that went away mid-write is not an error.
          if (!signal.aborted && !stream.aborted) throw e;
        }
      });
    },
  }),
  route({
    method: 'get',
    path: `${TI_BASE}/{task_id}/{map_index}/tries/{try_number}/metrics`,
    tag: 'Task instances',
    summary: 'Metric series a try reported',
    params: tryPath,
    query: metricsQuery,
    response: Metrics,
    handler: async ({ deps, params, query }) => {
      const k = { ...tiKey(params), tryNumber: params.try_number };
      await requireTry(deps.store, k);
      const wanted = query.name ? new Set(query.name) : undefined;
      const series = new Map<string, { step: number | null; value: number; at: string }[]>();
      for (const m of await deps.store.listMetrics(k)) {
        if (wanted && !wanted.has(m.name)) continue;
        let points = series.get(m.name);
        if (!points) series.set(m.name, (points = []));
        points.push({ step: m.step === null ? null : Number(m.step), value: Number(m.value), at: iso(m.at)! });
      }
      return { series: [...series].map(([name, points]) => ({ name, points })) };
    },
  }),
];
