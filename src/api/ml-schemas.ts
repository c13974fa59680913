/**
 * Schemas of the ML endpoints (models, metric series and sweeps, cost), registered with the
 * same component registries as schemas.ts so they appear in the OpenAPI document by name.
 */
import { z } from 'zod';
import { ALIAS_RE, MODEL_NAME_RE } from '../ml/registry.js';
import { boolParam, intParam, isoTime, jsonObject, list, nullableTime, repeatable, requestSchema, responseSchema, runPath } from './schemas.js';

const numbers = z.record(z.string(), z.number());
const direction = z.enum(['min', 'max']);

// ---- models ----------------------------------------------------------------------------

const modelName = z.string().regex(MODEL_NAME_RE, "use 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit");
const alias = z
  .string()
  .regex(ALIAS_RE, "use lower-case letters, digits, '_' or '-', starting with a letter (e.g. staging, production, archived)")
  .refine((a) => !/^(latest|v\d+)$/.test(a), "'latest' and 'v<N>' name versions in references and cannot be aliases");

export const modelPath = z.strictObject({ name: modelName });
export const versionPath = z.strictObject({ name: modelName, version: intParam(1).describe('version number, from 1') });

export const ModelSummary = responseSchema(
  'ModelSummary',
  z.object({
    name: z.string(),
    description: z.string().nullable(),
    latest_version: z.number().int().nullable(),
    versions: z.number().int(),
    aliases: z.record(z.string(), z.number().int()).describe('alias → version'),
    created_at: isoTime,
    updated_at: isoTime,
  }),
);
export const ModelList = list('ModelList', ModelSummary);

export const Lineage = responseSchema(
  'ModelLineage',
  z.object({
    dag_id: z.string().nullable(),
    run_id: z.string().nullable(),
    task_id: z.string().nullable(),
    map_index: z.number().int().nullable(),
    try_number: z.number().int().nullable(),
    logical_date: nullableTime,
    data_interval_start: nullableTime,
    data_interval_end: nullableTime,
    ds: z.string().nullable(),
    dag_version_hash: z.string().nullable(),
    image_digest: z.string().nullable(),
  }),
  'Where a version came from: the DAG, run, task and try that made it, the run’s data interval, the DAG version and the image.',
);

export const ModelVersion = responseSchema(
  'ModelVersion',
  z.object({
    name: z.string(),
    version: z.number().int(),
    uri: z.string().describe('where the model artifact is'),
    metrics: numbers,
    params: jsonObject,
    description: z.string().nullable(),
    archived: z.boolean(),
    aliases: z.array(z.string()).describe('aliases pointing at this version now'),
    lineage: Lineage,
    created_by: z.string(),
    created_at: isoTime,
  }),
);
export const ModelVersionList = list('ModelVersionList', ModelVersion);

export const AliasChange = responseSchema(
  'ModelAliasChange',
  z.object({
    seq: z.number().int(),
    alias: z.string(),
    from_version: z.number().int().nullable().describe('null: the alias was unset'),
    to_version: z.number().int().nullable().describe('null: the alias was removed'),
    actor: z.string(),
    at: isoTime,
    note: z.string().nullable(),
  }),
);

export const PromotionDecision = responseSchema(
  'PromotionDecision',
  z.object({
    seq: z.number().int(),
    version: z.number().int(),
    alias: z.string(),
    metric: z.string(),
    direction,
    margin: z.number(),
    candidate_value: z.number(),
    baseline_alias: z.string(),
    baseline_version: z.number().int().nullable(),
    baseline_value: z.number().nullable(),
    decision: z.enum(['promoted', 'rejected']),
    reason: z.string(),
    actor: z.string(),
    at: isoTime,
  }),
);

export const ModelAliases = responseSchema(
  'ModelAliases',
  z.object({
    aliases: z.array(z.object({ alias: z.string(), version: z.number().int(), updated_by: z.string(), updated_at: isoTime })),
    history: z.array(AliasChange).describe('every move, oldest first'),
  }),
);

export const ModelDetail = responseSchema(
  'ModelDetail',
  z.object({
    name: z.string(),
    description: z.string().nullable(),
    created_at: isoTime,
    updated_at: isoTime,
    versions: z.array(ModelVersion),
    aliases: z.record(z.string(), z.number().int()),
    history: z.array(AliasChange),
    decisions: z.array(PromotionDecision),
  }),
);

export const PromoteBody = requestSchema(
  'PromoteBody',
  z.strictObject({
    alias: alias.describe("the alias to point at this version; 'archived' archives it"),
    gate: z
      .strictObject({
        metric: z.string().min(1).describe('a metric recorded on both versions'),
        direction: direction.optional().describe("whether higher ('max', the default) or lower is better"),
        margin: z.number().min(0).optional().describe('how much better the candidate must be (default 0)'),
        against: alias.optional().describe("the alias of the baseline version (default 'production')"),
      })
      .optional()
      .describe('promote only if this version beats the baseline by the margin'),
    note: z.string().max(1000).optional(),
  }),
);

