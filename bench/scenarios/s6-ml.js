/**
 * S6: the example ML pipeline (examples/dags/digits_training.ts) with its sweep widened to 64
 * trials (8 learning rates × 8 L2 penalties) and 3 epochs per trial, reusing the example's
 * Python scripts and data. End-to-end time (the run's start to its end) beside:
 * - ideal: the sum of every try's own time (start → end) / the effective parallelism;
 * - ideal with stages: the serial stages' own times + the sweep's sum / the effective
 *   parallelism (the stages around the sweep cannot overlap, so this is the tighter bound).
 * Effective parallelism = min(TRAINYARD_PARALLELISM, the DAG's maxActiveTasks, the local
 * executor's CPUs / 1 CPU per trial), as each trial asks for 1 CPU.
 */
import os from 'node:os';
import path from 'node:path';
import { acrossReps, repeat } from './common.js';

const LRS = [0.02, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0];
const L2S = [0, 0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1];

function mlDag(ty, repo, epochs, lrs, l2s) {
  return (
    ty.importLine(['ctx', 'dag', 'item', 'param', 'z']) +
    `const repo = ${JSON.stringify(repo)};\n` +
    `const script = (name: string) => repo + '/examples/scripts/' + name;\n` +
    `const DATA = repo + '/examples/data/digits/digits.csv.gz';\n` +
    `const Trial = z.object({ val_accuracy: z.number(), val_loss: z.number(), lr: z.number(), l2: z.number(), hidden: z.number(), epochs: z.number(), model_path: z.string() });\n` +
    `const d = dag('bench_ml', {\n` +
    `  params: z.object({ threshold: z.number().default(0.9), epochs: z.number().int().default(${epochs}), seed: z.number().int().default(7), modelName: z.string().default('digits-bench') }),\n` +
    `  defaultArgs: { retries: 1, retryDelay: '2s', executionTimeout: '5m' },\n` +
    `  maxActiveTasks: 8,\n` +
    `});\n` +
    `const validate = d.command('validate_data', { command: 'python3', args: [script('validate_data.py'), '--data', DATA], result: z.object({ ok: z.boolean() }).passthrough() });\n` +
    `const splits = d.command('preprocess', { command: 'python3', args: [script('preprocess.py'), '--data', DATA, '--out', ctx.runArtifactsDir, '--seed', param('seed')],\n` +
    `  result: z.object({ train: z.string(), val: z.string(), test: z.string() }).passthrough() }).after(validate);\n` +
    `const trials = d.command('train', {\n` +
    `  command: 'python3',\n` +
    `  args: [script('train.py'), '--train', splits.out('train'), '--val', splits.out('val'), '--lr', item('lr'), '--l2', item('l2'), '--epochs', param('epochs'), '--checkpoint-every', '3'],\n` +
    `  expand: { lr: ${JSON.stringify(lrs)}, l2: ${JSON.stringify(l2s)} },\n` +
    `  partial: { hidden: 0 },\n` +
    `  resources: { cpu: 1, memory: '256Mi' },\n` +
    `  result: Trial.passthrough(),\n` +
    `});\n` +
    `const best = d.task('select_best', { inputs: { trials: trials.output } }, ({ trials }) => {\n` +
    `  const top = [...trials].sort((a, b) => b.val_accuracy - a.val_accuracy)[0];\n` +
    `  return { modelPath: top.model_path, valAccuracy: top.val_accuracy, trials: trials.length };\n` +
    `});\n` +
    `const evaluation = d.command('evaluate', { command: 'python3', args: [script('evaluate.py'), '--model', best.out('modelPath'), '--test', splits.out('test')],\n` +
    `  result: z.object({ test_accuracy: z.number() }).passthrough() });\n` +
    `const gate = d.branch('quality_gate', { inputs: { accuracy: evaluation.out('test_accuracy') } }, ({ accuracy }, c) => accuracy >= c.params.threshold ? 'register_model' : 'notify_below_threshold');\n` +
    `d.command('register_model', { command: 'python3', args: [script('register_model.py'), '--model', best.out('modelPath'), '--accuracy', evaluation.out('test_accuracy'), '--name', param('modelName')] }).after(gate);\n` +
    `d.command('notify_below_threshold', { command: 'python3', args: [script('notify.py'), '--accuracy', evaluation.out('test_accuracy'), '--threshold', param('threshold'), '--name', param('modelName')] }).after(gate);\n` +
    `export default d;\n`
  );
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
          inst.writeDag('bench_ml.ts', mlDag(ty, ty.repo, epochs, lrs, l2s));
          const proc = await ty.runToEnd(inst, 'bench_ml', { env: { TRAINYARD_PARALLELISM: String(parallelism) } });
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
