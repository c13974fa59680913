/** "Why is this task not running?" in plain words, from its state, its upstreams and the scheduler's reason. Pure. */
import type { DagDetail, RunDetail, TaskInstance } from '../api/types.js';
import { duration } from './format.js';
import type { RunTasks } from './run-tasks.js';
import { STATE_WORDS } from './states.js';

const RULES: Readonly<Record<string, string>> = {
  all_success: 'every upstream task succeeds',
  all_failed: 'every upstream task has failed',
  all_done: 'every upstream task has finished',
  all_done_min_one_success: 'every upstream task has finished, one at least with success',
  all_skipped: 'every upstream task was skipped',
  one_success: 'one upstream task succeeds',
  one_failed: 'one upstream task fails',
  one_done: 'one upstream task finishes',
  none_failed: 'no upstream task has failed (all finished)',
  none_failed_min_one_success: 'no upstream task has failed, and one succeeded',
  none_skipped: 'no upstream task was skipped (all finished)',
  always: 'always (it does not wait)',
};

const DONE = new Set(['success', 'failed', 'skipped', 'upstream_failed', 'removed']);

export function whyPending(ti: TaskInstance, dag: DagDetail | undefined, run: RunDetail | undefined, cells: RunTasks | undefined, now = Date.now()): string[] | null {
  const out: string[] = [];
  if (run?.state === 'queued') out.push(`The run itself is queued: it starts when the DAG has fewer than ${dag?.max_active_runs ?? 'its maximum'} active runs.`);
  if (dag?.is_paused && ti.state !== 'running') out.push('The DAG is paused: unpause it for tasks to be scheduled.');
  switch (ti.state) {
    case 'none': {
      const task = dag?.graph.tasks.find((t) => t.task_id === ti.task_id);
      if (task && task.upstream.length) {
        const waiting = task.upstream
          .map((u) => ({ u, s: cells?.get(u)?.state }))
          .filter((x) => !x.s || !DONE.has(x.s));
        out.push(`It runs when ${RULES[task.trigger_rule] ?? task.trigger_rule} (trigger rule ${task.trigger_rule}).`);
        if (waiting.length) out.push(`Waiting for ${waiting.map((x) => `${x.u} (${STATE_WORDS[x.s ?? 'none'] ?? x.s})`).join(', ')}.`);
      } else if (run?.state === 'running') out.push('Its dependencies are being evaluated; it is scheduled on the next scheduler pass.');
      break;
    }
    case 'scheduled':
      out.push(ti.reason ?? `Its dependencies are met; it waits for a free slot (pool '${ti.pool}', the DAG's limit of ${dag?.max_active_tasks ?? '?'} running tasks, the scheduler's parallelism, or the machine's CPUs, memory and GPUs).`);
      break;
    case 'queued':
      out.push(ti.reason ?? 'Admitted and handed to the executor; waiting for the process or pod to start.');
      break;
    case 'up_for_retry': {
      const at = ti.next_retry_at ? Date.parse(ti.next_retry_at) : undefined;
      out.push(`Try ${ti.try_number} failed${ti.failure ? ` (${ti.failure.toLowerCase()})` : ''}; the next try starts ${at ? (at > now ? `in ${duration(at - now)}` : 'now') : 'after the retry delay'}.`);
      break;
    }
    case 'deferred':
      out.push(ti.reason ?? 'A sensor waiting for its condition; it holds no slot while it waits.');
      break;
    default:
      return out.length ? out : null;
  }
  return out;
}
