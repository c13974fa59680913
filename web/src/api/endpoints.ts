/** Every endpoint the UI calls, typed. Paths are those of /api/v1/openapi.json. */
import { get, path, query, request } from './client.js';
import type { Dag, DagDetail, Grid, Health, ImportError, LogChunk, Metrics, Page, Run, RunDetail, RunState, Session, TaskInstance, TaskState, TaskSummary, Try } from './types.js';

const ti = (dag: string, run: string) => path`/dags/${dag}/runs/${run}/taskInstances`;
const one = (dag: string, run: string, task: string, mapIndex: number) => `${ti(dag, run)}${path`/${task}/${mapIndex}`}`;

export const api = {
  health: () => get<Health>('/health'),
  me: () => get<Session>('/auth/me'),
  login: (username: string, password: string) => request<Session>('POST', '/auth/login', { username, password }),
  logout: () => request<{ ok: true }>('POST', '/auth/logout'),

  dags: (q: { tag?: string[]; search?: string; paused?: boolean; limit?: number; offset?: number }) => get<Page<Dag>>(`/dags${query({ tag: q.tag, search: q.search, paused: q.paused, limit: q.limit, offset: q.offset })}`),
  dag: (dagId: string) => get<DagDetail>(path`/dags/${dagId}`),
  setPaused: (dagId: string, isPaused: boolean) => request<Dag>('PATCH', path`/dags/${dagId}`, { is_paused: isPaused }),
  importErrors: () => get<{ items: ImportError[]; total: number }>('/importErrors'),
  grid: (dagId: string, limit: number) => get<Grid>(`${path`/dags/${dagId}/grid`}${query({ limit })}`),

  runs: (dagId: string, q: { state?: RunState[]; limit?: number; offset?: number } = {}) => get<Page<Run>>(`${path`/dags/${dagId}/runs`}${query({ state: q.state, limit: q.limit, offset: q.offset })}`),
  run: (dagId: string, runId: string) => get<RunDetail>(path`/dags/${dagId}/runs/${runId}`),
  trigger: (dagId: string, body: { conf?: Record<string, unknown>; run_id?: string }) => request<RunDetail>('POST', path`/dags/${dagId}/runs`, body),
  markRun: (dagId: string, runId: string, state: 'success' | 'failed') => request<RunDetail>('PATCH', path`/dags/${dagId}/runs/${runId}`, { state }),
  clear: (dagId: string, runId: string, body: { task_ids?: string[]; downstream?: boolean; only_failed?: boolean }) =>
    request<{ cleared: string[] }>('POST', path`/dags/${dagId}/runs/${runId}/clear`, body),

  taskInstances: (dagId: string, runId: string, q: { state?: TaskState[]; task_id?: string; map_index?: number; cached?: boolean; limit?: number; offset?: number }) =>
    get<Page<TaskInstance>>(`${ti(dagId, runId)}${query({ state: q.state, task_id: q.task_id, map_index: q.map_index, cached: q.cached, limit: q.limit, offset: q.offset })}`),
  summary: (dagId: string, runId: string, taskId: string, q: { buckets?: number; top?: number } = {}) =>
    get<TaskSummary>(`${ti(dagId, runId)}${path`/${taskId}/summary`}${query(q)}`),
  taskInstance: (dagId: string, runId: string, taskId: string, mapIndex: number) => get<TaskInstance>(one(dagId, runId, taskId, mapIndex)),
  markTask: (dagId: string, runId: string, taskId: string, mapIndex: number, state: 'success' | 'failed') =>
    request<{ updated: number }>('PATCH', one(dagId, runId, taskId, mapIndex), { state }),
  result: (dagId: string, runId: string, taskId: string, mapIndex: number) => get<{ state: string; result: unknown }>(`${one(dagId, runId, taskId, mapIndex)}/result`),
  tries: (dagId: string, runId: string, taskId: string, mapIndex: number) => get<{ items: Try[] }>(`${one(dagId, runId, taskId, mapIndex)}/tries`),
  log: (dagId: string, runId: string, taskId: string, mapIndex: number, tryNumber: number, offset: number, length: number) =>
    get<LogChunk>(`${one(dagId, runId, taskId, mapIndex)}${path`/tries/${tryNumber}/logs`}${query({ offset, length })}`),
  logStreamUrl: (dagId: string, runId: string, taskId: string, mapIndex: number, tryNumber: number, offset: number) =>
    `/api/v1${one(dagId, runId, taskId, mapIndex)}${path`/tries/${tryNumber}/logs/stream`}${query({ offset })}`,
  metrics: (dagId: string, runId: string, taskId: string, mapIndex: number, tryNumber: number) =>
    get<Metrics>(`${one(dagId, runId, taskId, mapIndex)}${path`/tries/${tryNumber}/metrics`}`),
};
