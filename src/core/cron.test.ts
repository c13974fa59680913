import { describe, expect, it } from 'vitest';
import {
  CRON_PRESETS,
  cronTimes,
  fromWallClock,
  nextCronTime,
  parseCron,
  prevCronTime,
  suggestTimeZone,
  timeZoneOffsetMs,
  toWallClock,
  validateTimeZone,
} from './cron.js';
import { TrainyardError } from './errors.js';

const at = (iso: string): number => {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`bad test date ${iso}`);
  return ms;
};
const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');
const HOUR = 3_600_000;
const MINUTE = 60_000;

function nextN(expr: string, fromIso: string, n: number, tz = 'UTC'): string[] {
  const out: string[] = [];
  let t = at(fromIso);
  for (let i = 0; i < n; i++) {
    t = nextCronTime(expr, t, tz);
    out.push(iso(t));
  }
  return out;
}

function prevN(expr: string, fromIso: string, n: number, tz = 'UTC'): string[] {
  const out: string[] = [];
  let t = at(fromIso);
  for (let i = 0; i < n; i++) {
    t = prevCronTime(expr, t, tz);
    out.push(iso(t));
    t -= 1;
  }
  return out;
}

function cronError(expr: string): TrainyardError {
  try {
    parseCron(expr);
  } catch (e) {
    expect(e).toBeInstanceOf(TrainyardError);
    expect((e as TrainyardError).code).toBe('INVALID_CRON');
    return e as TrainyardError;
  }
  throw new Error(`expected '${expr}' to be rejected`);
}

describe('parseCron: syntax', () => {
  it('expands * to the whole range of each field', () => {
    const c = parseCron('* * * * *');
    expect(c.minutes).toHaveLength(60);
    expect(c.hours).toHaveLength(24);
    expect(c.daysOfMonth).toEqual(Array.from({ length: 31 }, (_, i) => i + 1));
    expect(c.months).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(c.daysOfWeek).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(c.dayOfMonthRestricted).toBe(false);
    expect(c.dayOfWeekRestricted).toBe(false);
    expect(c.everyHour).toBe(true);
    expect(c.source).toBe('* * * * *');
    expect(String(c)).toBe('* * * * *');
  });

  it.each([
    ['5 * * * *', 'minutes', [5]],
    ['1,15,45 * * * *', 'minutes', [1, 15, 45]],
    ['45,1,15,1 * * * *', 'minutes', [1, 15, 45]],
    ['10-14 * * * *', 'minutes', [10, 11, 12, 13, 14]],
    ['*/15 * * * *', 'minutes', [0, 15, 30, 45]],
    ['*/7 * * * *', 'minutes', [0, 7, 14, 21, 28, 35, 42, 49, 56]],
    ['1-10/2 * * * *', 'minutes', [1, 3, 5, 7, 9]],
    ['5/20 * * * *', 'minutes', [5, 25, 45]],
    ['*/60 * * * *', 'minutes', [0]],
    ['0-4,50-59/5 * * * *', 'minutes', [0, 1, 2, 3, 4, 50, 55]],
    ['0 */6 * * *', 'hours', [0, 6, 12, 18]],
    ['0 9-17 * * *', 'hours', [9, 10, 11, 12, 13, 14, 15, 16, 17]],
    ['0 0 1,15 * *', 'daysOfMonth', [1, 15]],
    ['0 0 */10 * *', 'daysOfMonth', [1, 11, 21, 31]],
    ['0 0 * JAN *', 'months', [1]],
    ['0 0 * jan,Jul,DEC *', 'months', [1, 7, 12]],
    ['0 0 * MAR-MAY *', 'months', [3, 4, 5]],
    ['0 0 * */3 *', 'months', [1, 4, 7, 10]],
    ['0 0 * 2-12/5 *', 'months', [2, 7, 12]],
    ['0 0 * * MON', 'daysOfWeek', [1]],
    ['0 0 * * mon-fri', 'daysOfWeek', [1, 2, 3, 4, 5]],
    ['0 0 * * SAT,SUN', 'daysOfWeek', [0, 6]],
    ['0 0 * * FRI-SUN', 'daysOfWeek', [0, 5, 6]],
    ['0 0 * * 5-7', 'daysOfWeek', [0, 5, 6]],
    ['0 0 * * 7', 'daysOfWeek', [0]],
    ['0 0 * * 0,7', 'daysOfWeek', [0]],
    ['0 0 * * */2', 'daysOfWeek', [0, 2, 4, 6]],
    ['0 0 * * 1/2', 'daysOfWeek', [0, 1, 3, 5]],
  ] as const)('%s → %s %j', (expr, field, expected) => {
    expect(parseCron(expr)[field]).toEqual(expected);
  });

  it('accepts surrounding and repeated whitespace, and tabs', () => {
    expect(parseCron('  0   2\t* *  *  ').hours).toEqual([2]);
    expect(parseCron('  0   2\t* *  *  ').source).toBe('0   2\t* *  *');
  });

  it('expands every preset, in any case', () => {
    expect(Object.keys(CRON_PRESETS).sort()).toEqual(['@annually', '@daily', '@hourly', '@midnight', '@monthly', '@weekly', '@yearly']);
    const fields = (e: string) => {
      const c = parseCron(e);
      return [c.minutes, c.hours, c.daysOfMonth, c.months, c.daysOfWeek];
    };
    expect(fields('@hourly')).toEqual(fields('0 * * * *'));
    expect(fields('@daily')).toEqual(fields('0 0 * * *'));
    expect(fields('@midnight')).toEqual(fields('0 0 * * *'));
    expect(fields('@weekly')).toEqual(fields('0 0 * * 0'));
    expect(fields('@monthly')).toEqual(fields('0 0 1 * *'));
    expect(fields('@yearly')).toEqual(fields('0 0 1 1 *'));
    expect(fields('@annually')).toEqual(fields('0 0 1 1 *'));
    expect(fields('@DAILY')).toEqual(fields('0 0 * * *'));
    expect(parseCron('@daily').source).toBe('@daily');
  });

  it('marks a day field restricted only when it excludes some value', () => {
    expect(parseCron('0 0 1-31 * 0-6').dayOfMonthRestricted).toBe(false);
    expect(parseCron('0 0 1-31 * 0-6').dayOfWeekRestricted).toBe(false);
    expect(parseCron('0 0 * * 0-7').dayOfWeekRestricted).toBe(false);
    expect(parseCron('0 0 */1 * *').dayOfMonthRestricted).toBe(false);
    expect(parseCron('0 0 */2 * *').dayOfMonthRestricted).toBe(true);
    expect(parseCron('0 0 * * 1-5').dayOfWeekRestricted).toBe(true);
  });

  it('knows which schedules cover every hour (the DST class)', () => {
    expect(parseCron('@hourly').everyHour).toBe(true);
    expect(parseCron('*/5 * * * *').everyHour).toBe(true);
    expect(parseCron('0 0-23 * * *').everyHour).toBe(true);
    expect(parseCron('0 */2 * * *').everyHour).toBe(false);
    expect(parseCron('@daily').everyHour).toBe(false);
    expect(parseCron('* 1 * * *').everyHour).toBe(false);
  });

  it('returns the same parsed object for the same text', () => {
    expect(parseCron('17 3 * * *')).toBe(parseCron('17 3 * * *'));
  });
});

