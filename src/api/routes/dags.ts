import { z } from 'zod';
import { listDags } from '../queries/dags.js';
import { route } from '../route.js';
import { Dag, DagDetail, DagPage, dagPath, ImportErrorList, listDagsQuery, PatchDagBody } from '../schemas.js';
import { dagView, iso } from '../views.js';
import { requireDag, requireSpec } from './lookup.js';

export const dagRoutes = [
  route({
    method: 'get',
    path: '/dags',
    tag: 'DAGs',
    summary: 'List DAGs',
    query: listDagsQuery,
    response: DagPage,
    handler: async ({ deps, query }) => {
      const { rows, total } = await listDags(deps.store, { tags: query.tag, search: query.search, paused: query.paused, active: query.active, limit: query.limit, offset: query.offset });
      return { items: rows.map(dagView), total, limit: query.limit, offset: query.offset };
    },
  }),
  route({
    method: 'get',
    path: '/dags/{dag_id}',
    tag: 'DAGs',
    summary: 'Get a DAG with its graph',
    description: 'The graph is that of the latest version of the DAG file.',
    params: dagPath,
    response: DagDetail,
    handler: async ({ deps, params }): Promise<z.output<typeof DagDetail>> => {
      const dag = await requireDag(deps.store, params.dag_id);
      const spec = await requireSpec(deps.store, dag.dag_id, dag.latest_version);
      return {
        ...dagView(dag),
        docs: spec.docs ?? null,
        max_active_runs: spec.maxActiveRuns,
        max_active_tasks: spec.maxActiveTasks,
        params_schema: (spec.paramsSchema as Record<string, unknown> | undefined) ?? null,
        params_defaults: { ...spec.paramsDefaults },
        graph: {
          tasks: spec.tasks.map((t) => ({
            task_id: t.taskId,
            kind: t.kind,
            upstream: [...t.upstream],
            trigger_rule: t.triggerRule,
            mapped: t.mapping !== undefined,
            group: t.group ?? null,
            branch: t.branch,
            pool: t.pool,
            retries: t.retries,
            resources: { ...t.resources },
            executor: t.executor ?? null,
            doc: t.doc ?? null,
          })),
          groups: spec.groups.map((g) => ({ group_id: g.groupId, parent: g.parent ?? null })),
        },
      };
    },
  }),
  route({
    method: 'patch',
    path: '/dags/{dag_id}',
    tag: 'DAGs',
    summary: 'Pause or unpause a DAG',
    params: dagPath,
    body: PatchDagBody,
    response: Dag,
    handler: async ({ deps, params, body, now }) => {
      await requireDag(deps.store, params.dag_id);
      await deps.store.setPaused(params.dag_id, body.is_paused, now);
      deps.scheduler?.notify();
      return dagView(await requireDag(deps.store, params.dag_id));
    },
  }),
  route({
    method: 'get',
    path: '/importErrors',
    tag: 'DAGs',
    summary: 'DAG files that failed to load',
    response: ImportErrorList,
    handler: async ({ deps }) => {
      const rows = await deps.store.listImportErrors();
      return { items: rows.map((e) => ({ fileloc: e.fileloc, message: e.message, updated_at: iso(e.updated_at)! })), total: rows.length };
    },
  }),
];
