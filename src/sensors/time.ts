import { DagValidationError, TrainyardError } from '../core/errors.js';
import { parseDuration } from '../core/retry.js';
import { formatDurationMs } from './options.js';
import type { SensorCheck, SensorResult } from './types.js';

/**
 * Done once `now ≥ logicalDate + delta`. A "not yet" result carries `nextCheckAt`, so the runner
 * wakes at the target time instead of poking before it.
 */
export function timeDeltaSensor(opts: { delta: string | number }): SensorCheck {
  const deltaMs = durationOption('timeDeltaSensor', 'delta', opts?.delta);
  return async (ctx) => waitUntil(ctx.now, ctx.logicalDate + deltaMs, `the logical date + ${formatDurationMs(deltaMs)}`);
}

/** Done once `now ≥ at` (epoch milliseconds, a Date, or ISO-8601 text with a zone). */
export function dateTimeSensor(opts: { at: number | Date | string }): SensorCheck {
  const at = instantOption(opts?.at);
  return async (ctx) => waitUntil(ctx.now, at);
}

function waitUntil(now: number, target: number, what?: string): SensorResult & { nextCheckAt?: number } {
  if (now >= target) return { done: true, value: { at: target } };
  const when = new Date(target).toISOString();
  return {
    done: false,
    detail: `waiting until ${when}${what ? ` (${what})` : ''}: ${formatDurationMs(Math.ceil((target - now) / 1000) * 1000)} to go`,
    nextCheckAt: target,
  };
}

function durationOption(sensor: string, field: string, value: unknown): number {
  try {
    return parseDuration(value as string | number);
  } catch (e) {
    if (e instanceof TrainyardError) {
      throw new DagValidationError('SENSOR_OPTION_INVALID', `${sensor}: ${field} ${JSON.stringify(value)} is not a duration. Use milliseconds or text like "30m", "2h" or "1d".`);
    }
    throw e;
  }
}

const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

function instantOption(value: unknown): number {
  let ms = NaN;
  if (typeof value === 'number') ms = value;
  else if (value instanceof Date) ms = value.getTime();
  else if (typeof value === 'string' && ISO_WITH_ZONE.test(value.trim())) ms = Date.parse(value.trim());
  if (!Number.isFinite(ms)) {
    throw new DagValidationError(
      'SENSOR_OPTION_INVALID',
      `dateTimeSensor: at ${JSON.stringify(value)} is not an instant. Use epoch milliseconds, a Date, or ISO-8601 text with a zone such as "2026-11-21T02:00:00Z".`,
    );
  }
  return ms;
}
