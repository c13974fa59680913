import { describe, expect, it } from 'vitest';
import { TrainyardError } from './errors.js';
import {
  type DataInterval,
  dsNodashOf,
  dsOf,
  intervalsBetween,
  isDue,
  manualDataInterval,
  nextDataInterval,
  type NextIntervalOptions,
  nextRunAt,
} from './schedule.js';
import type { ScheduleSpec } from './spec.js';

const at = (iso: string): number => {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`bad test date ${iso}`);
  return ms;
};
const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');
const show = (iv: DataInterval | null) => (iv ? `${iso(iv.start)} → ${iso(iv.end)}` : null);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const cron = (expression: string, timezone = 'UTC'): ScheduleSpec => ({ kind: 'cron', expression, timezone });
const every = (everyMs: number): ScheduleSpec => ({ kind: 'interval', everyMs });
const daily = cron('0 0 * * *');

/** What a scheduler does: create every due run, in order; returns their intervals. */
function simulate(schedule: ScheduleSpec, opts: Omit<NextIntervalOptions, 'lastInterval'> & { lastInterval?: DataInterval }): string[] {
  const created: string[] = [];
  let last = opts.lastInterval;
  for (;;) {
    const next = nextDataInterval(schedule, { ...opts, lastInterval: last });
    if (!next || !isDue(next, opts.now)) return created;
    created.push(show(next)!);
    last = next;
  }
}

