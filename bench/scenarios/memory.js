/**
 * MEM (the foundation's figures): resident memory of `trainyard standalone`, idle and during a
 * 1,000-task run (1,000 mapped `true` tasks at parallelism 4). The standalone process is
 * sampled from /proc every 250 ms (VmRSS); its children (the DAG-file processor, workers and
 * the running tasks) are summed separately. Idle: the 5 s after the DAG folder is loaded and
 * 3 s have passed. During: from the trigger (`trainyard dags trigger`, a separate process)
 * to the run's end.
 */
import { memoryOf, descendantsRss, sleep, withTimeout } from '../lib/proc.js';
import { loadAverage } from '../lib/machine.js';
import { median } from '../lib/stats.js';
import { round1 } from '../lib/trainyard.js';
import { mappedDag } from './s2-mapped.js';
import { acrossReps, repeat } from './common.js';

async function rep(ty, n, idleMs) {
  const inst = await ty.instance('MEM');
  try {
    inst.writeDag('bench_map.ts', mappedDag(ty, n));
    const load_before = loadAverage();
    const p = ty.start(inst, ['standalone'], { tag: 'standalone', env: { TRAINYARD_PARALLELISM: '4' } });
    let reader;
    try {
      // Up: the DAG is in the store.
      const deadline = Date.now() + 120_000;
      for (;;) {
        try {
          reader ??= await ty.reader(inst);
          const rows = await reader.all("SELECT dag_id FROM dag WHERE dag_id = 'bench_map'");
          if (rows.length) break;
        } catch {
          reader = undefined;
        }
        if (Date.now() > deadline) throw new Error('standalone did not load the DAG within 120 s');
        await sleep(100);
      }
      await sleep(3000);
      const idle = [];
      const idleChildren = [];
      for (let t = 0; t < idleMs; t += 250) {
        idle.push(memoryOf(p.pid)?.rss ?? 0);
        idleChildren.push(descendantsRss(p.pid).rss);
        await sleep(250);
      }
      const trig = ty.start(inst, ['dags', 'trigger', 'bench_map'], { tag: 'trigger' });
      const during = [];
      let childPeak = 0;
      let i = 0;
      const runDeadline = Date.now() + 30 * 60_000;
      for (;;) {
        during.push(memoryOf(p.pid)?.rss ?? 0);
        if (i++ % 4 === 0) childPeak = Math.max(childPeak, descendantsRss(p.pid).rss);
        const [r] = await reader.all("SELECT state FROM dag_run WHERE dag_id = 'bench_map'");
        if (r && (r.state === 'success' || r.state === 'failed')) break;
        if (Date.now() > runDeadline) throw new Error('the 1,000-task run did not end within 30 min');
        await sleep(250);
      }
      await withTimeout(trig, 60_000, 'dags trigger').catch(() => {});
      const hwm = memoryOf(p.pid)?.hwm ?? null;
      return {
        idle_rss_mb: round1(median(idle)),
        idle_rss_max_mb: round1(Math.max(...idle)),
        idle_children_rss_mb: round1(median(idleChildren)),
        during_rss_peak_mb: round1(Math.max(...during)),
        during_children_rss_peak_mb: round1(childPeak),
        lifetime_peak_rss_mb: round1(hwm),
        load_before,
        load_after: loadAverage(),
      };
    } finally {
      await reader?.close().catch(() => {});
      try {
        process.kill(p.pid, 'SIGTERM');
      } catch {
        /* gone */
      }
      await withTimeout(p, 30_000, 'standalone shutdown').catch(() => {});
    }
  } finally {
    await inst.cleanup();
  }
}

export default {
  id: 'MEM',
  title: 'standalone resident memory: idle, and during a 1,000-task run (foundation target)',
  async run(ctx) {
    const n = ctx.quick ? 200 : 1000;
    const out = { tasks: n, parallelism: 4 };
    for (const ty of ctx.trainyards) {
      const reps = await repeat(ctx, `MEM ${ty.label}`, ctx.reps, () => rep(ty, n, ctx.quick ? 2000 : 5000));
      out[`trainyard_${ty.label}`] = {
        idle_rss_mb: acrossReps(reps, (r) => r.idle_rss_mb),
        idle_children_rss_mb: acrossReps(reps, (r) => r.idle_children_rss_mb),
        during_rss_peak_mb: acrossReps(reps, (r) => r.during_rss_peak_mb),
        during_children_rss_peak_mb: acrossReps(reps, (r) => r.during_children_rss_peak_mb),
        reps,
      };
    }
    return out;
  },
};
