import type { FailureClass } from '../core/failure.js';
import type { RunState, TaskState, TryState } from '../core/states.js';

/**
 * The metadata schema, dialect-neutral: times are epoch milliseconds (bigint), booleans are
 * 0/1 integers, JSON is text. The same migrations create it on SQLite and Postgres.
 */
export interface Database {
  dag: DagTable;
  dag_version: DagVersionTable;
  import_error: ImportErrorTable;
  dag_run: DagRunTable;
  task_instance: TaskInstanceTable;
  task_try: TaskTryTable;
  pool: PoolTable;
  metric: MetricTable;
  scheduler: SchedulerTable;
  backfill: BackfillTable;
  deadline_alert: DeadlineAlertTable;
  asset_event: AssetEventTable;
  notification_outbox: NotificationOutboxTable;
  change_event: ChangeEventTable;
  sweep_decision: SweepDecisionTable;
}

export interface DagTable {
  dag_id: string;
  fileloc: string;
  is_paused: number;
  is_active: number;
  latest_version: string;
  description: string | null;
  /** JSON array. */
  tags: string;
  /** JSON ScheduleSpec. */
  schedule: string;
  next_run_at: number | null;
  updated_at: number;
  /** Asset events up to this time have been used by this DAG's asset schedule. */
  asset_cursor?: number | null;
}

export interface DagVersionTable {
  dag_id: string;
  version_hash: string;
  /** JSON DagSpec. */
  spec: string;
  created_at: number;
}

export interface ImportErrorTable {
  fileloc: string;
  message: string;
  updated_at: number;
}

export type RunType = 'manual' | 'scheduled' | 'backfill' | 'asset_triggered';

export interface DagRunTable {
  dag_id: string;
  run_id: string;
  state: RunState;
  run_type: RunType;
  version_hash: string;
  /** JSON object: the trigger's conf. */
  conf: string;
  /** JSON object: params after defaults and conf were merged and validated. */
  params: string;
  logical_date: number;
  data_interval_start: number;
  data_interval_end: number;
  queued_at: number;
  start_date: number | null;
  end_date: number | null;
  /** Bumped by every change made outside the scheduler (clear, mark), so schedulers reload. */
  change_seq: number;
  note: string | null;
  /** The backfill that created this run, if any. */
  backfill_id?: string | null;
  /** The scheduler working on this run. */
  claimed_by?: string | null;
  /** JSON list of the asset events that triggered this run. */
  triggered_by?: string | null;
}

export interface TaskInstanceTable {
  dag_id: string;
  run_id: string;
  task_id: string;
  /** -1 when the task is not mapped. */
  map_index: number;
  state: TaskState;
  /** Number of tries created so far; the current try. */
  try_number: number;
  /** Tries that counted against the retry budget. */
  budget_tries: number;
  /** Retries that did not count (eviction, preemption, lost). */
  free_retries: number;
  priority_weight: number;
  pool: string;
  pool_slots: number;
  next_retry_at: number | null;
  queued_at: number | null;
  start_date: number | null;
  end_date: number | null;
  failure_class: FailureClass | null;
  /** Plain-words reason of the last failure, or why it is pending. */
  reason: string | null;
  /** JSON result of the successful try. */
  result: string | null;
  /** JSON object of the mapped item. */
  item: string | null;
  /** JSON object of params the task reported. */
  params: string | null;
  /** JSON Resources overrides for the next try (e.g. memory after an OOM). */
  resource_overrides: string | null;
  updated_at: number;
  /** GPUs the instance holds in its pool while queued or running (migration 0008; null counts as 0). */
  pool_gpus?: number | null;
  /** JSON: the earlier try whose result this instance reused (task caching, migration 0009); null when it ran. */
  cached_from?: string | null;
}

export interface TaskTryTable {
  dag_id: string;
  run_id: string;
  task_id: string;
  map_index: number;
  try_number: number;
  state: TryState;
  executor: string;
  queued_at: number;
  start_date: number | null;
  end_date: number | null;
  host: string | null;
  pid: number | null;
  /** Pod name or worker id. */
  external: string | null;
  exit_code: number | null;
  signal: string | null;
  failure_class: FailureClass | null;
  reason: string | null;
  result: string | null;
  log_path: string;
  counts_against_budget: number;
  scheduler_id: string | null;
  /** The task's cache key when it declares caching (migration 0009). */
  cache_key?: string | null;
  /** Where the finished try's log was shipped, null until it is (migration 0013). */
  remote_log_uri?: string | null;
}

export interface PoolTable {
  name: string;
  slots: number;
  description: string | null;
  /** GPU quota (migration 0008): the most GPUs its queued and running tasks may ask for; null for none. */
  gpus: number | null;
}

export interface MetricTable {
  dag_id: string;
  run_id: string;
  task_id: string;
  map_index: number;
  try_number: number;
  name: string;
  step: number | null;
  value: number;
  at: number;
}

export interface SchedulerTable {
  id: string;
  host: string;
  pid: number;
  started_at: number;
  heartbeat_at: number;
}

export interface BackfillTable {
  id: string;
  dag_id: string;
  from_date: number;
  to_date: number;
  reprocess: 'none' | 'failed' | 'completed';
  max_active_runs: number;
  reverse: number;
  created_at: number;
}

export interface DeadlineAlertTable {
  dag_id: string;
  run_id: string;
  /** '' for the run's own deadline. */
  task_id: string;
  fired_at: number;
}

export interface AssetEventTable {
  id: string;
  uri: string;
  /** "dag_id/run_id/task_id" for an outlet, or "api:<user>" for a posted event. */
  source: string;
  /** JSON object. */
  extra: string;
  created_at: number;
}

/** Written by triggers (migration 0010_change_feed) with every state change; read by the API's event feed. */
export interface ChangeEventTable {
  id: number;
  /** Postgres only: the writing transaction (xid8, as text). */
  txid?: string;
  kind: 'run' | 'ti' | 'dag' | 'import_error';
  dag_id: string | null;
  run_id: string | null;
  task_id: string | null;
  map_index: number | null;
  state: string | null;
  try_number: number | null;
  detail: string | null;
}

/** Notifications and callbacks to deliver (migration 0012_notification_outbox). */
export interface NotificationOutboxTable {
  id: string;
  created_at: number;
  dag_id: string;
  run_id: string;
  event: string;
  /** JSON: a notifier spec, or { kind: 'callback', taskId? }. */
  target: string;
  /** JSON: the Notification. */
  payload: string;
  state: 'pending' | 'sending' | 'sent' | 'failed' | 'interrupted';
  claimed_by: string | null;
  error: string | null;
  finished_at: number | null;
}

/** An early stop or ASHA promotion of a sweep's trial (migration 0014). */
export interface SweepDecisionTable {
  dag_id: string;
  run_id: string;
  task_id: string;
  map_index: number;
  /** 'stop': the stopped try; 'promote': the stopped try the trial resumes from. */
  try_number: number;
  kind: 'stop' | 'promote';
  /** 'stop': the last step counted; 'promote': the rung the trial left. */
  step: number;
  reason: string;
  at: number;
}