describe('nextDataInterval: cron schedules', () => {
  const startDate = at('2026-01-01T00:00:00Z');
  const now = at('2026-01-05T12:00:00Z');

  it('starts at startDate with catchup, and continues from the last interval', () => {
    const first = nextDataInterval(daily, { startDate, catchup: true, now });
    expect(show(first)).toBe('2026-01-01T00:00:00Z → 2026-01-02T00:00:00Z');
    expect(isDue(first!, now)).toBe(true);
    const second = nextDataInterval(daily, { startDate, catchup: true, now, lastInterval: first! });
    expect(show(second)).toBe('2026-01-02T00:00:00Z → 2026-01-03T00:00:00Z');
  });

  it('catches up every missed interval, oldest first, then waits', () => {
    expect(simulate(daily, { startDate, catchup: true, now })).toEqual([
      '2026-01-01T00:00:00Z → 2026-01-02T00:00:00Z',
      '2026-01-02T00:00:00Z → 2026-01-03T00:00:00Z',
      '2026-01-03T00:00:00Z → 2026-01-04T00:00:00Z',
      '2026-01-04T00:00:00Z → 2026-01-05T00:00:00Z',
    ]);
    const waiting = nextDataInterval(daily, { startDate, catchup: true, now, lastInterval: { start: at('2026-01-04T00:00:00Z'), end: at('2026-01-05T00:00:00Z') } });
    expect(show(waiting)).toBe('2026-01-05T00:00:00Z → 2026-01-06T00:00:00Z');
    expect(isDue(waiting!, now)).toBe(false);
    expect(isDue(waiting!, at('2026-01-06T00:00:00Z'))).toBe(true);
    expect(isDue(waiting!, at('2026-01-06T00:00:00Z') - 1)).toBe(false);
  });

  it('aligns a startDate between firings to the next firing', () => {
    expect(show(nextDataInterval(daily, { startDate: at('2026-01-01T10:00:00Z'), catchup: true, now }))).toBe(
      '2026-01-02T00:00:00Z → 2026-01-03T00:00:00Z',
    );
    expect(show(nextDataInterval(cron('0 2 * * *'), { startDate: at('2026-01-01T02:00:00Z'), catchup: true, now }))).toBe(
      '2026-01-01T02:00:00Z → 2026-01-02T02:00:00Z',
    );
  });

  it('without catchup, skips straight to the latest complete interval', () => {
    expect(show(nextDataInterval(daily, { startDate, catchup: false, now }))).toBe('2026-01-04T00:00:00Z → 2026-01-05T00:00:00Z');
    expect(simulate(daily, { startDate, catchup: false, now })).toEqual(['2026-01-04T00:00:00Z → 2026-01-05T00:00:00Z']);
    // exactly on a firing: the interval that just ended is complete
    expect(show(nextDataInterval(daily, { startDate, catchup: false, now: at('2026-01-05T00:00:00Z') }))).toBe(
      '2026-01-04T00:00:00Z → 2026-01-05T00:00:00Z',
    );
    expect(show(nextDataInterval(daily, { startDate, catchup: false, now: at('2026-01-05T00:00:00Z') - 1 }))).toBe(
      '2026-01-03T00:00:00Z → 2026-01-04T00:00:00Z',
    );
  });

  it('without catchup, jumps over a long pause but does not repeat the last interval', () => {
    const lastInterval = { start: at('2026-01-01T00:00:00Z'), end: at('2026-01-02T00:00:00Z') };
    const later = at('2026-01-10T12:00:00Z');
    expect(show(nextDataInterval(daily, { startDate, catchup: false, now: later, lastInterval }))).toBe('2026-01-09T00:00:00Z → 2026-01-10T00:00:00Z');
    expect(show(nextDataInterval(daily, { startDate, catchup: true, now: later, lastInterval }))).toBe('2026-01-02T00:00:00Z → 2026-01-03T00:00:00Z');
    const upToDate = { start: at('2026-01-09T00:00:00Z'), end: at('2026-01-10T00:00:00Z') };
    const next = nextDataInterval(daily, { startDate, catchup: false, now: later, lastInterval: upToDate });
    expect(show(next)).toBe('2026-01-10T00:00:00Z → 2026-01-11T00:00:00Z');
    expect(isDue(next!, later)).toBe(false);
  });

  it('waits for a startDate in the future, with or without catchup', () => {
    for (const catchup of [true, false]) {
      const next = nextDataInterval(daily, { startDate: at('2026-02-01T00:00:00Z'), catchup, now });
      expect(show(next)).toBe('2026-02-01T00:00:00Z → 2026-02-02T00:00:00Z');
      expect(isDue(next!, now)).toBe(false);
    }
  });

  it('without a startDate, starts from the latest complete interval either way', () => {
    for (const catchup of [true, false]) {
      expect(show(nextDataInterval(daily, { catchup, now }))).toBe('2026-01-04T00:00:00Z → 2026-01-05T00:00:00Z');
    }
  });

  it('never schedules a logical date after endDate', () => {
    const endDate = at('2026-01-03T00:00:00Z');
    const upTo = (last: string) => ({ start: at(last) - DAY, end: at(last) });
    // the logical date may equal endDate; the interval then ends after it, as in Airflow
    expect(show(nextDataInterval(daily, { startDate, endDate, catchup: true, now, lastInterval: upTo('2026-01-03T00:00:00Z') }))).toBe(
      '2026-01-03T00:00:00Z → 2026-01-04T00:00:00Z',
    );
    expect(nextDataInterval(daily, { startDate, endDate, catchup: true, now, lastInterval: upTo('2026-01-04T00:00:00Z') })).toBeNull();
    expect(simulate(daily, { startDate, endDate: at('2026-01-02T12:00:00Z'), catchup: true, now })).toEqual([
      '2026-01-01T00:00:00Z → 2026-01-02T00:00:00Z',
      '2026-01-02T00:00:00Z → 2026-01-03T00:00:00Z',
    ]);
    // without catchup, the latest interval is past endDate: nothing
    expect(nextDataInterval(daily, { startDate, endDate, catchup: false, now })).toBeNull();
    expect(nextDataInterval(daily, { startDate: at('2026-01-05T00:00:00Z'), endDate, catchup: true, now })).toBeNull();
    expect(nextRunAt(daily, { startDate, endDate, catchup: false, now })).toBeNull();
  });

  it('returns null for a DAG without a schedule', () => {
    expect(nextDataInterval({ kind: 'none' }, { startDate, catchup: true, now })).toBeNull();
    expect(nextRunAt({ kind: 'none' }, { startDate, catchup: true, now })).toBeNull();
  });

  it('gives the next run time as the end of the next interval', () => {
    const lastInterval = { start: at('2026-01-04T00:00:00Z'), end: at('2026-01-05T00:00:00Z') };
    expect(iso(nextRunAt(daily, { startDate, catchup: false, now, lastInterval })!)).toBe('2026-01-06T00:00:00Z');
    // a backlog: the next run is due already (its time is before now)
    expect(iso(nextRunAt(daily, { startDate, catchup: true, now })!)).toBe('2026-01-02T00:00:00Z');
    expect(iso(nextRunAt(cron('*/15 * * * *'), { catchup: false, now: at('2026-01-05T12:07:00Z'), lastInterval: { start: at('2026-01-05T11:45:00Z'), end: at('2026-01-05T12:00:00Z') } })!)).toBe(
      '2026-01-05T12:15:00Z',
    );
  });

  it('realigns to the current expression when the last interval came from an older one', () => {
    const lastInterval = { start: at('2026-01-01T00:00:00Z'), end: at('2026-01-02T00:00:00Z') };
    expect(show(nextDataInterval(cron('0 6 * * *'), { startDate, catchup: true, now, lastInterval }))).toBe('2026-01-02T06:00:00Z → 2026-01-03T06:00:00Z');
  });

  it('Europe/Amsterdam @daily: local-midnight intervals of 23 h and 25 h', () => {
    const schedule = cron('@daily', 'Europe/Amsterdam');
    const spring = simulate(schedule, { startDate: at('2026-03-27T23:00:00Z'), catchup: true, now: at('2026-03-31T00:00:00Z') });
    expect(spring).toEqual([
      '2026-03-27T23:00:00Z → 2026-03-28T23:00:00Z',
      '2026-03-28T23:00:00Z → 2026-03-29T22:00:00Z', // 29 March: 23 h
      '2026-03-29T22:00:00Z → 2026-03-30T22:00:00Z',
    ]);
    const autumn = nextDataInterval(schedule, {
      catchup: true,
      now: at('2026-10-27T00:00:00Z'),
      lastInterval: { start: at('2026-10-23T22:00:00Z'), end: at('2026-10-24T22:00:00Z') },
    })!;
    expect(show(autumn)).toBe('2026-10-24T22:00:00Z → 2026-10-25T23:00:00Z');
    expect(autumn.end - autumn.start).toBe(25 * HOUR);
  });

  it('America/New_York: intervals across the changes follow the DST rules', () => {
    const fixed = simulate(cron('30 2 * * *', 'America/New_York'), { startDate: at('2026-03-07T00:00:00Z'), catchup: true, now: at('2026-03-09T12:00:00Z') });
    expect(fixed).toEqual(['2026-03-07T07:30:00Z → 2026-03-08T07:00:00Z', '2026-03-08T07:00:00Z → 2026-03-09T06:30:00Z']);
    const hourly = simulate(cron('@hourly', 'America/New_York'), { startDate: at('2026-11-01T03:00:00Z'), catchup: true, now: at('2026-11-01T09:00:00Z') });
    expect(hourly).toHaveLength(6); // 23:00 EDT … 02:00 EST: the repeated 01:00 counts twice
    for (const line of hourly) {
      const [start, end] = line.split(' → ').map(at);
      expect(end - start).toBe(HOUR);
    }
  });

  it('Asia/Kolkata: daily intervals start at local midnight (18:30 UTC)', () => {
    expect(show(nextDataInterval(cron('@daily', 'Asia/Kolkata'), { catchup: false, now: at('2026-06-10T12:00:00Z') }))).toBe(
      '2026-06-08T18:30:00Z → 2026-06-09T18:30:00Z',
    );
  });

  it('creates 43,200 minute runs over 30 days with catchup', () => {
    const start = at('2026-04-01T00:00:00Z');
    const runs = simulate(cron('* * * * *'), { startDate: start, catchup: true, now: start + 30 * DAY });
    expect(runs).toHaveLength(43_200);
    expect(runs[0]).toBe('2026-04-01T00:00:00Z → 2026-04-01T00:01:00Z');
    expect(runs[43_199]).toBe('2026-04-30T23:59:00Z → 2026-05-01T00:00:00Z');
  });
});

