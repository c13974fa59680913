/**
 * Trainyard on Postgres (both need TRAINYARD_BENCH_PG_URL; opt-in):
 *
 * PG-S2     S2-1K (1,000 mapped `true` tasks, parallelism 8) by `standalone` on SQLite and on
 *           Postgres, alternated rep by rep (A/B, then B/A): the ratio Postgres ÷ SQLite of
 *           each pair, and of the medians.
 * HA-1-2-3  tasks/s of 1, 2 and 3 `trainyard scheduler` processes sharing one Postgres database
 *           on several runs of mapped `sleep 0.1` tasks. Each scheduler has parallelism 4, so
 *           one scheduler's executor slots are the bottleneck (4 slots ÷ 0.1 s ≈ 40 tasks/s at
 *           most) and more schedulers bring more slots. A run is worked by the scheduler that
 *           claimed it, so the work is several runs (live schedulers claim an even share each).
 *           A control: one scheduler with as many slots as three (parallelism 12). The order of
 *           the scheduler counts rotates from rep to rep.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sleep, withTimeout } from '../lib/proc.js';
import { loadAverage } from '../lib/machine.js';
import { median } from '../lib/stats.js';
import { acrossReps, repeat } from './common.js';
import { trainyardMappedRep } from './s2-mapped.js';

const NEED_PG = 'needs Postgres: set TRAINYARD_BENCH_PG_URL=postgres://… (scripts/postgres/up.sh prints one; its role needs CREATEDB)';

function backends(ctx) {
  const sqlite = ctx.trainyards.find((t) => t.label === 'sqlite');
  const postgres = ctx.trainyards.find((t) => t.label === 'postgres');
  if (!postgres) throw new Error(NEED_PG);
  return { sqlite, postgres };
}

const ratio = (a, b) => (a && b ? Math.round((a / b) * 1000) / 1000 : null);

export const pgS2 = {
  id: 'PG-S2',
  optIn: true,
  title: '1,000 mapped `true` tasks, parallelism 8, standalone on Postgres against SQLite, alternated A/B',
  async run(ctx) {
    const { sqlite, postgres } = backends(ctx);
    const n = ctx.quick ? 200 : 1000;
    const parallelism = 8;
    const reps = { sqlite: [], postgres: [] };
    const pairs = [];
    await repeat(ctx, 'PG-S2 sqlite/postgres', ctx.reps, async (i) => {
      // A/B then B/A, so drift in the machine's load hits both alike.
      const order = i % 2 === 0 ? [sqlite, postgres] : [postgres, sqlite];
      const got = {};
      for (const ty of order) got[ty.label] = await trainyardMappedRep(ty, n, parallelism, { label: `PG-S2-${ty.label}` });
      reps.sqlite.push(got.sqlite);
      reps.postgres.push(got.postgres);
      pairs.push(got.postgres.tasks_per_s / got.sqlite.tasks_per_s);
      return { order: order.map((t) => t.label), sqlite: got.sqlite.tasks_per_s, postgres: got.postgres.tasks_per_s };
    });
    const s = acrossReps(reps.sqlite, (r) => r.tasks_per_s);
    const p = acrossReps(reps.postgres, (r) => r.tasks_per_s);
    ctx.log('PG-S2: one more Postgres rep, counting statements (not in the medians)');
    const statements = await countStatements(postgres, n, parallelism);
    return {
      statements,
      tasks: n,
      parallelism,
      trainyard_sqlite: { tasks_per_s: s, reps: reps.sqlite },
      trainyard_postgres: { tasks_per_s: p, reps: reps.postgres },
      ratio_postgres_over_sqlite: {
        of_medians: ratio(p.median, s.median),
        paired_median: pairs.length ? Math.round(median(pairs) * 1000) / 1000 : null,
        pairs: pairs.map((x) => Math.round(x * 1000) / 1000),
      },
      target: 'postgres ≥ 0.7 × sqlite',
    };
  },
};

/** Statements the standalone process sends to Postgres in one S2 rep, by SQL text. */
async function countStatements(ty, n, parallelism) {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-bench-pgcount-')), 'counts.json');
  try {
    const url = new URL('../lib/pg-statements.mjs', import.meta.url);
    url.search = new URLSearchParams({ out, repo: ty.repo }).toString();
    const rep = await trainyardMappedRep(ty, n, parallelism, { label: 'PG-S2-count', nodeArgs: ['--import', url.href] });
    const rows = JSON.parse(fs.readFileSync(out, 'utf8'));
    const total = rows.reduce((a, r) => a + r.n, 0);
    return {
      tasks_per_s_while_counting: rep.tasks_per_s,
      total,
      per_task: Math.round((total / n) * 100) / 100,
      top: rows.slice(0, 14).map((r) => ({ n: r.n, per_task: Math.round((r.n / n) * 100) / 100, sql: r.sql.slice(0, 140) })),
    };
  } finally {
    fs.rmSync(path.dirname(out), { recursive: true, force: true });
  }
}

