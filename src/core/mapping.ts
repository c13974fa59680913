/**
 * Dynamic task mapping: turn a task's MappingSpec and its resolved inputs into the list of
 * per-instance inputs. Item i becomes the task instance with map index i.
 *
 * - product: the cross product of the named lists, the first key varying slowest
 *   (Python's itertools.product order). Keys are taken in the order of `sources`.
 * - zip: position-wise. Unlike Airflow's `.zip()`, which silently truncates to the shortest
 *   list, lists of unequal length are an error (MAP_ZIP_LENGTH_MISMATCH): a silently shorter
 *   sweep is a bug that is hard to see.
 * - kwargs: the single source under key "kwargs" must be a list of plain objects; each object
 *   is one item.
 *
 * `partial` is merged into every item first, mapped values after (validation rejects a key
 * that is both partial and mapped, so the order only matters for unvalidated specs).
 * Literal sources are read directly; `resolve` is called for the other sources.
 * A mapping with no sources expands to no items (validation rejects it).
 */
import type { MapSource, MappingSpec } from './spec.js';

export type MappingErrorCode =
  | 'MAP_INPUT_NOT_LIST'
  | 'MAP_LENGTH_EXCEEDED'
  | 'MAP_ZIP_LENGTH_MISMATCH'
  | 'MAP_KWARGS_NOT_OBJECT';

export interface MappingError {
  ok: false;
  code: MappingErrorCode;
  message: string;
}

export type MappingExpansion = { ok: true; items: Record<string, unknown>[] } | MappingError;

export type MappingLength = { ok: true; length: number } | MappingError;

export type MapSourceResolver = (src: MapSource) => unknown;

/** The key under which a kwargs mapping keeps its single source. */
export const KWARGS_SOURCE_KEY = 'kwargs';

interface ResolvedLists {
  readonly keys: readonly string[];
  readonly lists: readonly (readonly unknown[])[];
}

/** How many task instances the mapping creates, without building the items. */
export function mapLength(
  spec: MappingSpec,
  resolve: MapSourceResolver,
  maxMapLength: number,
): MappingLength {
  const prepared = prepareMapping(spec, resolve, maxMapLength);
  return prepared.ok ? { ok: true, length: prepared.length } : prepared;
}

/** Expand a mapping into one input record per task instance, in map-index order. */
export function expandMapping(
  spec: MappingSpec,
  resolve: MapSourceResolver,
  maxMapLength: number,
): MappingExpansion {
  const prepared = prepareMapping(spec, resolve, maxMapLength);
  if (!prepared.ok) return prepared;
  const { keys, lists, length } = prepared;
  switch (spec.mode) {
    case 'product':
      return { ok: true, items: productItems(keys, lists, spec.partial, length) };
    case 'zip':
      return { ok: true, items: zipItems(keys, lists, spec.partial, length) };
    case 'kwargs':
      return { ok: true, items: kwargsItems(lists[0] ?? [], spec.partial) };
  }
}

/** Resolve every source once and check types, lengths and the limit. */
function prepareMapping(
  spec: MappingSpec,
  resolve: MapSourceResolver,
  maxMapLength: number,
): ({ ok: true; length: number } & ResolvedLists) | MappingError {
  const resolved = resolveLists(spec, resolve);
  if (!resolved.ok) return resolved;
  const counted = countItems(spec.mode, resolved.value);
  if (!counted.ok) return counted;
  const limited = checkLimit(counted.length, resolved.value.keys, maxMapLength);
  if (!limited.ok) return limited;
  if (spec.mode === 'kwargs') {
    const objects = checkKwargsObjects(resolved.value.lists[0] ?? []);
    if (!objects.ok) return objects;
  }
  return { ok: true, length: counted.length, ...resolved.value };
}

function resolveLists(
  spec: MappingSpec,
  resolve: MapSourceResolver,
): { ok: true; value: ResolvedLists } | MappingError {
  const keys = sourceKeys(spec);
  const lists: unknown[][] = [];
  for (const key of keys) {
    const value = readSource(spec.sources[key], resolve);
    if (!Array.isArray(value)) return notAList(key, value);
    lists.push(value);
  }
  return { ok: true, value: { keys, lists } };
}

function sourceKeys(spec: MappingSpec): string[] {
  if (spec.mode !== 'kwargs') return Object.keys(spec.sources);
  return Object.hasOwn(spec.sources, KWARGS_SOURCE_KEY) ? [KWARGS_SOURCE_KEY] : [];
}

