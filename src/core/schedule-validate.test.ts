import { describe, expect, it } from 'vitest';
import { DagValidationError, TrainyardError } from './errors.js';
import { parseScheduleDate, type ScheduleOptions, validateSchedule } from './schedule-validate.js';
import type { ScheduleSpec } from './spec.js';

const at = (iso: string): number => Date.parse(iso);
const cron = (expression: string, timezone = 'UTC'): ScheduleSpec => ({ kind: 'cron', expression, timezone });

function failure(spec: ScheduleOptions): DagValidationError {
  try {
    validateSchedule(spec);
  } catch (e) {
    expect(e).toBeInstanceOf(DagValidationError);
    return e as DagValidationError;
  }
  throw new Error('expected validateSchedule to throw');
}

describe('validateSchedule', () => {
  it('accepts a valid schedule and returns the dates as instants', () => {
    const v = validateSchedule({
      dagId: 'etl',
      schedule: cron('0 2 * * *', 'europe/amsterdam'),
      timezone: 'Europe/Amsterdam',
      startDate: '2026-01-01',
      endDate: '2026-12-31T00:00:00Z',
    });
    expect(v.schedule).toEqual({ kind: 'cron', expression: '0 2 * * *', timezone: 'Europe/Amsterdam' });
    expect(v.timezone).toBe('Europe/Amsterdam');
    expect(v.startDate).toBe(at('2025-12-31T23:00:00Z')); // midnight in Amsterdam
    expect(v.endDate).toBe(at('2026-12-31T00:00:00Z'));
  });

  it('accepts every kind of schedule without dates, and equal start and end dates', () => {
    expect(validateSchedule({ schedule: { kind: 'none' } })).toEqual({ schedule: { kind: 'none' }, timezone: 'UTC', startDate: undefined, endDate: undefined });
    expect(validateSchedule({ schedule: { kind: 'interval', everyMs: 900_000 } }).schedule).toEqual({ kind: 'interval', everyMs: 900_000 });
    expect(validateSchedule({ schedule: cron('@daily') }).schedule).toEqual(cron('@daily'));
    const same = validateSchedule({ schedule: cron('@daily'), startDate: '2026-01-01', endDate: new Date('2026-01-01T00:00:00Z') });
    expect(same.startDate).toBe(same.endDate);
  });

  it('INVALID_CRON names the DAG, the field, the value and the range', () => {
    const e = failure({ dagId: 'etl', schedule: cron('61 * * * *') });
    expect(e.code).toBe('INVALID_CRON');
    expect(e.dagId).toBe('etl');
    expect(e.message).toBe(
      `DAG 'etl': schedule: invalid cron '61 * * * *': minute field '61' is out of range 0-59. A cron schedule is "minute hour day-of-month month day-of-week", e.g. "0 2 * * *", or a preset such as "@daily"`,
    );
    expect(failure({ schedule: cron('0 0 * * 1 2') }).message).toMatch(/^schedule: invalid cron '0 0 \* \* 1 2': expected 5 fields/);
  });

  it('INVALID_TIMEZONE for the cron time zone or the DAG time zone, with a suggestion', () => {
    const e = failure({ dagId: 'etl', schedule: cron('@daily', 'Europe/Amsterdm') });
    expect(e.code).toBe('INVALID_TIMEZONE');
    expect(e.message).toBe(
      `DAG 'etl': timezone: invalid time zone 'Europe/Amsterdm': use an IANA time-zone name such as "Europe/Amsterdam" or "UTC"; did you mean "Europe/Amsterdam"?`,
    );
    const d = failure({ schedule: { kind: 'none' }, timezone: 'Mars/Base' });
    expect(d.code).toBe('INVALID_TIMEZONE');
    expect(d.message).toMatch(/^timezone: invalid time zone 'Mars\/Base'/);
  });

  it('END_BEFORE_START names both dates and the fix', () => {
    const e = failure({ dagId: 'etl', schedule: cron('@daily'), startDate: '2026-02-01', endDate: '2026-01-01' });
    expect(e.code).toBe('END_BEFORE_START');
    expect(e.message).toBe("DAG 'etl': endDate 2026-01-01 is before startDate 2026-02-01: set endDate on or after startDate, or remove endDate");
    const n = failure({ schedule: cron('@daily'), startDate: at('2026-02-01T00:00:00Z'), endDate: at('2026-01-01T06:00:00Z') });
    expect(n.message).toBe('endDate 2026-01-01T06:00:00.000Z is before startDate 2026-02-01: set endDate on or after startDate, or remove endDate');
  });

  it.each([0, -60_000, 1.5, Number.NaN, Infinity])('INVALID_INTERVAL for %s ms', (everyMs) => {
    const e = failure({ dagId: 'etl', schedule: { kind: 'interval', everyMs } });
    expect(e.code).toBe('INVALID_INTERVAL');
    expect(e.message).toBe(
      `DAG 'etl': schedule: the interval must be a positive whole number of milliseconds, got ${String(everyMs)}; use a duration such as "15m" or "6h"`,
    );
  });

  it('INVALID_SCHEDULE for an unknown kind', () => {
    const e = failure({ schedule: { kind: 'weekly' } as unknown as ScheduleSpec });
    expect(e.code).toBe('INVALID_SCHEDULE');
    expect(e.message).toContain('schedule: unknown schedule {"kind":"weekly"}; use a cron expression');
  });

  it.each(['yesterday', '2026-02-30', '2026-13-01', '2026-01-01T25:00', '2026-01-01T00:00:00+25:00', '26-01-01', ''])('INVALID_DATE for startDate %j', (startDate) => {
    const e = failure({ dagId: 'etl', schedule: cron('@daily'), startDate });
    expect(e.code).toBe('INVALID_DATE');
    expect(e.message).toBe(
      `DAG 'etl': startDate ${JSON.stringify(startDate)} is not a valid date: use an ISO-8601 date such as "2026-01-01" or "2026-01-01T00:00:00Z", or a Date`,
    );
  });

  it('INVALID_DATE for endDate numbers and Dates that are not dates', () => {
    expect(failure({ schedule: cron('@daily'), endDate: Number.NaN }).message).toMatch(/^endDate null is not a valid date/);
    expect(failure({ schedule: cron('@daily'), endDate: new Date('nope') }).message).toMatch(/^endDate null is not a valid date/);
  });
});