describe('parseCron: errors name the field, the value and the allowed range', () => {
  it.each([
    ['61 * * * *', "invalid cron '61 * * * *': minute field '61' is out of range 0-59"],
    ['* 24 * * *', "invalid cron '* 24 * * *': hour field '24' is out of range 0-23"],
    ['* * 0 * *', "invalid cron '* * 0 * *': day-of-month field '0' is out of range 1-31"],
    ['* * 32 * *', "invalid cron '* * 32 * *': day-of-month field '32' is out of range 1-31"],
    ['* * * 13 *', "invalid cron '* * * 13 *': month field '13' is out of range 1-12 or JAN-DEC"],
    ['* * * 0 *', "invalid cron '* * * 0 *': month field '0' is out of range 1-12 or JAN-DEC"],
    ['* * * * 8', "invalid cron '* * * * 8': day-of-week field '8' is out of range 0-7 (0 and 7 are Sunday) or SUN-SAT"],
    ['1,2,75 * * * *', "invalid cron '1,2,75 * * * *': minute field '1,2,75' has value 75, out of range 0-59"],
    ['0-60 * * * *', "invalid cron '0-60 * * * *': minute field '0-60' has value 60, out of range 0-59"],
  ])('%s', (expr, message) => {
    expect(cronError(expr).message).toBe(message);
  });

  it.each([
    ['', 'expected 5 fields (minute hour day-of-month month day-of-week), got 0'],
    ['* * * *', 'got 4'],
    ['* * * * * *', 'got 6'],
    ['0 0 * * * 2026', 'got 6'],
    ['@reboot', 'unknown preset; use one of @hourly, @daily, @midnight, @weekly, @monthly, @yearly, @annually'],
    ['@fortnightly', 'unknown preset'],
    ['1,,2 * * * *', "minute field '1,,2' has an empty list item"],
    [',1 * * * *', 'has an empty list item'],
    ['*/5/2 * * * *', "minute field '*/5/2' has more than one '/'"],
    ['*/x * * * *', "minute field '*/x' has step 'x', which is not a whole number"],
    ['*/-1 * * * *', "has step '-1', which is not a whole number"],
    ['*/0 * * * *', "minute field '*/0' has step 0; a step must be at least 1"],
    ['*/61 * * * *', "minute field '*/61' has step 61, larger than the field's range 0-59"],
    ['0 */25 * * *', "hour field '*/25' has step 25, larger than the field's range 0-23"],
    ['1- * * * *', "minute field '1-' has a malformed range '1-'"],
    ['-1 * * * *', "minute field '-1' has a malformed range '-1'"],
    ['1-2-3 * * * *', "minute field '1-2-3' has a malformed range '1-2-3'"],
    ['30-10 * * * *', "minute field '30-10' has range '30-10' that runs backwards; write it as a list, e.g. \"30-59,0-10\""],
    ['0 0 * DEC-FEB *', "month field 'DEC-FEB' has range 'DEC-FEB' that runs backwards"],
    ['x * * * *', "minute field 'x' is not a number; allowed: 0-59"],
    ['1,x * * * *', "minute field '1,x' has 'x', which is not a number; allowed: 0-59"],
    ['MON * * * *', "minute field 'MON' is not a number; allowed: 0-59"],
    ['0 0 * FOO *', "month field 'FOO' is not a number or a name; allowed: 1-12 or JAN-DEC"],
    ['0 0 * * MONDAY', "day-of-week field 'MONDAY' is not a number or a name; allowed: 0-7 (0 and 7 are Sunday) or SUN-SAT"],
    ['0 0 * JAN-FOO *', "month field 'JAN-FOO' has 'FOO', which is not a number or a name"],
    ['1.5 * * * *', "minute field '1.5' is not a number"],
    ['? * * * *', "minute field '?' is not a number"],
    ['0 0 30 2 *', "day-of-month field '30' never occurs in month field '2', so it would never run"],
    ['0 0 31 4,6,9,11 *', "day-of-month field '31' never occurs in month field '4,6,9,11'"],
    ['0 0 30,31 FEB *', "day-of-month field '30,31' never occurs in month field 'FEB'"],
  ])('%j', (expr, fragment) => {
    const e = cronError(expr);
    expect(e.message).toContain(`invalid cron '${expr.trim()}'`);
    expect(e.message).toContain(fragment);
  });

  it('rejects what is not a string', () => {
    expect(() => parseCron(undefined as unknown as string)).toThrow(/invalid cron undefined: expected a string/);
  });

  it('accepts day-of-month values that exist only in some years or months', () => {
    expect(parseCron('0 0 29 2 *').daysOfMonth).toEqual([29]);
    expect(parseCron('0 0 31 1-3 *').months).toEqual([1, 2, 3]);
    // With day-of-week restricted too, either field may match, so the expression can run.
    expect(parseCron('0 0 30 2 MON').daysOfWeek).toEqual([1]);
  });
});

