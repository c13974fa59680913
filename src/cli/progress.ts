import type { Store } from '../store/store.js';
import type { TaskInstanceRow } from '../store/store.js';

/**
 * Shows a run's progress: a live table of task states on a terminal, or one plain line per
 * state change otherwise.
 */
export class RunProgress {
  private readonly seen = new Map<string, string>();
  private drawnLines = 0;
  private busy = false;
  private lastAt = 0;

  constructor(
    private readonly store: Store,
    private readonly dagId: string,
    private readonly runId: string,
    private readonly out: NodeJS.WriteStream = process.stdout,
  ) {}

  /** Re-reads the run at most twice a second (`force` for the final picture). */
  async update(force = false): Promise<void> {
    const now = Date.now();
    if (this.busy || (!force && now - this.lastAt < 500)) return;
    this.busy = true;
    this.lastAt = now;
    try {
      const rows = await this.store.listTaskInstances(this.dagId, this.runId);
      if (this.out.isTTY) this.draw(rows);
      else this.printChanges(rows);
    } finally {
      this.busy = false;
    }
  }

  private printChanges(rows: readonly TaskInstanceRow[]): void {
    for (const r of rows) {
      if (r.state === 'removed') continue;
      const id = r.map_index < 0 ? r.task_id : `${r.task_id}[${r.map_index}]`;
      if (this.seen.get(id) === r.state) continue;
      this.seen.set(id, r.state);
      if (r.state === 'none') continue;
      const detail = r.state === 'failed' || r.state === 'up_for_retry' ? ` (${r.failure_class ?? 'error'}: ${firstLine(r.reason)})` : '';
      this.out.write(`${new Date().toISOString()} ${id.padEnd(28)} ${r.state}${r.try_number > 1 ? ` (try ${r.try_number})` : ''}${detail}\n`);
    }
  }

  private draw(rows: readonly TaskInstanceRow[]): void {
    const byTask = new Map<string, Map<string, number>>();
    for (const r of rows) {
      if (r.state === 'removed') continue;
      const counts = byTask.get(r.task_id) ?? new Map<string, number>();
      counts.set(r.state, (counts.get(r.state) ?? 0) + 1);
      byTask.set(r.task_id, counts);
    }
    const lines = [`run ${this.dagId} / ${this.runId}`];
    for (const [taskId, counts] of byTask) {
      const total = [...counts.values()].reduce((a, b) => a + b, 0);
      const text = total === 1 ? [...counts.keys()][0] : [...counts].map(([s, n]) => `${s} ${n}`).join(', ');
      lines.push(`  ${taskId.padEnd(30)} ${text}`);
    }
    if (this.drawnLines) this.out.write(`\x1b[${this.drawnLines}A`);
    this.out.write(lines.map((l) => `\x1b[2K${l}\n`).join(''));
    this.drawnLines = lines.length;
  }
}

function firstLine(s: string | null): string {
  return (s ?? '').split('\n')[0].slice(0, 160);
}
