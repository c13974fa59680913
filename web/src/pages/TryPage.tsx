/** A task instance and its tries: failure in plain words, why pending, the live log, metrics, result, process details. */
import { useEffect, useState } from 'react';
import { ApiError } from '../api/client.js';
import { api } from '../api/endpoints.js';
import type { TaskInstance, Try } from '../api/types.js';
import { ErrorBox, Loading, StateBadge, Tabs } from '../components/bits.js';
import { ClearButton, MarkButtons } from '../components/Actions.js';
import { MetricCharts } from '../components/charts.js';
import { duration, time } from '../lib/format.js';
import { Link, href, setSearch, useLocation, useTitle } from '../lib/router.js';
import { loadRunTasks } from '../lib/run-tasks.js';
import { FINISHED } from '../lib/states.js';
import { useQuery } from '../lib/use-query.js';
import { whyPending } from '../lib/why-pending.js';
import { CachedFromBox } from './try/CachedFromBox.js';
import { LogTail } from './try/LogTail.js';
import { sweepHref } from './ml/sweep-href.js';
import { tryChartSeries } from '../api/ml.js';

const LIVE_TRY = new Set(['queued', 'running']);

export function TryPage({ dagId, runId, taskId, mapIndex }: { dagId: string; runId: string; taskId: string; mapIndex: number }) {
  const label = `${taskId}${mapIndex >= 0 ? `[${mapIndex}]` : ''}`;
  useTitle(`${label} · ${runId}`);
  const { search } = useLocation();
  const ti = useQuery(`ti ${dagId} ${runId} ${taskId} ${mapIndex}`, () => api.taskInstance(dagId, runId, taskId, mapIndex), {
    live: { dagId, runId },
    active: (t) => !t || !FINISHED.has(t.state),
  });
  const state = ti.data?.state;
  const tries = useQuery(`tries ${dagId} ${runId} ${taskId} ${mapIndex} ${ti.data?.try_number} ${state}`, () => api.tries(dagId, runId, taskId, mapIndex), { enabled: !!ti.data });
  const dag = useQuery(`dag ${dagId}`, () => api.dag(dagId));
  const run = useQuery(`run ${dagId} ${runId} ${state}`, () => api.run(dagId, runId), { enabled: !!ti.data });
  const pendingish = !!state && !FINISHED.has(state) && state !== 'running';
  const cells = useQuery(`run-tasks ${dagId} ${runId} ${state}`, () => loadRunTasks(dagId, runId, dag.data!.graph.tasks), { enabled: pendingish && !!dag.data });

  const items = tries.data?.items ?? [];
  const latest = items.length ? Math.max(...items.map((t) => t.try_number)) : undefined;
  const chosen = Number(search.get('try')) || latest;
  const tr = items.find((t) => t.try_number === chosen);
  const reload = () => ti.reload();

  if (ti.error && !ti.data) return <ErrorBox error={ti.error} title={label} />;
  if (!ti.data) return <Loading what={label} />;
  const t = ti.data;
  const why = whyPending(t, dag.data, run.data, cells.data);
  return (
    <section>
      <div className="page-head">
        <nav className="crumbs" aria-label="breadcrumb">
          <Link to="/">DAGs</Link> / <Link to={href.dag(dagId)}>{dagId}</Link> / <Link to={href.run(dagId, runId, mapIndex >= 0 ? taskId : undefined)}>{runId}</Link> /
        </nav>
        <h1 className="mono">{label}</h1>
        <StateBadge state={t.state} cached={t.cached} />
        <span className="spacer" />
        {t.state !== 'none' && <ClearButton dagId={dagId} runId={runId} taskIds={[taskId]} label="Clear (run again)" onDone={reload} />}
        <MarkButtons what={label} mark={(s) => api.markTask(dagId, runId, taskId, mapIndex, s)} onDone={reload} />
      </div>
      {(t.state === 'failed' || t.state === 'up_for_retry') && t.failure_class && <FailureBox ti={t} tr={tr} />}
      {t.cached && (
        <>
          <CachedFromBox from={t.cached_from} />
          {!tr && t.state === 'success' && <ResultView dagId={dagId} runId={runId} taskId={taskId} mapIndex={mapIndex} />}
        </>
      )}
      {t.state === 'upstream_failed' && (
        <div className="banner error" role="status">
          Not run: an upstream task failed, so its trigger rule could not be met. Clear the failed upstream task (with downstream) to run both again.
        </div>
      )}
      {why && why.length > 0 && (
        <div className="banner info why-pending" role="status" data-testid="why-pending">
          <strong>Why {t.state === 'up_for_retry' ? 'waiting' : 'pending'}: </strong>
          {why.map((w, i) => (
            <div key={i}>{w}</div>
          ))}
        </div>
      )}
      {mapIndex >= 0 && t.item !== null && (
        <div className="small">
          Item: <code>{JSON.stringify(t.item)}</code>
          {' · '}
          <Link to={sweepHref(dagId, runId, taskId)}>compare with the other trials</Link>
        </div>
      )}
      {items.length > 1 && (
        <Tabs
          label="tries"
          value={String(chosen)}
          onChange={(v) => setSearch({ try: v === String(latest) ? undefined : v })}
          tabs={[...items].sort((a, b) => a.try_number - b.try_number).map((x) => ({ id: String(x.try_number), label: <>Try {x.try_number} <span className="dot" data-state={x.state} /></> }))}
        />
      )}
      {!tr && !tries.data && t.try_number > 0 && <Loading what="tries" />}
      {!tr && tries.data && !t.cached && <div className="empty">No try yet: the task has not started.</div>}
      {tr && (
        <div className="try-layout">
          <div className="try-main">
            <h2>
              Log <span className="muted small">try {tr.try_number}</span>
            </h2>
            <LogTail dagId={dagId} runId={runId} taskId={taskId} mapIndex={mapIndex} tryNumber={tr.try_number} live={LIVE_TRY.has(tr.state)} />
            <Metrics dagId={dagId} runId={runId} taskId={taskId} mapIndex={mapIndex} tr={tr} />
          </div>
          <aside className="try-side">
            <TryDetails tr={tr} ti={t} />
            {t.state === 'success' && <ResultView dagId={dagId} runId={runId} taskId={taskId} mapIndex={mapIndex} />}
          </aside>
        </div>
      )}
    </section>
  );
}