describe('nextCronTime and prevCronTime in UTC', () => {
  it.each([
    ['*/15 * * * *', '2026-05-10T10:07:00Z', ['2026-05-10T10:15:00Z', '2026-05-10T10:30:00Z', '2026-05-10T10:45:00Z', '2026-05-10T11:00:00Z']],
    ['* * * * *', '2026-12-31T23:58:30Z', ['2026-12-31T23:59:00Z', '2027-01-01T00:00:00Z', '2027-01-01T00:01:00Z']],
    ['0 * * * *', '2026-05-10T10:00:00Z', ['2026-05-10T11:00:00Z', '2026-05-10T12:00:00Z']],
    ['0 2 * * *', '2026-01-30T12:00:00Z', ['2026-01-31T02:00:00Z', '2026-02-01T02:00:00Z', '2026-02-02T02:00:00Z']],
    ['30 9-17/4 * * *', '2026-05-10T00:00:00Z', ['2026-05-10T09:30:00Z', '2026-05-10T13:30:00Z', '2026-05-10T17:30:00Z', '2026-05-11T09:30:00Z']],
    ['0 12 * * MON-FRI', '2026-05-08T12:00:00Z', ['2026-05-11T12:00:00Z', '2026-05-12T12:00:00Z']], // 8 May 2026 is a Friday
    ['0 0 * * 0', '2026-05-10T00:00:00Z', ['2026-05-17T00:00:00Z', '2026-05-24T00:00:00Z']],
    ['0 0 * * 7', '2026-05-10T00:00:00Z', ['2026-05-17T00:00:00Z']],
    ['0 0 31 * *', '2026-01-31T00:00:00Z', ['2026-03-31T00:00:00Z', '2026-05-31T00:00:00Z', '2026-07-31T00:00:00Z', '2026-08-31T00:00:00Z']],
    ['0 0 1 1 *', '2026-06-15T00:00:00Z', ['2027-01-01T00:00:00Z', '2028-01-01T00:00:00Z']],
    ['59 23 31 12 *', '2026-01-01T00:00:00Z', ['2026-12-31T23:59:00Z', '2027-12-31T23:59:00Z']],
    ['0 0 29 2 *', '2026-01-01T00:00:00Z', ['2028-02-29T00:00:00Z', '2032-02-29T00:00:00Z']],
    ['0 0 29 2 *', '2096-03-01T00:00:00Z', ['2104-02-29T00:00:00Z']], // 2100 is not a leap year
    ['0 0 1 */3 *', '2026-02-01T00:00:00Z', ['2026-04-01T00:00:00Z', '2026-07-01T00:00:00Z', '2026-10-01T00:00:00Z', '2027-01-01T00:00:00Z']],
    ['0 0 L * *'.replace('L', '28-31'), '2026-02-27T00:00:00Z', ['2026-02-28T00:00:00Z', '2026-03-28T00:00:00Z']],
    ['@monthly', '2026-12-15T00:00:00Z', ['2027-01-01T00:00:00Z', '2027-02-01T00:00:00Z']],
    ['@weekly', '2026-05-10T00:00:00Z', ['2026-05-17T00:00:00Z']],
    ['@yearly', '2026-01-01T00:00:00Z', ['2027-01-01T00:00:00Z']],
  ])('%s after %s', (expr, from, expected) => {
    expect(nextN(expr, from, expected.length)).toEqual(expected);
  });

  it('fires when EITHER day field matches if both are restricted (Vixie cron)', () => {
    // 1 January 2026 is a Thursday: Fridays plus every 13th.
    expect(nextN('0 0 13 * FRI', '2026-01-01T00:00:00Z', 5)).toEqual([
      '2026-01-02T00:00:00Z',
      '2026-01-09T00:00:00Z',
      '2026-01-13T00:00:00Z',
      '2026-01-16T00:00:00Z',
      '2026-01-23T00:00:00Z',
    ]);
    // A step in day-of-month is a restriction: odd days or Mondays.
    expect(nextN('0 0 */2 * 1', '2026-01-01T00:00:00Z', 5)).toEqual([
      '2026-01-03T00:00:00Z',
      '2026-01-05T00:00:00Z', // odd, and a Monday
      '2026-01-07T00:00:00Z',
      '2026-01-09T00:00:00Z',
      '2026-01-11T00:00:00Z',
    ]);
    expect(nextN('0 0 2 * 1', '2026-01-01T00:00:00Z', 3)).toEqual(['2026-01-02T00:00:00Z', '2026-01-05T00:00:00Z', '2026-01-12T00:00:00Z']);
    // February 30 never exists, but Mondays do.
    expect(nextN('0 0 30 2 MON', '2026-02-01T00:00:00Z', 2)).toEqual(['2026-02-02T00:00:00Z', '2026-02-09T00:00:00Z']);
  });

  it('uses only the restricted day field when the other is *', () => {
    expect(nextN('0 0 13 * *', '2026-01-01T00:00:00Z', 2)).toEqual(['2026-01-13T00:00:00Z', '2026-02-13T00:00:00Z']);
    expect(nextN('0 0 * * FRI', '2026-01-01T00:00:00Z', 2)).toEqual(['2026-01-02T00:00:00Z', '2026-01-09T00:00:00Z']);
    // 1-31 covers every day, so it is unrestricted: the weekday decides alone.
    expect(nextN('0 0 1-31 * FRI', '2026-01-01T00:00:00Z', 1)).toEqual(['2026-01-02T00:00:00Z']);
    // Friday the 13th needs both fields: months where the 13th is a Friday (Feb, Mar, Nov 2026).
    const fridays13: string[] = [];
    for (const t of cronTimes('0 0 13 * *', at('2026-01-01T00:00:00Z'))) {
      if (t >= at('2027-01-01T00:00:00Z')) break;
      if (new Date(t).getUTCDay() === 5) fridays13.push(iso(t).slice(0, 10));
    }
    expect(fridays13).toEqual(['2026-02-13', '2026-03-13', '2026-11-13']);
  });

  it('is strictly after afterMs, and finds the same minute from anywhere inside the previous one', () => {
    expect(iso(nextCronTime('0 2 * * *', at('2026-01-01T02:00:00Z')))).toBe('2026-01-02T02:00:00Z');
    expect(iso(nextCronTime('0 2 * * *', at('2026-01-01T01:59:59.999Z')))).toBe('2026-01-01T02:00:00Z');
    expect(iso(nextCronTime('0 2 * * *', at('2026-01-01T02:00:00.001Z')))).toBe('2026-01-02T02:00:00Z');
    expect(iso(nextCronTime('* * * * *', at('2026-01-01T02:00:30Z')))).toBe('2026-01-01T02:01:00Z');
  });

  it.each([
    ['0 2 * * *', '2026-01-02T02:00:00Z', ['2026-01-02T02:00:00Z', '2026-01-01T02:00:00Z', '2025-12-31T02:00:00Z']],
    ['0 2 * * *', '2026-01-02T01:59:59Z', ['2026-01-01T02:00:00Z', '2025-12-31T02:00:00Z']],
    ['*/15 * * * *', '2026-05-10T10:07:00Z', ['2026-05-10T10:00:00Z', '2026-05-10T09:45:00Z']],
    ['* * * * *', '2027-01-01T00:00:30Z', ['2027-01-01T00:00:00Z', '2026-12-31T23:59:00Z']],
    ['0 0 31 * *', '2026-05-01T00:00:00Z', ['2026-03-31T00:00:00Z', '2026-01-31T00:00:00Z', '2025-12-31T00:00:00Z']],
    ['0 0 29 2 *', '2104-01-01T00:00:00Z', ['2096-02-29T00:00:00Z', '2092-02-29T00:00:00Z']],
    ['0 0 13 * FRI', '2026-01-14T00:00:00Z', ['2026-01-13T00:00:00Z', '2026-01-09T00:00:00Z', '2026-01-02T00:00:00Z', '2025-12-26T00:00:00Z']],
    ['30 9-17/4 * * 1-5', '2026-05-11T09:00:00Z', ['2026-05-08T17:30:00Z', '2026-05-08T13:30:00Z']],
    ['@yearly', '2026-06-01T00:00:00Z', ['2026-01-01T00:00:00Z', '2025-01-01T00:00:00Z']],
  ])('prev %s at or before %s', (expr, from, expected) => {
    expect(prevN(expr, from, expected.length)).toEqual(expected);
  });

  it('next and prev agree for many expressions and instants', () => {
    const exprs = ['* * * * *', '*/7 * * * *', '0 2 * * *', '15 3,15 * * 1-5', '0 0 13 * FRI', '0 0 29 2 *', '@monthly', '5 4 * 2 SUN'];
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (const expr of exprs) {
      for (let i = 0; i < 40; i++) {
        const t = at('2020-01-01T00:00:00Z') + Math.floor(random() * 10 * 365 * 24) * HOUR + Math.floor(random() * HOUR);
        const next = nextCronTime(expr, t);
        const prev = prevCronTime(expr, t);
        expect(next).toBeGreaterThan(t);
        expect(prev).toBeLessThanOrEqual(t);
        expect(prevCronTime(expr, next)).toBe(next);
        expect(prevCronTime(expr, next - 1)).toBe(prev);
        expect(nextCronTime(expr, prev)).toBe(next);
      }
    }
  });

  it('takes a parsed expression as well as text', () => {
    const c = parseCron('0 2 * * *');
    expect(nextCronTime(c, at('2026-01-01T00:00:00Z'))).toBe(at('2026-01-01T02:00:00Z'));
    expect(prevCronTime(c, at('2026-01-01T00:00:00Z'))).toBe(at('2025-12-31T02:00:00Z'));
  });

  it('rejects instants that are not finite numbers, and bad expressions', () => {
    expect(() => nextCronTime('* * * * *', Number.NaN)).toThrow(/afterMs must be a finite number/);
    expect(() => prevCronTime('* * * * *', Infinity)).toThrow(/atOrBeforeMs must be a finite number/);
    expect(() => nextCronTime('61 * * * *', 0)).toThrow(/minute field '61' is out of range 0-59/);
  });

  it('counts 43,200 successive minutes over 30 days, each exactly one minute apart', () => {
    const start = at('2026-03-01T00:00:00Z');
    let t = start;
    let count = 0;
    while (true) {
      const next = nextCronTime('* * * * *', t);
      if (next >= start + 30 * 24 * HOUR) break;
      expect(next - t === MINUTE || t === start).toBe(true);
      t = next;
      count++;
    }
    expect(count + 1).toBe(43_200); // the start minute itself is a firing too
  });

  it('iterates lazily, forward and backward', () => {
    const forward: string[] = [];
    for (const t of cronTimes('0 */8 * * *', at('2026-01-01T00:00:00Z'))) {
      forward.push(iso(t));
      if (forward.length === 4) break;
    }
    expect(forward).toEqual(['2026-01-01T08:00:00Z', '2026-01-01T16:00:00Z', '2026-01-02T00:00:00Z', '2026-01-02T08:00:00Z']);
    const backward: string[] = [];
    for (const t of cronTimes('0 */8 * * *', at('2026-01-02T08:00:00Z'), 'UTC', true)) {
      backward.push(iso(t));
      if (backward.length === 4) break;
    }
    expect(backward).toEqual([...forward].reverse());
  });
});

