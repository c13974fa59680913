/**
 * Trigger rules: whether a task instance may run, given the states of its upstream task
 * instances. Semantics follow Airflow's TriggerRuleDep, including its early decisions
 * (one_success runs as soon as one upstream succeeds; all_success fails as soon as one fails).
 *
 * Counts are over upstream task *instances*: a mapped upstream contributes each of its
 * mapped instances, an unmapped one contributes one.
 *
 * Removed upstream instances (a mapped task's placeholder after expansion, an instance
 * dropped when a re-expansion shrank, a task gone from the DAG) are ignored: the rule is
 * evaluated as if they were not upstreams at all. Airflow does this for mapped task
 * instances; for unmapped ones it lets a removed upstream block all_success and
 * none_failed forever, which we do not copy. If every upstream instance is removed, the
 * task is treated like one with no upstreams and runs. (A mapped upstream that expands to
 * zero items must therefore be recorded as `skipped`, as Airflow does, for its downstream
 * to be skipped.)
 */
import type { TriggerRule } from './spec.js';
import type { TaskState } from './states.js';
import { TrainyardError } from './errors.js';

export interface UpstreamSummary {
  /** Upstream task instances, in any state (removed ones included). */
  total: number;
  success: number;
  failed: number;
  upstreamFailed: number;
  skipped: number;
  removed: number;
  /** Instances in a finished state: success, failed, skipped, upstream_failed, removed. */
  done: number;
}

/**
 * run: the dependencies are met. wait: not decided yet. skip / upstream_failed: the task
 * instance should be moved to that state without running.
 */
export type TriggerDecision = 'run' | 'wait' | 'skip' | 'upstream_failed';

export function emptySummary(): UpstreamSummary {
  return { total: 0, success: 0, failed: 0, upstreamFailed: 0, skipped: 0, removed: 0, done: 0 };
}

/** Count upstream task-instance states into a summary. */
export function summarizeUpstream(states: Iterable<TaskState>): UpstreamSummary {
  const s = emptySummary();
  for (const state of states) addToSummary(s, state);
  return s;
}

function addToSummary(s: UpstreamSummary, state: TaskState): void {
  s.total += 1;
  switch (state) {
    case 'success':
      s.success += 1;
      break;
    case 'failed':
      s.failed += 1;
      break;
    case 'upstream_failed':
      s.upstreamFailed += 1;
      break;
    case 'skipped':
      s.skipped += 1;
      break;
    case 'removed':
      s.removed += 1;
      break;
    default:
      return;
  }
  s.done += 1;
}

/** The counts a rule looks at, with removed instances taken out. */
interface Counts {
  readonly upstream: number;
  readonly success: number;
  readonly failures: number;
  readonly skipped: number;
  readonly allDone: boolean;
}

function countsWithoutRemoved(s: UpstreamSummary): Counts {
  const upstream = s.total - s.removed;
  return {
    upstream,
    success: s.success,
    failures: s.failed + s.upstreamFailed,
    skipped: s.skipped,
    allDone: s.done - s.removed >= upstream,
  };
}

type RuleEvaluator = (c: Counts, s: UpstreamSummary) => TriggerDecision;

const EVALUATORS: Readonly<Record<TriggerRule, RuleEvaluator>> = {
  all_success: (c) => {
    if (c.failures > 0) return 'upstream_failed';
    if (c.skipped > 0) return 'skip';
    return c.success >= c.upstream ? 'run' : 'wait';
  },
  all_failed: (c) => {
    if (c.success > 0 || c.skipped > 0) return 'skip';
    return c.failures >= c.upstream ? 'run' : 'wait';
  },
  all_done: (c) => (c.allDone ? 'run' : 'wait'),
  // Airflow: any skipped upstream skips the task at once; otherwise, once all are done,
  // at least one success runs it and none fails it as upstream_failed.
  all_done_min_one_success: (c) => {
    if (c.skipped > 0) return 'skip';
    if (!c.allDone) return 'wait';
    return c.success > 0 ? 'run' : 'upstream_failed';
  },
  all_skipped: (c) => {
    if (c.success > 0 || c.failures > 0) return 'skip';
    return c.skipped >= c.upstream ? 'run' : 'wait';
  },
  one_success: (c) => {
    if (c.success > 0) return 'run';
    if (!c.allDone) return 'wait';
    return c.skipped >= c.upstream ? 'skip' : 'upstream_failed';
  },
  one_failed: (c) => {
    if (c.failures > 0) return 'run';
    return c.allDone ? 'skip' : 'wait';
  },
  // Airflow counts success and failed here, not upstream_failed.
  one_done: (c, s) => {
    if (c.success > 0 || s.failed > 0) return 'run';
    return c.allDone ? 'skip' : 'wait';
  },
  none_failed: (c) => {
    if (c.failures > 0) return 'upstream_failed';
    return c.success + c.skipped >= c.upstream ? 'run' : 'wait';
  },
  none_failed_min_one_success: (c) => {
    if (c.failures > 0) return 'upstream_failed';
    if (c.skipped >= c.upstream) return 'skip';
    return c.success + c.skipped >= c.upstream ? 'run' : 'wait';
  },
  none_skipped: (c) => {
    if (c.skipped > 0) return 'skip';
    return c.allDone ? 'run' : 'wait';
  },
  always: () => 'run',
};

/** Decide what a task instance with this trigger rule should do, given its upstream summary. */
export function evaluateTriggerRule(rule: TriggerRule, s: UpstreamSummary): TriggerDecision {
  if (!Object.hasOwn(EVALUATORS, rule)) {
    throw new TrainyardError(
      'INVALID_TRIGGER_RULE',
      `Unknown trigger rule '${String(rule)}'. Use one of: ${Object.keys(EVALUATORS).join(', ')}.`,
    );
  }
  const evaluate = EVALUATORS[rule];
  const counts = countsWithoutRemoved(s);
  if (counts.upstream <= 0) return 'run';
  return evaluate(counts, s);
}
