/** Every DAG: recent runs, next run, paused switch; filter by tag and search; import-error banner. */
import { useEffect, useState } from 'react';
import { api } from '../api/endpoints.js';
import type { Dag } from '../api/types.js';
import { Empty, ErrorBox, Loading, Pager } from '../components/bits.js';
import { PauseToggle } from '../components/PauseToggle.js';
import { ago, between, duration, time } from '../lib/format.js';
import { Link, href, setSearch, useLocation, useTitle } from '../lib/router.js';
import { useSession } from '../lib/session.js';
import { ACTIVE_RUN, stateColor } from '../lib/states.js';
import { useQuery } from '../lib/use-query.js';

const PAGE = 25;

export function DagList() {
  useTitle('DAGs');
  const { search } = useLocation();
  const q = search.get('q') ?? '';
  const tags = search.getAll('tag');
  const paused = search.get('paused') ?? '';
  const offset = Number(search.get('offset') ?? 0) || 0;
  const [text, setText] = useState(q);
  useEffect(() => {
    const t = setTimeout(() => {
      if (text !== q) setSearch({ q: text || undefined, offset: undefined });
    }, 250);
    return () => clearTimeout(t);
  }, [text, q]);

  const key = JSON.stringify({ q, tags, paused, offset });
  const dags = useQuery(`dags ${key}`, () => api.dags({ search: q || undefined, tag: tags.length ? tags : undefined, paused: paused === '' ? undefined : paused === 'true', limit: PAGE, offset }), { live: { on: ['dag'] } });
  const allTags = useQuery('dag-tags', () => api.dags({ limit: 1000 }).then((p) => [...new Set(p.items.flatMap((d) => d.tags))].sort()));
  const errors = useQuery('import-errors', () => api.importErrors(), { live: { on: ['import_errors'] } });

  const toggleTag = (t: string) => {
    const u = new URL(window.location.href);
    const now = u.searchParams.getAll('tag');
    u.searchParams.delete('tag');
    (now.includes(t) ? now.filter((x) => x !== t) : [...now, t]).forEach((x) => u.searchParams.append('tag', x));
    u.searchParams.delete('offset');
    window.history.replaceState(null, '', u.pathname + u.search);
    window.dispatchEvent(new PopStateEvent('popstate'));
  };

  return (
    <section>
      {errors.data && errors.data.total > 0 && (
        <div className="banner error" role="alert" data-testid="import-errors-banner">
          <strong>
            {errors.data.total} DAG file{errors.data.total > 1 ? 's' : ''} failed to load:
          </strong>{' '}
          {errors.data.items.map((e, i) => (
            <span key={e.fileloc}>
              {i > 0 && ', '}
              <Link to={`/import-errors#import-error-${i}`}>{e.fileloc.split('/').pop()}</Link>
            </span>
          ))}
        </div>
      )}
      <div className="page-head">
        <h1>DAGs</h1>
      </div>
      <div className="filters" role="search">
        <input type="search" placeholder="Search DAG ids…" aria-label="search DAGs" value={text} onChange={(e) => setText(e.target.value)} />
        <select aria-label="paused filter" value={paused} onChange={(e) => setSearch({ paused: e.target.value || undefined, offset: undefined })}>
          <option value="">All</option>
          <option value="false">Active</option>
          <option value="true">Paused</option>
        </select>
        <div className="tag-filter" aria-label="filter by tag">
          {(allTags.data ?? []).map((t) => (
            <button key={t} type="button" className={tags.includes(t) ? 'chip on' : 'chip'} aria-pressed={tags.includes(t)} onClick={() => toggleTag(t)}>
              {t}
            </button>
          ))}
        </div>
      </div>
      <ErrorBox error={dags.error} />
      {!dags.data && !dags.error && <Loading what="DAGs" />}
      {dags.data && dags.data.items.length === 0 && <Empty>No DAG matches. {q || tags.length ? 'Clear the filters.' : 'Put a DAG file in the DAG folder.'}</Empty>}
      {dags.data && dags.data.items.length > 0 && (
        <table className="table dag-table">
          <thead>
            <tr>
              <th scope="col" className="narrow">
                <span className="sr-only">Active</span>
              </th>
              <th scope="col">DAG</th>
              <th scope="col">Schedule</th>
              <th scope="col">Recent runs</th>
              <th scope="col">Next run</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {dags.data.items.map((d) => (
              <DagRow key={d.dag_id} dag={d} onPaused={dags.reload} />
            ))}
          </tbody>
        </table>
      )}
      {dags.data && <Pager total={dags.data.total} limit={PAGE} offset={offset} onOffset={(o) => setSearch({ offset: o ? String(o) : undefined })} />}
    </section>
  );
}

function schedule(d: Dag): string {
  const s = d.schedule;
  if (s.kind === 'cron') return `${s.expression}${s.timezone && s.timezone !== 'UTC' ? ` (${s.timezone})` : ''}`;
  if (s.kind === 'interval') return `every ${duration(s.everyMs ?? 0)}`;
  return 'manual';
}

function DagRow({ dag, onPaused }: { dag: Dag; onPaused: () => void }) {
  const { canOperate } = useSession();
  return (
    <tr data-dag={dag.dag_id} className={dag.is_paused ? 'paused' : undefined}>
      <td>
        <PauseToggle dagId={dag.dag_id} paused={dag.is_paused} onChange={onPaused} />
      </td>
      <td>
        <Link to={href.dag(dag.dag_id)} className="dag-link">
          {dag.dag_id}
        </Link>
        {!dag.is_active && <span className="chip warn">file gone</span>}
        {dag.description && <div className="muted small clamp">{dag.description}</div>}
        <div>
          {dag.tags.map((t) => (
            <span key={t} className="chip small">
              {t}
            </span>
          ))}
        </div>
      </td>
      <td className="mono small">{schedule(dag)}</td>
      <td>
        <RecentRuns dagId={dag.dag_id} />
      </td>
      <td className="small">{dag.next_run_at ? <span title={time(dag.next_run_at)}>{ago(dag.next_run_at)}</span> : <span className="muted">—</span>}</td>
      <td>
        {canOperate && (
          <Link to={`${href.dag(dag.dag_id)}?trigger=1`} className="button small" aria-label={`trigger ${dag.dag_id}`}>
            ▶ Trigger
          </Link>
        )}
      </td>
    </tr>
  );
}

function RecentRuns({ dagId }: { dagId: string }) {
  const runs = useQuery(`recent-runs ${dagId}`, () => api.runs(dagId, { limit: 8 }), { live: { dagId, on: ['run'] }, active: (d) => !!d?.items.some((r) => ACTIVE_RUN.has(r.state)) });
  if (!runs.data) return <span className="muted small">…</span>;
  if (!runs.data.items.length) return <span className="muted small">no runs yet</span>;
  const max = Math.max(...runs.data.items.map((r) => between(r.start_date, r.end_date) ?? 0), 1);
  return (
    <span className="recent-runs" aria-label={`recent runs of ${dagId}`}>
      {[...runs.data.items].reverse().map((r) => {
        const d = between(r.start_date, r.end_date) ?? 0;
        return (
          <Link
            key={r.run_id}
            to={href.run(dagId, r.run_id)}
            className="run-pip"
            data-state={r.state}
            style={{ background: stateColor(r.state), height: `${8 + (d / max) * 16}px` }}
            title={`${r.run_id}: ${r.state}, ${duration(d)}`}
            aria-label={`run ${r.run_id} ${r.state}`}
          />
        );
      })}
    </span>
  );
}
