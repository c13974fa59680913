/** Runs of a DAG, newest first, with their durations drawn to scale. */
import { useState } from 'react';
import { api } from '../../api/endpoints.js';
import type { RunState } from '../../api/types.js';
import { Empty, ErrorBox, Loading, Pager, StateBadge } from '../../components/bits.js';
import { between, duration, time } from '../../lib/format.js';
import { Link, href } from '../../lib/router.js';
import { ACTIVE_RUN, stateColor } from '../../lib/states.js';
import { useQuery } from '../../lib/use-query.js';

const PAGE = 25;

export function RunHistory({ dagId }: { dagId: string }) {
  const [offset, setOffset] = useState(0);
  const [state, setState] = useState<RunState | ''>('');
  const runs = useQuery(`runs ${dagId} ${offset} ${state}`, () => api.runs(dagId, { limit: PAGE, offset, state: state ? [state] : undefined }), {
    live: { dagId, on: ['run'] },
    active: (d) => !!d?.items.some((r) => ACTIVE_RUN.has(r.state)),
  });
  if (runs.error && !runs.data) return <ErrorBox error={runs.error} />;
  if (!runs.data) return <Loading what="runs" />;
  const now = Date.now();
  const max = Math.max(1, ...runs.data.items.map((r) => between(r.start_date, r.end_date, now) ?? 0));
  return (
    <div>
      <div className="filters">
        <label>
          State{' '}
          <select value={state} onChange={(e) => (setState(e.target.value as RunState | ''), setOffset(0))}>
            <option value="">any</option>
            {['queued', 'running', 'success', 'failed'].map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
      </div>
      {runs.data.items.length === 0 ? (
        <Empty>No runs{state ? ` in state ${state}` : ''} yet.</Empty>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Run</th>
              <th scope="col">State</th>
              <th scope="col">Type</th>
              <th scope="col">Started</th>
              <th scope="col">Duration</th>
              <th scope="col">Conf</th>
            </tr>
          </thead>
          <tbody>
            {runs.data.items.map((r) => {
              const d = between(r.start_date, r.end_date, now);
              return (
                <tr key={r.run_id}>
                  <td>
                    <Link to={href.run(dagId, r.run_id)} className="mono">
                      {r.run_id}
                    </Link>
                  </td>
                  <td>
                    <StateBadge state={r.state} />
                  </td>
                  <td className="small">{r.run_type}</td>
                  <td className="small">{time(r.start_date ?? r.queued_at)}</td>
                  <td className="duration-cell">
                    <span className="duration-bar" style={{ width: `${((d ?? 0) / max) * 100}%`, background: stateColor(r.state) }} />
                    <span className="small">{duration(d)}</span>
                  </td>
                  <td className="mono small clamp">{Object.keys(r.conf).length ? JSON.stringify(r.conf) : '—'}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <Pager total={runs.data.total} limit={PAGE} offset={offset} onOffset={setOffset} />
    </div>
  );
}
