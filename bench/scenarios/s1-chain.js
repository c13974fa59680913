/**
 * S1: a chain of 100 tasks running `true`. The per-hop overhead is the time from one task's
 * end to the next task's start, from the try rows in the store (`task_try.end_date` of task i
 * → `task_try.start_date` of task i+1, epoch ms, recorded by the executor: the end when it
 * reports the try finished (process exited, pipes closed, result file looked for, log closed);
 * the start when spawn() of the next process has returned a pid, i.e. after its exec).
 * Millisecond resolution; 99 hops per run give a stable median. Reported: the median over reps
 * of the per-rep medians, and of the per-rep p95s.
 */
import { acrossReps, repeat, summary } from './common.js';
import { median } from '../lib/stats.js';

export const LENGTH = 100;

export function chainDag(ty, length) {
  return (
    ty.importLine(['dag', 'chain']) +
    `const d = dag('bench_chain', { description: 'S1: a chain of ${length} tasks running true' });\n` +
    `const tasks = Array.from({ length: ${length} }, (_, i) => d.command('t' + String(i).padStart(4, '0'), { command: 'true', resources: { cpu: '100m' } }));\n` +
    `chain(...tasks);\n` +
    `export default d;\n`
  );
}

/** One Trainyard run of the chain; hops from the store. */
export async function trainyardChainRep(ty, length, parallelism) {
  const inst = await ty.instance('S1');
  try {
    inst.writeDag('bench_chain.ts', chainDag(ty, length));
    const proc = await ty.runToEnd(inst, 'bench_chain', { env: { TRAINYARD_PARALLELISM: String(parallelism) } });
    const { run, tries } = await ty.runFigures(inst, 'bench_chain');
    if (run.state !== 'success') throw new Error(`the chain run ended ${run.state}`);
    return { ...chainFigures(run, tries, length), process: proc };
  } finally {
    await inst.cleanup();
  }
}

/** Works for any system whose rows give start and end per task in ms. */
export function chainFigures(run, tries, length) {
  const ordered = [...tries].sort((a, b) => (a.task_id < b.task_id ? -1 : a.task_id > b.task_id ? 1 : 0));
  if (ordered.length !== length) throw new Error(`expected ${length} tries, found ${ordered.length}`);
  const hops = [];
  for (let i = 1; i < ordered.length; i++) hops.push(ordered[i].start_date - ordered[i - 1].end_date);
  const own = ordered.map((t) => t.end_date - t.start_date);
  const runMs = run.end_date - run.start_date;
  return {
    hop_ms: summary(hops),
    task_own_ms: summary(own),
    run_ms: runMs,
    wall_per_task_ms: Math.round((runMs / length) * 100) / 100,
  };
}

export default {
  id: 'S1',
  title: 'chain of 100 `true` tasks: per-hop overhead',
  async run(ctx) {
    const out = {};
    const parallelism = 8;
    const length = ctx.quick ? 20 : LENGTH;
    out.length = length;
    for (const ty of ctx.trainyards) {
      const af = ty.label === 'sqlite' ? ctx.airflow : undefined; // the peer runs once, beside the default store
      const tyReps = [];
      const afReps = [];
      await repeat(ctx, `S1 ${ty.label}${af ? ' A/B with Airflow' : ''}`, ctx.reps, async (i) => {
        const t = await trainyardChainRep(ty, length, parallelism);
        tyReps.push(t);
        const a = af && i < ctx.airflowReps ? await af.chainRep(length) : undefined;
        if (a) afReps.push(a);
        return { trainyard: t, airflow: a };
      });
      out[`trainyard_${ty.label}`] = {
        hop_median_ms: acrossReps(tyReps, (r) => r.hop_ms.median),
        hop_p95_ms: acrossReps(tyReps, (r) => r.hop_ms.p95),
        wall_per_task_ms: acrossReps(tyReps, (r) => r.wall_per_task_ms),
        task_own_median_ms: acrossReps(tyReps, (r) => r.task_own_ms.median),
        reps: tyReps,
      };
      if (af) {
        out.airflow = {
          hop_median_ms: acrossReps(afReps, (r) => r.hop_ms.median),
          hop_p95_ms: acrossReps(afReps, (r) => r.hop_ms.p95),
          wall_per_task_ms: acrossReps(afReps, (r) => r.wall_per_task_ms),
          task_own_median_ms: acrossReps(afReps, (r) => r.task_own_ms.median),
          reps: afReps,
        };
        const t = out[`trainyard_${ty.label}`].hop_median_ms.median;
        const a = out.airflow.hop_median_ms.median;
        out.ratio_hop_median_airflow_over_trainyard = t && a ? Math.round((a / t) * 10) / 10 : null;
        // The A/B figure: each Airflow rep against the Trainyard rep just before it.
        const pairs = afReps.map((r, i) => r.hop_ms.median / Math.max(tyReps[i].hop_ms.median, 0.5));
        out.ratio_paired = { median: pairs.length ? Math.round(median(pairs) * 10) / 10 : null, pairs: pairs.map((x) => Math.round(x * 10) / 10) };
        out.ratio_note =
          'Airflow hop median ÷ Trainyard hop median (×, higher is better for Trainyard): ratio_paired over the alternated rep pairs; ' +
          'ratio_hop_median_airflow_over_trainyard from the medians over all reps of each system';
      }
    }
    return out;
  },
};
