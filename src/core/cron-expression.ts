/**
 * A parsed cron expression: its fields' values, and the search for the next or previous
 * matching minute of a wall clock (local time read as UTC; time zones are in time-zone.ts).
 *
 * Syntax: `minute hour day-of-month month day-of-week`, each field a comma-separated list of
 * `*`, `N`, `A-B`, a step over a range (`A-B/S`), over everything (`*` then `/S`, e.g. every
 * 15 minutes) or from a value (`N/S` = `N-max/S`). Months take `JAN`..`DEC`, weekdays
 * `SUN`..`SAT` (either case); day-of-week 0 and 7 are both Sunday. Presets: `@hourly`,
 * `@daily`, `@midnight`, `@weekly`, `@monthly`, `@yearly`, `@annually`.
 *
 * Day-of-month and day-of-week (Vixie cron, as in Airflow): when both fields are restricted, a
 * day matches if EITHER matches (`0 0 13 * FRI` fires on every 13th and on every Friday); when
 * one is unrestricted, only the other one counts. A field is unrestricted when it admits every
 * value of its range (`*`, `1-31`, `0-6`, `0-7`, `*` with step 1); `*` with step 2 is restricted
 * (Vixie cron decides by the field's first character instead, which makes it unrestricted).
 */
import { TrainyardError } from './errors.js';

const DAY_MS = 86_400_000;
/** No valid expression needs more than 8 years (29 February across 2100); bound the search. */
const SEARCH_HORIZON_YEARS = 30;

/** A cron field and the values it admits. */
export interface FieldDef {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  /** Range a `*` expands to (day-of-week: 0-6, though 7 is accepted as Sunday). */
  readonly starMax: number;
  readonly names?: readonly string[];
  readonly allowed: string;
}


export const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
export const WEEKDAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

export const FIELDS: readonly FieldDef[] = [
  { name: 'minute', min: 0, max: 59, starMax: 59, allowed: '0-59' },
  { name: 'hour', min: 0, max: 23, starMax: 23, allowed: '0-23' },
  { name: 'day-of-month', min: 1, max: 31, starMax: 31, allowed: '1-31' },
  { name: 'month', min: 1, max: 12, starMax: 12, names: MONTH_NAMES, allowed: '1-12 or JAN-DEC' },
  { name: 'day-of-week', min: 0, max: 7, starMax: 6, names: WEEKDAY_NAMES, allowed: '0-7 (0 and 7 are Sunday) or SUN-SAT' },
];

/** The presets and what they stand for. */
export const CRON_PRESETS: Readonly<Record<string, string>> = {
  '@hourly': '0 * * * *',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@weekly': '0 0 * * 0',
  '@monthly': '0 0 1 * *',
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
};

/** A parsed cron expression. Value lists are sorted and free of duplicates. */
export class CronExpression {
  /** The text it was parsed from, trimmed. */
  readonly source: string;
  readonly minutes: readonly number[];
  readonly hours: readonly number[];
  readonly daysOfMonth: readonly number[];
  /** 1 = January. */
  readonly months: readonly number[];
  /** 0 = Sunday … 6 = Saturday (a 7 in the text is stored as 0). */
  readonly daysOfWeek: readonly number[];
  /** Whether the day-of-month field restricts days (see the module comment). */
  readonly dayOfMonthRestricted: boolean;
  readonly dayOfWeekRestricted: boolean;
  /** True when the hour field covers all 24 hours: the schedule then follows elapsed time across DST changes. */
  readonly everyHour: boolean;

  private readonly nextMinute: Int8Array;
  private readonly prevMinute: Int8Array;
  private readonly nextHour: Int8Array;
  private readonly prevHour: Int8Array;
  private readonly monthOk: Uint8Array;
  private readonly domOk: Uint8Array;
  private readonly dowOk: Uint8Array;

  /** @internal Use parseCron. */
  constructor(source: string, fields: readonly (readonly number[])[], restricted: readonly boolean[]) {
    this.source = source;
    [this.minutes, this.hours, this.daysOfMonth, this.months, this.daysOfWeek] = fields;
    this.dayOfMonthRestricted = restricted[2];
    this.dayOfWeekRestricted = restricted[4];
    this.everyHour = this.hours.length === 24;
    this.nextMinute = successorTable(this.minutes, 60);
    this.prevMinute = predecessorTable(this.minutes, 60);
    this.nextHour = successorTable(this.hours, 24);
    this.prevHour = predecessorTable(this.hours, 24);
    this.monthOk = membership(this.months, 13);
    this.domOk = membership(this.daysOfMonth, 32);
    this.dowOk = membership(this.daysOfWeek, 7);
  }

  toString(): string {
    return this.source;
  }

  /** Whether a calendar day matches the day-of-month/day-of-week fields (month not checked). */
  matchesDay(year: number, month: number, day: number): boolean {
    const dom = this.domOk[day] === 1;
    const dow = this.dowOk[weekday(year, month, day)] === 1;
    if (this.dayOfMonthRestricted && this.dayOfWeekRestricted) return dom || dow;
    return dom && dow;
  }

