/**
 * The model registry: named models with numbered versions, aliases that move between
 * versions with a recorded history, and gated promotion.
 *
 * - A version records the artifact URI, metrics, params and lineage: the DAG, run, task, map
 *   index and try that made it, the run's logical date, data interval and ds, the DAG version
 *   hash, and the image digest when there is one. Given a DAG and run id, the rest of the
 *   lineage is read from the run.
 * - An alias (`staging`, `production`, or any other lower-case name) points at one version.
 *   Every move is recorded: who, when, from which version to which.
 * - `archived` is not a pointer but a mark: archiving a version removes the aliases that point
 *   at it (recorded) and flags it. Promoting an archived version to an alias unarchives it.
 * - A gated promotion moves the alias only if the candidate's metric beats the version that
 *   holds the baseline alias (`production` by default) by at least the margin:
 *   candidate − baseline ≥ margin when maximising, baseline − candidate ≥ margin when
 *   minimising. With no baseline version the candidate is promoted. Either way the decision,
 *   both figures and the reason are recorded as a `promotion_decision`.
 */
import { TrainyardError } from '../core/errors.js';
import { MlStore, type ModelAliasHistoryRow, type ModelVersionRow, type PromotionDecisionRow } from '../store/ml-store.js';
import type { Store } from '../store/store.js';

export const MODEL_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
export const ALIAS_RE = /^[a-z][a-z0-9_-]{0,63}$/;
/** Aliases that name versions in references (`name@latest`, `name@v3`), so cannot be set. */
const RESERVED_ALIAS = /^(latest|v\d+)$/;
export const ARCHIVED = 'archived';

export interface Lineage {
  readonly dagId?: string;
  readonly runId?: string;
  readonly taskId?: string;
  readonly mapIndex?: number;
  readonly tryNumber?: number;
  /** Epoch ms. */
  readonly logicalDate?: number;
  readonly dataIntervalStart?: number;
  readonly dataIntervalEnd?: number;
  readonly ds?: string;
  readonly dagVersionHash?: string;
  readonly imageDigest?: string;
}

export interface RegisterInput {
  readonly name: string;
  /** Where the model is: `file:///…`, `s3://…`, or any URI the serving side understands. */
  readonly uri: string;
  readonly metrics?: Readonly<Record<string, number>>;
  readonly params?: Readonly<Record<string, unknown>>;
  readonly description?: string;
  readonly lineage?: Lineage;
  /** Who registers it: a user name, or `task:<dag>/<run>/<task>[<map>]#<try>`. */
  readonly actor?: string;
  /** Also point these aliases at the new version (no gate). */
  readonly aliases?: readonly string[];
}

export interface ModelVersion {
  readonly name: string;
  readonly version: number;
  readonly uri: string;
  readonly metrics: Readonly<Record<string, number>>;
  readonly params: Readonly<Record<string, unknown>>;
  readonly description: string | null;
  readonly archived: boolean;
  readonly lineage: Lineage;
  readonly createdBy: string;
  readonly createdAt: number;
  /** Aliases pointing at this version now. */
  readonly aliases: readonly string[];
}

export interface PromotionGate {
  readonly metric: string;
  /** Whether a larger value is better (default 'max'). */
  readonly direction?: 'min' | 'max';
  /** How much better the candidate must be (default 0: a tie passes). */
  readonly margin?: number;
  /** The alias whose version is the baseline (default 'production'). */
  readonly against?: string;
}

export interface PromoteInput {
  readonly name: string;
  readonly version: number;
  readonly alias: string;
  readonly gate?: PromotionGate;
  readonly actor?: string;
  readonly note?: string;
}

export interface PromotionResult {
  readonly name: string;
  readonly version: number;
  readonly alias: string;
  readonly promoted: boolean;
  /** Plain words: why it was or was not promoted. */
  readonly reason: string;
  /** The version the alias pointed at before (null when unset). */
  readonly previous: number | null;
  /** The gate's recorded decision, when there was a gate. */
  readonly decision?: PromotionDecisionRow;
}

