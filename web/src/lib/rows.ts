/** Rows of the grid and the task list: tasks in run order, with task-group header rows. */
import type { GraphTask } from '../api/types.js';
import { groupChain, topoOrder } from './dag-graph.js';

export type Row =
  | { kind: 'task'; id: string; task: GraphTask; depth: number; label: string }
  | { kind: 'group'; id: string; group: string; depth: number; collapsed: boolean; members: string[] };

export function taskRows(tasks: readonly GraphTask[], groups: readonly { group_id: string; parent: string | null }[], collapsed: ReadonlySet<string>): Row[] {
  const parents = new Map(groups.map((g) => [g.group_id, g.parent]));
  const members = new Map<string, string[]>();
  for (const t of tasks) for (const g of groupChain(t.group, parents)) (members.get(g) ?? members.set(g, []).get(g)!).push(t.task_id);
  const rows: Row[] = [];
  const shown = new Set<string>();
  for (const t of topoOrder(tasks)) {
    const chain = groupChain(t.group, parents);
    let hidden = false;
    for (let i = 0; i < chain.length; i++) {
      const g = chain[i];
      if (!shown.has(g)) {
        shown.add(g);
        rows.push({ kind: 'group', id: `group:${g}`, group: g, depth: i, collapsed: collapsed.has(g), members: members.get(g) ?? [] });
      }
      if (collapsed.has(g)) {
        hidden = true;
        break;
      }
    }
    if (hidden) continue;
    const label = t.group && t.task_id.startsWith(`${t.group}.`) ? t.task_id.slice(t.group.length + 1) : t.task_id;
    rows.push({ kind: 'task', id: t.task_id, task: t, depth: chain.length, label });
  }
  return rows;
}