  /** Whether a wall-clock minute (as local epoch ms: the local fields read as UTC) matches. */
  matchesLocal(localMs: number): boolean {
    const d = new Date(localMs);
    return (
      this.monthOk[d.getUTCMonth() + 1] === 1 &&
      this.matchesDay(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()) &&
      this.nextHour[d.getUTCHours()] === d.getUTCHours() &&
      this.nextMinute[d.getUTCMinutes()] === d.getUTCMinutes()
    );
  }

  /** The first matching wall-clock minute at or after `localMs` (local epoch ms, minute-aligned). */
  nextLocal(localMs: number): number {
    const start = new Date(localMs);
    let y = start.getUTCFullYear();
    let mo = start.getUTCMonth() + 1;
    let day = start.getUTCDate();
    let h = start.getUTCHours();
    let mi = start.getUTCMinutes();
    const limitYear = y + SEARCH_HORIZON_YEARS;
    while (y <= limitYear) {
      if (this.monthOk[mo] !== 1) {
        const m = this.months.find((v) => v > mo);
        if (m === undefined) {
          y += 1;
          mo = this.months[0];
        } else mo = m;
        day = 1;
        h = 0;
        mi = 0;
        continue;
      }
      if (day > daysInMonth(y, mo)) {
        mo += 1;
        if (mo > 12) {
          mo = 1;
          y += 1;
        }
        day = 1;
        h = 0;
        mi = 0;
        continue;
      }
      if (!this.matchesDay(y, mo, day)) {
        day += 1;
        h = 0;
        mi = 0;
        continue;
      }
      const nh = this.nextHour[h];
      if (nh < 0) {
        day += 1;
        h = 0;
        mi = 0;
        continue;
      }
      if (nh !== h) {
        h = nh;
        mi = 0;
      }
      const nm = this.nextMinute[mi];
      if (nm < 0) {
        h += 1;
        mi = 0;
        if (h > 23) {
          day += 1;
          h = 0;
        }
        continue;
      }
      return Date.UTC(y, mo - 1, day, h, nm);
    }
    throw noMatch(this.source);
  }

  /** The last matching wall-clock minute at or before `localMs` (local epoch ms, minute-aligned). */
  prevLocal(localMs: number): number {
    const start = new Date(localMs);
    let y = start.getUTCFullYear();
    let mo = start.getUTCMonth() + 1;
    let day = start.getUTCDate();
    let h = start.getUTCHours();
    let mi = start.getUTCMinutes();
    const limitYear = y - SEARCH_HORIZON_YEARS;
    while (y >= limitYear) {
      if (this.monthOk[mo] !== 1) {
        const m = findLast(this.months, (v) => v < mo);
        if (m === undefined) {
          y -= 1;
          mo = this.months[this.months.length - 1];
        } else mo = m;
        day = daysInMonth(y, mo);
        h = 23;
        mi = 59;
        continue;
      }
      if (day < 1) {
        mo -= 1;
        if (mo < 1) {
          mo = 12;
          y -= 1;
        }
        day = daysInMonth(y, mo);
        h = 23;
        mi = 59;
        continue;
      }
      if (!this.matchesDay(y, mo, day)) {
        day -= 1;
        h = 23;
        mi = 59;
        continue;
      }
      const ph = this.prevHour[h];
      if (ph < 0) {
        day -= 1;
        h = 23;
        mi = 59;
        continue;
      }
      if (ph !== h) {
        h = ph;
        mi = 59;
      }
      const pm = this.prevMinute[mi];
      if (pm < 0) {
        h -= 1;
        mi = 59;
        if (h < 0) {
          day -= 1;
          h = 23;
        }
        continue;
      }
      return Date.UTC(y, mo - 1, day, h, pm);
    }
    throw noMatch(this.source);
  }
}

function noMatch(source: string): TrainyardError {
  return new TrainyardError('INVALID_CRON', `invalid cron '${source}': it matches no time within ${SEARCH_HORIZON_YEARS} years`);
}

function successorTable(values: readonly number[], size: number): Int8Array {
  const t = new Int8Array(size).fill(-1);
  let next = -1;
  for (let i = size - 1; i >= 0; i--) {
    if (values.includes(i)) next = i;
    t[i] = next;
  }
  return t;
}

function predecessorTable(values: readonly number[], size: number): Int8Array {
  const t = new Int8Array(size).fill(-1);
  let prev = -1;
  for (let i = 0; i < size; i++) {
    if (values.includes(i)) prev = i;
    t[i] = prev;
  }
  return t;
}

function membership(values: readonly number[], size: number): Uint8Array {
  const t = new Uint8Array(size);
  for (const v of values) t[v] = 1;
  return t;
}

function findLast<T>(values: readonly T[], pred: (v: T) => boolean): T | undefined {
  for (let i = values.length - 1; i >= 0; i--) if (pred(values[i])) return values[i];
  return undefined;
}

function isLeapYear(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(y: number, m: number): number {
  return m === 2 && isLeapYear(y) ? 29 : DAYS_IN_MONTH[m];
}

/** 0 = Sunday. */
function weekday(y: number, m: number, d: number): number {
  // 1970-01-01 was a Thursday.
  const days = Math.floor(Date.UTC(y, m - 1, d) / DAY_MS);
  return (((days + 4) % 7) + 7) % 7;
}
