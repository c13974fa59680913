/** The run's tasks in run order: state (or counts for a mapped task), tries, timing, failure in plain words. */
import type { DagDetail } from '../../api/types.js';
import { CountsBar, StateBadge } from '../../components/bits.js';
import { ClearButton } from '../../components/Actions.js';
import { duration, time } from '../../lib/format.js';
import { Link, href } from '../../lib/router.js';
import type { RunTasks } from '../../lib/run-tasks.js';
import { topoOrder } from '../../lib/run-tasks.js';
import { useSession } from '../../lib/session.js';

export function TaskList({ dag, runId, cells, onChanged }: { dag: DagDetail; runId: string; cells: RunTasks; onChanged: () => void }) {
  const { canOperate } = useSession();
  return (
    <table className="table task-list" data-testid="task-list">
      <thead>
        <tr>
          <th scope="col">Task</th>
          <th scope="col">State</th>
          <th scope="col">Try</th>
          <th scope="col">Started</th>
          <th scope="col">Duration</th>
          <th scope="col">Why</th>
          {canOperate && (
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
          )}
        </tr>
      </thead>
      <tbody>
        {topoOrder(dag.graph.tasks).map((t) => {
          const c = cells.get(t.task_id);
          const ti = c?.ti;
          const s = c?.summary;
          return (
            <tr key={t.task_id} data-task={t.task_id} data-state={c?.state ?? 'none'} data-cached={ti?.cached ? 'true' : undefined}>
              <td>
                {s ? (
                  <Link to={href.run(dag.dag_id, runId, t.task_id)} className="mono">
                    {t.task_id} <span className="muted">[{s.total.toLocaleString()}]</span>
                  </Link>
                ) : (
                  <Link to={href.ti(dag.dag_id, runId, t.task_id, ti?.map_index ?? -1)} className="mono">
                    {t.task_id}
                  </Link>
                )}
                {t.branch && <span className="chip small">branch</span>}
              </td>
              <td>{s ? <CountsBar counts={s.counts} cached={s.cached_count} total={s.total} /> : <StateBadge state={c?.state ?? 'none'} cached={ti?.cached} />}</td>
              <td className="small">{s ? '—' : ti?.try_number || '—'}</td>
              <td className="small">{time(ti?.start_date)}</td>
              <td className="small">{s ? (s.duration.mean_ms !== null ? `mean ${duration(s.duration.mean_ms)}` : '—') : duration(ti?.duration_ms)}</td>
              <td className="small why">
                {s
                  ? s.top_errors[0] && (
                      <span className="failure">
                        {s.top_errors[0].count}× {s.top_errors[0].failure ?? 'failed'}
                        {s.top_errors[0].reason ? `: ${s.top_errors[0].reason}` : ''}
                      </span>
                    )
                  : ti?.failure
                    ? (
                        <span className="failure">
                          {ti.failure}
                          {ti.reason ? `: ${ti.reason}` : ''}
                        </span>
                      )
                    : ti?.reason && <span className="muted">{ti.reason}</span>}
              </td>
              {canOperate && (
                <td className="row-actions">
                  {c && c.state !== 'none' && <ClearButton dagId={dag.dag_id} runId={runId} taskIds={[t.task_id]} label="Clear" onDone={onChanged} />}
                </td>
              )}
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
