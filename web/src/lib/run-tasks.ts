/**
 * The state of every task of one run, without loading a mapped task's instances: one page
 * of the run's unmapped instances (map_index −1) plus one aggregated summary per mapped
 * task. That is 1 + (mapped tasks) small requests per run, whatever the fan-out.
 */
import { api } from '../api/endpoints.js';
import type { GraphTask, TaskInstance, TaskSummary } from '../api/types.js';
export { topoOrder } from './dag-graph.js';

export interface TaskCell {
  readonly taskId: string;
  readonly state: string;
  /** The instance itself, for an unmapped task or a mapped task not yet expanded. */
  readonly ti?: TaskInstance;
  /** A mapped task's instances in aggregate, once expanded. */
  readonly summary?: TaskSummary;
}

export type RunTasks = ReadonlyMap<string, TaskCell>;

export async function loadRunTasks(dagId: string, runId: string, tasks: readonly GraphTask[], o: { buckets?: number } = {}): Promise<RunTasks> {
  const mapped = tasks.filter((t) => t.mapped);
  const [page, summaries] = await Promise.all([
    api.taskInstances(dagId, runId, { map_index: -1, limit: 1000 }),
    Promise.all(mapped.map((t) => api.summary(dagId, runId, t.task_id, { buckets: o.buckets ?? 1, top: 3 }).catch(() => undefined))),
  ]);
  const out = new Map<string, TaskCell>();
  for (const ti of page.items) out.set(ti.task_id, { taskId: ti.task_id, state: ti.state, ti });
  mapped.forEach((t, i) => {
    const s = summaries[i];
    if (s && s.total > 0) out.set(t.task_id, { taskId: t.task_id, state: summaryState(s.counts), summary: s, ti: out.get(t.task_id)?.ti });
  });
  return out;
}

const ORDER = ['failed', 'upstream_failed', 'up_for_retry', 'running', 'queued', 'scheduled', 'deferred', 'none', 'skipped', 'success'];
export function summaryState(counts: Record<string, number>): string {
  const active = ['running', 'queued', 'scheduled', 'up_for_retry', 'deferred', 'none'].some((s) => (counts[s] ?? 0) > 0);
  if (active) return (counts.running ?? 0) > 0 ? 'running' : ORDER.find((s) => (counts[s] ?? 0) > 0 && s !== 'failed' && s !== 'upstream_failed') ?? 'running';
  return ORDER.find((s) => (counts[s] ?? 0) > 0) ?? 'none';
}

/** Counts by state of several cells together (a collapsed task group). */
export function mergeCounts(cells: readonly (TaskCell | undefined)[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of cells) {
    if (!c) continue;
    if (c.summary) for (const [s, n] of Object.entries(c.summary.counts)) out[s] = (out[s] ?? 0) + n;
    else out[c.state] = (out[c.state] ?? 0) + 1;
  }
  return out;
}

/** Of several cells' successes (a mapped task, a collapsed group), those that were cached (task caching). */
export function cachedCount(cells: readonly (TaskCell | undefined)[]): number {
  let n = 0;
  for (const c of cells) {
    if (!c) continue;
    n += c.summary ? (c.summary.cached_count ?? 0) : c.ti?.cached && c.state === 'success' ? 1 : 0;
  }
  return n;
}