export interface ModelDetail {
  readonly name: string;
  readonly description: string | null;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly versions: readonly ModelVersion[];
  readonly aliases: Readonly<Record<string, number>>;
  readonly history: readonly ModelAliasHistoryRow[];
  readonly decisions: readonly PromotionDecisionRow[];
}

function fail(code: string, message: string): never {
  throw new TrainyardError(code, message);
}

export function checkModelName(name: string): void {
  if (typeof name !== 'string' || !MODEL_NAME_RE.test(name)) {
    fail('MODEL_NAME_INVALID', `invalid model name '${String(name)}': use 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  }
}

export function checkAlias(alias: string): void {
  if (typeof alias !== 'string' || !ALIAS_RE.test(alias)) {
    fail('MODEL_ALIAS_INVALID', `invalid alias '${String(alias)}': use lower-case letters, digits, '_' or '-', starting with a letter (e.g. staging, production, archived)`);
  }
  if (RESERVED_ALIAS.test(alias)) fail('MODEL_ALIAS_INVALID', `'${alias}' cannot be an alias: 'latest' and 'v<N>' name versions in references`);
}

function checkMetrics(metrics: Readonly<Record<string, unknown>>): void {
  if (typeof metrics !== 'object' || metrics === null || Array.isArray(metrics)) fail('MODEL_METRICS_INVALID', 'metrics must be an object of metric name → number');
  for (const [k, v] of Object.entries(metrics)) {
    if (typeof v !== 'number' || !Number.isFinite(v)) fail('MODEL_METRICS_INVALID', `metric '${k}' must be a finite number, got ${JSON.stringify(v)}`);
  }
}

const nz = <T>(v: T | undefined | null): T | null => (v === undefined ? null : v);

/** Runs `fn` in a transaction, again when a concurrent writer took the same sequence number. */
async function inTransaction<T>(store: Store, fn: (ml: MlStore) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await store.transaction((tx) => fn(new MlStore(tx)));
    } catch (e) {
      const msg = String((e as Error)?.message ?? e);
      const conflict = /unique|duplicate key|UNIQUE constraint|SQLITE_BUSY|could not serialize/i.test(msg) && !(e instanceof TrainyardError);
      if (!conflict || attempt >= 5) throw e;
    }
  }
}

/** Lineage completed from the DAG run: logical date, data interval, ds and version hash. */
async function completeLineage(store: Store, l: Lineage | undefined): Promise<Lineage> {
  if (!l?.dagId || !l.runId) return l ?? {};
  const run = await store.db
    .selectFrom('dag_run')
    .select(['logical_date', 'data_interval_start', 'data_interval_end', 'version_hash'])
    .where('dag_id', '=', l.dagId)
    .where('run_id', '=', l.runId)
    .executeTakeFirst();
  if (!run) return l;
  const logical = l.logicalDate ?? Number(run.logical_date);
  return {
    ...l,
    logicalDate: logical,
    dataIntervalStart: l.dataIntervalStart ?? Number(run.data_interval_start),
    dataIntervalEnd: l.dataIntervalEnd ?? Number(run.data_interval_end),
    ds: l.ds ?? new Date(logical).toISOString().slice(0, 10),
    dagVersionHash: l.dagVersionHash ?? run.version_hash,
  };
}

/** Registers a new version of `name` (created on first use). Its number is one more than the highest. */
export async function register(store: Store, input: RegisterInput, now: number): Promise<ModelVersion> {
  checkModelName(input.name);
  if (typeof input.uri !== 'string' || input.uri.trim() === '') fail('MODEL_URI_INVALID', `model '${input.name}': the artifact URI is empty; pass where the model is, e.g. file:///…/model.json or s3://bucket/key`);
  const metrics = input.metrics ?? {};
  checkMetrics(metrics);
  for (const a of input.aliases ?? []) {
    checkAlias(a);
    if (a === ARCHIVED) fail('MODEL_ALIAS_INVALID', 'a new version cannot be registered as archived');
  }
  const lineage = await completeLineage(store, input.lineage);
  const actor = input.actor ?? 'unknown';
  const version = await inTransaction(store, async (ml) => {
    // Upserting the model row first serialises registrations of one model (a row lock on Postgres).
    await ml.ensureModel(input.name, now);
    const next = (await ml.maxVersion(input.name)) + 1;
    const ok = await ml.insertVersion({
      name: input.name,
      version: next,
      uri: input.uri,
      metrics: JSON.stringify(metrics),
      params: JSON.stringify(input.params ?? {}),
      description: nz(input.description),
      archived: 0,
      dag_id: nz(lineage.dagId),
      run_id: nz(lineage.runId),
      task_id: nz(lineage.taskId),
      map_index: nz(lineage.mapIndex),
      try_number: nz(lineage.tryNumber),
      logical_date: nz(lineage.logicalDate),
      data_interval_start: nz(lineage.dataIntervalStart),
      data_interval_end: nz(lineage.dataIntervalEnd),
      ds: nz(lineage.ds),
      dag_version_hash: nz(lineage.dagVersionHash),
      image_digest: nz(lineage.imageDigest),
      created_by: actor,
      created_at: now,
    });
    if (!ok) throw new Error(`unique: version ${next} of ${input.name} was taken`);
    for (const a of input.aliases ?? []) await ml.moveAlias(input.name, a, next, actor, now, 'set at registration');
    return next;
  });
  return (await getVersion(store, input.name, version))!;
}

function toVersion(row: ModelVersionRow, aliases: readonly string[]): ModelVersion {
  const lineage: Record<string, unknown> = {
    dagId: row.dag_id,
    runId: row.run_id,
    taskId: row.task_id,
    mapIndex: row.map_index === null ? null : Number(row.map_index),
    tryNumber: row.try_number === null ? null : Number(row.try_number),
    logicalDate: row.logical_date === null ? null : Number(row.logical_date),
    dataIntervalStart: row.data_interval_start === null ? null : Number(row.data_interval_start),
    dataIntervalEnd: row.data_interval_end === null ? null : Number(row.data_interval_end),
    ds: row.ds,
    dagVersionHash: row.dag_version_hash,
    imageDigest: row.image_digest,
  };
  return {
    name: row.name,
    version: Number(row.version),
    uri: row.uri,
    metrics: JSON.parse(row.metrics) as Record<string, number>,
    params: JSON.parse(row.params) as Record<string, unknown>,
    description: row.description,
    archived: Number(row.archived) === 1,
    lineage: Object.fromEntries(Object.entries(lineage).filter(([, v]) => v !== null)) as Lineage,
    createdBy: row.created_by,
    createdAt: Number(row.created_at),
    aliases,
  };
}

export async function getVersion(store: Store, name: string, version: number): Promise<ModelVersion | undefined> {
  const ml = new MlStore(store);
  const row = await ml.getVersion(name, version);
  if (!row) return undefined;
  const aliases = (await ml.listAliases(name)).filter((a) => Number(a.version) === version).map((a) => a.alias);
  return toVersion(row, aliases);
}

/** A model with every version, its aliases, their history and the promotion decisions. */
export async function describeModel(store: Store, name: string): Promise<ModelDetail> {
  const ml = new MlStore(store);
  const model = await ml.getModel(name);
  if (!model) return notFound(ml, name);
  const [rows, aliasRows, history, decisions] = await Promise.all([ml.listVersions(name), ml.listAliases(name), ml.aliasHistory(name), ml.listDecisions(name)]);
  const aliases = Object.fromEntries(aliasRows.map((a) => [a.alias, Number(a.version)]));
  return {
    name,
    description: model.description,
    createdAt: Number(model.created_at),
    updatedAt: Number(model.updated_at),
    versions: rows.map((r) => toVersion(r, aliasRows.filter((a) => Number(a.version) === Number(r.version)).map((a) => a.alias))),
    aliases,
    history,
    decisions,
  };
}

/**
 * Resolves a reference to a version: `name` or `name@latest` (the highest version),
 * `name@<alias>`, `name@v3` or `name/3`.
 */
export async function resolveVersion(store: Store, ref: string): Promise<ModelVersion> {
  const m = /^([^@/]+)(?:@([A-Za-z0-9_-]+)|\/(\d+))?$/.exec(ref);
  if (!m) fail('MODEL_REF_INVALID', `invalid model reference '${ref}': use NAME, NAME@ALIAS, NAME@latest, NAME@vN or NAME/N`);
  const [, name, alias, num] = m;
  const ml = new MlStore(store);
  if (!(await ml.getModel(name))) return notFound(ml, name);
  let version: number;
  if (num) version = Number(num);
  else if (!alias || alias === 'latest') version = await ml.maxVersion(name);
  else if (/^v\d+$/.test(alias)) version = Number(alias.slice(1));
  else {
    const a = await ml.getAlias(name, alias);
    if (!a) {
      const have = (await ml.listAliases(name)).map((x) => x.alias);
      fail('MODEL_ALIAS_NOT_FOUND', `model '${name}' has no version with alias '${alias}'; ${have.length ? `its aliases are ${have.join(', ')}` : 'it has no aliases yet'}`);
    }
    version = Number(a.version);
  }
  const v = await getVersion(store, name, version);
  if (!v) return versionNotFound(ml, name, version);
  return v;
}

async function notFound(ml: MlStore, name: string): Promise<never> {
  const names = (await ml.listModels()).map((m) => m.name);
  const list = names.length === 0 ? 'no models are registered yet' : `registered models: ${names.slice(0, 20).join(', ')}${names.length > 20 ? `, … (${names.length} in all)` : ''}`;
  return fail('MODEL_NOT_FOUND', `model '${name}' does not exist; ${list}`);
}

async function versionNotFound(ml: MlStore, name: string, version: number): Promise<never> {
  const versions = await ml.versionNumbers(name);
  return fail(
    'MODEL_VERSION_NOT_FOUND',
    `model '${name}' has no version ${version}; ${versions.length ? `its versions are ${compactList(versions)}` : 'it has no versions yet'}`,
  );
}

/** 1, 2, 3, 5, 7, 8, 9 → "1-3, 5, 7-9". */
function compactList(ns: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < ns.length; ) {
    let j = i;
    while (j + 1 < ns.length && ns[j + 1] === ns[j] + 1) j++;
    parts.push(j - i >= 2 ? `${ns[i]}-${ns[j]}` : ns.slice(i, j + 1).join(', '));
    i = j + 1;
  }
  return parts.join(', ');
}

function metricOf(v: ModelVersionRow, metric: string, role: string): number {
  const metrics = JSON.parse(v.metrics) as Record<string, number>;
  const value = metrics[metric];
  if (typeof value !== 'number') {
    const have = Object.keys(metrics).sort();
    fail(
      'UNKNOWN_METRIC',
      `the gate's metric '${metric}' is not recorded on model '${v.name}' version ${Number(v.version)} (the ${role}); ${have.length ? `its metrics are ${have.join(', ')}` : 'it has no metrics'}`,
    );
  }
  return value;
}

/**
 * Points `alias` at a version, or archives it (`alias: 'archived'`). With a gate, only when
 * the candidate's metric beats the baseline's by the margin; the decision is recorded either
 * way. Errors: a model or version that does not exist (the message lists those that do), an
 * unknown metric, a bad alias or gate.
 */
export async function promote(store: Store, input: PromoteInput, now: number): Promise<PromotionResult> {
  const { name, version, alias, gate } = input;
  checkModelName(name);
  checkAlias(alias);
  if (!Number.isInteger(version) || version < 1) fail('MODEL_VERSION_INVALID', `version must be a whole number ≥ 1, got ${String(version)}`);
  if (gate) {
    if (typeof gate.metric !== 'string' || gate.metric === '') fail('PROMOTION_GATE_INVALID', 'the gate needs a metric name');
    if (gate.direction !== undefined && gate.direction !== 'min' && gate.direction !== 'max') fail('PROMOTION_GATE_INVALID', `the gate's direction must be 'min' or 'max', got '${String(gate.direction)}'`);
    if (gate.margin !== undefined && (!Number.isFinite(gate.margin) || gate.margin < 0)) fail('PROMOTION_GATE_INVALID', `the gate's margin must be a number ≥ 0, got ${String(gate.margin)}`);
    if (gate.against !== undefined) checkAlias(gate.against);
    if (alias === ARCHIVED) fail('PROMOTION_GATE_INVALID', 'archiving takes no gate');
  }
  const actor = input.actor ?? 'unknown';
  return inTransaction(store, async (ml) => {
    if (!(await ml.getModel(name))) return notFound(ml, name);
    // Touching the model row serialises promotions of one model.
    await ml.ensureModel(name, now);
    const candidate = await ml.getVersion(name, version);
    if (!candidate) return versionNotFound(ml, name, version);
    const current = await ml.getAlias(name, alias);
    const previous = current ? Number(current.version) : null;

    if (alias === ARCHIVED) {
      if (Number(candidate.archived) === 1) return { name, version, alias, promoted: false, reason: `version ${version} is already archived`, previous: null };
      for (const a of await ml.listAliases(name)) {
        if (Number(a.version) === version) await ml.moveAlias(name, a.alias, null, actor, now, `version ${version} archived`);
      }
      await ml.setArchived(name, version, true);
      await ml.addHistory({ name, alias: ARCHIVED, from_version: null, to_version: version, actor, at: now, note: input.note ?? null });
      return { name, version, alias, promoted: true, reason: `version ${version} archived`, previous: null };
    }

    let decision: PromotionDecisionRow | undefined;
    let reason: string;
    if (gate) {
      const direction = gate.direction ?? 'max';
      const margin = gate.margin ?? 0;
      const against = gate.against ?? 'production';
      const candidateValue = metricOf(candidate, gate.metric, 'candidate');
      const base = await ml.getAlias(name, against);
      const baseRow = base ? await ml.getVersion(name, Number(base.version)) : undefined;
      let promoted: boolean;
      let baselineValue: number | null = null;
      if (!baseRow) {
        promoted = true;
        reason = `no version holds '${against}' yet, so there is nothing to beat; ${gate.metric} = ${candidateValue}`;
      } else if (Number(baseRow.version) === version) {
        baselineValue = candidateValue;
        promoted = true;
        reason = `version ${version} is itself the '${against}' version`;
      } else {
        baselineValue = metricOf(baseRow, gate.metric, `'${against}' baseline`);
        const improvement = direction === 'max' ? candidateValue - baselineValue : baselineValue - candidateValue;
        // A tolerance for binary floating point: 0.95 − 0.94 is 0.0099999…, which should pass a 0.01 margin.
        promoted = improvement >= margin - 1e-12;
        const rel = `${gate.metric} ${candidateValue} vs ${baselineValue} of version ${Number(baseRow.version)} ('${against}')`;
        reason = promoted
          ? `${rel}: ${direction === 'max' ? 'higher' : 'lower'} by ${fmt(improvement)}, at least the margin ${margin}`
          : `${rel}: ${improvement >= 0 ? `${direction === 'max' ? 'higher' : 'lower'} by only ${fmt(improvement)}` : `${direction === 'max' ? 'lower' : 'higher'} by ${fmt(-improvement)}`}, short of the margin ${margin}`;
      }
      decision = await ml.addDecision({
        name,
        version,
        alias,
        metric: gate.metric,
        direction,
        margin,
        candidate_value: candidateValue,
        baseline_alias: against,
        baseline_version: baseRow ? Number(baseRow.version) : null,
        baseline_value: baselineValue,
        decision: promoted ? 'promoted' : 'rejected',
        reason,
        actor,
        at: now,
      });
      if (!promoted) return { name, version, alias, promoted: false, reason, previous, decision };
    } else {
      reason = previous === version ? `version ${version} already holds '${alias}'` : `'${alias}' moved from ${previous === null ? 'no version' : `version ${previous}`} to version ${version}`;
    }
    if (Number(candidate.archived) === 1) await ml.setArchived(name, version, false);
    await ml.moveAlias(name, alias, version, actor, now, input.note ?? (decision ? `gate: ${decision.reason}` : null));
    return { name, version, alias, promoted: true, reason, previous, decision };
  });
}

function fmt(n: number): string {
  return String(Number(n.toPrecision(6)));
}

/** Every model with its latest version number, version count and aliases. */
export function listModels(store: Store) {
  return new MlStore(store).listModels();
}
