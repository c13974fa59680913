/** The ML endpoints the UI calls (models, metric series and sweeps, cost), typed. */
import { get, path, prefetch, query, request } from './client.js';

export interface ModelSummary {
  name: string;
  description: string | null;
  latest_version: number | null;
  versions: number;
  aliases: Record<string, number>;
  created_at: string;
  updated_at: string;
}

export interface Lineage {
  dag_id: string | null;
  run_id: string | null;
  task_id: string | null;
  map_index: number | null;
  try_number: number | null;
  logical_date: string | null;
  data_interval_start: string | null;
  data_interval_end: string | null;
  ds: string | null;
  dag_version_hash: string | null;
  image_digest: string | null;
}

export interface ModelVersion {
  name: string;
  version: number;
  uri: string;
  metrics: Record<string, number>;
  params: Record<string, unknown>;
  description: string | null;
  archived: boolean;
  aliases: string[];
  lineage: Lineage;
  created_by: string;
  created_at: string;
}

export interface AliasChange {
  seq: number;
  alias: string;
  from_version: number | null;
  to_version: number | null;
  actor: string;
  at: string;
  note: string | null;
}

export interface PromotionDecision {
  seq: number;
  version: number;
  alias: string;
  metric: string;
  direction: 'min' | 'max';
  margin: number;
  candidate_value: number;
  baseline_alias: string;
  baseline_version: number | null;
  baseline_value: number | null;
  decision: 'promoted' | 'rejected';
  reason: string;
  actor: string;
  at: string;
}

export interface ModelDetail {
  name: string;
  description: string | null;
  created_at: string;
  updated_at: string;
  versions: ModelVersion[];
  aliases: Record<string, number>;
  history: AliasChange[];
  decisions: PromotionDecision[];
}

export interface PromoteBody {
  alias: string;
  gate?: { metric: string; direction?: 'min' | 'max'; margin?: number; against?: string };
  note?: string;
}

export interface PromotionResult {
  name: string;
  version: number;
  alias: string;
  promoted: boolean;
  reason: string;
  previous: number | null;
  decision?: PromotionDecision;
}

/** One series as parallel arrays: point i is (step[i], value[i], at[i]). */
export interface SeriesArrays {
  name: string;
  total_points: number;
  step: (number | null)[];
  value: number[];
  /** Epoch ms; absent when asked for without times. */
  at?: number[];
}

export interface SweepSeries {
  task_id: string;
  trials: { map_index: number; try_number: number; state: string; params: Record<string, unknown>; series: SeriesArrays[] }[];
}

export interface TrialRow {
  map_index: number;
  try_number: number;
  state: string;
  failure_class: string | null;
  params: Record<string, unknown>;
  final: Record<string, number>;
  best_value: number | null;
  duration_ms: number | null;
  end_date: string | null;
}

export interface SweepTrials {
  task_id: string;
  objective: string | null;
  direction: 'min' | 'max';
  params: string[];
  metrics: string[];
  trials: TrialRow[];
  best: { map_index: number; value: number } | null;
  best_so_far: { at: string; map_index: number; value: number; best: number; best_map_index: number }[];
}

export interface CostRow {
  key: string;
  tries: number;
  failed_tries: number;
  wall_hours: number;
  cpu_hours: number;
  memory_gib_hours: number;
  gpu_hours: number;
  failed: { wall_hours: number; cpu_hours: number; memory_gib_hours: number; gpu_hours: number };
  cost?: number;
  failed_cost?: number;
}

export interface RunCost {
  dag_id: string;
  run_id: string;
  priced: boolean;
  currency: string | null;
  total: CostRow;
  by_task: CostRow[];
  by_pool: CostRow[];
}

const sweep = (dagId: string, runId: string, taskId: string) => path`/dags/${dagId}/runs/${runId}/sweeps/${taskId}`;
type SeriesOptions = { name?: string[]; maxPoints?: number; times?: boolean };
type TrialsOptions = { objective?: string; direction?: 'min' | 'max' };
const sweepSeriesUrl = (dagId: string, runId: string, taskId: string, o: SeriesOptions) => `${sweep(dagId, runId, taskId)}/series${query({ name: o.name, max_points: o.maxPoints, times: o.times })}`;
const sweepTrialsUrl = (dagId: string, runId: string, taskId: string, o: TrialsOptions) => `${sweep(dagId, runId, taskId)}/trials${query({ objective: o.objective, direction: o.direction })}`;

export const mlApi = {
  models: () => get<{ items: ModelSummary[]; total: number }>('/models'),
  model: (name: string) => get<ModelDetail>(path`/models/${name}`),
  promote: (name: string, version: number, body: PromoteBody) => request<PromotionResult>('POST', path`/models/${name}/versions/${version}/promote`, body),
  sweepSeries: (dagId: string, runId: string, taskId: string, o: SeriesOptions = {}) => get<SweepSeries>(sweepSeriesUrl(dagId, runId, taskId, o)),
  sweepTrials: (dagId: string, runId: string, taskId: string, o: TrialsOptions = {}) => get<SweepTrials>(sweepTrialsUrl(dagId, runId, taskId, o)),
  runCost: (dagId: string, runId: string) => get<RunCost>(path`/dags/${dagId}/runs/${runId}/cost`),
  trySeries: (dagId: string, runId: string, taskId: string, mapIndex: number, tryNumber: number, maxPoints: number) =>
    get<{ try_number: number; series: SeriesArrays[] }>(`${path`/dags/${dagId}/runs/${runId}/taskInstances/${taskId}/${mapIndex}/tries/${tryNumber}/series`}${query({ max_points: maxPoints })}`),
};

/** Most points per series a try's charts draw: longer series are downsampled by the server. */
export const TRY_CHART_POINTS = 1000;

/** A try's series, downsampled, in the points form of the try page's charts. */
export async function tryChartSeries(dagId: string, runId: string, taskId: string, mapIndex: number, tryNumber: number) {
  const r = await mlApi.trySeries(dagId, runId, taskId, mapIndex, tryNumber, TRY_CHART_POINTS);
  return {
    series: r.series.map((s) => ({
      name: s.name,
      total: s.total_points,
      points: s.value.map((value, i) => ({ step: s.step[i], value, at: new Date(s.at?.[i] ?? 0).toISOString() })),
    })),
  };
}

/** Points per trial curve the sweep view asks for: the server downsamples longer series. */
export const CURVE_POINTS = 1000;

/** The sweep view's series request for one metric (shared with the prefetch on a cold load). */
export const curveOptions = (metric: string): SeriesOptions => ({ name: [metric], maxPoints: CURVE_POINTS, times: false });

/**
 * On a cold load of a sweep view: its curves when the URL names the metric (the chart needs
 * only them, and the server answers in turn, so the trials wait for the page), else its trials.
 */
export function prefetchSweep(dagId: string, runId: string, taskId: string, search: URLSearchParams): void {
  const metric = search.get('metric');
  if (metric) return prefetch(sweepSeriesUrl(dagId, runId, taskId, curveOptions(metric)));
  const dir = search.get('direction');
  prefetch(sweepTrialsUrl(dagId, runId, taskId, { objective: search.get('objective') ?? undefined, direction: dir === 'min' || dir === 'max' ? dir : undefined }));
}
