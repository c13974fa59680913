/** Output helpers: aligned tables for people, stable JSON for scripts. */

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function table(rows: readonly Record<string, unknown>[], columns: readonly string[]): string {
  const cells = rows.map((r) => columns.map((c) => cell(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const line = (vals: readonly string[]) => vals.map((v, i) => v.padEnd(widths[i])).join('  ').trimEnd();
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

export function printTable(rows: readonly Record<string, unknown>[], columns: readonly string[]): void {
  process.stdout.write(rows.length ? `${table(rows, columns)}\n` : '(none)\n');
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function isoOrNull(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}

/** Parses a --conf value, with a message that says what is wrong. */
export function parseConf(raw: string | undefined): Record<string, unknown> {
  if (raw === undefined) return {};
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (e) {
    throw new UsageError(`--conf is not valid JSON (${(e as Error).message}); pass an object, e.g. --conf '{"epochs": 5}'`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new UsageError(`--conf must be a JSON object, e.g. --conf '{"epochs": 5}'`);
  return v as Record<string, unknown>;
}

/** A mistake in how a command was called. */
export class UsageError extends Error {
  readonly code = 'USAGE';
}

/** A whole number ≥ 1 given for `what`, or a usage error that names it. */
export function positiveInt(what: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${what} must be a whole number ≥ 1, got '${raw}'`);
  return n;
}