describe('nextDataInterval: interval schedules', () => {
  const sixHours = every(6 * HOUR);
  const startDate = at('2026-01-01T03:00:00Z');

  it('aligns intervals to startDate', () => {
    expect(show(nextDataInterval(sixHours, { startDate, catchup: true, now: at('2026-01-02T10:00:00Z') }))).toBe(
      '2026-01-01T03:00:00Z → 2026-01-01T09:00:00Z',
    );
    expect(simulate(sixHours, { startDate, catchup: true, now: at('2026-01-02T10:00:00Z') })).toEqual([
      '2026-01-01T03:00:00Z → 2026-01-01T09:00:00Z',
      '2026-01-01T09:00:00Z → 2026-01-01T15:00:00Z',
      '2026-01-01T15:00:00Z → 2026-01-01T21:00:00Z',
      '2026-01-01T21:00:00Z → 2026-01-02T03:00:00Z',
      '2026-01-02T03:00:00Z → 2026-01-02T09:00:00Z',
    ]);
  });

  it('without catchup, skips to the latest complete aligned interval', () => {
    expect(show(nextDataInterval(sixHours, { startDate, catchup: false, now: at('2026-01-02T10:00:00Z') }))).toBe(
      '2026-01-02T03:00:00Z → 2026-01-02T09:00:00Z',
    );
    expect(show(nextDataInterval(sixHours, { startDate, catchup: false, now: at('2026-01-02T09:00:00Z') }))).toBe(
      '2026-01-02T03:00:00Z → 2026-01-02T09:00:00Z',
    );
    // nothing complete yet: the first interval, not due
    const first = nextDataInterval(sixHours, { startDate, catchup: false, now: at('2026-01-01T05:00:00Z') })!;
    expect(show(first)).toBe('2026-01-01T03:00:00Z → 2026-01-01T09:00:00Z');
    expect(isDue(first, at('2026-01-01T05:00:00Z'))).toBe(false);
  });

  it('continues from the last interval, even an unaligned one', () => {
    const lastInterval = { start: at('2026-01-01T04:00:00Z'), end: at('2026-01-01T10:00:00Z') };
    expect(show(nextDataInterval(sixHours, { startDate, catchup: true, now: at('2026-01-03T00:00:00Z'), lastInterval }))).toBe(
      '2026-01-01T10:00:00Z → 2026-01-01T16:00:00Z',
    );
  });

  it('aligns to the Unix epoch without a startDate', () => {
    expect(show(nextDataInterval(sixHours, { catchup: false, now: at('2026-01-02T10:00:00Z') }))).toBe('2026-01-02T00:00:00Z → 2026-01-02T06:00:00Z');
    expect(show(nextDataInterval(every(90 * 60_000), { catchup: false, now: at('2026-01-02T10:00:00Z') }))).toBe(
      '2026-01-02T07:30:00Z → 2026-01-02T09:00:00Z',
    );
  });

  it('respects endDate', () => {
    const lastInterval = { start: at('2026-01-01T03:00:00Z'), end: at('2026-01-01T09:00:00Z') };
    expect(nextDataInterval(sixHours, { startDate, endDate: at('2026-01-01T08:00:00Z'), catchup: true, now: at('2026-01-03T00:00:00Z'), lastInterval })).toBeNull();
    expect(show(nextDataInterval(sixHours, { startDate, endDate: at('2026-01-01T09:00:00Z'), catchup: true, now: at('2026-01-03T00:00:00Z'), lastInterval }))).toBe(
      '2026-01-01T09:00:00Z → 2026-01-01T15:00:00Z',
    );
  });

  it.each([0, -HOUR, Number.NaN, Infinity])('rejects an interval of %s ms', (everyMs) => {
    expect(() => nextDataInterval(every(everyMs), { catchup: true, now: 0 })).toThrow(TrainyardError);
    expect(() => nextDataInterval(every(everyMs), { catchup: true, now: 0 })).toThrow(/schedule interval must be a positive number of milliseconds/);
    expect(() => [...intervalsBetween(every(everyMs), 0, DAY)]).toThrow(/positive number of milliseconds/);
  });
});

