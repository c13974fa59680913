/** The model registry over the API: models, versions with lineage, aliases with history, gated promotion. */
import { TrainyardError } from '../../core/errors.js';
import { describeModel, getVersion, listModels, type ModelVersion as Version, promote } from '../../ml/registry.js';
import type { ModelAliasHistoryRow, PromotionDecisionRow } from '../../store/ml-store.js';
import { MlStore } from '../../store/ml-store.js';
import { invalid, notFound } from '../errors.js';
import { ModelAliases, ModelDetail, ModelList, modelPath, ModelVersion, ModelVersionList, PromoteBody, PromotionResult, versionPath } from '../ml-schemas.js';
import { route } from '../route.js';
import { iso } from '../views.js';

const TAG = 'Models';

export function versionView(v: Version) {
  const l = v.lineage;
  return {
    name: v.name,
    version: v.version,
    uri: v.uri,
    metrics: v.metrics,
    params: v.params,
    description: v.description,
    archived: v.archived,
    aliases: [...v.aliases],
    lineage: {
      dag_id: l.dagId ?? null,
      run_id: l.runId ?? null,
      task_id: l.taskId ?? null,
      map_index: l.mapIndex ?? null,
      try_number: l.tryNumber ?? null,
      logical_date: iso(l.logicalDate),
      data_interval_start: iso(l.dataIntervalStart),
      data_interval_end: iso(l.dataIntervalEnd),
      ds: l.ds ?? null,
      dag_version_hash: l.dagVersionHash ?? null,
      image_digest: l.imageDigest ?? null,
    },
    created_by: v.createdBy,
    created_at: iso(v.createdAt)!,
  };
}

const historyView = (h: ModelAliasHistoryRow) => ({
  seq: Number(h.seq),
  alias: h.alias,
  from_version: h.from_version === null ? null : Number(h.from_version),
  to_version: h.to_version === null ? null : Number(h.to_version),
  actor: h.actor,
  at: iso(h.at)!,
  note: h.note,
});

const decisionView = (d: PromotionDecisionRow) => ({
  seq: Number(d.seq),
  version: Number(d.version),
  alias: d.alias,
  metric: d.metric,
  direction: d.direction,
  margin: Number(d.margin),
  candidate_value: Number(d.candidate_value),
  baseline_alias: d.baseline_alias,
  baseline_version: d.baseline_version === null ? null : Number(d.baseline_version),
  baseline_value: d.baseline_value === null ? null : Number(d.baseline_value),
  decision: d.decision,
  reason: d.reason,
  actor: d.actor,
  at: iso(d.at)!,
});

/** Registry errors about the request's content → 400 naming the field; the rest pass through. */
function asFieldError(e: unknown): never {
  if (e instanceof TrainyardError) {
    const field = { UNKNOWN_METRIC: 'body.gate.metric', PROMOTION_GATE_INVALID: 'body.gate', MODEL_ALIAS_INVALID: 'body.alias' }[e.code];
    if (field) throw invalid(e.message, [{ field, reason: e.message }]);
  }
  throw e;
}

export const modelRoutes = [
  route({
    method: 'get',
    path: '/models',
    tag: TAG,
    summary: 'List registered models with their latest version and aliases',
    response: ModelList,
    handler: async ({ deps }) => {
      const models = await listModels(deps.store);
      const items = models.map((m) => ({
        name: m.name,
        description: m.description,
        latest_version: m.latest_version,
        versions: m.versions,
        aliases: Object.fromEntries(Object.entries(m.aliases).map(([a, v]) => [a, Number(v)])),
        created_at: iso(m.created_at)!,
        updated_at: iso(m.updated_at)!,
      }));
      return { items, total: items.length };
    },
  }),
  route({
    method: 'get',
    path: '/models/{name}',
    tag: TAG,
    summary: 'A model: every version, its aliases, their history and the promotion decisions',
    params: modelPath,
    response: ModelDetail,
    handler: async ({ deps, params }) => {
      const d = await describeModel(deps.store, params.name);
      return {
        name: d.name,
        description: d.description,
        created_at: iso(d.createdAt)!,
        updated_at: iso(d.updatedAt)!,
        versions: d.versions.map(versionView),
        aliases: d.aliases,
        history: d.history.map(historyView),
        decisions: d.decisions.map(decisionView),
      };
    },
  }),
  route({
    method: 'get',
    path: '/models/{name}/versions',
    tag: TAG,
    summary: "A model's versions: artifact URI, metrics, params and lineage",
    params: modelPath,
    response: ModelVersionList,
    handler: async ({ deps, params }) => {
      const d = await describeModel(deps.store, params.name);
      return { items: d.versions.map(versionView), total: d.versions.length };
    },
  }),
  route({
    method: 'get',
    path: '/models/{name}/versions/{version}',
    tag: TAG,
    summary: 'One version of a model',
    params: versionPath,
    response: ModelVersion,
    handler: async ({ deps, params }) => {
      const v = await getVersion(deps.store, params.name, params.version);
      if (v) return versionView(v);
      const d = await describeModel(deps.store, params.name);
      const have = d.versions.map((x) => x.version);
      throw notFound('MODEL_VERSION_NOT_FOUND', `model '${params.name}' has no version ${params.version}; ${have.length ? `its versions are ${have.join(', ')}` : 'it has no versions yet'}`);
    },
  }),
  route({
    method: 'get',
    path: '/models/{name}/aliases',
    tag: TAG,
    summary: "A model's aliases and every move they made",
    params: modelPath,
    response: ModelAliases,
    handler: async ({ deps, params }) => {
      const d = await describeModel(deps.store, params.name);
      const rows = await new MlStore(deps.store).listAliases(d.name);
      return {
        aliases: rows.map((a) => ({ alias: a.alias, version: Number(a.version), updated_by: a.updated_by, updated_at: iso(a.updated_at)! })),
        history: d.history.map(historyView),
      };
    },
  }),
  route({
    method: 'post',
    path: '/models/{name}/versions/{version}/promote',
    tag: TAG,
    summary: 'Point an alias at a version, or archive it; with a gate, only if it beats the baseline by the margin',
    description:
      'A gate compares `gate.metric` of this version with that of the version holding `gate.against` (default `production`). ' +
      'The decision, both figures and the margin are recorded either way; a rejected promotion answers 200 with `promoted: false`.',
    params: versionPath,
    body: PromoteBody,
    response: PromotionResult,
    handler: async ({ deps, params, body, principal, now }) => {
      if (body.gate && body.alias === 'archived') throw invalid('archiving takes no gate', [{ field: 'body.gate', reason: "leave out the gate when the alias is 'archived'" }]);
      const r = await promote(deps.store, { name: params.name, version: params.version, alias: body.alias, gate: body.gate, note: body.note, actor: principal?.username ?? 'unknown' }, now).catch(asFieldError);
      return { name: r.name, version: r.version, alias: r.alias, promoted: r.promoted, reason: r.reason, previous: r.previous, ...(r.decision ? { decision: decisionView(r.decision) } : {}) };
    },
  }),
];
