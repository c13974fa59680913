/** Metric series of a try (downsampled on request), and sweeps: every trial's series, a trials table, the best so far. */
import { downsample } from '../../ml/downsample.js';
import { bestSoFar, bestTrial, defaultObjective, type Direction, guessDirection, metricNames, paramNames, trialRows } from '../../ml/sweep.js';
import { loadTrialSeries, loadTrialSummaries, type SweepKey, sortPoints, withObjectiveRange } from '../../ml/sweep-store.js';
import type { Store } from '../../store/store.js';
import { invalid, notFound } from '../errors.js';
import { seriesQuery, SweepSeries, sweepPath, SweepTrials, trialsQuery, TrySeries } from '../ml-schemas.js';
import { tryPath } from '../schemas.js';
import { route } from '../route.js';
import { iso } from '../views.js';
import { requireRun, requireTry, tiKey } from './lookup.js';

interface Point {
  step: number | null;
  value: number;
  at: number;
}

/** Points grouped by series name, each in chart order and downsampled to `max` when given. */
export function toSeries(points: Iterable<Point & { name: string }>, max?: number, times = true) {
  const byName = new Map<string, Point[]>();
  for (const p of points) {
    let list = byName.get(p.name);
    if (!list) byName.set(p.name, (list = []));
    list.push({ step: p.step, value: p.value, at: p.at });
  }
  return [...byName.keys()].sort().map((name) => {
    const all = sortPoints(byName.get(name)!);
    const shown = max === undefined ? all : downsample(all.map((p) => ({ x: p.step ?? p.at, y: p.value, p })), max).map((q) => q.p);
    return { name, total_points: all.length, step: shown.map((p) => p.step), value: shown.map((p) => p.value), ...(times ? { at: shown.map((p) => p.at) } : {}) };
  });
}

/** The run must exist and the task must have mapped instances: 404 naming what is missing otherwise. */
async function requireSweep(store: Store, k: SweepKey): Promise<void> {
  await requireRun(store, k.dagId, k.runId);
  const one = await store.db.selectFrom('task_instance').select('map_index').where('dag_id', '=', k.dagId).where('run_id', '=', k.runId).where('task_id', '=', k.taskId).orderBy('map_index', 'desc').limit(1).executeTakeFirst();
  if (one && Number(one.map_index) >= 0) return;
  throw notFound(
    'SWEEP_NOT_FOUND',
    one
      ? `task '${k.taskId}' of run '${k.runId}' is not mapped (or not expanded yet), so it has no trials; a sweep is a task with expand`
      : `run '${k.runId}' has no task '${k.taskId}'; list its tasks with GET /api/v1/dags/${k.dagId}/runs/${k.runId}/taskInstances`,
  );
}

const sweepKey = (p: { dag_id: string; run_id: string; task_id: string }): SweepKey => ({ dagId: p.dag_id, runId: p.run_id, taskId: p.task_id });

export const metricRoutes = [
  route({
    method: 'get',
    path: '/dags/{dag_id}/runs/{run_id}/taskInstances/{task_id}/{map_index}/tries/{try_number}/series',
    tag: 'Metrics',
    summary: "A try's metric series as arrays, downsampled to max_points per series when asked",
    params: tryPath,
    query: seriesQuery,
    response: TrySeries,
    handler: async ({ deps, params, query }) => {
      const k = { ...tiKey(params), tryNumber: params.try_number };
      await requireTry(deps.store, k);
      const points = await deps.store.metricPoints(k, query.name);
      return { try_number: k.tryNumber, series: toSeries(points, query.max_points, query.times ?? true) };
    },
  }),
  route({
    method: 'get',
    path: '/dags/{dag_id}/runs/{run_id}/sweeps/{task_id}/series',
    tag: 'Metrics',
    summary: "Every trial of a mapped task with its latest try's metric series, in one answer",
    params: sweepPath,
    query: seriesQuery,
    response: SweepSeries,
    handler: async ({ deps, params, query }) => {
      const k = sweepKey(params);
      await requireSweep(deps.store, k);
      const trials = await loadTrialSeries(deps.store, k, query.name);
      return {
        task_id: params.task_id,
        trials: trials.map((t) => ({ map_index: t.mapIndex, try_number: t.tryNumber, state: t.state, params: t.params, series: toSeries(t.points, query.max_points, query.times ?? true) })),
      };
    },
  }),
  route({
    method: 'get',
    path: '/dags/{dag_id}/runs/{run_id}/sweeps/{task_id}/trials',
    tag: 'Metrics',
    summary: 'The trials table of a mapped task: params and final metrics, the best trial and the best so far',
    params: sweepPath,
    query: trialsQuery,
    response: SweepTrials,
    handler: async ({ deps, params, query }) => {
      const k = sweepKey(params);
      await requireSweep(deps.store, k);
      const summaries = await loadTrialSummaries(deps.store, k);
      const metrics = metricNames(summaries);
      if (query.objective !== undefined && !metrics.includes(query.objective)) {
        throw invalid(`no trial reported the metric '${query.objective}'`, [
          { field: 'query.objective', reason: metrics.length ? `is not a metric of this sweep; its metrics are ${metrics.join(', ')}` : 'this sweep has no metrics yet' },
        ]);
      }
      const objective = query.objective ?? defaultObjective(summaries);
      const direction: Direction = query.direction ?? (objective ? guessDirection(objective) : 'max');
      const trials = objective ? await withObjectiveRange(deps.store, k, summaries, objective) : summaries;
      const rows = trialRows(trials, direction);
      const best = objective ? bestTrial(rows, objective, direction) : undefined;
      return {
        task_id: params.task_id,
        objective: objective ?? null,
        direction,
        params: paramNames(summaries),
        metrics,
        trials: rows.map((r) => ({
          map_index: r.mapIndex,
          try_number: r.tryNumber,
          state: r.state,
          failure_class: r.failureClass,
          params: r.params,
          final: r.final,
          best_value: r.bestValue,
          duration_ms: r.durationMs,
          end_date: iso(r.endDate),
        })),
        best: best && objective ? { map_index: best.mapIndex, value: best.final[objective] } : null,
        best_so_far: objective ? bestSoFar(rows, objective, direction).map((b) => ({ at: iso(b.at)!, map_index: b.mapIndex, value: b.value, best: b.best, best_map_index: b.bestMapIndex })) : [],
      };
    },
  }),
];
