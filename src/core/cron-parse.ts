/**
 * Parsing cron expressions and presets into a CronExpression (syntax in cron-expression.ts).
 * Every mistake is a TrainyardError `INVALID_CRON` that names the field, its text and what is
 * allowed.
 */
import { CRON_PRESETS, CronExpression, type FieldDef, FIELDS, MONTH_NAMES, WEEKDAY_NAMES } from './cron-expression.js';
import { TrainyardError } from './errors.js';

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
