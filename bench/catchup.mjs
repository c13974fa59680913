#!/usr/bin/env node
/**
 * Catch-up: how fast a long catch-up creates its runs, and what it does to other DAGs'
 * scheduling meanwhile (not a test).
 *
 *   node bench/catchup.mjs [--days 30] [--chain 100] [--sync-ms 250]
 *
 * In a fresh child process, over a fresh SQLite store, with the real Scheduler on the real
 * clock (`start()`):
 *
 * 1. direct: `createDueRuns` alone, called as the scheduler does (≤ 1,000 runs, ≤ 10 ms each), until a
 *    `* * * * *` DAG with catch-up over --days days has all its runs (30 days: 43,200):
 *    runs created per second by the store and the schedule math.
 * 2. baseline: a chain of --chain tasks (DAG `probe`) on an in-process executor that finishes
 *    each try at once, so what is measured is the scheduler's own hop: from a try's `finished`
 *    event to the launch of the next task (ready → started).
 * 3. catch-up: the same `* * * * *` DAG registered in the running scheduler (its one active
 *    run's task is held, never finishing, so the other 43,199 runs stay queued), and `probe`
 *    runs triggered back to back while the runs are created. Reported: runs created per second
 *    in the scheduler (registration → last run created) and the probe's hops during that time.
 *
 * Prints one JSON object; `addedHopMs` is the catch-up phase's hop minus the baseline's
 * (median and p95). Targets: ≥ 1,000 runs/s, ≤ 50 ms added.
 */
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { removeAtExit } from './lib/state.js';
import { percentile, round } from './lib/stats.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const settings = { days: Number(arg('days', 30)), chain: Number(arg('chain', 100)), syncMs: Number(arg('sync-ms', 250)) };

function log(m) {
  process.stderr.write(`[bench:catchup] ${m}\n`);
}

function hopSummary(hops) {
  return { n: hops.length, median: round(percentile(hops, 50)), p95: round(percentile(hops, 95)), p99: round(percentile(hops, 99)), max: round(percentile(hops, 100)) };
}

/** Finishes every try at once, in process; records when each was launched and finished. */
class InstantExecutor {
  name = 'instant';
  listeners = [];
  launchedAt = new Map();
  finishedAt = new Map();
  hasCapacity() {
    return true;
  }
  async launch(req) {
    const id = `${req.key.runId}/${req.key.taskId}`;
    this.launchedAt.set(id, performance.now());
    setImmediate(() => {
      this.emit({ type: 'started', key: req.key, at: Date.now(), host: 'bench', pid: 1 });
      this.finishedAt.set(id, performance.now());
      this.emit({ type: 'finished', key: req.key, at: Date.now(), outcome: 'success', exitCode: 0, signal: null, result: null });
    });
  }
  emit(e) {
    for (const l of this.listeners) l(e);
  }
  async cancel() {}
  async adopt(records) {
    return records.map((r) => ({ key: r.key, adopted: false, reason: 'bench' }));
  }
  onEvent(l) {
    this.listeners.push(l);
  }
  capacity() {
    return { cpu: { used: 0, total: 64 }, memoryMb: { used: 0, total: 65536 }, gpu: { used: 0, total: 0 }, running: 0 };
  }
  async close() {}
}

/** Starts each try and never finishes it: the catch-up DAG's one active run stays running. */
class HoldExecutor extends InstantExecutor {
  name = 'hold';
  async launch(req) {
    setImmediate(() => this.emit({ type: 'started', key: req.key, at: Date.now(), host: 'bench', pid: 1 }));
  }
}