describe('parseScheduleDate', () => {
  it.each([
    ['2026-01-01T00:00:00Z', 'UTC', '2026-01-01T00:00:00.000Z'],
    ['2026-01-01t00:00:00z', 'UTC', '2026-01-01T00:00:00.000Z'],
    ['2026-01-01T05:30:00+05:30', 'UTC', '2026-01-01T00:00:00.000Z'],
    ['2026-01-01T00:00:00-0800', 'UTC', '2026-01-01T08:00:00.000Z'],
    ['2026-01-01T00:00:00+05', 'UTC', '2025-12-31T19:00:00.000Z'],
    ['2026-01-01T00:00:00.5Z', 'UTC', '2026-01-01T00:00:00.500Z'],
    ['2026-01-01T00:00:00.123456Z', 'UTC', '2026-01-01T00:00:00.123Z'],
    ['2026-01-01 06:00', 'UTC', '2026-01-01T06:00:00.000Z'],
    ['2026-01-01', 'UTC', '2026-01-01T00:00:00.000Z'],
    ['2026-01-01', 'Europe/Amsterdam', '2025-12-31T23:00:00.000Z'],
    ['2026-07-01', 'Europe/Amsterdam', '2026-06-30T22:00:00.000Z'],
    ['2026-01-01', 'Asia/Kolkata', '2025-12-31T18:30:00.000Z'],
    ['2026-03-08T02:30', 'America/New_York', '2026-03-08T07:00:00.000Z'], // missing: end of the gap
    ['2026-11-01T01:30', 'America/New_York', '2026-11-01T05:30:00.000Z'], // repeated: first occurrence
    ['2026-01-01T00:00:00Z', 'America/New_York', '2026-01-01T00:00:00.000Z'], // an offset wins over the zone
    ['2028-02-29', 'UTC', '2028-02-29T00:00:00.000Z'],
  ])('%s in %s', (text, tz, expected) => {
    expect(new Date(parseScheduleDate(text, tz)).toISOString()).toBe(expected);
  });

  it('takes instants as they are', () => {
    expect(parseScheduleDate(1_767_225_600_000)).toBe(1_767_225_600_000);
    expect(parseScheduleDate(new Date('2026-01-01T00:00:00Z'), 'Europe/Amsterdam')).toBe(at('2026-01-01T00:00:00Z'));
  });

  it('rejects what is not a date, naming the field', () => {
    for (const bad of ['2027-02-29', '2026-04-31', '2026-01-01T23:60', '2026-01-01T12:00:60Z', 'tomorrow']) {
      expect(() => parseScheduleDate(bad, 'UTC', 'startDate')).toThrow(TrainyardError);
      expect(() => parseScheduleDate(bad, 'UTC', 'startDate')).toThrow(`startDate "${bad}" is not a valid date`);
    }
    expect(() => parseScheduleDate(Infinity)).toThrow(/date null is not a valid date/);
    expect(() => parseScheduleDate({} as unknown as string)).toThrow(/is not a valid date/);
  });
});