describe('intervalsBetween (backfill)', () => {
  const minutely = cron('* * * * *');
  const jan1 = at('2026-01-01T00:00:00Z');

  it('yields every interval whose logical date is in [from, to]: 43,200 minutes in 30 days', () => {
    const intervals = [...intervalsBetween(minutely, jan1, jan1 + 30 * DAY - 1)];
    expect(intervals).toHaveLength(43_200);
    expect(show(intervals[0])).toBe('2026-01-01T00:00:00Z → 2026-01-01T00:01:00Z');
    expect(show(intervals[43_199])).toBe('2026-01-30T23:59:00Z → 2026-01-31T00:00:00Z');
    for (let i = 1; i < intervals.length; i++) {
      if (intervals[i].start !== intervals[i - 1].end || intervals[i].end - intervals[i].start !== 60_000) throw new Error(`gap at ${i}`);
    }
    // both bounds are inclusive
    expect([...intervalsBetween(minutely, jan1, jan1 + 30 * DAY)]).toHaveLength(43_201);
  });

  it('yields the same intervals newest first with reverse', () => {
    const forward = [...intervalsBetween(minutely, jan1, jan1 + 30 * DAY - 1)];
    const backward = [...intervalsBetween(minutely, jan1, jan1 + 30 * DAY - 1, { reverse: true })];
    expect(backward).toHaveLength(43_200);
    expect(backward).toEqual(forward.reverse());
  });

  it('handles DST in both directions (Europe/Amsterdam, 02:00 daily, March 2026)', () => {
    const schedule = cron('0 2 * * *', 'Europe/Amsterdam');
    const from = at('2026-03-27T00:00:00Z');
    const to = at('2026-03-30T12:00:00Z');
    const forward = [...intervalsBetween(schedule, from, to)].map(show);
    expect(forward).toEqual([
      '2026-03-27T01:00:00Z → 2026-03-28T01:00:00Z',
      '2026-03-28T01:00:00Z → 2026-03-29T01:00:00Z', // 29 March: 02:00 is missing, fires at 03:00 CEST
      '2026-03-29T01:00:00Z → 2026-03-30T00:00:00Z',
      '2026-03-30T00:00:00Z → 2026-03-31T00:00:00Z',
    ]);
    expect([...intervalsBetween(schedule, from, to, { reverse: true })].map(show)).toEqual([...forward].reverse());
  });

  it('aligns from to the next firing and includes a firing exactly at to', () => {
    const schedule = cron('0 */6 * * *');
    expect([...intervalsBetween(schedule, at('2026-01-01T01:00:00Z'), at('2026-01-01T12:00:00Z'))].map(show)).toEqual([
      '2026-01-01T06:00:00Z → 2026-01-01T12:00:00Z',
      '2026-01-01T12:00:00Z → 2026-01-01T18:00:00Z',
    ]);
    expect([...intervalsBetween(schedule, at('2026-01-01T01:00:00Z'), at('2026-01-01T12:00:00Z'), { reverse: true })].map(show)).toEqual([
      '2026-01-01T12:00:00Z → 2026-01-01T18:00:00Z',
      '2026-01-01T06:00:00Z → 2026-01-01T12:00:00Z',
    ]);
    expect([...intervalsBetween(schedule, at('2026-01-01T01:00:00Z'), at('2026-01-01T05:00:00Z'))]).toEqual([]);
  });

  it('clamps to startDate and endDate', () => {
    const got = [...intervalsBetween(cron('@daily'), at('2025-12-01T00:00:00Z'), at('2026-03-01T00:00:00Z'), {
      startDate: at('2026-01-30T00:00:00Z'),
      endDate: at('2026-02-02T00:00:00Z'),
    })].map((iv) => iso(iv.start));
    expect(got).toEqual(['2026-01-30T00:00:00Z', '2026-01-31T00:00:00Z', '2026-02-01T00:00:00Z', '2026-02-02T00:00:00Z']);
  });

  it('aligns interval schedules to startDate, or to the epoch', () => {
    const sixHours = every(6 * HOUR);
    const startDate = at('2026-01-01T03:00:00Z');
    const aligned = [...intervalsBetween(sixHours, at('2026-01-01T00:00:00Z'), at('2026-01-02T03:00:00Z'), { startDate })].map((iv) => iso(iv.start));
    expect(aligned).toEqual(['2026-01-01T03:00:00Z', '2026-01-01T09:00:00Z', '2026-01-01T15:00:00Z', '2026-01-01T21:00:00Z', '2026-01-02T03:00:00Z']);
    const reversed = [...intervalsBetween(sixHours, at('2026-01-01T00:00:00Z'), at('2026-01-02T03:00:00Z'), { startDate, reverse: true })].map((iv) => iso(iv.start));
    expect(reversed).toEqual([...aligned].reverse());
    const epoch = [...intervalsBetween(sixHours, at('2026-01-01T01:00:00Z'), at('2026-01-01T18:00:00Z'))].map(show);
    expect(epoch).toEqual([
      '2026-01-01T06:00:00Z → 2026-01-01T12:00:00Z',
      '2026-01-01T12:00:00Z → 2026-01-01T18:00:00Z',
      '2026-01-01T18:00:00Z → 2026-01-02T00:00:00Z',
    ]);
    expect([...intervalsBetween(every(60_000), jan1, jan1 + 30 * DAY - 1)]).toHaveLength(43_200);
  });

  it('yields nothing for no schedule or an empty range', () => {
    expect([...intervalsBetween({ kind: 'none' }, jan1, jan1 + DAY)]).toEqual([]);
    expect([...intervalsBetween(minutely, jan1 + DAY, jan1)]).toEqual([]);
    expect([...intervalsBetween(minutely, jan1, jan1 + DAY, { startDate: jan1 + 2 * DAY })]).toEqual([]);
  });

  it('is lazy: the first intervals of a century come at once', () => {
    const first: DataInterval[] = [];
    for (const iv of intervalsBetween(minutely, jan1, jan1 + 100 * 365 * DAY)) {
      first.push(iv);
      if (first.length === 3) break;
    }
    expect(first.map((iv) => iso(iv.start))).toEqual(['2026-01-01T00:00:00Z', '2026-01-01T00:01:00Z', '2026-01-01T00:02:00Z']);
  });
});