function readSource(src: MapSource, resolve: MapSourceResolver): unknown {
  return src.kind === 'literal' ? src.values : resolve(src);
}

function notAList(key: string, value: unknown): MappingError {
  return {
    ok: false,
    code: 'MAP_INPUT_NOT_LIST',
    message:
      `Mapped input '${key}' must be a list, but got ${describeType(value)}. ` +
      `Return a JSON array from the upstream task, or wrap a single value in a list.`,
  };
}

/** A short name for a value's JSON type, for error messages. */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined (no value)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `a string (${JSON.stringify(truncate(value, 40))})`;
  return `a ${typeof value} (${String(value)})`;
}

function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max)}…`;
}

function countItems(
  mode: MappingSpec['mode'],
  { keys, lists }: ResolvedLists,
): { ok: true; length: number } | MappingError {
  if (lists.length === 0) return { ok: true, length: 0 };
  if (mode === 'product') return { ok: true, length: lists.reduce((n, l) => n * l.length, 1) };
  if (mode === 'kwargs') return { ok: true, length: lists[0].length };
  const lengths = lists.map((l) => l.length);
  if (lengths.some((n) => n !== lengths[0])) return zipMismatch(keys, lengths);
  return { ok: true, length: lengths[0] };
}

function zipMismatch(keys: readonly string[], lengths: readonly number[]): MappingError {
  const described = keys.map((k, i) => `'${k}' has ${lengths[i]}`).join(', ');
  return {
    ok: false,
    code: 'MAP_ZIP_LENGTH_MISMATCH',
    message:
      `Zipped inputs must have the same length, but ${described}. ` +
      `Make the lists equal in length, or use mode 'product' for every combination.`,
  };
}

function checkLimit(
  length: number,
  keys: readonly string[],
  maxMapLength: number,
): { ok: true } | MappingError {
  if (length <= maxMapLength) return { ok: true };
  const named = keys.map((k) => `'${k}'`).join(', ');
  return {
    ok: false,
    code: 'MAP_LENGTH_EXCEEDED',
    message:
      `Mapping over ${named} would create ${length} task instances, more than the limit of ` +
      `${maxMapLength}. Reduce the inputs, or raise the task's maxMapLength option.`,
  };
}

function checkKwargsObjects(list: readonly unknown[]): { ok: true } | MappingError {
  const index = list.findIndex((v) => !isPlainObject(v));
  if (index < 0) return { ok: true };
  return {
    ok: false,
    code: 'MAP_KWARGS_NOT_OBJECT',
    message:
      `Mapped kwargs must be a list of objects, but item ${index} is ` +
      `${describeType(list[index])}. Make each item an object of named inputs.`,
  };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

function productItems(
  keys: readonly string[],
  lists: readonly (readonly unknown[])[],
  partial: Readonly<Record<string, unknown>>,
  length: number,
): Record<string, unknown>[] {
  const items: Record<string, unknown>[] = [];
  for (let index = 0; index < length; index++) {
    const positions = productPositions(index, lists);
    const item: Record<string, unknown> = { ...partial };
    keys.forEach((key, k) => {
      item[key] = lists[k][positions[k]];
    });
    items.push(item);
  }
  return items;
}

/** The position in each list of the index-th combination; the last list varies fastest. */
function productPositions(index: number, lists: readonly (readonly unknown[])[]): number[] {
  const positions = new Array<number>(lists.length);
  let rest = index;
  for (let k = lists.length - 1; k >= 0; k--) {
    positions[k] = rest % lists[k].length;
    rest = Math.floor(rest / lists[k].length);
  }
  return positions;
}

function zipItems(
  keys: readonly string[],
  lists: readonly (readonly unknown[])[],
  partial: Readonly<Record<string, unknown>>,
  length: number,
): Record<string, unknown>[] {
  const items: Record<string, unknown>[] = [];
  for (let index = 0; index < length; index++) {
    const item: Record<string, unknown> = { ...partial };
    keys.forEach((key, k) => {
      item[key] = lists[k][index];
    });
    items.push(item);
  }
  return items;
}

function kwargsItems(
  list: readonly unknown[],
  partial: Readonly<Record<string, unknown>>,
): Record<string, unknown>[] {
  return list.map((obj) => ({ ...partial, ...(obj as Record<string, unknown>) }));
}
