#!/usr/bin/env node
/**
 * Schedule-math benchmark: the time to compute successive data intervals.
 *
 *   node bench/cron.mjs [--reps N]
 *
 * Loads src/core through tsx (no build needed). Prints one JSON object on stdout. Each case
 * runs `reps` times in one process: `coldMs` is the first run (time-zone offsets not yet
 * cached), `warmMedianMs` the median of the others.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { tsImport } from 'tsx/esm/api';

const { values } = parseArgs({ options: { reps: { type: 'string', default: '7' } } });
const reps = Math.max(2, Number(values.reps));

const schedule = await tsImport('../src/core/schedule.ts', import.meta.url);
const cron = await tsImport('../src/core/cron.ts', import.meta.url);

const MINUTE = 60_000;
const DAY = 86_400_000;
const start2026 = Date.parse('2026-01-01T00:00:00Z');

/** Successive intervals the way the scheduler asks for them: nextDataInterval after the last. */
function viaNextDataInterval(spec, startDate, count) {
  let last;
  let n = 0;
  for (; n < count; n++) {
    const iv = schedule.nextDataInterval(spec, { startDate, catchup: true, lastInterval: last, now: Number.MAX_SAFE_INTEGER });
    if (!iv) break;
    last = iv;
  }
  return { n, last: last && new Date(last.start).toISOString() };
}

/** A backfill range through the lazy generator. */
function viaIntervalsBetween(spec, from, to, reverse) {
  let n = 0;
  let last;
  for (const iv of schedule.intervalsBetween(spec, from, to, { reverse })) {
    n++;
    last = iv;
  }
  return { n, last: last && new Date(last.start).toISOString() };
}

/** Bare nextCronTime calls. */
function viaNextCronTime(expr, tz, from, count) {
  let t = from;
  for (let i = 0; i < count; i++) t = cron.nextCronTime(expr, t, tz);
  return { n: count, last: new Date(t).toISOString() };
}

const minutelyUtc = { kind: 'cron', expression: '* * * * *', timezone: 'UTC' };
const minutelyAms = { kind: 'cron', expression: '* * * * *', timezone: 'Europe/Amsterdam' };
const nightlyAms = { kind: 'cron', expression: '0 2 * * *', timezone: 'Europe/Amsterdam' };
const tenYears = Date.parse('2036-01-01T00:00:00Z') - 1;

const cases = [
  ['* * * * * UTC, 43,200 intervals (30 days), nextDataInterval', () => viaNextDataInterval(minutelyUtc, start2026, 43_200)],
  ['* * * * * Europe/Amsterdam, 43,200 intervals (30 days), nextDataInterval', () => viaNextDataInterval(minutelyAms, start2026, 43_200)],
  ['* * * * * Europe/Amsterdam, 43,200 intervals (30 days), intervalsBetween', () => viaIntervalsBetween(minutelyAms, start2026, start2026 + 30 * DAY - 1, false)],
  ['* * * * * Europe/Amsterdam, 43,200 intervals (30 days), intervalsBetween reverse', () => viaIntervalsBetween(minutelyAms, start2026, start2026 + 30 * DAY - 1, true)],
  ['* * * * * Europe/Amsterdam, 43,200 nextCronTime calls', () => viaNextCronTime('* * * * *', 'Europe/Amsterdam', start2026 - MINUTE, 43_200)],
  ['0 2 * * * Europe/Amsterdam, 10 years (2026-2035), nextDataInterval', () => viaNextDataInterval(nightlyAms, start2026, 3_652)],
  ['0 2 * * * Europe/Amsterdam, 10 years (2026-2035), intervalsBetween', () => viaIntervalsBetween(nightlyAms, start2026, tenYears, false)],
  ['0 2 * * * Europe/Amsterdam, 10 years (2026-2035), intervalsBetween reverse', () => viaIntervalsBetween(nightlyAms, start2026, tenYears, true)],
  ['0 2 * * * Europe/Amsterdam, 43,200 intervals (118 years), nextDataInterval', () => viaNextDataInterval(nightlyAms, start2026, 43_200)],
];

const results = [];
for (const [name, fn] of cases) {
  const times = [];
  let outcome;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    outcome = fn();
    times.push(performance.now() - t0);
  }
  const warm = times.slice(1).sort((a, b) => a - b);
  const median = warm[Math.floor(warm.length / 2)];
  results.push({
    case: name,
    intervals: outcome.n,
    lastLogicalDate: outcome.last,
    coldMs: round(times[0]),
    warmMedianMs: round(median),
    warmMinMs: round(warm[0]),
    usPerInterval: round((median * 1000) / outcome.n),
  });
  process.stderr.write(`${name}: ${round(median)} ms\n`);
}

console.log(
  JSON.stringify(
    {
      benchmark: 'cron',
      reps,
      node: process.version,
      cpu: os.cpus()[0]?.model,
      cores: os.cpus().length,
      loadAverage: os.loadavg().map(round),
      results,
    },
    null,
    2,
  ),
);

function round(x) {
  return Math.round(x * 100) / 100;
}
