/**
 * Options of the standalone benchmark scripts, written `--name value`. A bad number stops the
 * script with exit code 2 and a line naming the option and what it takes.
 */

/** The value given for `--name`, or `fallback`. */
export function optionText(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

/** A number given for `--name` (whole and ≥ 1 unless told otherwise), or `fallback`. */
export function optionNumber(name, fallback, { min = 1, whole = true } = {}) {
  const raw = optionText(name, undefined);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || (whole && !Number.isInteger(n))) {
    process.stderr.write(`--${name} must be a ${whole ? 'whole ' : ''}number ≥ ${min}, got '${raw}'\n`);
    process.exit(2);
  }
  return n;
}
