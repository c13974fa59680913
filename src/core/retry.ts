/**
 * Retry math: how long to wait before the next try, whether a failed try is retried, and
 * durations written as text ("5m", "1h30m").
 */
import { TrainyardError } from './errors.js';
import { describeFailure, retryTreatment, type FailureClass } from './failure.js';

export const DEFAULT_MAX_RETRY_DELAY_MS = 24 * 60 * 60 * 1000;

/** 2^MAX_BACKOFF_EXPONENT ms is far beyond any cap; larger exponents only risk overflow. */
const MAX_BACKOFF_EXPONENT = 62;

export interface RetryDelayOptions {
  baseDelayMs: number;
  /** The try that just failed, 1-based. */
  tryNumber: number;
  exponentialBackoff: boolean;
  /** Upper bound on the delay; default 24 hours. */
  maxDelayMs?: number;
  /** Spread exponential delays randomly; default on when exponentialBackoff is on. */
  jitter?: boolean;
}

/**
 * The delay before the next try, in whole milliseconds.
 *
 * Without backoff: the base delay. With backoff: base × 2^(tryNumber − 1), capped at
 * maxDelayMs, then (with jitter) drawn uniformly from [capped / 2, capped]: like Airflow,
 * which spreads exponential delays between half and all of the nominal value, so tries that
 * failed together do not all retry at the same instant. Jitter is applied after the cap so
 * that capped delays stay spread too. The result is never negative, never above maxDelayMs,
 * and finite for any try number.
 */
export function retryDelayMs(opts: RetryDelayOptions, random: () => number): number {
  const cap = Math.min(nonNegative(opts.maxDelayMs ?? DEFAULT_MAX_RETRY_DELAY_MS), Number.MAX_SAFE_INTEGER);
  const base = Math.min(nonNegative(opts.baseDelayMs), cap);
  if (!opts.exponentialBackoff) return Math.floor(base);
  const nominal = Math.min(base * 2 ** backoffExponent(opts.tryNumber), cap);
  const jitter = opts.jitter ?? true;
  if (!jitter) return Math.floor(nominal);
  return Math.floor(nominal / 2 + (nominal / 2) * unitInterval(random()));
}

function nonNegative(n: number): number {
  if (Number.isNaN(n) || n < 0) return 0;
  return n;
}

function backoffExponent(tryNumber: number): number {
  if (Number.isNaN(tryNumber) || tryNumber < 1) return 0;
  return Math.min(Math.floor(tryNumber) - 1, MAX_BACKOFF_EXPONENT);
}

/** Clamp an injected random value into [0, 1]. */
function unitInterval(r: number): number {
  if (Number.isNaN(r)) return 0;
  return Math.min(1, Math.max(0, r));
}

export interface RetryDecision {
  retry: boolean;
  /** Whether the retry uses one of the task's `retries`. */
  countsAgainstBudget: boolean;
  /** Plain words, for the UI and the "why" of a task's state. */
  reason: string;
}

export interface ShouldRetryOptions {
  failureClass: FailureClass;
  /** The try that just failed, 1-based. */
  tryNumber: number;
  /** The task's retries: how many budget retries it may use. */
  retries: number;
  /** How many free retries this task instance has had so far. */
  freeRetriesUsed: number;
  /** The most free retries one task instance may have. */
  freeRetryCap: number;
}

/**
 * Whether a failed try is retried, by the failure class's treatment (failure.ts):
 *
 * - budget: retried while the budget retries used, this one included, stay within
 *   `retries`. Budget retries used so far are the retries (tryNumber − 1) that were not free.
 * - free: retried without using the budget while freeRetriesUsed < freeRetryCap. Once the
 *   free cap is spent, the failure is treated as a budget failure, so a task that keeps
 *   being evicted still gets its ordinary retries before it fails.
 * - never: not retried.
 */
export function shouldRetry(opts: ShouldRetryOptions): RetryDecision {
  const treatment = retryTreatment(opts.failureClass);
  if (treatment === 'never') {
    return {
      retry: false,
      countsAgainstBudget: false,
      reason: `Not retried: ${describeFailure(opts.failureClass)}. Failures of this kind (${opts.failureClass}) are never retried.`,
    };
  }
  if (treatment === 'free' && opts.freeRetriesUsed < opts.freeRetryCap) {
    return {
      retry: true,
      countsAgainstBudget: false,
      reason:
        `Retrying without using one of the task's retries: ${describeFailure(opts.failureClass)} ` +
        `(free retry ${opts.freeRetriesUsed + 1} of ${opts.freeRetryCap}).`,
    };
  }
  return budgetDecision(opts, treatment === 'free');
}

function budgetDecision(opts: ShouldRetryOptions, freeCapSpent: boolean): RetryDecision {
  const usedBefore = Math.max(0, opts.tryNumber - 1 - opts.freeRetriesUsed);
  const retries = Math.max(0, Math.floor(opts.retries));
  const prefix = freeCapSpent
    ? `All ${opts.freeRetryCap} free retries are used up (${opts.failureClass}). `
    : '';
  if (usedBefore + 1 <= retries) {
    return {
      retry: true,
      countsAgainstBudget: true,
      reason: `${prefix}Retrying: retry ${usedBefore + 1} of ${retries}.`,
    };
  }
  return {
    retry: false,
    countsAgainstBudget: true,
    reason:
      retries === 0
        ? `${prefix}Not retried: the task has no retries. Set retries on the task to retry it.`
        : `${prefix}Not retried: all ${retries} retries are used. Raise the task's retries to allow more.`,
  };
}

const DURATION_UNITS_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const DURATION_SHAPE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;
const BARE_NUMBER = /^\d+(?:\.\d+)?$/;

/**
 * A duration in whole milliseconds, from a number of milliseconds or text such as "500ms",
 * "5s", "2m", "1h30m", "1.5h" or "1d". A bare number in text ("250") is milliseconds.
 * Throws TrainyardError INVALID_DURATION for anything else, negatives included.
 */
export function parseDuration(input: string | number): number {
  if (typeof input === 'number') return durationFromNumber(input);
  if (typeof input !== 'string') throw invalidDuration(input);
  const text = input.trim();
  if (BARE_NUMBER.test(text)) return durationFromNumber(Number(text), input);
  if (!DURATION_SHAPE.test(text)) throw invalidDuration(input);
  let total = 0;
  for (const [, amount, unit] of text.matchAll(DURATION_PART)) {
    total += Number(amount) * DURATION_UNITS_MS[unit];
  }
  return durationFromNumber(total, input);
}

function durationFromNumber(ms: number, original: unknown = ms): number {
  if (!Number.isFinite(ms) || ms < 0) throw invalidDuration(original);
  return Math.round(ms);
}

function invalidDuration(input: unknown): TrainyardError {
  const shown = typeof input === 'string' ? JSON.stringify(input) : String(input);
  return new TrainyardError(
    'INVALID_DURATION',
    `Invalid duration ${shown}. Use a non-negative number of milliseconds, or text like ` +
      `"500ms", "5s", "2m", "1h30m" or "1d" (units ms, s, m, h, d).`,
  );
}