describe('manualDataInterval', () => {
  it('gives a manual run the latest complete interval, as Airflow does', () => {
    expect(show(manualDataInterval(cron('@daily'), at('2026-01-05T12:00:00Z')))).toBe('2026-01-04T00:00:00Z → 2026-01-05T00:00:00Z');
    expect(show(manualDataInterval(cron('@daily'), at('2026-01-05T00:00:00Z')))).toBe('2026-01-04T00:00:00Z → 2026-01-05T00:00:00Z');
    expect(show(manualDataInterval(every(6 * HOUR), at('2026-01-05T12:34:00Z')))).toBe('2026-01-05T06:34:00Z → 2026-01-05T12:34:00Z');
    expect(show(manualDataInterval({ kind: 'none' }, at('2026-01-05T12:34:00Z')))).toBe('2026-01-05T12:34:00Z → 2026-01-05T12:34:00Z');
    expect(() => manualDataInterval(every(0), 0)).toThrow(/positive number of milliseconds/);
  });
});

describe('dsOf', () => {
  it('formats the logical date in UTC, like Airflow', () => {
    expect(dsOf(at('2026-01-05T00:00:00Z'))).toBe('2026-01-05');
    expect(dsOf(at('2026-01-05T23:59:59.999Z'))).toBe('2026-01-05');
    expect(dsNodashOf(at('2026-01-05T00:00:00Z'))).toBe('20260105');
    // local midnight in Amsterdam is the previous evening in UTC
    const amsterdamMidnight = at('2026-02-28T23:00:00Z');
    expect(dsOf(amsterdamMidnight)).toBe('2026-02-28');
    expect(dsNodashOf(amsterdamMidnight)).toBe('20260228');
    expect(dsOf(at('2025-12-31T18:30:00Z'))).toBe('2025-12-31');
  });

  it('formats the local date when given a time zone', () => {
    expect(dsOf(at('2026-02-28T23:00:00Z'), 'Europe/Amsterdam')).toBe('2026-03-01');
    expect(dsOf(at('2025-12-31T18:30:00Z'), 'Asia/Kolkata')).toBe('2026-01-01');
    expect(dsOf(at('2026-01-01T04:00:00Z'), 'America/New_York')).toBe('2025-12-31');
    expect(dsNodashOf(at('2026-01-01T04:00:00Z'), 'America/New_York')).toBe('20251231');
    expect(() => dsOf(0, 'Nowhere/Land')).toThrow(/invalid time zone 'Nowhere\/Land'/);
  });
});
