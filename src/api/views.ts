/** Store rows → API objects: times as ISO strings, flags as booleans, JSON text parsed. */
import { describeFailure, type FailureClass } from '../core/failure.js';
import type { DagRow, DagRunRow, TaskInstanceRow, TaskTryRow } from '../store/store.js';

export function iso(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(Number(ms)).toISOString();
}

function isoNow(ms: number): string {
  return new Date(Number(ms)).toISOString();
}

function json(text: string | null): unknown {
  return text === null ? null : JSON.parse(text);
}

function duration(start: number | null, end: number | null): number | null {
  return start === null || end === null ? null : Number(end) - Number(start);
}

function failure(cls: string | null): string | null {
  return cls === null ? null : describeFailure(cls as FailureClass);
}

export function dagView(d: DagRow) {
  return {
    dag_id: d.dag_id,
    description: d.description,
    tags: JSON.parse(d.tags) as string[],
    is_paused: Number(d.is_paused) === 1,
    is_active: Number(d.is_active) === 1,
    fileloc: d.fileloc,
    schedule: JSON.parse(d.schedule) as Record<string, unknown>,
    next_run_at: iso(d.next_run_at),
    latest_version: d.latest_version,
    updated_at: isoNow(d.updated_at),
  };
}

export function runView(r: DagRunRow) {
  return {
    dag_id: r.dag_id,
    run_id: r.run_id,
    state: r.state,
    run_type: r.run_type,
    version_hash: r.version_hash,
    conf: JSON.parse(r.conf) as Record<string, unknown>,
    params: JSON.parse(r.params) as Record<string, unknown>,
    logical_date: isoNow(r.logical_date),
    data_interval_start: isoNow(r.data_interval_start),
    data_interval_end: isoNow(r.data_interval_end),
    queued_at: isoNow(r.queued_at),
    start_date: iso(r.start_date),
    end_date: iso(r.end_date),
    note: r.note,
  };
}

export function taskInstanceView(t: Pick<TaskInstanceRow, 'dag_id' | 'run_id' | 'task_id' | 'map_index' | 'state' | 'try_number' | 'priority_weight' | 'pool' | 'queued_at' | 'start_date' | 'end_date' | 'next_retry_at' | 'failure_class' | 'reason' | 'item' | 'cached_from'>) {
  return {
    dag_id: t.dag_id,
    run_id: t.run_id,
    task_id: t.task_id,
    map_index: Number(t.map_index),
    state: t.state,
    try_number: Number(t.try_number),
    priority_weight: Number(t.priority_weight),
    pool: t.pool,
    queued_at: iso(t.queued_at),
    start_date: iso(t.start_date),
    end_date: iso(t.end_date),
    duration_ms: duration(t.start_date, t.end_date),
    next_retry_at: iso(t.next_retry_at),
    failure_class: t.failure_class,
    failure: failure(t.failure_class),
    reason: t.reason,
    item: json(t.item),
    cached: t.cached_from != null,
    cached_from: json(t.cached_from ?? null),
  };
}

export function tryView(t: TaskTryRow) {
  return {
    try_number: Number(t.try_number),
    state: t.state,
    executor: t.executor,
    queued_at: isoNow(t.queued_at),
    start_date: iso(t.start_date),
    end_date: iso(t.end_date),
    duration_ms: duration(t.start_date, t.end_date),
    host: t.host,
    pid: t.pid,
    external: t.external,
    exit_code: t.exit_code,
    signal: t.signal,
    failure_class: t.failure_class,
    failure: failure(t.failure_class),
    reason: t.reason,
    counts_against_budget: Number(t.counts_against_budget) === 1,
  };
}
