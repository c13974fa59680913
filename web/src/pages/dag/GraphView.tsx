/** The DAG laid out in layers (left to right), coloured by a run's task states; groups collapse to one node. */
import { useMemo, useState } from 'react';
import { api } from '../../api/endpoints.js';
import type { DagDetail } from '../../api/types.js';
import { Empty, Loading } from '../../components/bits.js';
import { shownGraph } from '../../lib/dag-graph.js';
import { layoutDag } from '../../lib/graph-layout.js';
import { href, navigate, setSearch, useLocation } from '../../lib/router.js';
import { cachedCount, loadRunTasks, mergeCounts, summaryState } from '../../lib/run-tasks.js';
import { ACTIVE_RUN, SHOWN_STATE_ORDER, STATE_WORDS, countsWords, shownCounts, shownState, stateColor } from '../../lib/states.js';
import { useQuery } from '../../lib/use-query.js';

const W = 168;
const H = 46;
/** Characters of a task id that fit in a node (12.5px monospace). */
const MAX_LABEL = Math.floor((W - 22) / 7.6);

export function GraphView({ dag, collapsed, onToggleGroup }: { dag: DagDetail; collapsed: ReadonlySet<string>; onToggleGroup: (g: string) => void }) {
  const { search } = useLocation();
  const [fit, setFit] = useState(true);
  const runs = useQuery(`graph-runs ${dag.dag_id}`, () => api.runs(dag.dag_id, { limit: 25 }), {
    live: { dagId: dag.dag_id, on: ['run'] },
    active: (d) => !!d?.items.some((r) => ACTIVE_RUN.has(r.state)),
  });
  const runId = search.get('run') ?? runs.data?.items[0]?.run_id;
  const run = runs.data?.items.find((r) => r.run_id === runId);
  const active = !!run && ACTIVE_RUN.has(run.state);
  const cells = useQuery(`run-tasks ${dag.dag_id} ${runId} ${run?.state} ${dag.latest_version}`, () => loadRunTasks(dag.dag_id, runId!, dag.graph.tasks), {
    enabled: !!runId,
    live: active ? { dagId: dag.dag_id, runId } : undefined,
    active: () => active,
  });

  const { graph, layout } = useMemo(() => {
    const graph = shownGraph(dag.graph.tasks, dag.graph.groups, collapsed);
    const layout = layoutDag(
      graph.nodes.map((n) => ({ id: n.id, width: W, height: H })),
      graph.edges,
      { layerGap: 56, nodeGap: 16 },
    );
    return { graph, layout };
  }, [dag, collapsed]);

  if (!dag.graph.tasks.length) return <Empty>This DAG has no tasks.</Empty>;
  const nodeById = new Map(graph.nodes.map((n) => [n.id, n]));
  // Boxes around expanded groups, from their members' positions.
  const boxes: { group: string; x0: number; y0: number; x1: number; y1: number; depth: number }[] = [];
  for (const g of dag.graph.groups) {
    if (collapsed.has(g.group_id)) continue;
    const members = layout.nodes.filter((n) => (graph.groupOf.get(nodeById.get(n.id)!.tasks[0]) ?? []).includes(g.group_id) && !n.id.startsWith(`group:${g.group_id}`));
    if (!members.length) continue;
    const depth = g.group_id.split('.').length;
    const pad = 10 - depth * 2;
    boxes.push({
      group: g.group_id,
      depth,
      x0: Math.min(...members.map((n) => n.x - n.width / 2)) - pad,
      y0: Math.min(...members.map((n) => n.y - n.height / 2)) - pad - 14,
      x1: Math.max(...members.map((n) => n.x + n.width / 2)) + pad,
      y1: Math.max(...members.map((n) => n.y + n.height / 2)) + pad,
    });
  }
  const top = Math.min(0, ...boxes.map((b) => b.y0 - 4));
  const height = layout.height - top;

  return (
    <div className="graph-wrap">
      <div className="filters small">
        <label>
          Run{' '}
          <select value={runId ?? ''} onChange={(e) => setSearch({ run: e.target.value || undefined })} aria-label="run shown in the graph">
            {(runs.data?.items ?? []).map((r) => (
              <option key={r.run_id} value={r.run_id}>
                {r.run_id} ({r.state})
              </option>
            ))}
            {!runs.data?.items.length && <option value="">no runs yet</option>}
          </select>
        </label>
        <label className="check">
          <input type="checkbox" checked={fit} onChange={(e) => setFit(e.target.checked)} /> fit to width
        </label>
        {dag.graph.groups.length > 0 && <span className="muted">Click a group's title to collapse it, or a collapsed group to open it.</span>}
      </div>
      {runId && !cells.data && <Loading what="task states" />}
      <div className="graph-scroll">
        <svg width={fit ? '100%' : layout.width} style={{ maxWidth: layout.width, height: 'auto', display: 'block' }} viewBox={`0 ${top} ${layout.width} ${height}`} className="graph" role="group" aria-label={`graph of ${dag.dag_id}`} data-testid="graph">
          <defs>
            <marker id="arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
              <path d="M0,0 L8,4 L0,8 z" className="arrow" />
            </marker>
          </defs>
          {boxes
            .sort((a, b) => a.depth - b.depth)
            .map((b) => (
              <g key={b.group} className="group-box">
                <rect x={b.x0} y={b.y0} width={b.x1 - b.x0} height={b.y1 - b.y0} rx={8} />
                <a
                  href="#"
                  role="button"
                  aria-label={`collapse group ${b.group}`}
                  onClick={(e) => {
                    e.preventDefault();
                    onToggleGroup(b.group);
                  }}
                >
                  <text x={b.x0 + 8} y={b.y0 + 12} className="group-title">
                    ▾ {b.group}
                  </text>
                </a>
              </g>
            ))}
          {layout.edges.map((e) => (
            <path
              key={`${e.from}>${e.to}`}
              className="edge"
              markerEnd="url(#arrow)"
              d={e.points.map((p, i) => (i === 0 ? `M${p.x},${p.y}` : ` C${(e.points[i - 1].x + p.x) / 2},${e.points[i - 1].y} ${(e.points[i - 1].x + p.x) / 2},${p.y} ${p.x},${p.y}`)).join('')}
            />
          ))}
          {layout.nodes.map((n) => {
            const node = nodeById.get(n.id)!;
            const x = n.x - n.width / 2;
            const y = n.y - n.height / 2;
            const cellList = node.tasks.map((t) => cells.data?.get(t));
            const counts = node.kind === 'group' || node.mapped ? mergeCounts(cellList) : undefined;
            const single = node.kind === 'task' ? cellList[0] : undefined;
            const state = counts ? (Object.keys(counts).length ? summaryState(counts) : 'none') : single?.state ?? 'none';
            // Cached successes are counted apart; a cached success (or a mapped task whose successes
            // were all cached) has its own word and colour, and data-state keeps the real state.
            const shownParts = counts ? shownCounts(counts, cachedCount(cellList)) : undefined;
            const shown = shownParts ? shownState(state, (shownParts.cached ?? 0) > 0 && !shownParts.success) : shownState(state, single?.ti?.cached);
            const total = counts ? Object.values(counts).reduce((a, b) => a + b, 0) : 0;
            const open = () => {
              if (node.kind === 'group') return onToggleGroup(node.label);
              if (!runId) return;
              if (node.mapped && single?.summary) return navigate(href.run(dag.dag_id, runId, node.id));
              navigate(href.ti(dag.dag_id, runId, node.id, single?.ti?.map_index ?? -1));
            };
            const parts = shownParts ? SHOWN_STATE_ORDER.filter((s) => (shownParts[s] ?? 0) > 0) : [];
            let cx = x + 8;
            return (
              <a
                key={n.id}
                href="#"
                className={`node ${node.kind}`}
                data-node={n.id}
                data-state={state}
                data-cached={shown === 'cached' ? 'true' : undefined}
                aria-label={`${node.kind === 'group' ? 'group' : 'task'} ${node.label}: ${STATE_WORDS[shown] ?? shown}${total ? `, ${total} instances` : ''}`}
                onClick={(e) => {
                  e.preventDefault();
                  open();
                }}
              >
                <title>
                  {node.kind === 'group' ? `${node.label}: ${node.tasks.length} tasks (click to expand)` : n.id}
                  {shownParts && total > 0 ? `\n${countsWords(shownParts)}` : ''}
                </title>
                <rect x={x} y={y} width={n.width} height={n.height} rx={6} className="node-box" style={{ stroke: stateColor(shown) }} />
                <rect x={x} y={y} width={5} height={n.height} rx={2} style={{ fill: stateColor(shown) }} />
                <text x={x + 12} y={y + 17} className="node-label">
                  {node.kind === 'group' ? `▸ ${node.label}` : node.label.length > MAX_LABEL ? `${node.label.slice(0, MAX_LABEL - 1)}…` : node.label}
                  {node.mapped && node.kind === 'task' ? ' [ ]' : ''}
                </text>
                <text x={x + 12} y={y + 32} className="node-sub">
                  {node.kind === 'group' ? `${node.tasks.length} tasks` : counts && total ? `${total.toLocaleString()} mapped` : STATE_WORDS[shown] ?? shown}
                </text>
                {shownParts && total > 0 && (
                  <g transform={`translate(0 ${y + n.height - 8})`}>
                    {parts.map((s) => {
                      const w = (shownParts[s] / total) * (n.width - 16);
                      const r = <rect key={s} x={cx} y={0} width={Math.max(w, 1)} height={4} data-state={s} style={{ fill: stateColor(s) }} />;
                      cx += w;
                      return r;
                    })}
                  </g>
                )}
              </a>
            );
          })}
        </svg>
      </div>
    </div>
  );
}
