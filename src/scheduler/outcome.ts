import { Ajv2020 } from 'ajv/dist/2020.js';
import { isArtifactRef } from '../artifacts/offload.js';
import type { FailureClass } from '../core/failure.js';
import { mapLength } from '../core/mapping.js';
import { retryDelayMs, shouldRetry } from '../core/retry.js';
import type { JsonSchema, TaskSpec } from '../core/spec.js';
import type { ExecutorEvent } from '../executors/types.js';
import type { RunModel, TiModel } from './run-model.js';

type Finished = Extract<ExecutorEvent, { type: 'finished' }>;

/** What a finished try means for its task instance. */
export type TryResolution =
  /** A sweep's trial stopped by its policy is a stopped success: class early_stopped, no result. */
  | { readonly state: 'success'; readonly result: unknown; readonly follow?: readonly string[]; readonly failureClass?: 'early_stopped'; readonly reason?: string }
  | { readonly state: 'skipped'; readonly reason: string }
  | {
      readonly state: 'up_for_retry';
      readonly failureClass: FailureClass;
      readonly reason: string;
      readonly countsAgainstBudget: boolean;
      readonly nextRetryAt: number;
    }
  | { readonly state: 'failed'; readonly failureClass: FailureClass; readonly reason: string; readonly countsAgainstBudget: boolean };

export interface OutcomePolicy {
  readonly freeRetryCap: number;
  readonly random: () => number;
}

const ajv = new Ajv2020({ allErrors: true, strict: false });
const validators = new Map<string, ReturnType<typeof ajv.compile>>();

/** Checks a value against a JSON Schema; returns a message listing each problem, or null. */
export function schemaProblems(schema: JsonSchema, value: unknown): string | null {
  const key = JSON.stringify(schema);
  let validate = validators.get(key);
  if (!validate) {
    validate = ajv.compile(schema as object);
    validators.set(key, validate);
  }
  if (validate(value)) return null;
  return (validate.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message ?? 'is invalid'}`).join('; ');
}

/** Checks a successful try's result: its schema, branch choices, and mapping inputs it feeds. */
function resultProblem(run: RunModel, spec: TaskSpec, result: unknown): { reason: string; follow?: string[] } | { follow?: string[] } {
  // A result kept in the artifact store is not read here: only its reference is at hand.
  if (spec.resultSchema && !isArtifactRef(result)) {
    const problems = schemaProblems(spec.resultSchema, result);
    if (problems) return { reason: `the result does not match the task's result schema: ${problems}` };
  }
  let follow: string[] | undefined;
  if (spec.branch) {
    const chosen = result === null ? [] : Array.isArray(result) ? result : [result];
    const direct = run.downstream.get(spec.taskId) ?? [];
    const bad = chosen.filter((id) => typeof id !== 'string' || !direct.includes(id));
    if (bad.length) {
      return { reason: `the branch chose ${JSON.stringify(bad)}, which are not tasks directly downstream of it (${direct.join(', ') || 'none'})` };
    }
    follow = chosen as string[];
  }
  for (const downId of run.downstream.get(spec.taskId) ?? []) {
    const mapping = run.task(downId).spec.mapping;
    if (!mapping) continue;
    for (const src of Object.values(mapping.sources)) {
      if (src.kind !== 'result' || src.taskId !== spec.taskId) continue;
      if (isArtifactRef(result)) {
        return {
          reason:
            `the result cannot be mapped over by '${downId}': it is ${result.bytes} bytes, over the inline limit, so it was kept in the artifact store, ` +
            'and a list to expand over must be passed inline; return a shorter list (for example the URIs of shards) or raise TRAINYARD_RESULT_LIMIT_BYTES',
        };
      }
      const check = mapLength(mapping, (s) => (s === src ? pick(result, src.path) : s.kind === 'literal' ? s.values : []), run.task(downId).spec.maxMapLength);
      if (!check.ok) return { reason: `the result cannot be mapped over by '${downId}': ${check.message}` };
    }
  }
  return { follow };
}

function pick(value: unknown, path: readonly string[]): unknown {
  let v = value;
  for (const k of path) v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[k] : undefined;
  return v;
}

/** Turns an executor's `finished` event into the task instance's next state. */
export function resolveTry(run: RunModel, ti: TiModel, ev: Finished, now: number, policy: OutcomePolicy): TryResolution {
  const spec = ti.task.spec;
  if (ev.outcome === 'skipped') return { state: 'skipped', reason: ev.reason ?? 'the task asked to be skipped' };
  if (ev.outcome === 'success') {
    const result = ev.result ?? null;
    const checked = resultProblem(run, spec, result);
    if ('reason' in checked) return { state: 'failed', failureClass: 'result_invalid', reason: checked.reason, countsAgainstBudget: true };
    return { state: 'success', result, follow: checked.follow };
  }
  const failureClass = ev.failureClass ?? 'user_error';
  if (failureClass === 'early_stopped') return { state: 'success', result: null, failureClass, reason: ev.reason ?? 'stopped early by the sweep’s stopping rule' };
  const decision = shouldRetry({
    failureClass,
    // Tries since the instance was last cleared; clearing resets both counters.
    tryNumber: ti.budgetTries + ti.freeRetries + 1,
    retries: spec.retries,
    freeRetriesUsed: ti.freeRetries,
    freeRetryCap: policy.freeRetryCap,
  });
  const reason = ev.reason ?? decision.reason;
  if (!decision.retry) return { state: 'failed', failureClass, reason, countsAgainstBudget: decision.countsAgainstBudget || failureClass !== 'lost' };
  const delay = decision.countsAgainstBudget
    ? retryDelayMs(
        {
          baseDelayMs: spec.retryDelayMs,
          tryNumber: ti.budgetTries + 1,
          exponentialBackoff: spec.retryExponentialBackoff,
          maxDelayMs: spec.maxRetryDelayMs,
        },
        policy.random,
      )
    : 0;
  return { state: 'up_for_retry', failureClass, reason, countsAgainstBudget: decision.countsAgainstBudget, nextRetryAt: now + delay };
}