/** Runs of mapped tasks that sleep 100 ms. */
function sleepDag(ty, tasksPerRun, dagId) {
  return (
    ty.importLine(['dag']) +
    `const d = dag('${dagId}', { description: 'mapped tasks sleeping 100 ms', maxActiveRuns: 64, maxActiveTasks: 1024 });\n` +
    `d.command('nap', { command: 'sleep', args: ['0.1'], expand: { i: Array.from({ length: ${tasksPerRun} }, (_, i) => i) }, maxMapLength: ${tasksPerRun}, resources: { cpu: '100m' } });\n` +
    `export default d;\n`
  );
}

/** CPU time (user + system) a live process has used, in ms (Linux /proc, 100 ticks a second). */
function cpuMsOf(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0;
  }
}

/** How many times each value occurs, most first. */
function countBy(values) {
  const m = new Map();
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
  return [...m.values()].sort((a, b) => b - a);
}

async function until(what, timeoutMs, check) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`${what} within ${Math.round(timeoutMs / 1000)} s`);
    await sleep(100);
  }
}

/**
 * One rep: `schedulers` scheduler processes (the first also parses the DAG folder), `runs`
 * runs triggered while the DAG is paused (so every run is claimed before any starts), then
 * unpaused; tasks/s from the first run's start to the last run's end.
 */
async function haRep(ty, { schedulers, parallelism, runs, tasksPerRun }) {
  const dagId = 'bench_ha';
  const inst = await ty.instance(`HA-${schedulers}`);
  const procs = [];
  let reader;
  try {
    inst.writeDag('bench_ha.ts', sleepDag(ty, tasksPerRun, dagId));
    const env = { TRAINYARD_PARALLELISM: String(parallelism) };
    const load_before = loadAverage();
    procs.push(ty.start(inst, ['scheduler', '--process-dags'], { env, tag: 'scheduler-1' }));
    reader = await until('the first scheduler did not migrate the database', 120_000, async () => ty.reader(inst).catch(() => undefined));
    const all = (q, ...p) => reader.all(q, ...p).catch(() => []);
    await until('the DAG did not reach the store', 120_000, async () => (await all('SELECT dag_id FROM dag WHERE dag_id = ?', dagId)).length > 0);
    await reader.all('UPDATE dag SET is_paused = 1 WHERE dag_id = ?', dagId);
    for (let i = 2; i <= schedulers; i++) procs.push(ty.start(inst, ['scheduler'], { env, tag: `scheduler-${i}` }));
    await until(`${schedulers} schedulers did not heartbeat`, 120_000, async () => Number((await all('SELECT count(*) AS n FROM scheduler'))[0]?.n) >= schedulers);
    for (let i = 0; i < runs; i++) {
      const trig = ty.start(inst, ['dags', 'trigger', dagId, '--run-id', `r${i}`], { tag: 'trigger' });
      const exit = await withTimeout(trig, 60_000, 'trainyard dags trigger');
      if (exit.code !== 0) throw new Error(`trainyard dags trigger exited with ${exit.signal ?? exit.code}`);
    }
    await until('the runs were not all claimed', 60_000, async () => Number((await all('SELECT count(*) AS n FROM dag_run WHERE claimed_by IS NOT NULL'))[0]?.n) === runs);
    await reader.all('UPDATE dag SET is_paused = 0 WHERE dag_id = ?', dagId);
    await until('the runs did not finish', 30 * 60_000, async () => Number((await all("SELECT count(*) AS n FROM dag_run WHERE state IN ('success', 'failed')"))[0]?.n) === runs);
    const runRows = await reader.all('SELECT run_id, state, start_date, end_date, claimed_by FROM dag_run');
    const tries = await reader.all('SELECT scheduler_id, count(*) AS n FROM task_try GROUP BY scheduler_id');
    const failed = runRows.filter((r) => r.state !== 'success');
    if (failed.length) throw new Error(`${failed.length} runs ended ${failed.map((r) => r.state).join(', ')}`);
    const tasks = runs * tasksPerRun;
    const totalTries = tries.reduce((a, t) => a + Number(t.n), 0);
    if (totalTries !== tasks) throw new Error(`expected ${tasks} tries, found ${totalTries}`);
    const cpuMs = procs.reduce((a, p) => a + cpuMsOf(p.pid), 0);
    const start = Math.min(...runRows.map((r) => r.start_date));
    const end = Math.max(...runRows.map((r) => r.end_date));
    return {
      schedulers,
      parallelism_each: parallelism,
      tasks,
      run_ms: end - start,
      tasks_per_s: Math.round((tasks / (end - start)) * 1000 * 10) / 10,
      ideal_tasks_per_s: Math.round((schedulers * parallelism) / 0.1),
      tries_per_scheduler: tries.map((t) => Number(t.n)).sort((a, b) => b - a),
      runs_per_scheduler: countBy(runRows.map((r) => r.claimed_by)),
      // The scheduler processes' own CPU time (not their children's) over their life so far, start-up included, per task.
      scheduler_cpu_ms_per_task: Math.round((cpuMs / tasks) * 100) / 100,
      load_before,
      load_after: loadAverage(),
    };
  } finally {
    await reader?.close().catch(() => {});
    for (const p of procs) {
      try {
        process.kill(p.pid, 'SIGTERM');
      } catch {
        /* gone */
      }
    }
    await Promise.all(procs.map((p) => withTimeout(p, 30_000, 'a scheduler stopping').catch(() => {})));
    await inst.cleanup();
  }
}