// ------------------------------------------------------------------------------------------
// Time zones and DST. 2026 transitions:
//   America/New_York   8 Mar 02:00 EST → 03:00 EDT;  1 Nov 02:00 EDT → 01:00 EST
//   Europe/London     29 Mar 01:00 GMT → 02:00 BST; 25 Oct 02:00 BST → 01:00 GMT
//   Europe/Amsterdam  29 Mar 02:00 CET → 03:00 CEST; 25 Oct 03:00 CEST → 02:00 CET
//   Australia/Sydney   5 Apr 03:00 AEDT → 02:00 AEST; 4 Oct 02:00 AEST → 03:00 AEDT
//   Asia/Kolkata      +05:30 all year

/** Offset straight from Intl, independent of the code under test. */
const oracleFormats = new Map<string, Intl.DateTimeFormat>();
function oracleOffset(ms: number, tz: string): number {
  let format = oracleFormats.get(tz);
  if (!format) {
    format = new Intl.DateTimeFormat('en-GB', {
    timeZone: tz,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    });
    oracleFormats.set(tz, format);
  }
  const parts = format.formatToParts(ms);
  const f = Object.fromEntries(parts.filter((p) => p.type !== 'literal').map((p) => [p.type, Number(p.value)]));
  return Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second) - ms;
}

