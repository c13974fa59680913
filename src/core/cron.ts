/**
 * Cron expressions and time-zone math: parse a 5-field cron expression, and find the next or
 * previous firing instant in an IANA time zone. Pure: every instant is a parameter (epoch ms).
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
 *
 * Daylight-saving time. Matching is done on the local wall clock of the time zone. Schedules
 * fall into two classes, as in Vixie cron and in Airflow (which special-cases schedules that
 * fire at least once an hour):
 * - Fixed-hour schedules (the hour field does not cover all 24 hours: `0 2 * * *`, `@daily`,
 *   `30 1 * * 1-5`): a local time that does not exist (spring forward: 02:30 on 2026-03-08 in
 *   America/New_York) fires ONCE at the first valid instant after the gap (03:00 EDT); several
 *   missing times collapse into that single firing, and into a real firing at that same
 *   instant. A local time that occurs twice (fall back: 01:30 on 2026-11-01 in New York)
 *   fires ONCE, at its first occurrence (01:30 EDT). Formally a wall-clock time L fires at the
 *   earliest instant whose local time is at or after L. (Airflow resolves a missing time
 *   through pendulum, which moves it forward by the length of the gap instead: 02:30 → 03:30
 *   EDT. We fire at the end of the gap, like Vixie cron, which keeps firing instants in the
 *   same order as their wall-clock times.)
 * - Hourly-or-more-frequent schedules (the hour field covers all 24 hours: `* * * * *`,
 *   `0-59/15 * * * *`, `@hourly`): they follow elapsed time. A schedule fires at every instant
 *   whose local wall-clock time matches: the minutes of a skipped hour do not exist, so they
 *   do not fire (`30 * * * *` goes 01:30 EST → 03:30 EDT, one hour apart), and the minutes of
 *   a repeated hour fire at both occurrences (01:30 EDT, then 01:30 EST, one hour apart).
 *
 * Time-zone offsets come from `Intl.DateTimeFormat`. The one assumption: a zone changes its
 * offset at most once per UTC day, which holds for the time-zone database.
 */
import { TrainyardError } from './errors.js';

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
/** No valid expression needs more than 8 years (29 February across 2100); bound the search. */
const SEARCH_HORIZON_YEARS = 30;

/** A cron field and the values it admits. */
interface FieldDef {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  /** Range a `*` expands to (day-of-week: 0-6, though 7 is accepted as Sunday). */
  readonly starMax: number;
  readonly names?: readonly string[];
  readonly allowed: string;
}

const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

