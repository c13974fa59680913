#!/usr/bin/env node
/**
 * Metric ingestion into the store, sustained (a benchmark, not a test).
 *
 *   node bench/metrics-ingest.mjs [--trials 8] [--lines 25000] [--reps 3] [--batch 1000]
 *
 * Two figures, each a median over the repetitions, on SQLite in a fresh state directory:
 *
 * - `pipeline`: the real path. A scheduler with the local executor (in this process, as
 *   `standalone` runs it) runs one DAG whose mapped task has `trials` instances; each prints
 *   `lines` metric lines of the task contract as fast as awk can
 *   (`::trainyard::metric {"step": s, "loss": …, "acc": …}`: two points a line). The executor
 *   parses them from the log stream into telemetry events and the scheduler writes them to the
 *   store in its ticks. Rate = points / (the run's end − its first try's start): every point
 *   is in the store when the run ends, since a try's telemetry is applied before its end. The
 *   count in the store is checked against what was printed.
 * - `store`: the store alone: `Store.insertMetrics` with `batch` rows per transaction, the
 *   same number of points. The ceiling the pipeline can reach on this disk.
 *
 * Target: pipeline ≥ 50,000 points/s. Prints JSON on stdout; progress on stderr.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { register } from 'tsx/esm/api';
import { machineInfo } from './lib/machine.js';
import { optionNumber } from './lib/args.js';

register();
const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');
const src = (p) => import(path.join(repo, 'src', p));

const TRIALS = optionNumber('trials', 8);
const LINES = optionNumber('lines', 25_000);
const REPS = optionNumber('reps', 3);
const BATCH = optionNumber('batch', 1000);
const POINTS = TRIALS * LINES * 2;
const TARGET = 50_000;
const log = (line) => process.stderr.write(`${line}\n`);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

function dagFile() {
  const sdk = pathToFileURL(path.join(repo, 'src/index.ts')).href;
  const awk = `awk -v n=${LINES} -v t="$1" 'BEGIN { for (s = 1; s <= n; s++) printf "::trainyard::metric {\\"step\\": %d, \\"loss\\": %.6f, \\"acc\\": %.6f}\\n", s, 1 / (s + t), 1 - 1 / (s + t) }'`;
  return `import { dag, item } from ${JSON.stringify(sdk)};
const d = dag('metrics_ingest', { maxActiveTasks: ${TRIALS} });
d.command('emit', { command: 'sh', args: ['-c', ${JSON.stringify(awk)}, 'emit', item('t')], expand: { t: ${JSON.stringify(Array.from({ length: TRIALS }, (_, i) => i + 1))} }, resources: { cpu: '100m' } });
export default d;
`;
}

async function pipelineRep() {
  const { loadConfig } = await src('config.ts');
  const { openRuntime, startSchedulerServices } = await src('app/runtime.ts');
  const { triggerRun } = await src('scheduler/trigger.ts');
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-metrics-bench-'));
  const dags = path.join(home, 'dags');
  fs.mkdirSync(dags);
  fs.writeFileSync(path.join(dags, 'metrics_ingest.ts'), dagFile());
  const rt = await openRuntime(loadConfig({ home, dagsFolder: dags, parallelism: TRIALS }, {}));
  const services = await startSchedulerServices(rt, { processDags: true, log: () => {} });
  try {
    const until = Date.now() + 60_000;
    while (!(await rt.store.getDag('metrics_ingest'))) {
      if (Date.now() > until) throw new Error(`the bench DAG did not load: ${JSON.stringify(await rt.store.listImportErrors())}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const { runId } = await triggerRun(rt.store, 'metrics_ingest', {}, Date.now());
    services.scheduler.notify();
    let run;
    for (;;) {
      run = await rt.store.getRun('metrics_ingest', runId);
      if (run.state === 'success' || run.state === 'failed') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    if (run.state !== 'success') throw new Error(`the bench run ${run.state}`);
    const first = await rt.store.db.selectFrom('task_try').select((eb) => eb.fn.min('start_date').as('s')).where('run_id', '=', runId).executeTakeFirst();
    const stored = await rt.store.db.selectFrom('metric').select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
    const ms = Number(run.end_date) - Number(first.s);
    if (Number(stored.n) !== POINTS) throw new Error(`${stored.n} points in the store, ${POINTS} printed`);
    return { points: POINTS, ms, points_per_s: Math.round((POINTS / ms) * 1000) };
  } finally {
    await services.stop(2000);
    await rt.close();
    fs.rmSync(home, { recursive: true, force: true });
  }
}

async function storeRep() {
  const { migrateToLatest, openSqlite } = await src('store/db.ts');
  const { Store } = await src('store/store.ts');
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-metrics-bench-'));
  const opened = openSqlite(path.join(home, 'trainyard.db'));
  try {
    await migrateToLatest(opened.db);
    const store = new Store(opened.db, 'sqlite');
    const t0 = performance.now();
    let step = 0;
    for (let done = 0; done < POINTS; ) {
      const rows = [];
      for (let i = 0; i < BATCH && done < POINTS; i += 2, done += 2, step++) {
        const key = { dag_id: 'metrics_ingest', run_id: 'r', task_id: 'emit', map_index: step % TRIALS, try_number: 1, step, at: Date.now() };
        rows.push({ ...key, name: 'loss', value: 1 / (step + 1) }, { ...key, name: 'acc', value: 1 - 1 / (step + 1) });
      }
      await store.transaction((tx) => tx.insertMetrics(rows));
    }
    const ms = performance.now() - t0;
    return { points: POINTS, ms: Math.round(ms), points_per_s: Math.round((POINTS / ms) * 1000) };
  } finally {
    await opened.close();
    fs.rmSync(home, { recursive: true, force: true });
  }
}

async function main() {
  const results = { pipeline: [], store: [] };
  for (let i = 0; i < REPS; i++) {
    results.pipeline.push(await pipelineRep());
    log(`pipeline rep ${i + 1}: ${results.pipeline.at(-1).points_per_s} points/s`);
    results.store.push(await storeRep());
    log(`store rep ${i + 1}: ${results.store.at(-1).points_per_s} points/s`);
  }
  const pipeline = median(results.pipeline.map((r) => r.points_per_s));
  const out = {
    benchmark: 'metrics-ingest',
    settings: { trials: TRIALS, lines_per_trial: LINES, points_per_line: 2, points: POINTS, reps: REPS, store_batch: BATCH, database: 'sqlite' },
    target: { pipeline_points_per_s: TARGET },
    pass: pipeline >= TARGET,
    pipeline_points_per_s_median: pipeline,
    store_points_per_s_median: median(results.store.map((r) => r.points_per_s)),
    reps: results,
    machine: machineInfo(),
  };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

main().catch((e) => {
  process.stderr.write(`${e.stack ?? e}\n`);
  process.exit(1);
});
