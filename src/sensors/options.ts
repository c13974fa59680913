/**
 * Sensor options — poke interval, timeout counted from the first check, soft fail, exponential
 * backoff — their validation, and the pure time math of poking. No I/O, no clock reads.
 */
import { DagValidationError, TrainyardError } from '../core/errors.js';
import { parseDuration } from '../core/retry.js';

/** Airflow's defaults: poke every minute, give up after seven days. */
export const DEFAULT_POKE_INTERVAL_MS = 60_000;
export const DEFAULT_SENSOR_TIMEOUT_MS = 7 * 24 * 3_600_000;
/** Backoff never waits longer than this between two checks unless maxWait says otherwise. */
export const DEFAULT_MAX_WAIT_MS = 3_600_000;
/** Shorter intervals would turn a sensor into a busy loop. */
export const MIN_POKE_INTERVAL_MS = 100;

export interface SensorOptionsInput {
  /** How long between two checks: milliseconds or text ("30s", "5m"). Default 60s. */
  pokeInterval?: string | number;
  /** How long the sensor may wait, counted from its first check. Default 7 days. */
  timeout?: string | number;
  /** On timeout, end as skipped instead of failed. Default false. */
  softFail?: boolean;
  /** Double the wait after each unsuccessful check (with jitter), up to maxWait. Default false. */
  exponentialBackoff?: boolean;
  /** The longest wait between two checks with backoff. Default 1h. */
  maxWait?: string | number;
}

export interface SensorOptions {
  readonly pokeIntervalMs: number;
  readonly timeoutMs: number;
  readonly softFail: boolean;
  readonly exponentialBackoff: boolean;
  readonly maxWaitMs: number;
}

/** Where the options come from, to name it in errors. */
export interface SensorWhere {
  dagId?: string;
  taskId?: string;
}

/**
 * Checks and normalises a sensor's options. Throws DagValidationError with a stable code that
 * names the field and the fix:
 * - SENSOR_POKE_INTERVAL_INVALID, SENSOR_TIMEOUT_INVALID, SENSOR_MAX_WAIT_INVALID: not a
 *   duration, or a poke interval under 100ms;
 * - SENSOR_TIMEOUT_TOO_SHORT: timeout < pokeInterval;
 * - SENSOR_MAX_WAIT_TOO_SHORT: maxWait < pokeInterval;
 * - SENSOR_OPTION_INVALID: softFail or exponentialBackoff not a boolean.
 */
export function validateSensorOptions(input: SensorOptionsInput = {}, where: SensorWhere = {}): SensorOptions {
  const prefix = describeWhere(where);
  const fail = (code: string, message: string): never => {
    throw new DagValidationError(code, `${prefix}${message}`, where.dagId);
  };
  const duration = (field: keyof SensorOptionsInput, value: string | number | undefined, fallback: number, code: string): number => {
    if (value === undefined) return fallback;
    try {
      return parseDuration(value);
    } catch (e) {
      if (e instanceof TrainyardError && e.code === 'INVALID_DURATION') {
        return fail(code, `${field} ${JSON.stringify(value)} is not a duration. Use milliseconds or text like "30s", "5m" or "1h".`);
      }
      throw e;
    }
  };
  const pokeIntervalMs = duration('pokeInterval', input.pokeInterval, DEFAULT_POKE_INTERVAL_MS, 'SENSOR_POKE_INTERVAL_INVALID');
  if (pokeIntervalMs < MIN_POKE_INTERVAL_MS) {
    fail(
      'SENSOR_POKE_INTERVAL_INVALID',
      `pokeInterval ${formatDurationMs(pokeIntervalMs)} is too short: checks would run in a busy loop. Use at least ${formatDurationMs(MIN_POKE_INTERVAL_MS)}.`,
    );
  }
  const timeoutMs = duration('timeout', input.timeout, DEFAULT_SENSOR_TIMEOUT_MS, 'SENSOR_TIMEOUT_INVALID');
  if (timeoutMs < pokeIntervalMs) {
    fail(
      'SENSOR_TIMEOUT_TOO_SHORT',
      `timeout ${formatDurationMs(timeoutMs)} is shorter than pokeInterval ${formatDurationMs(pokeIntervalMs)}: ` +
        `the sensor would time out before its second check. Raise timeout to at least ${formatDurationMs(pokeIntervalMs)}, or lower pokeInterval.`,
    );
  }
  const maxWaitMs = duration('maxWait', input.maxWait, Math.max(DEFAULT_MAX_WAIT_MS, pokeIntervalMs), 'SENSOR_MAX_WAIT_INVALID');
  if (maxWaitMs < pokeIntervalMs) {
    fail(
      'SENSOR_MAX_WAIT_TOO_SHORT',
      `maxWait ${formatDurationMs(maxWaitMs)} is shorter than pokeInterval ${formatDurationMs(pokeIntervalMs)}: ` +
        `backoff can only lengthen the wait. Raise maxWait to at least ${formatDurationMs(pokeIntervalMs)}, or remove it.`,
    );
  }
  for (const field of ['softFail', 'exponentialBackoff'] as const) {
    const v = input[field];
    if (v !== undefined && typeof v !== 'boolean') {
      fail('SENSOR_OPTION_INVALID', `${field} must be true or false, not ${JSON.stringify(v)}.`);
    }
  }
  return {
    pokeIntervalMs,
    timeoutMs,
    softFail: input.softFail ?? false,
    exponentialBackoff: input.exponentialBackoff ?? false,
    maxWaitMs,
  };
}