const localsCache = new Map<string, number[]>();
/** Local wall-clock time (as local epoch ms) of every minute in [from, to). */
function oracleLocals(tz: string, from: number, to: number): number[] {
  const key = `${tz} ${from} ${to}`;
  let locals = localsCache.get(key);
  if (!locals) {
    locals = [];
    for (let u = from; u < to; u += MINUTE) locals.push(u + oracleOffset(u, tz));
    localsCache.set(key, locals);
  }
  return locals;
}

/**
 * Every firing in [from, to) by brute force, minute by minute, from the documented rule:
 * hourly schedules fire at every instant whose local time matches; fixed-hour schedules fire
 * a wall-clock time L at the first instant whose local time is at or after L.
 */
function oracleFirings(expr: string, tz: string, from: number, to: number): number[] {
  const cron = parseCron(expr);
  const out: number[] = [];
  const locals = oracleLocals(tz, from, to);
  let peak = from - MINUTE + oracleOffset(from - MINUTE, tz);
  for (let u = from, i = 0; u < to; u += MINUTE, i++) {
    const local = locals[i];
    if (cron.everyHour) {
      if (cron.matchesLocal(local)) out.push(u);
    } else {
      // wall-clock minutes first reached at u: (peak, local]
      const lowest = Math.floor(peak / MINUTE) * MINUTE + MINUTE;
      for (let l = lowest; l <= local; l += MINUTE) {
        if (cron.matchesLocal(l)) {
          out.push(u);
          break;
        }
      }
    }
    peak = Math.max(peak, local);
  }
  return out;
}

