/**
 * Search spaces for sweeps: typed helpers that build the list a mapped task maps over.
 *
 *   d.command('train', { …, expandKwargs: grid({ lr: [0.01, 0.1], l2: [0, 1e-4] }) })
 *   d.command('train', { …, expandKwargs: random({ lr: logUniform(1e-4, 1), hidden: choice([16, 32]) }, { trials: 16, seed: 7 }) })
 *
 * Pure: no I/O, and randomness comes in as a parameter (`rng`) or a `seed` for the built-in
 * deterministic generator, so the same call always gives the same trials (and a DAG file that
 * uses `random` keeps the same version hash from one parse to the next).
 */
import { TrainyardError } from '../core/errors.js';

/** A source of uniform numbers in [0, 1). */
export type Rng = () => number;

/** A parameter's distribution: sampled by `random`; a discrete one can also be a `grid` axis. */
export interface Distribution<T> {
  readonly kind: 'uniform' | 'log_uniform' | 'choice' | 'int_range';
  /** Draws one value. */
  sample(rng: Rng): T;
  /** Every value, for a discrete distribution (choice, intRange); undefined for continuous ones. */
  readonly values?: readonly T[];
  /** Plain-words form, for messages and docs: `logUniform(0.0001, 1)`. */
  readonly describe: string;
}

/** The value type a distribution or a grid axis produces. */
export type ValueOf<D> = D extends Distribution<infer T> ? T : D extends readonly (infer U)[] ? U : never;

/** One trial's parameters: an object with one value per key of the space. */
export type Item<S> = { readonly [K in keyof S]: ValueOf<S[K]> };

function invalid(message: string): never {
  throw new TrainyardError('SEARCH_SPACE_INVALID', message);
}

function finite(what: string, v: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v)) invalid(`${what} must be a finite number, got ${String(v)}`);
}

/** Uniform over [low, high). */
export function uniform(low: number, high: number): Distribution<number> {
  finite('uniform(low, …)', low);
  finite('uniform(…, high)', high);
  if (!(low < high)) invalid(`uniform(${low}, ${high}): low must be less than high`);
  return { kind: 'uniform', describe: `uniform(${low}, ${high})`, sample: (rng) => low + (high - low) * rng() };
}

/** Log-uniform over [low, high): uniform in log space; for learning rates and penalties. Both bounds > 0. */
export function logUniform(low: number, high: number): Distribution<number> {
  finite('logUniform(low, …)', low);
  finite('logUniform(…, high)', high);
  if (!(low > 0)) invalid(`logUniform(${low}, ${high}): low must be greater than 0 (a log scale has no 0); use uniform() for ranges that include 0`);
  if (!(low < high)) invalid(`logUniform(${low}, ${high}): low must be less than high`);
  const a = Math.log(low);
  const b = Math.log(high);
  return { kind: 'log_uniform', describe: `logUniform(${low}, ${high})`, sample: (rng) => Math.exp(a + (b - a) * rng()) };
}

/** One of the given values, each equally likely. */
export function choice<const T>(values: readonly T[]): Distribution<T> {
  if (!Array.isArray(values) || values.length === 0) invalid('choice([...]) needs at least one value');
  const copy = [...values];
  return {
    kind: 'choice',
    describe: `choice(${JSON.stringify(copy)})`,
    values: copy,
    sample: (rng) => copy[Math.min(copy.length - 1, Math.floor(rng() * copy.length))],
  };
}

/** Integers from low to high, both included, in steps of `step` (default 1). */
export function intRange(low: number, high: number, step = 1): Distribution<number> {
  for (const [what, v] of [['low', low], ['high', high], ['step', step]] as const) {
    if (!Number.isInteger(v)) invalid(`intRange(${low}, ${high}, ${step}): ${what} must be a whole number`);
  }
  if (step < 1) invalid(`intRange(${low}, ${high}, ${step}): step must be at least 1`);
  if (low > high) invalid(`intRange(${low}, ${high}): low must not be greater than high`);
  const values: number[] = [];
  for (let v = low; v <= high; v += step) values.push(v);
  return {
    kind: 'int_range',
    describe: `intRange(${low}, ${high}${step === 1 ? '' : `, ${step}`})`,
    values,
    sample: (rng) => values[Math.min(values.length - 1, Math.floor(rng() * values.length))],
  };
}

function isDistribution(v: unknown): v is Distribution<unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as Distribution<unknown>).sample === 'function';
}

