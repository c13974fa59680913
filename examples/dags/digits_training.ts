/**
 * The example ML pipeline: validate → preprocess → a sweep of trials in parallel → select the
 * best (typed, in TypeScript) → evaluate on the test set → register in the model registry if
 * it is good enough (promoted to production only if it beats the current one), else notify. The training scripts are plain Python (standard library only).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ctx, dag, item, param, registryTask, tpl, z } from 'trainyard';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const script = (name: string) => path.join(repo, 'examples/scripts', name);
const DATA = path.join(repo, 'examples/data/digits/digits.csv.gz');

const Trial = z.object({
  val_accuracy: z.number(),
  val_loss: z.number(),
  lr: z.number(),
  l2: z.number(),
  hidden: z.number(),
  epochs: z.number(),
  model_path: z.string(),
});

const d = dag('digits_training', {
  description: 'Train a handwritten-digit classifier with a hyperparameter sweep, and register it if it beats the threshold',
  tags: ['ml', 'example'],
  params: z.object({
    threshold: z.number().min(0).max(1).default(0.9).describe('register the model only if its test accuracy reaches this'),
    epochs: z.number().int().min(1).max(200).default(12).describe('training epochs per trial'),
    seed: z.number().int().default(7).describe('seed of the train/val/test split'),
    modelName: z.string().min(1).default('digits-classifier'),
  }),
  defaultArgs: { retries: 1, retryDelay: '2s', executionTimeout: '5m' },
  maxActiveTasks: 8,
});

const validate = d.command('validate_data', {
  command: 'python3',
  args: [script('validate_data.py'), '--data', DATA],
  result: z.object({ rows: z.number(), features: z.number(), classes: z.number(), ok: z.boolean() }).passthrough(),
});

const splits = d.command('preprocess', {
  command: 'python3',
  args: [script('preprocess.py'), '--data', DATA, '--out', ctx.runArtifactsDir, '--seed', param('seed')],
  result: z.object({ train: z.string(), val: z.string(), test: z.string(), n_train: z.number(), n_val: z.number(), n_test: z.number() }).passthrough(),
}).after(validate);

// Six trials: the cross product of the learning rates and the L2 penalties. Each one is a
// task instance; they run in parallel as far as the machine's CPUs allow.
const trials = d.command('train', {
  command: 'python3',
  args: [
    script('train.py'),
    '--train', splits.out('train'),
    '--val', splits.out('val'),
    '--lr', item('lr'),
    '--l2', item('l2'),
    '--epochs', param('epochs'),
    '--checkpoint-every', '3',
  ],
  expand: { lr: [0.05, 0.2, 0.8], l2: [0, 0.001] },
  partial: { hidden: 0 },
  resources: { cpu: 1, memory: '256Mi' },
  result: Trial.passthrough(),
});

// Inline TypeScript: `trials` is typed as the list of Trial results, in map-index order.
const best = d.task('select_best', { inputs: { trials: trials.output } }, ({ trials }) => {
  const ranked = [...trials].sort((a, b) => b.val_accuracy - a.val_accuracy);
  const top = ranked[0];
  console.log(`best of ${trials.length} trials: lr=${top.lr} l2=${top.l2} val_accuracy=${top.val_accuracy.toFixed(4)}`);
  // `trials` is in map-index order, so the position is the best trial's map index (its lineage).
  return { modelPath: top.model_path, mapIndex: trials.indexOf(top), valAccuracy: top.val_accuracy, lr: top.lr, l2: top.l2, trials: trials.length };
});

const evaluation = d.command('evaluate', {
  command: 'python3',
  args: [script('evaluate.py'), '--model', best.out('modelPath'), '--test', splits.out('test')],
  result: z.object({ test_accuracy: z.number(), per_class: z.array(z.number()) }).passthrough(),
});

const gate = d.branch('quality_gate', { inputs: { accuracy: evaluation.out('test_accuracy') } }, ({ accuracy }, c) =>
  accuracy >= c.params.threshold ? 'register_model' : 'notify_below_threshold',
);

// The model registry: a new version with the best trial as its lineage (its metrics and
// params), promoted to production only if its test accuracy beats production's by 0.005.
const registry = registryTask();
d.command('register_model', {
  command: registry.command,
  args: [
    ...registry.args, 'register',
    '--name', param('modelName'),
    '--uri', best.out('modelPath'),
    '--from-task', 'train', '--from-map-index', best.out('mapIndex'),
    '--metrics-from-try', '--params-from-try',
    '--metric', tpl`test_accuracy=${evaluation.out('test_accuracy')}`,
    '--promote-to', 'production', '--gate-metric', 'test_accuracy', '--margin', '0.005',
  ],
  result: z.object({ name: z.string(), version: z.number(), uri: z.string(), aliases: z.array(z.string()) }).passthrough(),
}).after(gate);

d.command('notify_below_threshold', {
  command: 'python3',
  args: [script('notify.py'), '--accuracy', evaluation.out('test_accuracy'), '--threshold', param('threshold'), '--name', param('modelName')],
}).after(gate);

export default d;