describe('time zones', () => {
  it('validates and canonicalises IANA names', () => {
    expect(validateTimeZone('Europe/Amsterdam')).toBe('Europe/Amsterdam');
    expect(validateTimeZone('europe/amsterdam')).toBe('Europe/Amsterdam');
    expect(validateTimeZone('UTC')).toBe('UTC');
    expect(validateTimeZone('Etc/UTC')).toBe('Etc/UTC');
    expect(validateTimeZone('utc')).toBe('UTC');
    expect(validateTimeZone('Asia/Kolkata')).toBe('Asia/Kolkata');
  });

  it.each([
    ['Europe/Amsterdm', 'Europe/Amsterdam'],
    ['Amsterdam', 'Europe/Amsterdam'],
    ['America/New York', 'America/New_York'],
    ['Australia/Sidney', 'Australia/Sydney'],
    ['Asia/Kolkatta', 'Asia/Kolkata'],
    ['Europe/Kyyiv', 'Europe/Kyiv'],
    ['CEST', 'Europe/Paris'],
    ['utc ', 'UTC'],
  ])('rejects %j with INVALID_TIMEZONE and suggests %s', (tz, suggestion) => {
    let error: unknown;
    try {
      validateTimeZone(tz);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TrainyardError);
    expect((error as TrainyardError).code).toBe('INVALID_TIMEZONE');
    expect((error as TrainyardError).message).toBe(
      `invalid time zone '${tz}': use an IANA time-zone name such as "Europe/Amsterdam" or "UTC"; did you mean "${suggestion}"?`,
    );
  });

  it('rejects names with nothing close without a suggestion', () => {
    expect(() => validateTimeZone('Not/AZone/AtAllXYZ')).toThrow(
      /^invalid time zone 'Not\/AZone\/AtAllXYZ': use an IANA time-zone name such as "Europe\/Amsterdam" or "UTC"$/,
    );
    expect(() => validateTimeZone('')).toThrow(/invalid time zone '': use an IANA time-zone name/);
    expect(() => validateTimeZone(undefined as unknown as string)).toThrow(/invalid time zone 'undefined'/);
    expect(suggestTimeZone('qqqqqqqqqqqqqqqqqq')).toBeUndefined();
  });

  it('rejects an unknown zone in nextCronTime and prevCronTime', () => {
    expect(() => nextCronTime('* * * * *', 0, 'Mars/Olympus_Mons')).toThrow(/invalid time zone 'Mars\/Olympus_Mons'/);
    expect(() => prevCronTime('* * * * *', 0, 'Europe/Amsterdm')).toThrow(/did you mean "Europe\/Amsterdam"/);
  });

  it('gives offsets and wall clocks', () => {
    expect(timeZoneOffsetMs(at('2026-01-15T12:00:00Z'), 'Europe/Amsterdam')).toBe(1 * HOUR);
    expect(timeZoneOffsetMs(at('2026-07-15T12:00:00Z'), 'Europe/Amsterdam')).toBe(2 * HOUR);
    expect(timeZoneOffsetMs(at('2026-07-15T12:00:00Z'), 'Asia/Kolkata')).toBe(5.5 * HOUR);
    expect(timeZoneOffsetMs(at('2026-07-15T12:00:00Z'), 'Australia/Sydney')).toBe(10 * HOUR);
    expect(timeZoneOffsetMs(at('2026-01-15T12:00:00Z'), 'Australia/Sydney')).toBe(11 * HOUR);
    expect(timeZoneOffsetMs(at('2026-01-15T12:00:00Z'), 'UTC')).toBe(0);
    // exactly at the transition instant the new offset applies
    expect(timeZoneOffsetMs(at('2026-03-08T07:00:00Z'), 'America/New_York')).toBe(-4 * HOUR);
    expect(timeZoneOffsetMs(at('2026-03-08T06:59:59.999Z'), 'America/New_York')).toBe(-5 * HOUR);
    expect(timeZoneOffsetMs(at('2026-11-01T06:00:00Z'), 'America/New_York')).toBe(-5 * HOUR);
    expect(timeZoneOffsetMs(at('2026-11-01T05:59:59.999Z'), 'America/New_York')).toBe(-4 * HOUR);
    expect(toWallClock(at('2026-03-29T01:00:00Z'), 'Europe/Amsterdam')).toEqual({
      year: 2026,
      month: 3,
      day: 29,
      hour: 3,
      minute: 0,
      second: 0,
      millisecond: 0,
    });
  });

  it('matches Intl on every hour of 2026 in several zones', () => {
    for (const tz of ['America/New_York', 'Europe/London', 'Australia/Sydney', 'Asia/Kolkata']) {
      for (let t = at('2026-01-01T00:30:00Z'); t < at('2027-01-01T00:00:00Z'); t += HOUR) {
        if (timeZoneOffsetMs(t, tz) !== oracleOffset(t, tz)) throw new Error(`${tz} at ${iso(t)}`);
      }
    }
  });

  it('resolves wall-clock times with the cron DST rule', () => {
    const ny = (h: number, m: number, d = 8, mo = 3) => iso(fromWallClock({ year: 2026, month: mo, day: d, hour: h, minute: m }, 'America/New_York'));
    expect(ny(1, 59)).toBe('2026-03-08T06:59:00Z');
    expect(ny(2, 0)).toBe('2026-03-08T07:00:00Z'); // missing: end of the gap
    expect(ny(2, 30)).toBe('2026-03-08T07:00:00Z');
    expect(ny(3, 0)).toBe('2026-03-08T07:00:00Z');
    expect(ny(1, 30, 1, 11)).toBe('2026-11-01T05:30:00Z'); // repeated: first occurrence (EDT)
    expect(ny(2, 0, 1, 11)).toBe('2026-11-01T07:00:00Z');
    expect(iso(fromWallClock({ year: 2026, month: 1, day: 1 }, 'Asia/Kolkata'))).toBe('2025-12-31T18:30:00Z');
  });
});