function FailureBox({ ti, tr }: { ti: TaskInstance; tr: Try | undefined }) {
  const cls = tr?.failure_class ?? ti.failure_class;
  const words = tr?.failure ?? ti.failure;
  const reason = tr?.reason ?? ti.reason;
  const exit = tr?.exit_code !== null && tr?.exit_code !== undefined ? `exit code ${tr.exit_code}` : tr?.signal ? `signal ${tr.signal}` : null;
  return (
    <div className="failure-box" role="alert" data-testid="failure">
      <div className="failure-title">
        <strong data-testid="failure-words">{words ?? 'Failed'}</strong>
        {cls && <span className="chip small mono">{cls}</span>}
        {exit && <span className="chip small">{exit}</span>}
        {tr && !tr.counts_against_budget && <span className="chip small">did not use a retry</span>}
      </div>
      {reason && (
        <div className="failure-reason" data-testid="failure-reason">
          {reason}
        </div>
      )}
      {ti.state === 'up_for_retry' && ti.next_retry_at && <div className="small">Retrying at {time(ti.next_retry_at)}.</div>}
    </div>
  );
}

function TryDetails({ tr, ti }: { tr: Try; ti: TaskInstance }) {
  const rows: [string, string | number | null][] = [
    ['State', tr.state],
    ['Executor', tr.executor],
    [tr.executor === 'kubernetes' ? 'Pod' : 'External id', tr.external],
    ['Host', tr.host],
    ['PID', tr.pid],
    ['Exit code', tr.exit_code],
    ['Signal', tr.signal],
    ['Queued', time(tr.queued_at)],
    ['Started', time(tr.start_date)],
    ['Ended', time(tr.end_date)],
    ['Duration', duration(tr.duration_ms ?? (tr.start_date ? Date.now() - Date.parse(tr.start_date) : null))],
    ['Pool', ti.pool],
    ['Priority', ti.priority_weight],
  ];
  return (
    <div className="card">
      <h2>{tr.executor === 'kubernetes' ? 'Pod' : 'Process'}</h2>
      <dl className="kv">
        {rows
          .filter(([, v]) => v !== null && v !== undefined && v !== '—')
          .map(([k, v]) => (
            <div key={k}>
              <dt>{k}</dt>
              <dd className="mono small">{String(v)}</dd>
            </div>
          ))}
      </dl>
    </div>
  );
}

function ResultView({ dagId, runId, taskId, mapIndex }: { dagId: string; runId: string; taskId: string; mapIndex: number }) {
  const r = useQuery(`result ${dagId} ${runId} ${taskId} ${mapIndex}`, () =>
    api.result(dagId, runId, taskId, mapIndex).catch((e: unknown) => {
      if (e instanceof ApiError && e.status === 404) return null;
      throw e;
    }),
  );
  return (
    <div className="card">
      <h2>Result</h2>
      {(r.data === null || (r.data && r.data.result === null)) && <div className="muted small">This task returned no result.</div>}
      {r.data && r.data.result !== null && (
        <pre className="code small" data-testid="result">
          {JSON.stringify(r.data.result, null, 2)}
        </pre>
      )}
      <ErrorBox error={r.error} />
    </div>
  );
}

function Metrics({ dagId, runId, taskId, mapIndex, tr }: { dagId: string; runId: string; taskId: string; mapIndex: number; tr: Try }) {
  const live = LIVE_TRY.has(tr.state);
  // Once the try ends, read its metrics once more a moment later: the last points and the
  // state change can reach the page in either order.
  const [settled, setSettled] = useState(false);
  useEffect(() => {
    if (live) return;
    const t = setTimeout(() => setSettled(true), 1500);
    return () => clearTimeout(t);
  }, [live]);
  const m = useQuery(`metrics ${dagId} ${runId} ${taskId} ${mapIndex} ${tr.try_number} ${tr.state} ${settled}`, () => tryChartSeries(dagId, runId, taskId, mapIndex, tr.try_number), {
    // Metric lines move no state: read them every 2.5 s while the try runs.
    live: live ? { dagId, runId, pollActiveMs: 2500 } : undefined,
    active: () => live,
  });
  const [shown, setShown] = useState(false);
  useEffect(() => setShown(true), []);
  if (!shown) return null;
  return (
    <div className="metrics">
      <h2>Metrics</h2>
      {m.data ? <MetricCharts series={m.data.series} /> : <Loading what="metrics" />}
    </div>
  );
}
