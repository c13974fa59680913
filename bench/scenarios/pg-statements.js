/**
 * PG-STMT (opt-in, needs TRAINYARD_BENCH_PG_URL): the cost of one store statement on Postgres,
 * with and without server-side prepared statements, alternated rep by rep. In-process, through
 * the checkout's own Store: per task the scheduler's guarded task-instance update and try
 * update, and per batch of 10 tasks a transaction with the slot counts (activeUsage), as a
 * tick does. Microseconds per task (its two statements and a tenth of the tick's), round
 * trips included.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { median } from '../lib/stats.js';
import { acrossReps, repeat } from './common.js';

const TASKS = 3000;
const PER_TICK = 10;

async function rep(ty, prepare, n) {
  const load = (m) => import(pathToFileURL(path.join(ty.repo, 'dist/store', m)).href);
  const [{ openPostgres }, { migrateToLatest }, { Store }] = await Promise.all([load('postgres.js'), load('db.js'), load('store.js')]);
  const inst = await ty.instance('PG-STMT');
  const opened = await openPostgres(inst.databaseUrl, 2, { prepare });
  try {
    await migrateToLatest(opened.db);
    const store = new Store(opened.db, 'postgres');
    await store.createRun({ dag_id: 'd', run_id: 'r', state: 'running', run_type: 'manual', version_hash: 'v', conf: '{}', params: '{}', logical_date: 1, data_interval_start: 0, data_interval_end: 1, queued_at: 1, change_seq: 0 });
    const base = { dag_id: 'd', run_id: 'r', task_id: 't', state: 'scheduled', try_number: 0, budget_tries: 0, free_retries: 0, priority_weight: 1, pool: 'default_pool', pool_slots: 1, updated_at: 1 };
    await store.insertTaskInstances(Array.from({ length: n }, (_, i) => ({ ...base, map_index: i })));
    await store.insertTries(Array.from({ length: n }, (_, i) => ({ dag_id: 'd', run_id: 'r', task_id: 't', map_index: i, try_number: 1, state: 'queued', executor: 'local', queued_at: 1, log_path: 'x', counts_against_budget: 1 })));
    const t0 = performance.now();
    for (let i = 0; i < n; i += PER_TICK) {
      await store.transaction(async (tx) => {
        for (let j = i; j < Math.min(n, i + PER_TICK); j++) {
          const key = { dagId: 'd', runId: 'r', taskId: 't', mapIndex: j };
          const missed = await tx.applyTiChanges([{ key, from: ['scheduled'], set: { state: 'queued', try_number: 1, queued_at: 5, updated_at: 5 } }]);
          if (missed.length) throw new Error('a guarded update missed');
          if (!(await tx.updateTry({ ...key, tryNumber: 1 }, ['queued'], { state: 'running', start_date: 6 }))) throw new Error('a try update missed');
        }
        await tx.activeUsage(['default_pool']);
      });
    }
    const ms = performance.now() - t0;
    return { prepare, tasks: n, ms: Math.round(ms), us_per_task: Math.round((ms * 1000) / n) };
  } finally {
    await opened.close();
    await inst.cleanup();
  }
}

export default {
  id: 'PG-STMT',
  optIn: true,
  title: 'Postgres: microseconds per task of store statements (the tick mix), prepared against unprepared, alternated',
  async run(ctx) {
    const ty = ctx.trainyards.find((t) => t.label === 'postgres');
    if (!ty) throw new Error('needs Postgres: set TRAINYARD_BENCH_PG_URL=postgres://… (scripts/postgres/up.sh prints one; its role needs CREATEDB)');
    const n = ctx.quick ? 500 : TASKS;
    const reps = { prepared: [], unprepared: [] };
    const pairs = [];
    await repeat(ctx, 'PG-STMT', ctx.reps, async (i) => {
      const order = i % 2 === 0 ? [false, true] : [true, false];
      const got = {};
      for (const prepare of order) got[prepare] = await rep(ty, prepare, n);
      reps.prepared.push(got.true);
      reps.unprepared.push(got.false);
      pairs.push(got.true.us_per_task / got.false.us_per_task);
      return { unprepared: got.false.us_per_task, prepared: got.true.us_per_task };
    });
    return {
      tasks: n,
      per_task: 'a guarded task-instance update and a try update; per 10 tasks one transaction with activeUsage',
      unprepared_us_per_task: acrossReps(reps.unprepared, (r) => r.us_per_task),
      prepared_us_per_task: acrossReps(reps.prepared, (r) => r.us_per_task),
      ratio_prepared_over_unprepared: { paired_median: Math.round(median(pairs) * 1000) / 1000, pairs: pairs.map((x) => Math.round(x * 1000) / 1000) },
    };
  },
};
