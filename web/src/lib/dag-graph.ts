/**
 * The DAG's graph as shown: tasks, with task groups collapsed into one node each where the
 * user collapsed them. Pure, no DOM.
 */
import type { GraphTask } from '../api/types.js';

export interface ShownNode {
  readonly id: string;
  readonly kind: 'task' | 'group';
  readonly label: string;
  /** The tasks it stands for (one for a task, every member for a collapsed group). */
  readonly tasks: readonly string[];
  readonly mapped: boolean;
}
export interface ShownEdge {
  readonly from: string;
  readonly to: string;
}

/** `a.b.c` → [`a`, `a.b`, `a.b.c`]. */
export function groupChain(group: string | null, parents: ReadonlyMap<string, string | null>): string[] {
  const chain: string[] = [];
  let g = group;
  const seen = new Set<string>();
  while (g && !seen.has(g)) {
    seen.add(g);
    chain.unshift(g);
    g = parents.get(g) ?? null;
  }
  return chain;
}

export function shownGraph(
  tasks: readonly GraphTask[],
  groups: readonly { group_id: string; parent: string | null }[],
  collapsed: ReadonlySet<string>,
): { nodes: ShownNode[]; edges: ShownEdge[]; groupOf: Map<string, string[]> } {
  const parents = new Map(groups.map((g) => [g.group_id, g.parent]));
  const repOf = new Map<string, string>();
  const members = new Map<string, string[]>();
  const groupOf = new Map<string, string[]>();
  for (const t of tasks) {
    const chain = groupChain(t.group, parents);
    groupOf.set(t.task_id, chain);
    const outer = chain.find((g) => collapsed.has(g));
    const rep = outer ? `group:${outer}` : t.task_id;
    repOf.set(t.task_id, rep);
    (members.get(rep) ?? members.set(rep, []).get(rep)!).push(t.task_id);
  }
  const byId = new Map(tasks.map((t) => [t.task_id, t]));
  const nodes: ShownNode[] = [];
  for (const [rep, ids] of members) {
    if (rep.startsWith('group:')) {
      const g = rep.slice(6);
      nodes.push({ id: rep, kind: 'group', label: g, tasks: ids, mapped: ids.some((id) => byId.get(id)?.mapped) });
    } else {
      const t = byId.get(rep)!;
      const g = t.group;
      nodes.push({ id: rep, kind: 'task', label: g && rep.startsWith(`${g}.`) ? rep.slice(g.length + 1) : rep, tasks: [rep], mapped: t.mapped });
    }
  }
  const seen = new Set<string>();
  const edges: ShownEdge[] = [];
  for (const t of tasks) {
    for (const u of t.upstream) {
      const from = repOf.get(u);
      const to = repOf.get(t.task_id)!;
      if (!from || from === to) continue;
      const k = `${from}\u0000${to}`;
      if (seen.has(k)) continue;
      seen.add(k);
      edges.push({ from, to });
    }
  }
  return { nodes, edges, groupOf };
}

/** Tasks in the order they run: by layer of the graph, then as the DAG file lists them. */
export function topoOrder(tasks: readonly GraphTask[]): GraphTask[] {
  const layer = new Map<string, number>();
  const byId = new Map(tasks.map((t) => [t.task_id, t]));
  const depth = (id: string, seen = new Set<string>()): number => {
    const known = layer.get(id);
    if (known !== undefined) return known;
    if (seen.has(id)) return 0;
    seen.add(id);
    const t = byId.get(id);
    const d = t ? Math.max(-1, ...t.upstream.filter((u) => byId.has(u)).map((u) => depth(u, seen))) + 1 : 0;
    layer.set(id, d);
    return d;
  };
  tasks.forEach((t) => depth(t.task_id));
  return tasks.map((t, i) => ({ t, i })).sort((a, b) => layer.get(a.t.task_id)! - layer.get(b.t.task_id)! || a.i - b.i).map((x) => x.t);
}
