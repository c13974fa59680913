/**
 * Cost accounting. Pure: each try's resources × wall time give its CPU-, memory- and
 * GPU-hours; an optional price table turns them into money, summed per run, DAG, pool (team)
 * or sweep. Failed tries count: they used the machine all the same. Their share is reported
 * separately so "what did failures cost us" has an answer.
 *
 *   cpuHours      = cpu cores × wall hours
 *   memoryGibHours = memory GiB × wall hours
 *   gpuHours      = GPUs × wall hours
 *   cost          = cpuHours × cpuHour + memoryGibHours × memoryGibHour + gpuHours × gpuHour(type)
 *
 * Wall time runs from the try's start to its end (or to `now` for a try still running); a try
 * that never started (queued, then cancelled) used nothing.
 */
import { TrainyardError } from '../core/errors.js';
import { parseCpu, parseMemoryMb } from '../sdk/quantity.js';

/** What a try asked for: numbers, or Kubernetes quantities ("500m", "2Gi"). */
export interface TryResources {
  /** Cores (default 1, what the local executor assumes for a task that declares none). */
  readonly cpu?: number | string;
  /** Memory: MiB as a number, or a quantity such as "512Mi" (default 0). */
  readonly memory?: number | string;
  readonly gpu?: number;
  /** GPU model, for a per-model GPU price ("a100", "h100"). */
  readonly gpuType?: string;
}

/** One try, as the store records it. */
export interface TryRecord {
  readonly dagId: string;
  readonly runId: string;
  readonly taskId: string;
  readonly mapIndex: number;
  readonly tryNumber: number;
  readonly pool?: string;
  /** The sweep (mapped task) it belongs to; by default `<dagId>/<runId>/<taskId>` when mapIndex ≥ 0. */
  readonly sweep?: string;
  /** Epoch ms; null when it never started. */
  readonly startDate: number | null;
  /** Epoch ms; null while it runs. */
  readonly endDate: number | null;
  /** True when the try failed (any failure class but early_stopped). */
  readonly failed: boolean;
  readonly resources?: TryResources;
}

export interface Usage {
  readonly wallHours: number;
  readonly cpuHours: number;
  readonly memoryGibHours: number;
  readonly gpuHours: number;
}

/** Prices per hour, in one currency. Every field is optional: a missing price counts 0. */
export interface PriceTable {
  readonly currency?: string;
  readonly cpuHour?: number;
  readonly memoryGibHour?: number;
  /** One price for every GPU, or a price per GPU type with an optional `default`. */
  readonly gpuHour?: number | Readonly<Record<string, number>>;
}

const HOUR_MS = 3_600_000;

function invalid(message: string): never {
  throw new TrainyardError('COST_INPUT_INVALID', message);
}

/** Checks a price table (from config); throws a clear error naming the bad entry. */
export function validatePriceTable(p: PriceTable): void {
  const check = (what: string, v: unknown) => {
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) invalid(`price table: ${what} must be a number ≥ 0, got ${JSON.stringify(v)}`);
  };
  check('cpuHour', p.cpuHour);
  check('memoryGibHour', p.memoryGibHour);
  if (typeof p.gpuHour === 'object' && p.gpuHour !== null) {
    for (const [k, v] of Object.entries(p.gpuHour)) check(`gpuHour.${k}`, v);
  } else check('gpuHour', p.gpuHour);
}

/** A try's resources × wall time. `now` ends a try that is still running. */
export function tryUsage(t: TryRecord, now: number): Usage {
  if (t.startDate === null) return { wallHours: 0, cpuHours: 0, memoryGibHours: 0, gpuHours: 0 };
  const end = t.endDate ?? now;
  const wallHours = Math.max(0, end - t.startDate) / HOUR_MS;
  const r = t.resources ?? {};
  const cpu = r.cpu === undefined ? 1 : parseCpu(r.cpu);
  const memGib = r.memory === undefined ? 0 : parseMemoryMb(r.memory) / 1024;
  const gpu = r.gpu ?? 0;
  if (!(cpu >= 0) || !(memGib >= 0) || !(gpu >= 0)) invalid(`try ${tryLabel(t)}: resources must not be negative`);
  return { wallHours, cpuHours: cpu * wallHours, memoryGibHours: memGib * wallHours, gpuHours: gpu * wallHours };
}

function gpuPrice(p: PriceTable, type: string | undefined): number {
  if (p.gpuHour === undefined) return 0;
  if (typeof p.gpuHour === 'number') return p.gpuHour;
  if (type !== undefined && p.gpuHour[type] !== undefined) return p.gpuHour[type];
  return p.gpuHour.default ?? 0;
}