function describeWhere(w: SensorWhere): string {
  if (w.taskId && w.dagId) return `Sensor '${w.taskId}' in DAG '${w.dagId}': `;
  if (w.taskId) return `Sensor '${w.taskId}': `;
  if (w.dagId) return `A sensor in DAG '${w.dagId}': `;
  return 'Sensor: ';
}

export interface PokeDelayInput {
  pokeIntervalMs: number;
  exponentialBackoff: boolean;
  /** Checks made so far, this one included (1 after the first check). */
  pokes: number;
  /** Cap on the delay with backoff; default DEFAULT_MAX_WAIT_MS (or the interval, if longer). */
  maxWaitMs?: number;
}

/**
 * How long to wait, in whole milliseconds, after an unsuccessful check before the next one.
 *
 * Without backoff: the poke interval. With backoff: interval × 2^(pokes − 1), capped at maxWait,
 * then spread uniformly over [nominal / 2, nominal] by `random` so that sensors started together
 * do not all poke at once — never below the poke interval and never above maxWait.
 */
export function nextPokeDelay(input: PokeDelayInput, random: () => number): number {
  const interval = Math.max(0, finiteOr(input.pokeIntervalMs, 0));
  if (!input.exponentialBackoff) return Math.floor(interval);
  const cap = Math.max(interval, finiteOr(input.maxWaitMs ?? DEFAULT_MAX_WAIT_MS, DEFAULT_MAX_WAIT_MS));
  const exponent = Math.min(Math.max(0, Math.floor(finiteOr(input.pokes, 1)) - 1), 62);
  const nominal = Math.min(interval * 2 ** exponent, cap);
  const r = Math.min(1, Math.max(0, finiteOr(random(), 0)));
  const spread = nominal / 2 + (nominal / 2) * r;
  return Math.floor(Math.min(cap, Math.max(interval, spread)));
}

function finiteOr(n: number, fallback: number): number {
  return Number.isFinite(n) ? n : fallback;
}

/** Whether a sensor has waited past its timeout, counted from its first check. */
export function sensorTimedOut(input: { firstCheckAt: number; timeoutMs: number; now: number }): boolean {
  return input.now - input.firstCheckAt >= input.timeoutMs;
}

/** "500ms", "30s", "5m", "1h30m", "7d": the shortest exact text for a duration. */
export function formatDurationMs(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms < 1000 || ms % 1000 !== 0) return `${ms}ms`;
  let rest = ms / 1000;
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join('');
}

/** A custom check may run this long in its worker before it is stopped (and counts as "not yet"). */
export const DEFAULT_CHECK_TIMEOUT_MS = 30_000;
/** A custom check that throws this many times in a row fails its sensor. */
export const DEFAULT_MAX_CONSECUTIVE_ERRORS = 3;

export interface CustomCheckOptionsInput {
  /** How long one check may run: milliseconds or text. Default 30s. */
  checkTimeout?: string | number;
  /** Errors in a row that fail the sensor. Default 3. */
  maxConsecutiveErrors?: number;
}

/**
 * Options only a custom check (a function in the DAG file) takes. Throws DagValidationError:
 * SENSOR_CHECK_TIMEOUT_INVALID (not a positive duration) or SENSOR_MAX_ERRORS_INVALID (not a
 * whole number ≥ 1).
 */
export function validateCustomCheckOptions(input: CustomCheckOptionsInput = {}, where: SensorWhere = {}): { checkTimeoutMs: number; maxConsecutiveErrors: number } {
  const prefix = describeWhere(where);
  let checkTimeoutMs = DEFAULT_CHECK_TIMEOUT_MS;
  if (input.checkTimeout !== undefined) {
    try {
      checkTimeoutMs = parseDuration(input.checkTimeout);
    } catch {
      checkTimeoutMs = Number.NaN;
    }
    if (!(checkTimeoutMs >= MIN_POKE_INTERVAL_MS)) {
      throw new DagValidationError(
        'SENSOR_CHECK_TIMEOUT_INVALID',
        `${prefix}checkTimeout ${JSON.stringify(input.checkTimeout)} is not a duration of at least ${formatDurationMs(MIN_POKE_INTERVAL_MS)}. Use milliseconds or text like "30s".`,
        where.dagId,
      );
    }
  }
  const max = input.maxConsecutiveErrors ?? DEFAULT_MAX_CONSECUTIVE_ERRORS;
  if (!Number.isInteger(max) || max < 1) {
    throw new DagValidationError(
      'SENSOR_MAX_ERRORS_INVALID',
      `${prefix}maxConsecutiveErrors must be a whole number of at least 1, not ${JSON.stringify(input.maxConsecutiveErrors)}.`,
      where.dagId,
    );
  }
  return { checkTimeoutMs, maxConsecutiveErrors: max };
}