const FIELDS: readonly FieldDef[] = [
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

// ---------------------------------------------------------------------------------------------
// Parsing

const parseCache = new Map<string, CronExpression>();
const PARSE_CACHE_LIMIT = 1000;

/**
 * Parse a 5-field cron expression or a preset. Throws TrainyardError `INVALID_CRON` naming the
 * bad field, its value and the allowed range.
 */
export function parseCron(expr: string): CronExpression {
  if (typeof expr !== 'string') {
    throw new TrainyardError('INVALID_CRON', `invalid cron ${String(expr)}: expected a string such as "0 2 * * *" or "@daily"`);
  }
  const cached = parseCache.get(expr);
  if (cached) return cached;
  const parsed = parseUncached(expr);
  if (parseCache.size >= PARSE_CACHE_LIMIT) parseCache.clear();
  parseCache.set(expr, parsed);
  return parsed;
}

function parseUncached(expr: string): CronExpression {
  const source = expr.trim();
  let text = source;
  if (text.startsWith('@')) {
    const preset = CRON_PRESETS[text.toLowerCase()];
    if (preset === undefined) {
      throw new TrainyardError(
        'INVALID_CRON',
        `invalid cron '${source}': unknown preset; use one of ${Object.keys(CRON_PRESETS).join(', ')}, or 5 fields such as "0 2 * * *"`,
      );
    }
    text = preset;
  }
  const parts = text === '' ? [] : text.split(/\s+/);
  if (parts.length !== 5) {
    throw new TrainyardError(
      'INVALID_CRON',
      `invalid cron '${source}': expected 5 fields (minute hour day-of-month month day-of-week), got ${parts.length}; for example "0 2 * * *" is 02:00 every day`,
    );
  }
  const values: number[][] = [];
  const restricted: boolean[] = [];
  FIELDS.forEach((def, i) => {
    const set = parseField(source, def, parts[i]);
    const full = def.starMax - def.min + 1;
    values.push([...set].sort((a, b) => a - b));
    restricted.push(set.size < full);
  });
  checkDaysExist(source, parts, values, restricted);
  return new CronExpression(source, values, restricted);
}

function parseField(source: string, def: FieldDef, text: string): Set<number> {
  const fail = (problem: string): never => {
    throw new TrainyardError('INVALID_CRON', `invalid cron '${source}': ${def.name} field '${text}' ${problem}`);
  };
  const out = new Set<number>();
  for (const item of text.split(',')) {
    if (item === '') fail(`has an empty list item; separate values with single commas, e.g. "1,15"`);
    const slash = item.split('/');
    if (slash.length > 2) fail(`has more than one '/' in '${item}'; write a step as "*/15" or "0-30/5"`);
    const [base, stepText] = slash;
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText)) fail(`has step '${stepText}', which is not a whole number; write a step as "*/15"`);
      step = Number(stepText);
      if (step < 1) fail(`has step 0; a step must be at least 1`);
      if (step > def.starMax - def.min + 1) fail(`has step ${step}, larger than the field's range ${def.min}-${def.starMax}`);
    }
    let lo: number;
    let hi: number;
    if (base === '*') {
      lo = def.min;
      hi = def.starMax;
    } else {
      const dash = base.split('-');
      if (dash.length > 2 || dash.some((p) => p === '')) fail(`has a malformed range '${base}'; write a range as "1-5"`);
      lo = parseValue(def, dash[0], text === item && dash.length === 1, fail);
      if (dash.length === 2) {
        hi = parseValue(def, dash[1], false, fail);
        // A weekday range ending on Sunday: FRI-SUN is 5-7.
        if (def.names === WEEKDAY_NAMES && hi === 0 && lo > 0) hi = 7;
        if (hi < lo) fail(`has range '${base}' that runs backwards; write it as a list, e.g. "${dash[0]}-${def.max},${def.min}-${dash[1]}"`);
      } else {
        hi = stepText !== undefined ? def.max : lo;
      }
    }
    for (let v = lo; v <= hi; v += step) out.add(def.names === WEEKDAY_NAMES && v === 7 ? 0 : v);
  }
  return out;
}

function parseValue(def: FieldDef, token: string, wholeField: boolean, fail: (problem: string) => never): number {
  if (/^\d+$/.test(token)) {
    const v = Number(token);
    if (v < def.min || v > def.max) {
      fail(wholeField ? `is out of range ${def.allowed}` : `has value ${token}, out of range ${def.allowed}`);
    }
    return v;
  }
  if (def.names) {
    const i = def.names.indexOf(token.toUpperCase());
    if (i >= 0) return def.names === MONTH_NAMES ? i + 1 : i;
  }
  const what = `not a number${def.names ? ' or a name' : ''}; allowed: ${def.allowed}`;
  return fail(wholeField ? `is ${what}` : `has '${token}', which is ${what}`);
}

