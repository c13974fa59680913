import { z } from 'zod';
import { describeFailure, type FailureClass } from '../../core/failure.js';
import { loadGrid } from '../queries/grid.js';
import { route } from '../route.js';
import { dagPath, intParam, isoTime, nullableTime, responseComponents, runState } from '../schemas.js';
import { iso } from '../views.js';
import { requireDag } from './lookup.js';

export const GRID_MAX_RUNS = 100;

const GridRun = z.object({
  run_id: z.string(),
  state: runState,
  run_type: z.string(),
  logical_date: isoTime,
  queued_at: isoTime,
  start_date: nullableTime,
  end_date: nullableTime,
});

const GridCell = z.object({
  state: z.string().nullable().describe('state of the instance with map index -1 (a mapped task: its placeholder, `removed` once expanded); null when there is none'),
  try_number: z.number().int().optional(),
  duration_ms: z.number().nullable().optional(),
  failure: z.string().nullable().optional().describe('the failure class in plain words'),
  cached: z.boolean().optional().describe('present and true when the instance reused the result of an earlier try instead of running (task caching)'),
  total: z.number().int().optional().describe('a mapped task: its instances'),
  counts: z.record(z.string(), z.number().int()).optional().describe('a mapped task: its instances by state'),
  cached_count: z.number().int().optional().describe('a mapped task: of `counts.success`, the instances that reused an earlier try\'s result (task caching) instead of running'),
});

const Grid = z.object({
  dag_id: z.string(),
  runs: z.array(GridRun).describe('newest first'),
  cells: z.record(z.string(), z.record(z.string(), GridCell)).describe('run id → task id → cell; a task without instances in a run has no cell'),
});
responseComponents.add(Grid, { id: 'Grid' });

const gridQuery = z.strictObject({
  limit: intParam(1, GRID_MAX_RUNS).default(25).describe(`runs (1–${GRID_MAX_RUNS}, default 25)`),
});

export const gridRoutes = [
  route({
    method: 'get',
    path: '/dags/{dag_id}/grid',
    tag: 'DAGs',
    summary: 'The grid: the newest runs × every task, in one request',
    description:
      'A task that is not mapped is one cell with its state; a mapped task is one cell with its instances counted by state (and how many of its successes were cached), never its instances. Three queries, whatever the fan-out.',
    params: dagPath,
    query: gridQuery,
    response: Grid,
    handler: async ({ deps, params, query }): Promise<z.output<typeof Grid>> => {
      await requireDag(deps.store, params.dag_id);
      const { runs, cells } = await loadGrid(deps.store, params.dag_id, query.limit);
      const out: z.output<typeof Grid>['cells'] = {};
      for (const [runId, byTask] of cells) {
        const row: Record<string, z.output<typeof GridCell>> = (out[runId] = {});
        for (const [taskId, c] of byTask) {
          const ti = c.ti;
          row[taskId] = {
            state: ti?.state ?? null,
            ...(ti && {
              try_number: ti.try_number,
              duration_ms: ti.start_date === null || ti.end_date === null ? null : Number(ti.end_date) - Number(ti.start_date),
              failure: ti.failure_class === null ? null : describeFailure(ti.failure_class as FailureClass),
              ...(ti.cached && { cached: true }),
            }),
            ...(c.counts && { counts: c.counts, total: Object.values(c.counts).reduce((a, b) => a + b, 0), cached_count: c.cached ?? 0 }),
          };
        }
      }
      return {
        dag_id: params.dag_id,
        runs: runs.map((r) => ({
          run_id: r.run_id,
          state: r.state as z.output<typeof runState>,
          run_type: r.run_type,
          logical_date: iso(r.logical_date)!,
          queued_at: iso(r.queued_at)!,
          start_date: iso(r.start_date),
          end_date: iso(r.end_date),
        })),
        cells: out,
      };
    },
  }),
];
