/** One DAG: grid, graph, run history and code, with trigger and pause. */
import { lazy, Suspense, useMemo, useState } from 'react';
import { api } from '../api/endpoints.js';
import { ErrorBox, Loading, Tabs } from '../components/bits.js';
import { PauseToggle } from '../components/PauseToggle.js';
import { TriggerDialog } from '../components/TriggerDialog.js';
import { ago, time } from '../lib/format.js';
import { href, navigate, setSearch, useLocation, useTitle } from '../lib/router.js';
import { useSession } from '../lib/session.js';
import { useQuery } from '../lib/use-query.js';
import { GridView } from './dag/GridView.js';

const GraphView = lazy(() => import('./dag/GraphView.js').then((m) => ({ default: m.GraphView })));
const RunHistory = lazy(() => import('./dag/RunHistory.js').then((m) => ({ default: m.RunHistory })));
const CodeView = lazy(() => import('./dag/CodeView.js').then((m) => ({ default: m.CodeView })));

type Tab = 'grid' | 'graph' | 'runs' | 'code';

export function DagPage({ dagId }: { dagId: string }) {
  useTitle(dagId);
  const { search } = useLocation();
  const tab = (search.get('tab') as Tab | null) ?? 'grid';
  const { canOperate } = useSession();
  const dag = useQuery(`dag ${dagId}`, () => api.dag(dagId), { live: { dagId, on: ['dag'] } });
  const [collapsed, setCollapsed] = useState<Set<string> | null>(null);
  const groups = dag.data?.graph.groups;
  const effectiveCollapsed = useMemo(() => collapsed ?? new Set((groups ?? []).length > 0 && (dag.data?.graph.tasks.length ?? 0) > 30 ? groups!.map((g) => g.group_id) : []), [collapsed, groups, dag.data]);
  const toggleGroup = (g: string) => {
    const next = new Set(effectiveCollapsed);
    if (next.has(g)) next.delete(g);
    else next.add(g);
    setCollapsed(next);
  };

  if (dag.error && !dag.data) return <ErrorBox error={dag.error} title={`DAG ${dagId}`} />;
  if (!dag.data) return <Loading what={dagId} />;
  const d = dag.data;
  const triggerOpen = search.get('trigger') === '1';
  return (
    <section>
      <div className="page-head">
        <nav className="crumbs" aria-label="breadcrumb">
          <a href="/" onClick={(e) => (e.preventDefault(), navigate('/'))}>
            DAGs
          </a>{' '}
          /
        </nav>
        <h1>
          <PauseToggle dagId={d.dag_id} paused={d.is_paused} onChange={dag.reload} /> {d.dag_id}
        </h1>
        <span className="spacer" />
        {canOperate && (
          <button type="button" className="primary" onClick={() => setSearch({ trigger: '1' }, { replace: false })}>
            ▶ Trigger
          </button>
        )}
      </div>
      <div className="dag-meta">
        {d.description && <p>{d.description}</p>}
        <div className="meta-row small">
          {d.tags.map((t) => (
            <span key={t} className="chip small">
              {t}
            </span>
          ))}
          <span>
            schedule: <span className="mono">{d.schedule.kind === 'cron' ? d.schedule.expression : d.schedule.kind}</span>
          </span>
          {d.next_run_at && <span title={time(d.next_run_at)}>next run {ago(d.next_run_at)}</span>}
          <span>
            max active runs {d.max_active_runs}, tasks {d.max_active_tasks}
          </span>
          {d.is_paused && <span className="chip warn">paused: no new runs start</span>}
        </div>
      </div>
      <Tabs<Tab>
        label="DAG views"
        value={tab}
        onChange={(t) => setSearch({ tab: t === 'grid' ? undefined : t })}
        tabs={[
          { id: 'grid', label: 'Grid' },
          { id: 'graph', label: 'Graph' },
          { id: 'runs', label: 'Runs' },
          { id: 'code', label: 'Code' },
        ]}
      />
      <div role="tabpanel" className="tabpanel">
        <Suspense fallback={<Loading />}>
        {tab === 'grid' && <GridView dag={d} collapsed={effectiveCollapsed} onToggleGroup={toggleGroup} />}
        {tab === 'graph' && <GraphView dag={d} collapsed={effectiveCollapsed} onToggleGroup={toggleGroup} />}
        {tab === 'runs' && <RunHistory dagId={d.dag_id} />}
        {tab === 'code' && <CodeView dag={d} />}
        </Suspense>
      </div>
      {triggerOpen && canOperate && (
        <TriggerDialog
          dag={d}
          open
          onClose={() => setSearch({ trigger: undefined })}
          onTriggered={(r) => navigate(href.run(d.dag_id, r.run_id))}
        />
      )}
    </section>
  );
}
