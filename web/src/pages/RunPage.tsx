/** One run: summary, actions, the task list, a Gantt chart, and the drill-down into a mapped task. */
import { lazy, Suspense, useMemo } from 'react';
import { api } from '../api/endpoints.js';
import { ErrorBox, Loading, StateBadge, Tabs } from '../components/bits.js';
import { ClearButton, MarkButtons } from '../components/Actions.js';
import { between, duration, time } from '../lib/format.js';
import { Link, href, setSearch, useLocation, useTitle } from '../lib/router.js';
import { loadRunTasks } from '../lib/run-tasks.js';
import { ACTIVE_RUN, countsWords, shownCounts } from '../lib/states.js';
import { useQuery } from '../lib/use-query.js';
import { MappedDrilldown } from './run/MappedDrilldown.js';
import { TaskList } from './run/TaskList.js';

const Gantt = lazy(() => import('./run/Gantt.js').then((m) => ({ default: m.Gantt })));
const RunCostCard = lazy(() => import('./ml/RunCostCard.js').then((m) => ({ default: m.RunCostCard })));

type Tab = 'tasks' | 'gantt' | 'cost';

export function RunPage({ dagId, runId }: { dagId: string; runId: string }) {
  useTitle(`${dagId} · ${runId}`);
  const { search } = useLocation();
  const tab = (search.get('view') as Tab | null) ?? 'tasks';
  const drill = search.get('task');
  const dag = useQuery(`dag ${dagId}`, () => api.dag(dagId));
  const run = useQuery(`run ${dagId} ${runId}`, () => api.run(dagId, runId), { live: { dagId, runId }, active: (r) => !r || ACTIVE_RUN.has(r.state) });
  const active = !run.data || ACTIVE_RUN.has(run.data.state);
  const tasks = dag.data?.graph.tasks;
  const cells = useQuery(`run-tasks ${dagId} ${runId} ${dag.data?.latest_version}`, () => loadRunTasks(dagId, runId, tasks!), {
    enabled: !!tasks,
    live: { dagId, runId },
    active: () => active,
  });
  const reload = () => {
    run.reload();
    cells.reload();
  };
  const drillTask = useMemo(() => tasks?.find((t) => t.task_id === drill), [tasks, drill]);

  if (run.error && !run.data) return <ErrorBox error={run.error} title={`Run ${runId}`} />;
  if (!run.data || !dag.data) return <Loading what={`run ${runId}`} />;
  const r = run.data;
  const counts = countsWords(shownCounts(r.task_counts, r.cached_count));
  return (
    <section>
      <div className="page-head">
        <nav className="crumbs" aria-label="breadcrumb">
          <Link to="/">DAGs</Link> / <Link to={href.dag(dagId)}>{dagId}</Link> /
        </nav>
        <h1 className="mono">{runId}</h1>
        <StateBadge state={r.state} />
        <span className="spacer" />
        <ClearButton dagId={dagId} runId={runId} onlyFailed label="Clear failed" onDone={reload} />
        <MarkButtons what={`run ${runId}`} mark={(s) => api.markRun(dagId, runId, s)} onDone={reload} />
      </div>
      <dl className="facts">
        <div>
          <dt>Type</dt>
          <dd>{r.run_type}</dd>
        </div>
        <div>
          <dt>Logical date</dt>
          <dd>{time(r.logical_date)}</dd>
        </div>
        <div>
          <dt>Started</dt>
          <dd>{time(r.start_date)}</dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd data-testid="run-duration">{duration(between(r.start_date, r.end_date))}</dd>
        </div>
        <div>
          <dt>Tasks</dt>
          <dd data-testid="run-task-counts">{counts || '—'}</dd>
        </div>
        <div>
          <dt>Params</dt>
          <dd className="mono small">{JSON.stringify(r.params)}</dd>
        </div>
      </dl>
      {r.state === 'queued' && <div className="banner info">This run is queued: it starts when the DAG has fewer than {dag.data.max_active_runs} active runs{dag.data.is_paused ? ' and is unpaused (it is paused now)' : ''}.</div>}
      {drillTask && <MappedDrilldown dagId={dagId} runId={runId} task={drillTask} active={active} onClose={() => setSearch({ task: undefined })} onChanged={reload} />}
      <Tabs<Tab>
        label="run views"
        value={tab}
        onChange={(t) => setSearch({ view: t === 'tasks' ? undefined : t })}
        tabs={[
          { id: 'tasks', label: 'Tasks' },
          { id: 'gantt', label: 'Gantt' },
          { id: 'cost', label: 'Cost' },
        ]}
      />
      <div role="tabpanel" className="tabpanel">
        <ErrorBox error={cells.error} />
        {!cells.data && !cells.error && <Loading what="tasks" />}
        {cells.data && tab === 'tasks' && <TaskList dag={dag.data} runId={runId} cells={cells.data} onChanged={reload} />}
        {cells.data && tab === 'gantt' && (
          <Suspense fallback={<Loading what="timeline" />}>
            <Gantt dag={dag.data} run={r} cells={cells.data} />
          </Suspense>
        )}
        {tab === 'cost' && (
          <Suspense fallback={<Loading what="cost" />}>
            <RunCostCard dagId={dagId} runId={runId} active={active} />
          </Suspense>
        )}
      </div>
    </section>
  );
}