describe('DST: fixed-hour schedules', () => {
  it('America/New_York: a missing 02:30 fires once at 03:00 EDT, then back to 02:30', () => {
    expect(nextN('30 2 * * *', '2026-03-06T12:00:00Z', 4, 'America/New_York')).toEqual([
      '2026-03-07T07:30:00Z', // 02:30 EST
      '2026-03-08T07:00:00Z', // 03:00 EDT: the first instant after the gap
      '2026-03-09T06:30:00Z', // 02:30 EDT
      '2026-03-10T06:30:00Z',
    ]);
    expect(prevN('30 2 * * *', '2026-03-09T12:00:00Z', 3, 'America/New_York')).toEqual([
      '2026-03-09T06:30:00Z',
      '2026-03-08T07:00:00Z',
      '2026-03-07T07:30:00Z',
    ]);
  });

  it('America/New_York: several missing times collapse into one firing with a real 03:00', () => {
    expect(nextN('0,30 2,3 * * *', '2026-03-07T09:00:00Z', 4, 'America/New_York')).toEqual([
      '2026-03-08T07:00:00Z', // 02:00, 02:30 and 03:00 all fire at 03:00 EDT, once
      '2026-03-08T07:30:00Z', // 03:30 EDT
      '2026-03-09T06:00:00Z', // 02:00 EDT
      '2026-03-09T06:30:00Z',
    ]);
    expect(prevN('0,30 2,3 * * *', '2026-03-09T06:00:00Z', 4, 'America/New_York')).toEqual([
      '2026-03-09T06:00:00Z',
      '2026-03-08T07:30:00Z',
      '2026-03-08T07:00:00Z',
      '2026-03-07T08:30:00Z',
    ]);
  });

  it('America/New_York: a repeated 01:30 fires once, at the first occurrence (EDT)', () => {
    expect(nextN('30 1 * * *', '2026-10-31T00:00:00Z', 3, 'America/New_York')).toEqual([
      '2026-10-31T05:30:00Z',
      '2026-11-01T05:30:00Z', // 01:30 EDT; 01:30 EST (06:30Z) does not fire
      '2026-11-02T06:30:00Z',
    ]);
    // From inside the repeated hour (01:10 EST), the next 01:30 is tomorrow's.
    expect(iso(nextCronTime('30 1 * * *', at('2026-11-01T06:10:00Z'), 'America/New_York'))).toBe('2026-11-02T06:30:00Z');
    expect(iso(prevCronTime('30 1 * * *', at('2026-11-01T06:10:00Z'), 'America/New_York'))).toBe('2026-11-01T05:30:00Z');
    expect(iso(prevCronTime('30 1 * * *', at('2026-11-01T06:40:00Z'), 'America/New_York'))).toBe('2026-11-01T05:30:00Z');
    // Every minute of 01:xx fires during the first pass only.
    const firings = nextN('* 1 * * *', '2026-11-01T04:59:00Z', 61, 'America/New_York');
    expect(firings[0]).toBe('2026-11-01T05:00:00Z');
    expect(firings[59]).toBe('2026-11-01T05:59:00Z');
    expect(firings[60]).toBe('2026-11-02T06:00:00Z');
  });

  it('Europe/London: 01:30 is missing in March and repeated in October', () => {
    expect(nextN('30 1 * * *', '2026-03-28T00:00:00Z', 3, 'Europe/London')).toEqual([
      '2026-03-28T01:30:00Z', // 01:30 GMT
      '2026-03-29T01:00:00Z', // 02:00 BST, the end of the gap
      '2026-03-30T00:30:00Z', // 01:30 BST
    ]);
    expect(nextN('30 1 * * *', '2026-10-24T00:00:00Z', 3, 'Europe/London')).toEqual([
      '2026-10-24T00:30:00Z', // 01:30 BST
      '2026-10-25T00:30:00Z', // 01:30 BST, first occurrence only
      '2026-10-26T01:30:00Z', // 01:30 GMT
    ]);
  });

  it('Europe/Amsterdam: @daily fires at local midnight across both changes (23 h and 25 h)', () => {
    const spring = nextN('@daily', '2026-03-27T12:00:00Z', 3, 'Europe/Amsterdam');
    expect(spring).toEqual(['2026-03-27T23:00:00Z', '2026-03-28T23:00:00Z', '2026-03-29T22:00:00Z']);
    expect(at(spring[2]) - at(spring[1])).toBe(23 * HOUR);
    const autumn = nextN('@daily', '2026-10-23T12:00:00Z', 3, 'Europe/Amsterdam');
    expect(autumn).toEqual(['2026-10-23T22:00:00Z', '2026-10-24T22:00:00Z', '2026-10-25T23:00:00Z']);
    expect(at(autumn[2]) - at(autumn[1])).toBe(25 * HOUR);
    // Every firing of 2026 is at local midnight.
    let t = at('2025-12-31T00:00:00Z');
    for (let i = 0; i < 365; i++) {
      t = nextCronTime('@daily', t, 'Europe/Amsterdam');
      const w = toWallClock(t, 'Europe/Amsterdam');
      expect([w.hour, w.minute]).toEqual([0, 0]);
    }
  });

  it('Europe/Amsterdam: 02:00 is missing in March and repeated in October', () => {
    expect(iso(nextCronTime('0 2 * * *', at('2026-03-28T12:00:00Z'), 'Europe/Amsterdam'))).toBe('2026-03-29T01:00:00Z');
    expect(iso(nextCronTime('30 2 * * *', at('2026-10-24T12:00:00Z'), 'Europe/Amsterdam'))).toBe('2026-10-25T00:30:00Z');
    expect(iso(nextCronTime('30 2 * * *', at('2026-10-25T00:30:00Z'), 'Europe/Amsterdam'))).toBe('2026-10-26T01:30:00Z');
  });

  it('Australia/Sydney (southern hemisphere): gap in October, repeat in April', () => {
    expect(nextN('30 2 * * *', '2026-10-02T12:00:00Z', 3, 'Australia/Sydney')).toEqual([
      '2026-10-02T16:30:00Z', // 02:30 AEST
      '2026-10-03T16:00:00Z', // 03:00 AEDT on 4 October
      '2026-10-04T15:30:00Z', // 02:30 AEDT
    ]);
    expect(nextN('30 2 * * *', '2026-04-03T12:00:00Z', 3, 'Australia/Sydney')).toEqual([
      '2026-04-03T15:30:00Z', // 02:30 AEDT
      '2026-04-04T15:30:00Z', // 02:30 AEDT on 5 April; 02:30 AEST (16:30Z) does not fire
      '2026-04-05T16:30:00Z', // 02:30 AEST
    ]);
  });

  it('Asia/Kolkata (+05:30) and UTC have no DST: every day is 24 h', () => {
    expect(nextN('0 9 * * *', '2026-03-01T00:00:00Z', 2, 'Asia/Kolkata')).toEqual(['2026-03-01T03:30:00Z', '2026-03-02T03:30:00Z']);
    expect(nextN('@daily', '2026-06-30T12:00:00Z', 2, 'Asia/Kolkata')).toEqual(['2026-06-30T18:30:00Z', '2026-07-01T18:30:00Z']);
    for (const tz of ['Asia/Kolkata', 'UTC']) {
      let t = at('2026-01-01T00:00:00Z');
      let prev = nextCronTime('@daily', t, tz);
      for (let i = 0; i < 366; i++) {
        t = nextCronTime('@daily', prev, tz);
        expect(t - prev).toBe(24 * HOUR);
        prev = t;
      }
    }
  });
});

