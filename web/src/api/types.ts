/** Shapes of the REST API's responses (see /api/v1/openapi.json). */

export type TaskState =
  | 'none'
  | 'scheduled'
  | 'queued'
  | 'running'
  | 'deferred'
  | 'up_for_retry'
  | 'success'
  | 'failed'
  | 'skipped'
  | 'upstream_failed'
  | 'removed';
export type RunState = 'queued' | 'running' | 'success' | 'failed';

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

export interface Dag {
  dag_id: string;
  description: string | null;
  tags: string[];
  is_paused: boolean;
  is_active: boolean;
  fileloc: string;
  schedule: { kind: string; expression?: string; timezone?: string; everyMs?: number };
  next_run_at: string | null;
  latest_version: string;
  updated_at: string;
}

export interface GraphTask {
  task_id: string;
  kind: 'command' | 'inline';
  upstream: string[];
  trigger_rule: string;
  mapped: boolean;
  group: string | null;
  branch: boolean;
  pool: string;
  retries: number;
  resources: Record<string, unknown>;
  executor: string | null;
  doc: string | null;
}

export interface DagDetail extends Dag {
  docs: string | null;
  max_active_runs: number;
  max_active_tasks: number;
  params_schema: JsonSchema | null;
  params_defaults: Record<string, unknown>;
  graph: { tasks: GraphTask[]; groups: { group_id: string; parent: string | null }[] };
}

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  description?: string;
  title?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  format?: string;
  additionalProperties?: boolean | JsonSchema;
  [k: string]: unknown;
}

export interface ImportError {
  fileloc: string;
  message: string;
  updated_at: string;
}

export interface Run {
  dag_id: string;
  run_id: string;
  state: RunState;
  run_type: string;
  version_hash: string;
  conf: Record<string, unknown>;
  params: Record<string, unknown>;
  logical_date: string;
  data_interval_start: string;
  data_interval_end: string;
  queued_at: string;
  start_date: string | null;
  end_date: string | null;
  note: string | null;
}
export interface RunDetail extends Run {
  task_counts: Record<string, number>;
  /** Of `task_counts.success`, the instances that reused an earlier try's result (task caching). */
  cached_count?: number;
}

export interface TaskInstance {
  dag_id: string;
  run_id: string;
  task_id: string;
  map_index: number;
  state: TaskState;
  try_number: number;
  priority_weight: number;
  pool: string;
  queued_at: string | null;
  start_date: string | null;
  end_date: string | null;
  duration_ms: number | null;
  next_retry_at: string | null;
  failure_class: string | null;
  failure: string | null;
  reason: string | null;
  item: unknown;
  /** True when it reused the result of an earlier try with the same cache key instead of running. */
  cached?: boolean;
  /** That try, when cached. */
  cached_from?: CachedFrom | null;
}

/** The try whose result a cached task instance reused. */
export interface CachedFrom {
  dag_id: string;
  run_id: string;
  task_id: string;
  map_index: number;
  try_number: number;
  artifacts_uri: string;
  cache_key: string;
}

export interface TaskSummary {
  dag_id: string;
  run_id: string;
  task_id: string;
  mapped: boolean;
  total: number;
  counts: Record<string, number>;
  /** Of `counts.success`, the instances that reused an earlier try's result (task caching). */
  cached_count?: number;
  duration: {
    finished: number;
    min_ms: number | null;
    max_ms: number | null;
    mean_ms: number | null;
    buckets: { from_ms: number; to_ms: number; count: number }[];
  };
  top_errors: { failure_class: string | null; failure: string | null; reason: string | null; count: number }[];
  /** Not in the API yet (asked for): the earliest start and latest end of the instances. */
  first_start?: string | null;
  last_end?: string | null;
}

export interface Try {
  try_number: number;
  state: string;
  executor: string;
  queued_at: string;
  start_date: string | null;
  end_date: string | null;
  duration_ms: number | null;
  host: string | null;
  pid: number | null;
  external: string | null;
  exit_code: number | null;
  signal: string | null;
  failure_class: string | null;
  failure: string | null;
  reason: string | null;
  counts_against_budget: boolean;
}

export interface LogChunk {
  text: string;
  offset: number;
  next_offset: number;
  size: number;
  finished: boolean;
}

export interface Metrics {
  series: { name: string; points: { step: number | null; value: number; at: string }[] }[];
}

export interface Session {
  username: string;
  role: 'admin' | 'op' | 'viewer';
  via: 'token' | 'session' | 'none';
  csrf_token: string | null;
  expires_at: string | null;
}

export interface Health {
  status: 'ok' | 'degraded';
  auth: 'password' | 'none';
  version: string;
  scheduler: { in_process: boolean; heartbeat_at: string | null };
}

export interface ErrorDetail {
  field: string;
  reason: string;
}

/** `GET /dags/{dag_id}/grid`: the newest runs × every task, in one response. */
export interface GridRun {
  run_id: string;
  state: RunState;
  run_type: string;
  logical_date: string;
  queued_at: string;
  start_date: string | null;
  end_date: string | null;
}

export interface GridCell {
  /** The instance with map index −1 (a mapped task: its placeholder, `removed` once expanded). */
  state: string | null;
  try_number?: number;
  duration_ms?: number | null;
  failure?: string | null;
  /** Present and true when the instance reused an earlier try's result (task caching). */
  cached?: boolean;
  /** A mapped task: its instances, and their counts by state. */
  total?: number;
  counts?: Record<string, number>;
  /** A mapped task: of `counts.success`, the instances that reused an earlier try's result. */
  cached_count?: number;
}

export interface Grid {
  dag_id: string;
  /** Newest first. */
  runs: GridRun[];
  /** run id → task id → cell. */
  cells: Record<string, Record<string, GridCell>>;
}