/** Reject day-of-month values that never occur in any selected month, such as "0 0 30 2 *". */
function checkDaysExist(source: string, parts: readonly string[], values: readonly number[][], restricted: readonly boolean[]): void {
  if (!restricted[2] || restricted[4]) return;
  const maxDays = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  const possible = values[3].some((m) => values[2].some((d) => d <= maxDays[m]));
  if (!possible) {
    throw new TrainyardError(
      'INVALID_CRON',
      `invalid cron '${source}': day-of-month field '${parts[2]}' never occurs in month field '${parts[3]}', so it would never run; pick days that exist in those months`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Time zones

/** Current names that ICU lists only under an older name (Asia/Calcutta, Europe/Kiev…). */
const CURRENT_NAMES = ['UTC', 'Asia/Kolkata', 'Europe/Kyiv', 'Asia/Ho_Chi_Minh', 'Asia/Kathmandu', 'Asia/Yangon', 'America/Nuuk', 'Atlantic/Faroe'];

const TIME_ZONE_ABBREVIATIONS: Readonly<Record<string, string>> = {
  BST: 'Europe/London',
  CEST: 'Europe/Paris',
  IST: 'Asia/Kolkata',
  JST: 'Asia/Tokyo',
  AEST: 'Australia/Sydney',
  AEDT: 'Australia/Sydney',
  EDT: 'America/New_York',
  CDT: 'America/Chicago',
  MDT: 'America/Denver',
  PDT: 'America/Los_Angeles',
};

/**
 * Check an IANA time-zone name; returns it, with its case corrected where only the case is
 * off ("europe/amsterdam" → "Europe/Amsterdam"). Throws TrainyardError `INVALID_TIMEZONE`, with a
 * "did you mean" suggestion when a known zone is close.
 */
export function validateTimeZone(timeZone: string): string {
  if (typeof timeZone === 'string' && timeZone.trim() !== '') {
    try {
      const resolved = new Intl.DateTimeFormat('en-US', { timeZone }).resolvedOptions().timeZone;
      // Keep the name as written unless only its case differs: ICU maps current names to
      // older ones (Asia/Kolkata → Asia/Calcutta), which users would not recognise.
      return resolved.toLowerCase() === timeZone.toLowerCase() ? resolved : timeZone;
    } catch {
      // reported below
    }
  }
  const suggestion = typeof timeZone === 'string' ? suggestTimeZone(timeZone) : undefined;
  throw new TrainyardError(
    'INVALID_TIMEZONE',
    `invalid time zone '${String(timeZone)}': use an IANA time-zone name such as "Europe/Amsterdam" or "UTC"` +
      (suggestion ? `; did you mean "${suggestion}"?` : ''),
  );
}

/** The closest known time-zone name, or undefined when nothing is close. */
export function suggestTimeZone(input: string): string | undefined {
  const wanted = input.trim().replace(/\s+/g, '_');
  if (wanted === '') return undefined;
  const abbreviation = TIME_ZONE_ABBREVIATIONS[wanted.toUpperCase()];
  if (abbreviation) return abbreviation;
  const zones = [...Intl.supportedValuesOf('timeZone'), ...CURRENT_NAMES];
  const lower = wanted.toLowerCase();
  let best: string | undefined;
  let bestScore = Infinity;
  for (const zone of zones) {
    const z = zone.toLowerCase();
    const city = z.slice(z.lastIndexOf('/') + 1);
    const score = Math.min(editDistance(lower, z), editDistance(lower, city));
    if (score < bestScore) {
      bestScore = score;
      best = zone;
    }
  }
  return bestScore <= Math.max(2, Math.floor(wanted.length / 4)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

interface DayInfo {
  /** Offset at the start of the UTC day (exclusive) … */
  readonly before: number;
  /** … and at its end (inclusive). */
  readonly after: number;
  /** The instant the offset changes within (start, end], or NaN when it does not. */
  readonly transition: number;
}

const DAY_CACHE_LIMIT = 200_000;

/** Offsets of one time zone, with the transitions found so far cached per UTC day. */
class Zone {
  private readonly format: Intl.DateTimeFormat | undefined;
  private readonly boundaries = new Map<number, number>();
  private readonly days = new Map<number, DayInfo>();

  constructor(readonly name: string) {
    this.format =
      name === 'UTC'
        ? undefined
        : new Intl.DateTimeFormat('en-US', {
            timeZone: name,
            hourCycle: 'h23',
            year: 'numeric',
            month: 'numeric',
            day: 'numeric',
            hour: 'numeric',
            minute: 'numeric',
            second: 'numeric',
          });
  }

  /** Offset (local − UTC, ms) straight from Intl, at whole-second resolution. */
  private rawOffset(ms: number): number {
    if (!this.format) return 0;
    const second = Math.floor(ms / 1000) * 1000;
    const f: Record<string, number> = {};
    for (const p of this.format.formatToParts(second)) if (p.type !== 'literal') f[p.type] = Number(p.value);
    const local = Date.UTC(f.year, f.month - 1, f.day, f.hour === 24 ? 0 : f.hour, f.minute, f.second);
    return local - second;
  }

  private boundaryOffset(day: number): number {
    let o = this.boundaries.get(day);
    if (o === undefined) {
      o = this.rawOffset(day * DAY_MS);
      this.boundaries.set(day, o);
    }
    return o;
  }

  /** Offsets over the UTC day (day·DAY, (day+1)·DAY]. */
  private day(day: number): DayInfo {
    let info = this.days.get(day);
    if (info) return info;
    if (this.days.size >= DAY_CACHE_LIMIT) {
      this.days.clear();
      this.boundaries.clear();
    }
    const before = this.boundaryOffset(day);
    const after = this.boundaryOffset(day + 1);
    let transition = NaN;
    if (before !== after) {
      // The first second at which the offset is no longer `before`.
      let lo = day * DAY_MS;
      let hi = lo + DAY_MS;
      while (hi - lo > 1000) {
        const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
        if (this.rawOffset(mid) === before) lo = mid;
        else hi = mid;
      }
      transition = hi;
    }
    info = { before, after, transition };
    this.days.set(day, info);
    return info;
  }

  offsetAt(ms: number): number {
    if (!this.format) return 0;
    const info = this.day(Math.ceil(ms / DAY_MS) - 1);
    return Number.isNaN(info.transition) || ms < info.transition ? info.before : info.after;
  }

  /** The first offset change τ with after < τ ≤ limit, or NaN. */
  nextTransition(after: number, limit: number): number {
    if (!this.format) return NaN;
    for (let d = Math.floor(after / DAY_MS); d * DAY_MS < limit; d++) {
      const t = this.day(d).transition;
      if (t > after && t <= limit) return t;
    }
    return NaN;
  }

  /** The last offset change τ with limit < τ ≤ before, or NaN. */
  prevTransition(before: number, limit: number): number {
    if (!this.format) return NaN;
    for (let d = Math.ceil(before / DAY_MS) - 1; (d + 1) * DAY_MS > limit; d--) {
      const t = this.day(d).transition;
      if (t > limit && t <= before) return t;
    }
    return NaN;
  }

  /** The earliest instant whose local wall-clock time is at or after `local`. */
  resolve(local: number): number {
    let u = local - DAY_MS;
    const end = local + DAY_MS;
    for (;;) {
      const o = this.offsetAt(u);
      const segmentEnd = this.nextTransition(u, end);
      const candidate = Math.max(u, local - o);
      if (Number.isNaN(segmentEnd) || candidate < segmentEnd) return candidate;
      u = segmentEnd;
    }
  }
}

const zones = new Map<string, Zone>();

function zoneFor(timeZone: string): Zone {
  let zone = zones.get(timeZone);
  if (!zone) {
    zone = new Zone(validateTimeZone(timeZone));
    zones.set(timeZone, zone);
  }
  return zone;
}

/** The zone's offset from UTC at an instant, in ms (Europe/Amsterdam in summer: 7,200,000). */
export function timeZoneOffsetMs(ms: number, timeZone: string): number {
  return zoneFor(timeZone).offsetAt(ms);
}

/** Wall-clock fields, month 1-12. */
export interface WallClock {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour?: number;
  readonly minute?: number;
  readonly second?: number;
  readonly millisecond?: number;
}

/** The wall-clock time of an instant in a time zone. */
export function toWallClock(ms: number, timeZone: string): Required<WallClock> {
  const d = new Date(ms + zoneFor(timeZone).offsetAt(ms));
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    millisecond: d.getUTCMilliseconds(),
  };
}

/**
 * The instant of a wall-clock time in a time zone, with the cron rule for DST: a time that
 * occurs twice gives its first occurrence, a time that does not exist gives the first
 * instant after the gap.
 */
export function fromWallClock(w: WallClock, timeZone: string): number {
  const local = Date.UTC(w.year, w.month - 1, w.day, w.hour ?? 0, w.minute ?? 0, w.second ?? 0, w.millisecond ?? 0);
  return zoneFor(timeZone).resolve(local);
}

// ---------------------------------------------------------------------------------------------
// Next and previous firing

function cronOf(expr: string | CronExpression): CronExpression {
  return expr instanceof CronExpression ? expr : parseCron(expr);
}

function checkInstant(name: string, ms: number): void {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) {
    throw new TrainyardError('INVALID_TIME', `${name} must be a finite number of epoch milliseconds, got ${String(ms)}`);
  }
}

/**
 * The first firing strictly after `afterMs`, in epoch ms, with the expression evaluated on
 * the wall clock of `timeZone` (default UTC). See the module comment for DST.
 */
export function nextCronTime(expr: string | CronExpression, afterMs: number, timeZone = 'UTC'): number {
  checkInstant('afterMs', afterMs);
  const cron = cronOf(expr);
  const zone = zoneFor(timeZone);
  if (cron.everyHour) {
    // Every instant whose local time matches fires; walk constant-offset segments.
    let u = Math.floor(afterMs) + 1;
    for (;;) {
      const o = zone.offsetAt(u);
      const local = cron.nextLocal(Math.ceil((u + o) / MINUTE_MS) * MINUTE_MS);
      const candidate = local - o;
      const change = zone.nextTransition(u, candidate);
      if (Number.isNaN(change)) return candidate;
      u = change;
    }
  }
  // Fixed hours: wall-clock time L fires at resolve(L), which grows with L.
  let local = Math.floor((afterMs + zone.offsetAt(afterMs)) / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
  for (;;) {
    local = cron.nextLocal(local);
    const instant = zone.resolve(local);
    if (instant > afterMs) return instant;
    local += MINUTE_MS;
  }
}

/** The last firing at or before `atOrBeforeMs` (the same set of instants as nextCronTime). */
export function prevCronTime(expr: string | CronExpression, atOrBeforeMs: number, timeZone = 'UTC'): number {
  checkInstant('atOrBeforeMs', atOrBeforeMs);
  const cron = cronOf(expr);
  const zone = zoneFor(timeZone);
  const t = Math.floor(atOrBeforeMs);
  if (cron.everyHour) {
    let u = t;
    for (;;) {
      const o = zone.offsetAt(u);
      const local = cron.prevLocal(Math.floor((u + o) / MINUTE_MS) * MINUTE_MS);
      const candidate = local - o;
      const change = zone.prevTransition(u, candidate);
      if (Number.isNaN(change)) return candidate;
      u = change - 1;
    }
  }
  // The latest wall-clock time reached at or before t: after a fall-back it is still the
  // peak before the clocks went back.
  let peak = t + zone.offsetAt(t);
  for (let change = zone.prevTransition(t, t - DAY_MS); !Number.isNaN(change); change = zone.prevTransition(change - 1, t - DAY_MS)) {
    peak = Math.max(peak, change - 1 + zone.offsetAt(change - 1));
  }
  return zone.resolve(cron.prevLocal(Math.floor(peak / MINUTE_MS) * MINUTE_MS));
}

/** Successive firings strictly after `afterMs` (or, with reverse, at or before it, going back). */
export function* cronTimes(expr: string | CronExpression, afterMs: number, timeZone = 'UTC', reverse = false): Generator<number, never> {
  const cron = cronOf(expr);
  let t = afterMs;
  for (;;) {
    t = reverse ? prevCronTime(cron, t, timeZone) : nextCronTime(cron, t, timeZone);
    yield t;
    if (reverse) t -= 1;
  }
}