describe('DST: hourly-or-more-frequent schedules follow elapsed time', () => {
  it('America/New_York spring: minutes of the missing hour do not exist', () => {
    expect(nextN('30 * * * *', '2026-03-08T05:00:00Z', 3, 'America/New_York')).toEqual([
      '2026-03-08T05:30:00Z', // 00:30 EST
      '2026-03-08T06:30:00Z', // 01:30 EST
      '2026-03-08T07:30:00Z', // 03:30 EDT, one hour later
    ]);
    expect(iso(nextCronTime('* * * * *', at('2026-03-08T06:59:00Z'), 'America/New_York'))).toBe('2026-03-08T07:00:00Z');
    expect(iso(prevCronTime('* * * * *', at('2026-03-08T07:00:00Z') - 1, 'America/New_York'))).toBe('2026-03-08T06:59:00Z');
  });

  it('America/New_York autumn: the repeated hour fires twice', () => {
    expect(nextN('30 * * * *', '2026-11-01T04:00:00Z', 4, 'America/New_York')).toEqual([
      '2026-11-01T04:30:00Z', // 00:30 EDT
      '2026-11-01T05:30:00Z', // 01:30 EDT
      '2026-11-01T06:30:00Z', // 01:30 EST
      '2026-11-01T07:30:00Z', // 02:30 EST
    ]);
    expect(prevN('30 * * * *', '2026-11-01T07:30:00Z', 4, 'America/New_York')).toEqual([
      '2026-11-01T07:30:00Z',
      '2026-11-01T06:30:00Z',
      '2026-11-01T05:30:00Z',
      '2026-11-01T04:30:00Z',
    ]);
  });

  it('Australia/Sydney @hourly in April fires at 02:00 AEDT and 02:00 AEST', () => {
    expect(nextN('@hourly', '2026-04-04T13:30:00Z', 4, 'Australia/Sydney')).toEqual([
      '2026-04-04T14:00:00Z',
      '2026-04-04T15:00:00Z',
      '2026-04-04T16:00:00Z',
      '2026-04-04T17:00:00Z',
    ]);
  });

  it('* * * * * is exactly 43,200 minutes over 30 days across a DST change', () => {
    const start = at('2026-10-10T00:00:00Z');
    const end = start + 30 * 24 * HOUR;
    let count = 0;
    for (let t = nextCronTime('* * * * *', start - 1, 'Europe/Amsterdam'); t < end; t = nextCronTime('* * * * *', t, 'Europe/Amsterdam')) count++;
    expect(count).toBe(43_200);
  });
});

describe('DST: every firing matches a brute-force search', () => {
  const cases: [string, string][] = [
    ['America/New_York', '2026-03-08T07:00:00Z'],
    ['America/New_York', '2026-11-01T06:00:00Z'],
    ['Europe/London', '2026-03-29T01:00:00Z'],
    ['Europe/London', '2026-10-25T01:00:00Z'],
    ['Europe/Amsterdam', '2026-03-29T01:00:00Z'],
    ['Europe/Amsterdam', '2026-10-25T01:00:00Z'],
    ['Australia/Sydney', '2026-04-04T16:00:00Z'],
    ['Australia/Sydney', '2026-10-03T16:00:00Z'],
    ['Australia/Lord_Howe', '2026-04-04T15:00:00Z'], // a 30-minute change
    ['Asia/Kolkata', '2026-03-29T01:00:00Z'],
    ['UTC', '2026-03-29T01:00:00Z'],
  ];
  const exprs = ['*/10 * * * *', '30 * * * *', '0 * * * *', '0 2 * * *', '30 1 * * *', '0,30 1-3 * * *', '*/20 2 * * *', '@daily', '45 2,3 * * 0', '* 1 * * *', '*/5 0-2 * * *', '59 * * * *'];
  it.each(cases)('%s around %s', (tz, transition) => {
    const from = at(transition) - 26 * HOUR;
    const to = at(transition) + 26 * HOUR;
    for (const expr of exprs) {
      const expected = oracleFirings(expr, tz, from, to);
      const forward: number[] = [];
      for (let t = nextCronTime(expr, from - 1, tz); t < to; t = nextCronTime(expr, t, tz)) forward.push(t);
      expect(forward.map(iso), `${expr} forward`).toEqual(expected.map(iso));
      const backward: number[] = [];
      for (let t = prevCronTime(expr, to - 1, tz); t >= from; t = prevCronTime(expr, t - 1, tz)) backward.push(t);
      expect(backward.reverse().map(iso), `${expr} backward`).toEqual(expected.map(iso));
      // From any minute (and between minutes), next is the first expected firing after it.
      for (let u = from; u < to - 3 * HOUR; u += 7 * MINUTE + 13_000) {
        const want = expected.find((e) => e > u);
        if (want !== undefined) expect(iso(nextCronTime(expr, u, tz)), `${expr} next after ${iso(u)}`).toBe(iso(want));
        const wantPrev = [...expected].reverse().find((e) => e <= u + 3 * HOUR);
        if (wantPrev !== undefined && wantPrev >= from) {
          expect(iso(prevCronTime(expr, u + 3 * HOUR, tz)), `${expr} prev at ${iso(u + 3 * HOUR)}`).toBe(iso(wantPrev));
        }
      }
    }
  });
});