export const PromotionResult = responseSchema(
  'PromotionResult',
  z.object({
    name: z.string(),
    version: z.number().int(),
    alias: z.string(),
    promoted: z.boolean(),
    reason: z.string().describe('why it was or was not promoted, in plain words'),
    previous: z.number().int().nullable().describe('the version the alias pointed at before'),
    decision: PromotionDecision.optional().describe("the gate's recorded decision, when there was a gate"),
  }),
);

// ---- metric series and sweeps ----------------------------------------------------------

const maxPoints = intParam(2, 100_000).optional().describe('downsample each series to at most this many points (largest-triangle-three-buckets; first and last kept)');
export const seriesQuery = z.strictObject({
  name: repeatable(z.string().min(1)).optional().describe('only these series'),
  max_points: maxPoints,
  times: boolParam.optional().describe('include each point’s time (`at`); default true. Charts by step can leave it out: a third less to send'),
});
export const sweepPath = runPath.extend({ task_id: z.string().min(1).describe('a mapped task') });

const Series = z.object({
  name: z.string(),
  total_points: z.number().int().describe('points stored; more than shown when downsampled'),
  step: z.array(z.number().nullable()),
  value: z.array(z.number()),
  at: z.array(z.number().int()).optional().describe('epoch ms; left out with times=false'),
});

export const TrySeries = responseSchema('TrySeries', z.object({ try_number: z.number().int(), series: z.array(Series) }), 'Metric series as parallel arrays: point i is (step[i], value[i], at[i]).');

export const SweepSeries = responseSchema(
  'SweepSeries',
  z.object({
    task_id: z.string(),
    trials: z.array(z.object({ map_index: z.number().int(), try_number: z.number().int(), state: z.string(), params: jsonObject, series: z.array(Series) })),
  }),
  "Every trial's latest try, with its series, in one answer.",
);

export const trialsQuery = z.strictObject({
  objective: z.string().min(1).optional().describe('the metric to rank by (default: a validation metric every trial reports)'),
  direction: direction.optional().describe("'min' or 'max' (default: min for names like loss or error, else max)"),
});

export const SweepTrials = responseSchema(
  'SweepTrials',
  z.object({
    task_id: z.string(),
    objective: z.string().nullable(),
    direction,
    params: z.array(z.string()).describe('param names, sorted'),
    metrics: z.array(z.string()).describe('metric names, sorted'),
    trials: z.array(
      z.object({
        map_index: z.number().int(),
        try_number: z.number().int(),
        state: z.string(),
        failure_class: z.string().nullable(),
        params: jsonObject,
        final: numbers.describe('the last value of each metric'),
        best_value: z.number().nullable().describe("the objective's best value over the trial"),
        duration_ms: z.number().int().nullable(),
        end_date: nullableTime,
      }),
    ),
    best: z.object({ map_index: z.number().int(), value: z.number() }).nullable().describe('the trial with the best final objective'),
    best_so_far: z.array(z.object({ at: isoTime, map_index: z.number().int(), value: z.number(), best: z.number(), best_map_index: z.number().int() })).describe('the best final objective as trials finished'),
  }),
);

// ---- cost ------------------------------------------------------------------------------

const usage = {
  wall_hours: z.number(),
  cpu_hours: z.number(),
  memory_gib_hours: z.number(),
  gpu_hours: z.number(),
};
export const CostRow = responseSchema(
  'CostRow',
  z.object({
    key: z.string().describe('dag/run, the DAG id, the pool, or dag/run/task'),
    tries: z.number().int(),
    failed_tries: z.number().int(),
    ...usage,
    failed: z.object(usage).describe('the failed tries alone (included in the totals)'),
    cost: z.number().optional().describe('money, when a price table is configured'),
    failed_cost: z.number().optional(),
  }),
);

export const costQuery = z.strictObject({
  by: z.enum(['run', 'dag', 'pool', 'sweep', 'task']).default('dag').describe('how to group tries (default dag)'),
  dag_id: z.string().min(1).optional(),
  run_id: z.string().min(1).optional(),
  since: z.iso.datetime({ offset: true }).optional().describe('only tries started at or after this time'),
  until: z.iso.datetime({ offset: true }).optional().describe('only tries started before this time'),
});

export const CostReport = responseSchema(
  'CostReport',
  z.object({
    by: z.string(),
    priced: z.boolean().describe('whether a price table is configured (TRAINYARD_PRICES)'),
    currency: z.string().nullable(),
    rows: z.array(CostRow),
    total: CostRow,
  }),
);

export const RunCost = responseSchema(
  'RunCost',
  z.object({
    dag_id: z.string(),
    run_id: z.string(),
    priced: z.boolean(),
    currency: z.string().nullable(),
    total: CostRow,
    by_task: z.array(CostRow),
    by_pool: z.array(CostRow),
  }),
);
