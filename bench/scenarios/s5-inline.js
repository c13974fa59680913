/**
 * S5: 1,000 inline TypeScript tasks (one mapped inline task; each instance returns a number),
 * parallelism 8, the default worker pool (TRAINYARD_WORKERS, 2 workers, reused across tasks):
 * tasks/s from the run's start to its end.
 */
import { mappedShape } from '../lib/trainyard.js';
import { mappedFigures } from './s2-mapped.js';
import { acrossReps, repeat } from './common.js';

function inlineDag(ty, n) {
  const { a, b } = mappedShape(n);
  return (
    ty.importLine(['dag']) +
    `const range = (n: number) => Array.from({ length: n }, (_, i) => i);\n` +
    `const d = dag('bench_inline', { description: '${n} mapped inline tasks' });\n` +
    `d.task('t', { expand: { a: range(${a}), b: range(${b}) }, maxMapLength: ${n}, resources: { cpu: '100m' } }, (_inputs, c) => c.item.a * ${b} + c.item.b);\n` +
    `export default d;\n`
  );
}

/** One Trainyard run of N mapped inline tasks. */
export async function trainyardInlineRep(ty, n, parallelism, { nodeArgs = [], label = 'S5' } = {}) {
  const inst = await ty.instance(label);
  try {
    inst.writeDag('bench_inline.ts', inlineDag(ty, n));
    const proc = await ty.runToEnd(inst, 'bench_inline', { env: { TRAINYARD_PARALLELISM: String(parallelism) }, nodeArgs });
    const { run, tries } = await ty.runFigures(inst, 'bench_inline');
    if (run.state !== 'success') throw new Error(`the inline run ended ${run.state}`);
    return { ...mappedFigures(run, tries, n), process: proc };
  } finally {
    await inst.cleanup();
  }
}

export default {
  id: 'S5',
  title: '1,000 inline TypeScript tasks (mapped): tasks/s with worker reuse',
  async run(ctx) {
    const n = ctx.quick ? 200 : 1000;
    const parallelism = 8;
    const out = { tasks: n, parallelism, cpu_request: '100m', workers: 'default (TRAINYARD_WORKERS unset)' };
    for (const ty of ctx.trainyards) {
      const reps = await repeat(ctx, `S5 ${ty.label}`, ctx.reps, () => trainyardInlineRep(ty, n, parallelism));
      out[`trainyard_${ty.label}`] = {
        tasks_per_s: acrossReps(reps, (r) => r.tasks_per_s),
        scheduler_peak_rss_mb: acrossReps(reps, (r) => r.process.scheduler_peak_rss_mb),
        children_peak_rss_mb: acrossReps(reps, (r) => r.process.children_peak_rss_mb),
        reps,
      };
    }
    return out;
  },
};