/** The money a usage costs under a price table. */
export function usageCost(u: Usage, prices: PriceTable, gpuType?: string): number {
  return u.cpuHours * (prices.cpuHour ?? 0) + u.memoryGibHours * (prices.memoryGibHour ?? 0) + u.gpuHours * gpuPrice(prices, gpuType);
}

export type CostGroup = 'run' | 'dag' | 'pool' | 'sweep' | 'task';

export interface CostRow extends Usage {
  /** The group's key: `dag/run` for runs, the DAG id, the pool, `dag/run/task` for sweeps and tasks. */
  readonly key: string;
  readonly tries: number;
  readonly failedTries: number;
  /** Usage of the failed tries alone (already included in the totals). */
  readonly failed: Usage;
  /** Present when a price table was given. */
  readonly cost?: number;
  readonly failedCost?: number;
  readonly currency?: string;
}

function groupKey(t: TryRecord, by: CostGroup): string | undefined {
  switch (by) {
    case 'run':
      return `${t.dagId}/${t.runId}`;
    case 'dag':
      return t.dagId;
    case 'pool':
      return t.pool ?? 'default_pool';
    case 'task':
      return `${t.dagId}/${t.runId}/${t.taskId}`;
    case 'sweep':
      return t.sweep ?? (t.mapIndex >= 0 ? `${t.dagId}/${t.runId}/${t.taskId}` : undefined);
  }
}

function tryLabel(t: TryRecord): string {
  return `${t.dagId}/${t.runId}/${t.taskId}${t.mapIndex >= 0 ? `[${t.mapIndex}]` : ''}#${t.tryNumber}`;
}

const zero: Usage = { wallHours: 0, cpuHours: 0, memoryGibHours: 0, gpuHours: 0 };
const add = (a: Usage, b: Usage): Usage => ({
  wallHours: a.wallHours + b.wallHours,
  cpuHours: a.cpuHours + b.cpuHours,
  memoryGibHours: a.memoryGibHours + b.memoryGibHours,
  gpuHours: a.gpuHours + b.gpuHours,
});

/**
 * Sums tries per group, sorted by key. Tries with no key for the group (an unmapped task when
 * grouping by sweep) are left out. With a price table, each row also has its cost and the
 * cost of its failed tries.
 */
export function summarizeCost(tries: Iterable<TryRecord>, by: CostGroup, opts: { now: number; prices?: PriceTable }): CostRow[] {
  if (opts.prices) validatePriceTable(opts.prices);
  const groups = new Map<string, { usage: Usage; failed: Usage; tries: number; failedTries: number; cost: number; failedCost: number }>();
  for (const t of tries) {
    const key = groupKey(t, by);
    if (key === undefined) continue;
    const u = tryUsage(t, opts.now);
    const c = opts.prices ? usageCost(u, opts.prices, t.resources?.gpuType) : 0;
    const g = groups.get(key) ?? { usage: zero, failed: zero, tries: 0, failedTries: 0, cost: 0, failedCost: 0 };
    g.usage = add(g.usage, u);
    g.tries++;
    g.cost += c;
    if (t.failed) {
      g.failed = add(g.failed, u);
      g.failedTries++;
      g.failedCost += c;
    }
    groups.set(key, g);
  }
  return [...groups.keys()].sort().map((key) => {
    const g = groups.get(key)!;
    const row: CostRow = { key, ...g.usage, tries: g.tries, failedTries: g.failedTries, failed: g.failed };
    return opts.prices ? { ...row, cost: g.cost, failedCost: g.failedCost, currency: opts.prices.currency } : row;
  });
}

/**
 * A price table from configuration (TRAINYARD_PRICES): JSON text, e.g.
 * `{"currency": "USD", "cpuHour": 0.04, "memoryGibHour": 0.005, "gpuHour": {"a100": 2.9, "default": 1.2}}`,
 * or the path of a file holding it. Throws an error naming the bad entry.
 */
export function parsePriceTable(raw: string, readFile: (path: string) => string): PriceTable {
  const text = raw.trim().startsWith('{') ? raw : readFile(raw.trim());
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return invalid(`price table: not valid JSON (${(e as Error).message}); write an object such as {"currency": "USD", "cpuHour": 0.04, "gpuHour": 2.5}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) invalid('price table: must be a JSON object such as {"currency": "USD", "cpuHour": 0.04}');
  const known = new Set(['currency', 'cpuHour', 'memoryGibHour', 'gpuHour']);
  for (const k of Object.keys(v as object)) if (!known.has(k)) invalid(`price table: unknown field '${k}'; the fields are currency, cpuHour, memoryGibHour and gpuHour`);
  const p = v as PriceTable;
  if (p.currency !== undefined && typeof p.currency !== 'string') invalid('price table: currency must be a string such as "USD"');
  validatePriceTable(p);
  return p;
}