export const ha123 = {
  id: 'HA-1-2-3',
  optIn: true,
  title: 'tasks/s with 1, 2 and 3 schedulers on Postgres, several runs of mapped `sleep 0.1` tasks, parallelism 4 per scheduler',
  async run(ctx) {
    const { postgres } = backends(ctx);
    const shape = { parallelism: 4, runs: 6, tasksPerRun: ctx.quick ? 20 : 80 };
    const configs = [
      { key: '1', schedulers: 1, parallelism: shape.parallelism },
      { key: '2', schedulers: 2, parallelism: shape.parallelism },
      { key: '3', schedulers: 3, parallelism: shape.parallelism },
      { key: '1x12', schedulers: 1, parallelism: shape.parallelism * 3 },
    ];
    const reps = Object.fromEntries(configs.map((c) => [c.key, []]));
    await repeat(ctx, 'HA-1-2-3', ctx.reps, async (i) => {
      const order = configs.map((_, j) => configs[(i + j) % configs.length]);
      const got = {};
      for (const c of order) {
        got[c.key] = await haRep(postgres, { ...shape, schedulers: c.schedulers, parallelism: c.parallelism });
        reps[c.key].push(got[c.key]);
      }
      return Object.fromEntries(Object.entries(got).map(([k, r]) => [k, { tasks_per_s: r.tasks_per_s, tries_per_scheduler: r.tries_per_scheduler }]));
    });
    const tps = (k) => acrossReps(reps[k], (r) => r.tasks_per_s);
    const paired = (k) => reps[k].map((r, i) => r.tasks_per_s / reps['1'][i].tasks_per_s);
    const med = (xs) => Math.round(median(xs) * 100) / 100;
    return {
      ...shape,
      tasks: shape.runs * shape.tasksPerRun,
      task_command: 'sleep 0.1',
      schedulers_1: { tasks_per_s: tps('1'), reps: reps['1'] },
      schedulers_2: { tasks_per_s: tps('2'), reps: reps['2'] },
      schedulers_3: { tasks_per_s: tps('3'), reps: reps['3'] },
      control_1_scheduler_parallelism_12: { tasks_per_s: tps('1x12'), reps: reps['1x12'] },
      speedup_over_1: { schedulers_2: med(paired('2')), schedulers_3: med(paired('3')), control_1x12: med(paired('1x12')) },
      target: '3 schedulers ≥ 1.8 × 1',
    };
  },
};
