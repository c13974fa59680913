/**
 * Time zones: checking IANA names (with a "did you mean"), offsets at an instant, and
 * converting between instants and wall-clock times, with the cron rule for DST (a time that
 * occurs twice is its first occurrence; a time that does not exist is the end of the gap).
 *
 * Time-zone offsets come from `Intl.DateTimeFormat`. The one assumption: a zone changes its
 * offset at most once per UTC day, which holds for the time-zone database.
 */
import { TrainyardError } from './errors.js';
import { editDistance } from './validate.js';

const DAY_MS = 86_400_000;

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
export class Zone {
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

/** The zone named `timeZone` (checked once, then kept). */
export function zoneFor(timeZone: string): Zone {
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