async function child() {
  const { register } = await import('tsx/esm/api');
  register();
  const src = (p) => import(path.join(here, '..', 'src', p));
  const { dag, chain } = await src('index.ts');
  const { openSqlite, migrateToLatest } = await src('store/db.ts');
  const { Store } = await src('store/store.ts');
  const { Scheduler } = await src('scheduler/scheduler.ts');
  const { HomeLayout } = await src('scheduler/paths.ts');
  const { triggerRun } = await src('scheduler/trigger.ts');
  const { createDueRuns } = await src('scheduler/scheduled-runs.ts');
  const crypto = await import('node:crypto');

  const start = new Date(Math.floor((Date.now() - settings.days * 86_400_000) / 60_000) * 60_000 + 30_000);
  const catchupDag = () => {
    const d = dag('catchup', { schedule: '* * * * *', startDate: start, catchup: true, maxActiveRuns: 1, executor: 'hold' });
    d.command('work', { command: 'true' });
    return d;
  };
  const registerDag = async (store, d) => {
    const spec = d.toSpec();
    const hash = crypto.createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 16);
    await store.upsertDag(spec, '/bench/dags.ts', hash, Date.now());
  };
  const freshStore = async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-bench-catchup-'));
    removeAtExit(home);
    const opened = openSqlite(path.join(home, 'trainyard.db'));
    await migrateToLatest(opened.db);
    return { home, opened, store: new Store(opened.db, 'sqlite') };
  };
  const countRuns = async (store) => Number((await store.db.selectFrom('dag_run').select((eb) => eb.fn.countAll().as('n')).where('dag_id', '=', 'catchup').executeTakeFirst()).n);

  // 1. createDueRuns alone.
  const direct = await (async () => {
    const { home, opened, store } = await freshStore();
    await registerDag(store, catchupDag());
    const t0 = performance.now();
    let created = 0;
    let slices = 0;
    let slowestSliceMs = 0;
    for (;;) {
      const s0 = performance.now();
      const { created: n, more } = await createDueRuns(store, await store.listDags({ includeInactive: true }), (id, h) => store.getSpec(id, h), Date.now(), 1000);
      slowestSliceMs = Math.max(slowestSliceMs, performance.now() - s0);
      if (n === 0 && !more) break;
      created += n;
      slices++;
    }
    const seconds = (performance.now() - t0) / 1000;
    await opened.close();
    fs.rmSync(home, { recursive: true, force: true });
    log(`direct: ${created} runs in ${seconds.toFixed(2)} s`);
    return { runs: created, seconds: round(seconds), runsPerSecond: Math.round(created / seconds), slices, slowestSliceMs: round(slowestSliceMs) };
  })();

  // Every minute whose interval has ended: one fewer than days × 1,440 when now is mid-minute.
  const expected = direct.runs;

  // 2 and 3: the real scheduler.
  const { home, opened, store } = await freshStore();
  const instant = new InstantExecutor();
  const hold = new HoldExecutor();
  const scheduler = new Scheduler({
    store,
    executors: { instant, hold },
    defaultExecutor: 'instant',
    layout: new HomeLayout(home),
    parallelism: 64,
    killGraceMs: 100,
    resultLimitBytes: 65536,
    freeRetryCap: 3,
    schedulerId: 'bench',
    syncIntervalMs: settings.syncMs,
  });
  const probe = dag('probe', { maxActiveRuns: 4 });
  chain(...Array.from({ length: settings.chain }, (_, i) => probe.command(`t${i}`, { command: 'true' })));
  await registerDag(store, probe);
  await scheduler.recover(Date.now());
  scheduler.start();

  /** Per probe run: trigger → launch of its first task, ms. */
  const startDelays = [];
  const runProbe = async () => {
    const triggeredAt = performance.now();
    const { runId } = await triggerRun(store, 'probe', {}, Date.now());
    scheduler.notify();
    for (;;) {
      const state = (await store.getRun('probe', runId)).state;
      if (state === 'success' || state === 'failed') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const hops = [];
    startDelays.push({ ms: instant.launchedAt.get(`${runId}/t0`) - triggeredAt, at: triggeredAt });
    for (let i = 1; i < settings.chain; i++) {
      const launched = instant.launchedAt.get(`${runId}/t${i}`);
      const prevDone = instant.finishedAt.get(`${runId}/t${i - 1}`);
      if (launched !== undefined && prevDone !== undefined) hops.push({ ms: launched - prevDone, at: launched });
    }
    return hops;
  };

  await runProbe(); // warm-up
  const baselineHops = [];
  for (let i = 0; i < 3; i++) baselineHops.push(...(await runProbe()).map((h) => h.ms));
  log(`baseline: ${baselineHops.length} hops, median ${percentile(baselineHops, 50).toFixed(1)} ms`);

  const t0 = performance.now();
  await registerDag(store, catchupDag());
  scheduler.notify();
  let done = false;
  let doneAt = 0;
  const watcher = (async () => {
    while (!done) {
      if ((await countRuns(store)) >= expected) {
        done = true;
        doneAt = performance.now();
        break;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  const probed = [];
  let probes = 0;
  while (!done) {
    probed.push(...(await runProbe()));
    probes++;
  }
  await watcher;
  // The hops that happened while runs were being created.
  const duringHops = probed.filter((h) => h.at <= doneAt).map((h) => h.ms);
  const seconds = (doneAt - t0) / 1000;
  const inScheduler = { runs: await countRuns(store), seconds: round(seconds), runsPerSecond: Math.round(expected / seconds) };
  log(`in the scheduler: ${inScheduler.runs} runs in ${seconds.toFixed(2)} s; ${probes} probe runs meanwhile`);

  const afterHops = [];
  for (let i = 0; i < 2; i++) afterHops.push(...(await runProbe()).map((h) => h.ms));
  await scheduler.stop(0);
  await opened.close();
  fs.rmSync(home, { recursive: true, force: true });

  const baseline = hopSummary(baselineHops);
  const starts = (from, to) => startDelays.filter((d) => d.at >= from && d.at < to).map((d) => round(d.ms));
  const during = hopSummary(duringHops);
  return {
    creation: { direct, inScheduler },
    hopMs: { baseline, duringCatchup: during, afterCatchupWithRunsQueued: hopSummary(afterHops) },
    runStartMs: { baseline: starts(0, t0), duringCatchup: starts(t0, doneAt), after: starts(doneAt, Infinity) },
    addedHopMs: { median: round(during.median - baseline.median), p95: round(during.p95 - baseline.p95) },
  };
}

if (process.argv.includes('--child')) {
  // Run alone (e.g. under --cpu-prof), the child prints its own result.
  const result = await child();
  if (process.send) process.send(result);
  else process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  process.exit(0);
} else {
  const result = await new Promise((resolve, reject) => {
    const p = fork(fileURLToPath(import.meta.url), ['--child', ...process.argv.slice(2)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    p.on('message', resolve);
    p.on('error', reject);
    p.on('exit', (code) => code !== 0 && reject(new Error(`the benchmark child exited with ${code}`)));
  });
  const out = {
    bench: 'catchup',
    machine: { cores: os.cpus().length, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, loadavg: os.loadavg(), date: new Date().toISOString() },
    settings,
    targets: { runsPerSecond: 1000, addedHopMs: 50 },
    ...result,
  };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}