/** A grid axis: a list of values, or a discrete distribution (choice, intRange). */
export type GridAxis = readonly unknown[] | Distribution<unknown>;

/**
 * Every combination of the axes: the cross product, the first key varying slowest (the same
 * order as `expand`). `grid({ lr: [0.1, 1], l2: [0, 1e-3] })` →
 * `[{lr: 0.1, l2: 0}, {lr: 0.1, l2: 0.001}, {lr: 1, l2: 0}, {lr: 1, l2: 0.001}]`.
 */
export function grid<const S extends Readonly<Record<string, GridAxis>>>(space: S): readonly Item<S>[] {
  const keys = Object.keys(space);
  if (keys.length === 0) invalid('grid({}) has no parameters; give at least one, e.g. grid({ lr: [0.01, 0.1] })');
  const axes = keys.map((k) => {
    const axis = space[k];
    if (Array.isArray(axis)) {
      if (axis.length === 0) invalid(`grid: '${k}' is an empty list, which would make an empty sweep; give at least one value`);
      return axis as readonly unknown[];
    }
    if (isDistribution(axis)) {
      if (!axis.values) invalid(`grid: '${k}' is ${axis.describe}, a continuous distribution; a grid needs a list, choice() or intRange() (use random() to sample it)`);
      return axis.values;
    }
    return invalid(`grid: '${k}' must be a list of values, choice() or intRange()`);
  });
  let items: Record<string, unknown>[] = [{}];
  keys.forEach((k, i) => {
    const next: Record<string, unknown>[] = [];
    for (const partial of items) for (const v of axes[i]) next.push({ ...partial, [k]: v });
    items = next;
  });
  return items as unknown as readonly Item<S>[];
}

export interface RandomOptions {
  /** How many trials to draw. */
  readonly trials: number;
  /** Seed of the built-in generator (mulberry32). Ignored when `rng` is given. Default 0. */
  readonly seed?: number;
  /** Your own uniform source in [0, 1), instead of the seeded one. */
  readonly rng?: Rng;
  /**
   * Significant digits kept of continuous values (default 6), so that command lines and
   * params stay readable: 0.000316228 rather than 0.00031622776601683794. 0 keeps them all.
   */
  readonly digits?: number;
}

/**
 * `trials` independent draws from the space. A key may also hold a plain list (a uniform
 * choice among its values) or a fixed value that is not a list (copied into every item).
 */
export function random<const S extends Readonly<Record<string, Distribution<unknown> | readonly unknown[]>>>(
  space: S,
  opts: RandomOptions,
): readonly Item<S>[] {
  if (!Number.isInteger(opts.trials) || opts.trials < 1) invalid(`random: trials must be a whole number ≥ 1, got ${String(opts.trials)}`);
  const digits = opts.digits ?? 6;
  if (!Number.isInteger(digits) || digits < 0 || digits > 17) invalid(`random: digits must be a whole number from 0 to 17, got ${String(digits)}`);
  const keys = Object.keys(space);
  if (keys.length === 0) invalid('random({}) has no parameters; give at least one, e.g. random({ lr: logUniform(1e-4, 1) }, { trials: 8 })');
  const dists = keys.map((k) => {
    const v = space[k];
    if (isDistribution(v)) return v;
    if (Array.isArray(v)) return choice(v);
    return invalid(`random: '${k}' must be a distribution (uniform, logUniform, choice, intRange) or a list`);
  });
  const rng = opts.rng ?? seededRng(opts.seed ?? 0);
  const out: Record<string, unknown>[] = [];
  for (let t = 0; t < opts.trials; t++) {
    const item: Record<string, unknown> = {};
    keys.forEach((k, i) => {
      const d = dists[i];
      const v = d.sample(rng);
      item[k] = digits > 0 && (d.kind === 'uniform' || d.kind === 'log_uniform') ? roundSignificant(v as number, digits) : v;
    });
    out.push(item);
  }
  return out as unknown as readonly Item<S>[];
}

/** `v` rounded to `digits` significant digits. */
export function roundSignificant(v: number, digits: number): number {
  if (v === 0 || !Number.isFinite(v)) return v;
  return Number(v.toPrecision(digits));
}

/**
 * A small deterministic generator (mulberry32): the same seed gives the same sequence on
 * every machine. Good enough for sampling hyperparameters; not for cryptography.
 */
export function seededRng(seed: number): Rng {
  if (!Number.isFinite(seed)) invalid(`seed must be a finite number, got ${String(seed)}`);
  let s = Math.trunc(seed) >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
