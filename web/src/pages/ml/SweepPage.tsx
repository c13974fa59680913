/**
 * A sweep (a mapped task of one run): every trial's curve of one metric overlaid on one canvas
 * with the best value so far, a sortable trials table (params and final metrics), and the
 * params against the objective in parallel coordinates. Pick a trial in any of them to
 * highlight it in all three.
 */
import { useDeferredValue, useMemo, useRef, useState } from 'react';
import { curveOptions, mlApi, type SweepSeries, type SweepTrials } from '../../api/ml.js';
import { ErrorBox, Loading } from '../../components/bits.js';
import { LineCanvas } from '../../components/LineCanvas.js';
import { ParallelCoordinates } from '../../components/ParallelCoordinates.js';
import { Link, href, setSearch, useLocation, useTitle } from '../../lib/router.js';
import { useQuery } from '../../lib/use-query.js';
import { bestEnvelope, curves } from './sweep-curves.js';
import { TrialsTable } from './TrialsTable.js';
import './ml.css';

const LIVE = new Set(['none', 'scheduled', 'queued', 'running', 'up_for_retry', 'deferred']);

export function SweepPage({ dagId, runId, taskId }: { dagId: string; runId: string; taskId: string }) {
  useTitle(`${taskId} sweep · ${runId}`);
  const { search } = useLocation();
  const objectiveParam = search.get('objective') ?? undefined;
  const dirParam = (search.get('direction') as 'min' | 'max' | null) ?? undefined;
  const metricParam = search.get('metric') ?? undefined;
  const [picked, setPicked] = useState<number | undefined>(undefined);
  // With the metric in the URL, the curves are asked for first (the chart draws without waiting
  // for the trials table); otherwise once the trials name the objective.
  const running = useRef(true);
  const seriesKey = (m: string | undefined) => `sweep-series ${dagId} ${runId} ${taskId} ${m}`;
  const fetchSeries = (m: string | undefined) => () => mlApi.sweepSeries(dagId, runId, taskId, curveOptions(m!));
  // Metric points arrive without a state change, so the change stream alone would not refresh
  // the curves: while trials run they are also re-read every few seconds.
  const seriesOptions = (m: string | undefined) => ({ enabled: !!m, live: { dagId, runId, pollActiveMs: 2500 }, active: () => running.current });
  const early = useQuery<SweepSeries>(seriesKey(metricParam), fetchSeries(metricParam), seriesOptions(metricParam));
  const trials = useQuery<SweepTrials>(`sweep-trials ${dagId} ${runId} ${taskId} ${objectiveParam} ${dirParam}`, () => mlApi.sweepTrials(dagId, runId, taskId, { objective: objectiveParam, direction: dirParam }), {
    live: { dagId, runId },
    active: (d) => !d || d.trials.some((t) => LIVE.has(t.state)),
  });
  const t = trials.data;
  running.current = !t || t.trials.some((x) => LIVE.has(x.state));
  const metric = metricParam ?? t?.objective ?? t?.metrics[0];
  const lateMetric = metricParam ? undefined : metric;
  const late = useQuery<SweepSeries>(seriesKey(lateMetric), fetchSeries(lateMetric), seriesOptions(lateMetric));
  const series = metricParam ? early : late;
  const lines = useMemo(() => curves(series.data, metric ?? ''), [series.data, metric]);
  const direction = t && metric === t.objective ? t.direction : /loss|err/i.test(metric ?? '') ? 'min' : 'max';
  const envelope = useMemo(() => (lines.length ? { ...bestEnvelope(lines, direction), label: `best ${metric} so far` } : undefined), [lines, direction, metric]);
  const highlight = picked ?? t?.best?.map_index;
  // The table, the parallel coordinates and the second chart render after the curves are on screen.
  const details = useDeferredValue(t);

  if (trials.error && !t) return <ErrorBox error={trials.error} title={`Sweep ${taskId}`} />;
  return (
    <section className="sweep" data-testid="sweep">
      <div className="page-head">
        <nav className="crumbs" aria-label="breadcrumb">
          <Link to="/">DAGs</Link> / <Link to={href.dag(dagId)}>{dagId}</Link> / <Link to={href.run(dagId, runId, taskId)}>{runId}</Link> /
        </nav>
        <h1 className="mono">{taskId}</h1>
        {t && <span className="muted">sweep of {t.trials.length.toLocaleString()} trials</span>}
      </div>
      {t && (
        <div className="sweep-controls filters">
          <label>
            Metric{' '}
            <select value={metric ?? ''} onChange={(e) => setSearch({ metric: e.target.value })} aria-label="metric to plot">
              {t.metrics.map((m) => (
                <option key={m}>{m}</option>
              ))}
            </select>
          </label>
          <label>
            Objective{' '}
            <select value={t.objective ?? ''} onChange={(e) => setSearch({ objective: e.target.value })} aria-label="objective">
              {t.metrics.map((m) => (
                <option key={m}>{m}</option>
              ))}
            </select>
          </label>
          <label>
            <select value={t.direction} onChange={(e) => setSearch({ direction: e.target.value })} aria-label="direction">
              <option value="min">lower is better</option>
              <option value="max">higher is better</option>
            </select>
          </label>
          {t.best && t.objective && (
            <span className="chip on" data-testid="best-trial">
              best: [{t.best.map_index}] {t.objective} = {Number(t.best.value.toPrecision(4))}
            </span>
          )}
        </div>
      )}
      {t && !t.metrics.length && <div className="empty">No trial has reported a metric yet.</div>}
      <ErrorBox error={series.error} />
      {((metric && !series.data && !series.error) || (!t && !series.data)) && <Loading what="curves" />}
      {lines.length > 0 && (
        <div className="card" data-testid="sweep-curves">
          <LineCanvas lines={lines} label={`${metric} of every trial`} highlight={highlight} overlay={envelope} onPick={setPicked} height={300} />
        </div>
      )}
      {details && <SweepDetails dagId={dagId} runId={runId} t={details} highlight={highlight} onPick={setPicked} />}
    </section>
  );
}

/** The best so far as trials finished, the parallel coordinates and the trials table. */
function SweepDetails({ dagId, runId, t, highlight, onPick }: { dagId: string; runId: string; t: SweepTrials; highlight?: number; onPick: (id: number) => void }) {
  const objective = t.objective;
  return (
    <>
      <div className="sweep-grid">
        {t.best_so_far.length > 1 && objective && (
          <div className="card">
            <LineCanvas
              lines={[{ id: -1, label: 'finished trial', x: t.best_so_far.map((_, i) => i + 1), y: t.best_so_far.map((b) => b.value) }]}
              overlay={{ x: t.best_so_far.map((_, i) => i + 1), y: t.best_so_far.map((b) => b.best), label: `best ${objective} so far` }}
              label={`final ${objective} as trials finished`}
              xLabel="trials finished"
              height={200}
            />
          </div>
        )}
        {objective && t.params.length > 0 && (
          <div className="card">
            <h2 className="small">Params against {objective}</h2>
            <ParallelCoordinates
              trials={t.trials.map((x) => ({ id: x.map_index, values: x.params, objective: x.final[objective] }))}
              params={t.params}
              objective={objective}
              direction={t.direction}
              highlight={highlight}
              onPick={onPick}
            />
          </div>
        )}
      </div>
      <TrialsTable dagId={dagId} runId={runId} data={t} highlight={highlight} onPick={onPick} />
    </>
  );
}
