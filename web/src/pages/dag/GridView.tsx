/**
 * Runs × tasks, from one request (`GET /dags/{dag_id}/grid`). A mapped task is one cell with
 * its instances counted by state; a collapsed group is one row. Live: refetched when a run or
 * task instance of this DAG changes.
 */
import { api } from '../../api/endpoints.js';
import type { DagDetail, GridCell, GridRun } from '../../api/types.js';
import { CountsBar, Empty, ErrorBox, Loading } from '../../components/bits.js';
import { between, duration, time } from '../../lib/format.js';
import { cellState, gridRunCount, groupCachedCount, groupCounts, isMappedCell } from '../../lib/grid-cells.js';
import { Link, href, setSearch, useLocation } from '../../lib/router.js';
import { taskRows, type Row } from '../../lib/rows.js';
import { ACTIVE_RUN, STATE_WORDS, shownState, stateColor } from '../../lib/states.js';
import { useQuery } from '../../lib/use-query.js';

export function GridView({ dag, collapsed, onToggleGroup }: { dag: DagDetail; collapsed: ReadonlySet<string>; onToggleGroup: (g: string) => void }) {
  const { search } = useLocation();
  const count = gridRunCount(search);
  const grid = useQuery(`grid ${dag.dag_id} ${count}`, () => api.grid(dag.dag_id, count), {
    live: { dagId: dag.dag_id, on: ['run', 'ti', 'task'] },
    active: (d) => !!d?.runs.some((r) => ACTIVE_RUN.has(r.state)),
  });
  const rows = taskRows(dag.graph.tasks, dag.graph.groups, collapsed);
  if (grid.error && !grid.data) return <ErrorBox error={grid.error} />;
  if (!grid.data) return <Loading what="runs" />;
  // Newest first in the DOM, shown oldest-left by CSS (row-reverse).
  const ordered = grid.data.runs;
  const cells = grid.data.cells;
  const now = Date.now();
  const maxDur = Math.max(1, ...ordered.map((r) => between(r.start_date, r.end_date, now) ?? 0));
  return (
    <div className="grid-wrap">
      <div className="filters small">
        <label>
          Runs shown{' '}
          <select value={count} onChange={(e) => setSearch({ runs: e.target.value === '12' ? undefined : e.target.value })}>
            {[6, 12, 25, 50].map((n) => (
              <option key={n}>{n}</option>
            ))}
          </select>
        </label>
        <Legend />
      </div>
      {ordered.length === 0 && <Empty>No runs yet. Trigger one.</Empty>}
      <div className="grid-view" role="group" aria-label={`grid of ${dag.dag_id}: runs oldest to newest, left to right`} data-testid="grid">
        <div className="grid-col labels">
          <div className="grid-head">
            <span>Task</span>
          </div>
          {rows.map((r) => (
            <div key={r.id} className={`grid-label ${r.kind}`} style={{ paddingLeft: 6 + r.depth * 14 }}>
              {r.kind === 'group' ? (
                <button type="button" className="linkish" aria-expanded={!r.collapsed} onClick={() => onToggleGroup(r.group)} title={`${r.members.length} tasks`}>
                  {r.collapsed ? '▸' : '▾'} {r.group.split('.').pop()}
                </button>
              ) : (
                <span title={r.task.task_id}>
                  {r.label}
                  {r.task.mapped && <span className="muted small"> [ ]</span>}
                </span>
              )}
            </div>
          ))}
        </div>
        <div className="grid-runs">
          {ordered.map((run) => (
            <RunColumn key={run.run_id} dagId={dag.dag_id} run={run} rows={rows} cells={cells[run.run_id]} barHeight={6 + ((between(run.start_date, run.end_date, now) ?? 0) / maxDur) * 34} />
          ))}
        </div>
      </div>
    </div>
  );
}

function Legend() {
  return (
    <span className="legend" aria-label="state colours">
      {['success', 'cached', 'failed', 'running', 'queued', 'scheduled', 'up_for_retry', 'upstream_failed', 'skipped', 'none'].map((s) => (
        <span key={s} className="legend-item" data-legend={s}>
          <span className="dot" style={{ background: stateColor(s) }} aria-hidden="true" />
          {STATE_WORDS[s]}
        </span>
      ))}
    </span>
  );
}

function RunColumn({ dagId, run, rows, cells, barHeight }: { dagId: string; run: GridRun; rows: Row[]; cells: Readonly<Record<string, GridCell>> | undefined; barHeight: number }) {
  const d = between(run.start_date, run.end_date);
  return (
    <div className="grid-col run" data-run={run.run_id}>
      <div className="grid-head">
        <Link
          to={href.run(dagId, run.run_id)}
          className="run-bar"
          data-state={run.state}
          title={`${run.run_id}\n${run.state}, ${duration(d)}\nstarted ${time(run.start_date)}`}
          aria-label={`run ${run.run_id}: ${run.state}`}
          style={{ height: barHeight, background: stateColor(run.state) }}
        />
      </div>
      {rows.map((r) => (
        <div key={r.id} className="grid-cell">
          <Cell dagId={dagId} runId={run.run_id} row={r} cells={cells} />
        </div>
      ))}
    </div>
  );
}

function Cell({ dagId, runId, row, cells }: { dagId: string; runId: string; row: Row; cells: Readonly<Record<string, GridCell>> | undefined }) {
  if (row.kind === 'group') {
    if (!row.collapsed) return <span className="cell blank" aria-hidden="true" />;
    return (
      <Link to={href.run(dagId, runId)} className="cell mapped" aria-label={`group ${row.group}`}>
        <CountsBar counts={groupCounts(cells, row.members)} cached={groupCachedCount(cells, row.members)} compact />
      </Link>
    );
  }
  const c = cells?.[row.id];
  if (!c) return <span className="cell" title={`${row.id}: not in this run`} style={{ opacity: 0.25 }} />;
  const state = cellState(c);
  if (isMappedCell(c)) {
    return (
      <Link to={href.run(dagId, runId, row.id)} className="cell mapped" data-task={row.id} data-state={state} aria-label={`${row.id}: ${c.total} mapped instances`}>
        <CountsBar counts={c.counts} cached={c.cached_count} total={c.total} compact />
      </Link>
    );
  }
  const shown = shownState(state, c.cached);
  return (
    <Link
      to={href.ti(dagId, runId, row.id, -1)}
      className="cell"
      data-task={row.id}
      data-state={state}
      data-cached={shown === 'cached' ? 'true' : undefined}
      title={`${row.id}: ${STATE_WORDS[shown] ?? shown}${c.duration_ms ? `, ${duration(c.duration_ms)}` : ''}${c.failure ? `\n${c.failure}` : ''}`}
      aria-label={`${row.id}: ${STATE_WORDS[shown] ?? shown}`}
      style={{ background: stateColor(shown) }}
    />
  );
}
