import { TrainyardError } from '../../core/errors.js';
import type { RunState } from '../../core/states.js';
import { clearTasks, markRun } from '../../scheduler/operations.js';
import { triggerRun, validateConf } from '../../scheduler/trigger.js';
import { OVERRIDES_KEY, userConf } from '../../scheduler/task-overrides.js';
import { confProblems } from '../conf-problems.js';
import { ApiError, invalid } from '../errors.js';
import { listRuns, taskCounts } from '../queries/runs.js';
import { type ApiDeps, route } from '../route.js';
import { ClearBody, ClearResult, dagPath, listAllRunsQuery, listRunsQuery, PatchRunBody, RunDetail, RunPage, runPath, TriggerRunBody } from '../schemas.js';
import { runView } from '../views.js';
import { requireDag, requireRun, requireSpec } from './lookup.js';

async function runDetail(deps: ApiDeps, dagId: string, runId: string) {
  const run = await requireRun(deps.store, dagId, runId);
  const { counts, cached } = await taskCounts(deps.store, dagId, runId);
  return { ...runView(run), task_counts: counts, cached_count: cached };
}

export const runRoutes = [
  route({
    method: 'get',
    path: '/runs',
    tag: 'Runs',
    summary: 'List runs of every DAG, newest first',
    query: listAllRunsQuery,
    response: RunPage,
    handler: async ({ deps, query }) => {
      const { rows, total } = await listRuns(deps.store, { dagId: query.dag_id, states: query.state as RunState[] | undefined, limit: query.limit, offset: query.offset });
      return { items: rows.map(runView), total, limit: query.limit, offset: query.offset };
    },
  }),
  route({
    method: 'get',
    path: '/dags/{dag_id}/runs',
    tag: 'Runs',
    summary: 'List runs of a DAG, newest first',
    params: dagPath,
    query: listRunsQuery,
    response: RunPage,
    handler: async ({ deps, params, query }) => {
      await requireDag(deps.store, params.dag_id);
      const { rows, total } = await listRuns(deps.store, { dagId: params.dag_id, states: query.state as RunState[] | undefined, limit: query.limit, offset: query.offset });
      return { items: rows.map(runView), total, limit: query.limit, offset: query.offset };
    },
  }),
  route({
    method: 'post',
    path: '/dags/{dag_id}/runs',
    tag: 'Runs',
    summary: 'Trigger a run',
    description: "The conf is validated against the DAG's params schema first: an invalid trigger creates nothing and lists each wrong field.",
    params: dagPath,
    body: TriggerRunBody,
    response: RunDetail,
    status: 201,
    handler: async ({ deps, params, body, now }) => {
      const dag = await requireDag(deps.store, params.dag_id);
      const spec = await requireSpec(deps.store, dag.dag_id, dag.latest_version);
      const conf = body.conf ?? {};
      // Machine presets come from the config (TRAINYARD_K8S_MACHINES): an override must name one of them.
      const machines = Object.keys(deps.config.k8sMachines ?? {});
      try {
        validateConf(spec, conf, machines);
      } catch (e) {
        if (e instanceof TrainyardError && e.code === 'INVALID_CONF') {
          const details = confProblems(spec, userConf(conf));
          const field = e.message.startsWith(OVERRIDES_KEY) ? `body.conf.${OVERRIDES_KEY}` : 'body.conf';
          throw invalid(e.message, details.length ? details : [{ field, reason: e.message }]);
        }
        throw e;
      }
      const logicalDate = body.logical_date === undefined ? undefined : Date.parse(body.logical_date);
      const { runId } = await triggerRun(deps.store, dag.dag_id, { conf, runId: body.run_id, logicalDate, machines }, now);
      deps.scheduler?.notify();
      return runDetail(deps, dag.dag_id, runId);
    },
  }),
  route({
    method: 'get',
    path: '/dags/{dag_id}/runs/{run_id}',
    tag: 'Runs',
    summary: 'Get a run, with its task instances counted by state',
    params: runPath,
    response: RunDetail,
    handler: ({ deps, params }) => runDetail(deps, params.dag_id, params.run_id),
  }),
  route({
    method: 'patch',
    path: '/dags/{dag_id}/runs/{run_id}',
    tag: 'Runs',
    summary: 'Mark a run success or failed',
    description: 'Unfinished task instances end too: success when marking success, skipped when marking failed.',
    params: runPath,
    body: PatchRunBody,
    response: RunDetail,
    handler: async ({ deps, params, body, now }) => {
      await requireRun(deps.store, params.dag_id, params.run_id);
      await markRun(deps.store, params.dag_id, params.run_id, body.state, now);
      deps.scheduler?.notify();
      return runDetail(deps, params.dag_id, params.run_id);
    },
  }),
  route({
    method: 'delete',
    path: '/dags/{dag_id}/runs/{run_id}',
    tag: 'Runs',
    summary: 'Delete a finished run with its task instances, tries and metrics',
    params: runPath,
    status: 204,
    handler: async ({ deps, params }) => {
      const run = await requireRun(deps.store, params.dag_id, params.run_id);
      if (run.state === 'queued' || run.state === 'running') {
        throw new ApiError(409, 'RUN_ACTIVE', `run '${run.run_id}' is ${run.state}; mark it failed first (PATCH with {"state": "failed"}), then delete it`);
      }
      await deps.store.deleteRun(params.dag_id, params.run_id);
      return undefined;
    },
  }),
  route({
    method: 'post',
    path: '/dags/{dag_id}/runs/{run_id}/clear',
    tag: 'Task instances',
    summary: 'Clear task instances so they run again',
    params: runPath,
    body: ClearBody,
    response: ClearResult,
    handler: async ({ deps, params, body, now }) => {
      await requireRun(deps.store, params.dag_id, params.run_id);
      const cleared = await clearTasks(deps.store, params.dag_id, params.run_id, body.task_ids ?? [], { downstream: body.downstream, onlyFailed: body.only_failed }, now);
      deps.scheduler?.notify();
      return { cleared };
    },
  }),
];
