/**
 * A mapped task's instances: counts by state, a duration histogram and the commonest errors
 * from the API's summary, and one page of instances at a time, filtered by state.
 */
import { useState } from 'react';
import { api } from '../../api/endpoints.js';
import type { GraphTask, TaskState } from '../../api/types.js';
import { CountsBar, ErrorBox, Loading, Pager, StateBadge } from '../../components/bits.js';
import { ClearButton } from '../../components/Actions.js';
import { Histogram } from '../../components/charts.js';
import { duration } from '../../lib/format.js';
import { Link, href } from '../../lib/router.js';
import { sweepHref } from '../ml/sweep-href.js';
import { SHOWN_STATE_ORDER, STATE_WORDS, shownCounts, stateColor } from '../../lib/states.js';
import { useQuery } from '../../lib/use-query.js';

const PAGE = 50;

/** The instance list's filter for a shown state: `cached` and `success` split the store's successes. */
function instanceFilter(shown: string): { state?: TaskState[]; cached?: boolean } {
  if (!shown) return {};
  if (shown === 'cached') return { state: ['success'], cached: true };
  return { state: [shown as TaskState], cached: shown === 'success' ? false : undefined };
}

export function MappedDrilldown({ dagId, runId, task, active, onClose, onChanged }: { dagId: string; runId: string; task: GraphTask; active: boolean; onClose: () => void; onChanged: () => void }) {
  const [state, setState] = useState('');
  const [offset, setOffset] = useState(0);
  const summary = useQuery(`summary ${dagId} ${runId} ${task.task_id}`, () => api.summary(dagId, runId, task.task_id, { buckets: 20, top: 8 }), {
    live: { dagId, runId },
    active: () => active,
  });
  const page = useQuery(`instances ${dagId} ${runId} ${task.task_id} ${state} ${offset}`, () => api.taskInstances(dagId, runId, { task_id: task.task_id, ...instanceFilter(state), limit: PAGE, offset }), {
    live: { dagId, runId },
    active: () => active,
  });
  const s = summary.data;
  const counts = s ? shownCounts(s.counts, s.cached_count) : {};
  return (
    <section className="card drilldown" aria-labelledby="drill-title" data-testid="drilldown">
      <header className="card-head">
        <h2 id="drill-title">
          <span className="mono">{task.task_id}</span> {s ? <span className="muted">· {s.total.toLocaleString()} mapped instances</span> : null}
        </h2>
        <span className="spacer" />
        <Link to={sweepHref(dagId, runId, task.task_id)} className="button" data-testid="sweep-link">
          Sweep: curves and trials
        </Link>
        <ClearButton dagId={dagId} runId={runId} taskIds={[task.task_id]} label="Clear all instances" onDone={onChanged} />
        <button type="button" className="icon" onClick={onClose} aria-label="close the drill-down">
          ×
        </button>
      </header>
      <ErrorBox error={summary.error} />
      {!s && !summary.error && <Loading what="summary" />}
      {s && (
        <div className="drill-summary">
          <div>
            <CountsBar counts={s.counts} cached={s.cached_count} total={s.total} />
            <div className="state-filter" role="group" aria-label="filter instances by state">
              <button type="button" className={state === '' ? 'chip on' : 'chip'} aria-pressed={state === ''} onClick={() => (setState(''), setOffset(0))}>
                all {s.total.toLocaleString()}
              </button>
              {SHOWN_STATE_ORDER.filter((k) => (counts[k] ?? 0) > 0 && k !== 'removed').map((k) => (
                <button key={k} type="button" className={state === k ? 'chip on' : 'chip'} aria-pressed={state === k} data-filter={k} onClick={() => (setState(k), setOffset(0))}>
                  <span className="dot" style={{ background: stateColor(k) }} aria-hidden="true" /> {STATE_WORDS[k]} {counts[k].toLocaleString()}
                </button>
              ))}
            </div>
            <div className="small muted">
              {s.duration.finished.toLocaleString()} finished · min {duration(s.duration.min_ms)} · mean {duration(s.duration.mean_ms)} · max {duration(s.duration.max_ms)}
            </div>
          </div>
          <Histogram buckets={s.duration.buckets} label="Durations of finished instances" />
          <div className="top-errors">
            <h3>Top errors</h3>
            {s.top_errors.length === 0 ? (
              <div className="muted small">No instance has failed.</div>
            ) : (
              <ol>
                {s.top_errors.map((e, i) => (
                  <li key={i}>
                    <strong>{e.count.toLocaleString()}×</strong> {e.failure ?? 'failed'}
                    {e.reason && <div className="mono small">{e.reason}</div>}
                  </li>
                ))}
              </ol>
            )}
          </div>
        </div>
      )}
      <ErrorBox error={page.error} />
      {page.data && (
        <>
          <table className="table compact">
            <thead>
              <tr>
                <th scope="col">Map index</th>
                <th scope="col">Item</th>
                <th scope="col">State</th>
                <th scope="col">Try</th>
                <th scope="col">Duration</th>
                <th scope="col">Failure</th>
              </tr>
            </thead>
            <tbody>
              {page.data.items.map((ti) => (
                <tr key={ti.map_index}>
                  <td>
                    <Link to={href.ti(dagId, runId, ti.task_id, ti.map_index)} className="mono">
                      [{ti.map_index}]
                    </Link>
                  </td>
                  <td className="mono small clamp">{ti.item === null || ti.item === undefined ? '—' : JSON.stringify(ti.item)}</td>
                  <td>
                    <StateBadge state={ti.state} cached={ti.cached} />
                  </td>
                  <td className="small">{ti.try_number || '—'}</td>
                  <td className="small">{duration(ti.duration_ms)}</td>
                  <td className="small failure">{ti.failure ? `${ti.failure}${ti.reason ? `: ${ti.reason}` : ''}` : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager total={page.data.total} limit={PAGE} offset={offset} onOffset={setOffset} />
        </>
      )}
    </section>
  );
}
