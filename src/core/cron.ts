/**
 * Cron expressions and time-zone math: parse a 5-field cron expression, and find the next or
 * previous firing instant in an IANA time zone. Pure: every instant is a parameter (epoch ms).
 * The expression itself and its parsing live in cron-expression.ts and cron-parse.ts, time
 * zones in time-zone.ts; this module finds firing instants and is the one to import.
 *
 * The syntax, and how day-of-month and day-of-week combine, are described in
 * cron-expression.ts.
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
 */
import { CronExpression } from './cron-expression.js';
import { parseCron } from './cron-parse.js';
import { TrainyardError } from './errors.js';
import { zoneFor } from './time-zone.js';

export { CRON_PRESETS, CronExpression } from './cron-expression.js';
export { parseCron } from './cron-parse.js';
export { fromWallClock, suggestTimeZone, timeZoneOffsetMs, toWallClock, validateTimeZone, type WallClock } from './time-zone.js';

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

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
