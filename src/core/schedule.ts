/**
 * Data intervals (Airflow's semantics): which scheduled run comes next, whether it is due,
 * and which intervals a backfill covers. Pure: `now` is a parameter; times are epoch ms.
 *
 * - A scheduled run covers a data interval [start, end). Its logical date is `start`, and it
 *   is created once `end` has passed (`isDue`): the run for 2026-03-01 of a daily DAG runs
 *   just after midnight on 2026-03-02.
 * - Cron schedules: an interval runs from one firing to the next (see `cron.ts` for the DST
 *   rules). The first interval starts at the first firing at or after startDate.
 * - Interval schedules (`everyMs`): intervals are aligned to startDate (startDate, startDate +
 *   every, …), or to the Unix epoch when there is no startDate.
 * - catchup on: every interval from startDate on gets a run, oldest first. catchup off: the
 *   next interval skips straight to the latest complete one (the most recent interval whose
 *   end ≤ now), so older intervals never get runs. Without a startDate there is nothing to
 *   catch up from, so a DAG behaves as with catchup off.
 * - endDate bounds the logical date: an interval whose start is after endDate is never
 *   scheduled (as in Airflow, the last interval may end after endDate).
 */
import { cronTimes, nextCronTime, parseCron, prevCronTime, toWallClock } from './cron.js';
import { TrainyardError } from './errors.js';
import type { ScheduleSpec } from './spec.js';

export interface DataInterval {
  readonly start: number;
  readonly end: number;
}

export interface NextIntervalOptions {
  readonly startDate?: number;
  readonly endDate?: number;
  readonly catchup: boolean;
  /** The interval of the latest scheduled run, if there is one. */
  readonly lastInterval?: DataInterval;
  readonly now: number;
}

export interface IntervalRangeOptions {
  /** Lower bound on logical dates, and the alignment of interval schedules. */
  readonly startDate?: number;
  /** Upper bound on logical dates. */
  readonly endDate?: number;
  /** Newest first. */
  readonly reverse?: boolean;
}

/** Boundaries of a schedule's intervals: every interval runs from one boundary to the next. */
interface Boundaries {
  /** The first boundary at or after t. */
  atOrAfter(t: number): number;
  /** The first boundary strictly after t. */
  after(t: number): number;
  /** The last boundary at or before t. */
  atOrBefore(t: number): number;
}

function boundariesOf(schedule: ScheduleSpec, startDate: number | undefined): Boundaries | null {
  switch (schedule.kind) {
    case 'none':
    case 'assets':
      // Runs of these come from triggers or asset events, not from time.
      return null;
    case 'cron': {
      const cron = parseCron(schedule.expression);
      const tz = schedule.timezone;
      return {
        atOrAfter: (t) => nextCronTime(cron, t - 1, tz),
        after: (t) => nextCronTime(cron, t, tz),
        atOrBefore: (t) => prevCronTime(cron, t, tz),
      };
    }
    case 'interval': {
      const every = schedule.everyMs;
      if (typeof every !== 'number' || !Number.isFinite(every) || every <= 0) {
        throw new TrainyardError('INVALID_INTERVAL', `schedule interval must be a positive number of milliseconds, got ${String(every)}`);
      }
      const anchor = startDate ?? 0;
      return {
        atOrAfter: (t) => anchor + Math.ceil((t - anchor) / every) * every,
        after: (t) => anchor + (Math.floor((t - anchor) / every) + 1) * every,
        atOrBefore: (t) => anchor + Math.floor((t - anchor) / every) * every,
      };
    }
    default:
      throw new TrainyardError('INVALID_SCHEDULE', `unknown schedule kind '${(schedule as { kind: unknown }).kind}'`);
  }
}

/**
 * The next interval to create a scheduled run for: after `lastInterval` if there is one,
 * otherwise the first at or after startDate; with catchup off, no older than the latest
 * complete interval. It may not be due yet: compare with `isDue(interval, now)`. Null for
 * `none` schedules and once the next logical date would be after endDate.
 */
