/**
 * S6: the example ML pipeline (examples/dags/digits_training.ts), its own file, with its sweep
 * widened to 64 trials (8 learning rates × 8 L2 penalties) and 3 epochs per trial (a run
 * param), reusing the example's Python scripts and data. End-to-end time (the run's start to
 * its end) beside:
 * - ideal: the sum of every try's own time (start → end) / the effective parallelism;
 * - ideal with stages: the serial stages' own times + the sweep's sum / the effective
 *   parallelism (the stages around the sweep cannot overlap, so this is the tighter bound).
 * Effective parallelism = min(TRAINYARD_PARALLELISM, the DAG's maxActiveTasks, the local
 * executor's CPUs / 1 CPU per trial), as each trial asks for 1 CPU.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { acrossReps, repeat } from './common.js';

const LRS = [0.02, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0];
const L2S = [0, 0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1];
const EXAMPLE = 'examples/dags/digits_training.ts';

/**
 * The example DAG file as the bench runs it: the SDK imported from the checkout, the checkout
 * as its repo (the file is copied out of it), its own DAG id, and the wider sweep. Each change
 * must apply exactly once, so an example that changed shape stops the scenario with a message
 * instead of benchmarking something else.
 */
function mlDag(repo, lrs, l2s) {
  const file = path.join(repo, EXAMPLE);
  let source = fs.readFileSync(file, 'utf8');
  const edits = [
    ['the SDK import', /from 'trainyard';/, `from ${JSON.stringify(pathToFileURL(path.join(repo, 'dist/index.js')).href)};`],
    ['the repo folder', /const repo = [^;\n]*;/, `const repo = ${JSON.stringify(repo)};`],
    ['the DAG id', /dag\('digits_training',/, "dag('bench_ml',"],
    ['the sweep', /expand: \{ lr: \[[^\]]*\], l2: \[[^\]]*\] \}/, `expand: { lr: ${JSON.stringify(lrs)}, l2: ${JSON.stringify(l2s)} }`],
  ];
  for (const [what, pattern, replacement] of edits) {
    const found = source.match(new RegExp(pattern.source, 'g'))?.length ?? 0;
    if (found !== 1) throw new Error(`S6: ${what} (${pattern}) occurs ${found} times in ${file}, not once; update bench/scenarios/s6-ml.js to the example`);
    source = source.replace(pattern, () => replacement);
  }
  return source;
}

export default {
  id: 'S6',
  title: 'the example ML pipeline with a 64-trial sweep: end-to-end time against the ideal',
  async run(ctx) {
    const lrs = ctx.quick ? LRS.slice(0, 4) : LRS;
    const l2s = ctx.quick ? L2S.slice(0, 4) : L2S;
    const epochs = 3;
    const parallelism = 8;
    const effective = Math.min(parallelism, 8, os.availableParallelism());
    const out = { trials: lrs.length * l2s.length, epochs, parallelism, effective_parallelism: effective };
    for (const ty of ctx.trainyards) {
      const reps = await repeat(ctx, `S6 ${ty.label}`, ctx.reps, async () => {
        const inst = await ty.instance('S6');
        try {
          inst.writeDag('bench_ml.ts', mlDag(ty.repo, lrs, l2s));
          const proc = await ty.runToEnd(inst, 'bench_ml', { env: { TRAINYARD_PARALLELISM: String(parallelism) }, conf: { epochs } });
          const { run, tries } = await ty.runFigures(inst, 'bench_ml');
          if (run.state !== 'success') throw new Error(`the ML run ended ${run.state}`);
          const own = (t) => (t.start_date !== null && t.end_date !== null ? t.end_date - t.start_date : 0);
          const sum = tries.reduce((a, t) => a + own(t), 0);
          const sweep = tries.filter((t) => t.task_id === 'train').reduce((a, t) => a + own(t), 0);
          const serial = sum - sweep;
          const e2e = run.end_date - run.start_date;
          const ideal = sum / effective;
          const idealStaged = serial + sweep / effective;
          return {
            end_to_end_ms: e2e,
            tasks_own_sum_ms: sum,
            sweep_own_sum_ms: sweep,
            retries: tries.filter((t) => t.try_number > 1).length,
            ideal_ms: Math.round(ideal),
            ideal_staged_ms: Math.round(idealStaged),
            ratio_to_ideal: Math.round((e2e / ideal) * 1000) / 1000,
            ratio_to_ideal_staged: Math.round((e2e / idealStaged) * 1000) / 1000,
            process: proc,
          };
        } finally {
          await inst.cleanup();
        }
      });
      out[`trainyard_${ty.label}`] = {
        end_to_end_ms: acrossReps(reps, (r) => r.end_to_end_ms),
        ideal_ms: acrossReps(reps, (r) => r.ideal_ms),
        ratio_to_ideal: acrossReps(reps, (r) => r.ratio_to_ideal),
        ratio_to_ideal_staged: acrossReps(reps, (r) => r.ratio_to_ideal_staged),
        reps,
      };
    }
    return out;
  },
};
