/** Cost over the API: CPU-, memory- and GPU-hours (and money with a price table) per run, DAG, pool, sweep or task. */
import type { CostRow, PriceTable } from '../../ml/cost.js';
import { costBy, loadTryRecords } from '../../ml/cost-store.js';
import { summarizeCost } from '../../ml/cost.js';
import { CostReport, costQuery, RunCost } from '../ml-schemas.js';
import { route } from '../route.js';
import { runPath } from '../schemas.js';
import { requireRun } from './lookup.js';

const usageView = (u: { wallHours: number; cpuHours: number; memoryGibHours: number; gpuHours: number }) => ({
  wall_hours: u.wallHours,
  cpu_hours: u.cpuHours,
  memory_gib_hours: u.memoryGibHours,
  gpu_hours: u.gpuHours,
});

export function costRowView(r: CostRow) {
  return {
    key: r.key,
    tries: r.tries,
    failed_tries: r.failedTries,
    ...usageView(r),
    failed: usageView(r.failed),
    ...(r.cost !== undefined ? { cost: r.cost, failed_cost: r.failedCost ?? 0 } : {}),
  };
}

const EMPTY: CostRow = { key: '', tries: 0, failedTries: 0, wallHours: 0, cpuHours: 0, memoryGibHours: 0, gpuHours: 0, failed: { wallHours: 0, cpuHours: 0, memoryGibHours: 0, gpuHours: 0 } };

/** The rows summed into one, keyed `key`. */
function totalOf(rows: readonly CostRow[], key: string, prices: PriceTable | undefined): CostRow {
  const sum = (f: (r: CostRow) => number) => rows.reduce((s, r) => s + f(r), 0);
  const total: CostRow = {
    ...EMPTY,
    key,
    tries: sum((r) => r.tries),
    failedTries: sum((r) => r.failedTries),
    wallHours: sum((r) => r.wallHours),
    cpuHours: sum((r) => r.cpuHours),
    memoryGibHours: sum((r) => r.memoryGibHours),
    gpuHours: sum((r) => r.gpuHours),
    failed: {
      wallHours: sum((r) => r.failed.wallHours),
      cpuHours: sum((r) => r.failed.cpuHours),
      memoryGibHours: sum((r) => r.failed.memoryGibHours),
      gpuHours: sum((r) => r.failed.gpuHours),
    },
  };
  return prices ? { ...total, cost: sum((r) => r.cost ?? 0), failedCost: sum((r) => r.failedCost ?? 0) } : total;
}

export const costRoutes = [
  route({
    method: 'get',
    path: '/cost',
    tag: 'Cost',
    summary: 'CPU-, memory- and GPU-hours (and money with a price table) of tries, grouped by run, DAG, pool, sweep or task; failed tries included',
    query: costQuery,
    response: CostReport,
    handler: async ({ deps, query, now }) => {
      const prices = deps.config.prices;
      const filter = { dagId: query.dag_id, runId: query.run_id, since: query.since ? Date.parse(query.since) : undefined, until: query.until ? Date.parse(query.until) : undefined };
      const rows = await costBy(deps.store, query.by, filter, { now, prices });
      return { by: query.by, priced: !!prices, currency: prices?.currency ?? null, rows: rows.map(costRowView), total: costRowView(totalOf(rows, 'total', prices)) };
    },
  }),
  route({
    method: 'get',
    path: '/dags/{dag_id}/runs/{run_id}/cost',
    tag: 'Cost',
    summary: "A run's cost: its total, per task (a mapped task is one row: the sweep) and per pool; failed tries included",
    params: runPath,
    response: RunCost,
    handler: async ({ deps, params, now }) => {
      await requireRun(deps.store, params.dag_id, params.run_id);
      const prices = deps.config.prices;
      const tries = await loadTryRecords(deps.store, { dagId: params.dag_id, runId: params.run_id });
      const byTask = summarizeCost(tries, 'task', { now, prices });
      const byPool = summarizeCost(tries, 'pool', { now, prices });
      const prefix = `${params.dag_id}/${params.run_id}/`;
      return {
        dag_id: params.dag_id,
        run_id: params.run_id,
        priced: !!prices,
        currency: prices?.currency ?? null,
        total: costRowView(totalOf(byTask, `${params.dag_id}/${params.run_id}`, prices)),
        by_task: byTask.map((r) => costRowView({ ...r, key: r.key.startsWith(prefix) ? r.key.slice(prefix.length) : r.key })),
        by_pool: byPool.map(costRowView),
      };
    },
  }),
];
