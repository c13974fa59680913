/**
 * Validation of a DAG's schedule options, with messages that name the field and the fix; and
 * the parsing of startDate/endDate text, where a date without an offset is read on the DAG's
 * wall clock (as Airflow reads a naive start_date in the DAG's time zone).
 */
import { fromWallClock, parseCron, validateTimeZone } from './cron.js';
import { DagValidationError, TrainyardError } from './errors.js';
import type { ScheduleSpec } from './spec.js';
import { validateAssetExpr } from './assets.js';

export interface ScheduleOptions {
  readonly dagId?: string;
  readonly schedule: ScheduleSpec;
  /** An instant (epoch ms or Date) or ISO-8601 text; text without an offset is local to `timezone`. */
  readonly startDate?: string | number | Date;
  readonly endDate?: string | number | Date;
  /** The DAG's time zone, default UTC (a cron schedule also carries its own). */
  readonly timezone?: string;
}

export interface ValidatedSchedule {
  /** The schedule, with a cron schedule's time zone in canonical form. */
  readonly schedule: ScheduleSpec;
  readonly timezone: string;
  readonly startDate?: number;
  readonly endDate?: number;
}

/**
 * Check a DAG's schedule, time zone and dates. Throws DagValidationError with code
 * INVALID_CRON, INVALID_TIMEZONE, INVALID_INTERVAL, INVALID_SCHEDULE, INVALID_DATE or
 * END_BEFORE_START. Returns the dates as epoch ms.
 */
export function validateSchedule(spec: ScheduleOptions): ValidatedSchedule {
  const dagId = spec.dagId;
  const prefix = dagId === undefined ? '' : `DAG '${dagId}': `;
  const rethrow = (field: string, e: unknown): never => {
    if (e instanceof TrainyardError) throw new DagValidationError(e.code, `${prefix}${field}: ${e.message}`, dagId);
    throw e;
  };
  let timezone = 'UTC';
  if (spec.timezone !== undefined) {
    try {
      timezone = validateTimeZone(spec.timezone);
    } catch (e) {
      rethrow('timezone', e);
    }
  }
  const schedule = validateScheduleSpec(spec.schedule, prefix, dagId, rethrow);
  const startDate = spec.startDate === undefined ? undefined : dateField('startDate', spec.startDate, timezone, prefix, dagId);
  const endDate = spec.endDate === undefined ? undefined : dateField('endDate', spec.endDate, timezone, prefix, dagId);
  if (startDate !== undefined && endDate !== undefined && endDate < startDate) {
    throw new DagValidationError(
      'END_BEFORE_START',
      `${prefix}endDate ${showDate(spec.endDate!, endDate)} is before startDate ${showDate(spec.startDate!, startDate)}: set endDate on or after startDate, or remove endDate`,
      dagId,
    );
  }
  return { schedule, timezone, startDate, endDate };
}

function validateScheduleSpec(
  schedule: ScheduleSpec,
  prefix: string,
  dagId: string | undefined,
  rethrow: (field: string, e: unknown) => never,
): ScheduleSpec {
  switch (schedule?.kind) {
    case 'none':
      return schedule;
    case 'assets':
      try {
        return { kind: 'assets', expr: validateAssetExpr(schedule.expr) };
      } catch (e) {
        return rethrow('schedule', e);
      }
    case 'cron': {
      let timezone = 'UTC';
      try {
        timezone = validateTimeZone(schedule.timezone);
      } catch (e) {
        rethrow('timezone', e);
      }
      try {
        parseCron(schedule.expression);
      } catch (e) {
        if (e instanceof TrainyardError) {
          throw new DagValidationError(
            e.code,
            `${prefix}schedule: ${e.message}. A cron schedule is "minute hour day-of-month month day-of-week", e.g. "0 2 * * *", or a preset such as "@daily"`,
            dagId,
          );
        }
        throw e;
      }
      return timezone === schedule.timezone ? schedule : { ...schedule, timezone };
    }
    case 'interval': {
      const every = schedule.everyMs;
      if (typeof every !== 'number' || !Number.isSafeInteger(every) || every <= 0) {
        throw new DagValidationError(
          'INVALID_INTERVAL',
          `${prefix}schedule: the interval must be a positive whole number of milliseconds, got ${String(every)}; use a duration such as "15m" or "6h"`,
          dagId,
        );
      }
      return schedule;
    }
    default:
      throw new DagValidationError(
        'INVALID_SCHEDULE',
        `${prefix}schedule: unknown schedule ${JSON.stringify(schedule)}; use a cron expression, a preset such as "@daily", an interval such as "6h", or null for manual runs`,
        dagId,
      );
  }
}

function dateField(field: string, value: string | number | Date, timezone: string, prefix: string, dagId: string | undefined): number {
  try {
    return parseScheduleDate(value, timezone, field);
  } catch (e) {
    if (e instanceof TrainyardError) throw new DagValidationError(e.code, `${prefix}${e.message}`, dagId);
    throw e;
  }
}

function showDate(input: string | number | Date, ms: number): string {
  if (typeof input === 'string') return input;
  const iso = new Date(ms).toISOString();
  return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso;
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * An instant from epoch ms, a Date, or ISO-8601 text. Text with `Z` or an offset is that
 * instant; text without one ("2026-01-01", "2026-01-01T02:30") is a wall-clock time in
 * `timeZone`, resolved with the cron DST rule (first occurrence of a repeated time, the end
 * of the gap for a missing one). Throws TrainyardError `INVALID_DATE`.
 */
export function parseScheduleDate(value: string | number | Date, timeZone = 'UTC', field = 'date'): number {
  const fail = (): never => {
    throw new TrainyardError(
      'INVALID_DATE',
      `${field} ${JSON.stringify(value instanceof Date ? String(value) : value)} is not a valid date: use an ISO-8601 date such as "2026-01-01" or "2026-01-01T00:00:00Z", or a Date`,
    );
  };
  if (value instanceof Date) value = value.getTime();
  if (typeof value === 'number') return Number.isFinite(value) ? value : fail();
  if (typeof value !== 'string') return fail();
  const m = ISO_DATE.exec(value.trim());
  if (!m) return fail();
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((v) => (v === undefined ? 0 : Number(v)));
  const millisecond = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'));
  const dim = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > dim || hour > 23 || minute > 59 || second > 59) fail();
  const offset = m[8];
  if (offset === undefined) return fromWallClock({ year, month, day, hour, minute, second, millisecond }, timeZone);
  const local = Date.UTC(year, month - 1, day, hour, minute, second, millisecond);
  if (offset.toUpperCase() === 'Z') return local;
  const digits = offset.replace(':', '');
  const oh = Number(digits.slice(1, 3));
  const om = digits.length > 3 ? Number(digits.slice(3, 5)) : 0;
  if (oh > 23 || om > 59) fail();
  const sign = digits[0] === '-' ? -1 : 1;
  return local - sign * (oh * 60 + om) * 60_000;
}