export function nextDataInterval(schedule: ScheduleSpec, opts: NextIntervalOptions): DataInterval | null {
  const b = boundariesOf(schedule, opts.startDate);
  if (!b) return null;
  let start: number | undefined;
  if (opts.lastInterval) {
    // An interval schedule continues from the last end even if startDate moved since; a
    // cron schedule continues from its first firing at or after the last end.
    start = schedule.kind === 'interval' ? opts.lastInterval.end : b.atOrAfter(opts.lastInterval.end);
  } else if (opts.startDate !== undefined) {
    start = b.atOrAfter(opts.startDate);
  }
  if (!opts.catchup || start === undefined) {
    const latest = latestCompleteStart(b, opts.now);
    start = start === undefined ? latest : Math.max(start, latest);
  }
  if (opts.endDate !== undefined && start > opts.endDate) return null;
  return { start, end: schedule.kind === 'interval' ? start + schedule.everyMs : b.after(start) };
}

/** Start of the most recent interval whose end ≤ now. */
function latestCompleteStart(b: Boundaries, now: number): number {
  return b.atOrBefore(b.atOrBefore(now) - 1);
}

/** A scheduled run for the interval is created once its end has passed. */
export function isDue(interval: DataInterval, now: number): boolean {
  return interval.end <= now;
}

/**
 * When the next scheduled run will be created ("next run" in the UI): the end of
 * `nextDataInterval`. A time at or before `now` means a run is due now. Null when none.
 */
export function nextRunAt(schedule: ScheduleSpec, opts: NextIntervalOptions): number | null {
  return nextDataInterval(schedule, opts)?.end ?? null;
}

/**
 * Every interval whose logical date (start) lies in [fromMs, toMs], clamped to
 * [startDate, endDate] when given: what a backfill creates. Lazy, oldest first unless
 * `reverse`. Nothing for `none` schedules.
 */
export function* intervalsBetween(
  schedule: ScheduleSpec,
  fromMs: number,
  toMs: number,
  opts: IntervalRangeOptions = {},
): Generator<DataInterval, void, undefined> {
  const b = boundariesOf(schedule, opts.startDate);
  if (!b || schedule.kind === 'none' || schedule.kind === 'assets') return;
  const lower = Math.max(fromMs, opts.startDate ?? -Infinity);
  const upper = Math.min(toMs, opts.endDate ?? Infinity);
  if (!(lower <= upper)) return;
  if (schedule.kind === 'interval') {
    const every = schedule.everyMs;
    const first = b.atOrAfter(lower);
    const last = b.atOrBefore(upper);
    if (opts.reverse) for (let s = last; s >= first; s -= every) yield { start: s, end: s + every };
    else for (let s = first; s <= last; s += every) yield { start: s, end: s + every };
    return;
  }
  const cron = parseCron(schedule.expression);
  if (opts.reverse) {
    let end = Number.NaN;
    for (const start of cronTimes(cron, upper, schedule.timezone, true)) {
      if (start < lower) return;
      yield { start, end: Number.isNaN(end) ? b.after(start) : end };
      end = start;
    }
  } else {
    let start = b.atOrAfter(lower);
    while (start <= upper) {
      const end = b.after(start);
      yield { start, end };
      start = end;
    }
  }
}

/**
 * The data interval Airflow gives a manual run triggered at `runAfter`: for a cron
 * schedule the latest complete interval (ending at the last firing at or before runAfter);
 * for an interval schedule [runAfter − every, runAfter); for `none`, [runAfter, runAfter].
 */
export function manualDataInterval(schedule: ScheduleSpec, runAfter: number): DataInterval {
  if (schedule.kind === 'none' || schedule.kind === 'assets') return { start: runAfter, end: runAfter };
  if (schedule.kind === 'interval') {
    boundariesOf(schedule, undefined);
    return { start: runAfter - schedule.everyMs, end: runAfter };
  }
  const end = prevCronTime(schedule.expression, runAfter, schedule.timezone);
  return { start: prevCronTime(schedule.expression, end - 1, schedule.timezone), end };
}

/**
 * Airflow's `ds`: the logical date as YYYY-MM-DD. Airflow formats it in UTC (a DAG at local
 * midnight in Europe/Amsterdam gets the previous day's date as ds); that is the default
 * here. Pass a time zone for the local date instead.
 */
export function dsOf(logicalDateMs: number, timeZone = 'UTC'): string {
  const w = toWallClock(logicalDateMs, timeZone);
  return `${pad(w.year, 4)}-${pad(w.month, 2)}-${pad(w.day, 2)}`;
}

/** Airflow's `ds_nodash`: YYYYMMDD. */
export function dsNodashOf(logicalDateMs: number, timeZone = 'UTC'): string {
  return dsOf(logicalDateMs, timeZone).replaceAll('-', '');
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}
