/** A timeline of the run: one bar per task, a mapped task as one bar from its first start to its last end. */
import { useEffect, useState } from 'react';
import { api } from '../../api/endpoints.js';
import type { DagDetail, RunDetail } from '../../api/types.js';
import { duration } from '../../lib/format.js';
import { href, navigate } from '../../lib/router.js';
import { type RunTasks, topoOrder } from '../../lib/run-tasks.js';
import { STATE_WORDS, shownState, stateColor } from '../../lib/states.js';

interface Bar {
  task: string;
  start: number;
  end: number;
  state: string;
  approx: boolean;
  mapped: boolean;
  mapIndex: number;
}

export function Gantt({ dag, run, cells }: { dag: DagDetail; run: RunDetail; cells: RunTasks }) {
  const now = Date.now();
  const ordered = topoOrder(dag.graph.tasks);
  // A mapped task's extent: the summary's when the API gives it, else its first instance's start.
  const [firstStarts, setFirstStarts] = useState<Record<string, number>>({});
  useEffect(() => {
    let stop = false;
    for (const t of ordered) {
      const s = cells.get(t.task_id)?.summary;
      if (!s || s.first_start !== undefined || firstStarts[t.task_id] !== undefined) continue;
      api.taskInstances(dag.dag_id, run.run_id, { task_id: t.task_id, map_index: 0, limit: 1 }).then((p) => {
        const st = p.items[0]?.start_date;
        if (!stop && st) setFirstStarts((old) => ({ ...old, [t.task_id]: Date.parse(st) }));
      }, () => {});
    }
    return () => {
      stop = true;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [cells]);

  const bars: Bar[] = [];
  for (const t of ordered) {
    const c = cells.get(t.task_id);
    if (!c) continue;
    if (c.summary) {
      const s = c.summary;
      const start = s.first_start ? Date.parse(s.first_start) : firstStarts[t.task_id];
      if (start === undefined) continue;
      const activeLeft = ['running', 'queued', 'scheduled', 'up_for_retry', 'none'].some((k) => (s.counts[k] ?? 0) > 0);
      let end = s.last_end ? Date.parse(s.last_end) : undefined;
      let approx = false;
      if (end === undefined) {
        approx = true;
        // The downstream tasks start once it ends; while it runs, now.
        const downstream = ordered.filter((d) => d.upstream.includes(t.task_id)).map((d) => cells.get(d.task_id)?.ti?.start_date).filter((x): x is string => !!x);
        end = activeLeft ? now : downstream.length ? Math.min(...downstream.map(Date.parse)) : start + (s.duration.max_ms ?? 0);
      }
      // Every instance reused an earlier try's result: the bar is cached, as a single task's would be.
      const allCached = (s.cached_count ?? 0) > 0 && s.cached_count === s.total;
      bars.push({ task: t.task_id, start, end, state: allCached ? 'cached' : c.state, approx, mapped: true, mapIndex: -1 });
    } else if (c.ti?.start_date) {
      bars.push({ task: t.task_id, start: Date.parse(c.ti.start_date), end: c.ti.end_date ? Date.parse(c.ti.end_date) : now, state: shownState(c.state, c.ti.cached), approx: false, mapped: false, mapIndex: c.ti.map_index });
    }
  }
  if (!bars.length) return <div className="empty">No task has started yet.</div>;
  const t0 = Math.min(...bars.map((b) => b.start), run.start_date ? Date.parse(run.start_date) : Infinity);
  const t1 = Math.max(...bars.map((b) => b.end), run.end_date ? Date.parse(run.end_date) : 0);
  const span = Math.max(1, t1 - t0);
  const ticks = 5;
  return (
    <div className="gantt" role="table" aria-label="timeline" data-testid="gantt">
      <div className="gantt-row gantt-axis" role="row">
        <span className="gantt-label" role="columnheader">
          Task
        </span>
        <span className="gantt-track">
          {Array.from({ length: ticks + 1 }, (_, i) => (
            <span key={i} className="gantt-tick" style={{ left: `${(i / ticks) * 100}%` }}>
              +{duration((span * i) / ticks)}
            </span>
          ))}
        </span>
      </div>
      {bars.map((b) => (
        <div key={b.task} className="gantt-row" role="row">
          <span className="gantt-label mono small" role="rowheader">
            {b.task}
            {b.mapped ? ' [ ]' : ''}
          </span>
          <span className="gantt-track" role="cell">
            <button
              type="button"
              className={`gantt-bar ${b.approx ? 'approx' : ''}`}
              style={{ left: `${((b.start - t0) / span) * 100}%`, width: `max(3px, ${((b.end - b.start) / span) * 100}%)`, background: stateColor(b.state) }}
              title={`${b.task}: ${STATE_WORDS[b.state] ?? b.state}, ${b.approx ? '≈' : ''}${duration(b.end - b.start)}`}
              aria-label={`${b.task}: ${STATE_WORDS[b.state] ?? b.state}, ${duration(b.end - b.start)}`}
              onClick={() => navigate(b.mapped ? href.run(dag.dag_id, run.run_id, b.task) : href.ti(dag.dag_id, run.run_id, b.task, b.mapIndex))}
            />
          </span>
        </div>
      ))}
    </div>
  );
}
