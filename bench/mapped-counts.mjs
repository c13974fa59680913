#!/usr/bin/env node
/**
 * What counting a mapped task's cached instances costs the API's aggregate queries (not a test).
 *
 *   node bench/mapped-counts.mjs [--mapped 100000] [--reps 30]
 *
 * Seeds a SQLite store in a temporary home with one run whose mapped task has --mapped
 * instances (every seventh failed, half of the successes cached, each with a `cached_from` as
 * the scheduler writes it). Then, alternating in each round, it times the summary query
 * (`summarizeTask`) of that task as a task with `cache` (which counts the cached instances) and
 * as one without (which skips the column), and the grid query (`loadGrid`, which always counts
 * them). Prints JSON: milliseconds per query (median, p95, min, max), and the counts it got.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';
import { optionNumber } from './lib/args.js';
import { summary } from './lib/stats.js';

register();
const here = path.dirname(fileURLToPath(import.meta.url));
const src = (p) => import(path.join(here, '..', 'src', p));

const mapped = optionNumber('mapped', 100_000);
const reps = optionNumber('reps', 30);

async function seed(store, t0) {
  const { dag } = await src('index.ts');
  const { triggerRun } = await src('scheduler/trigger.ts');
  const d = dag('fan', {});
  d.command('shard', { command: 'true', expand: { seed: [1, 2, 3] }, cache: { version: 'v1' } });
  await store.upsertDag(d.toSpec(), '/dags/fan.ts', 'v1', t0);
  await triggerRun(store, 'fan', { runId: 'run_0' }, t0);
  const from = (m) =>
    JSON.stringify({ dag_id: 'fan', run_id: 'run_prev', task_id: 'shard', map_index: m, try_number: 1, artifacts_uri: `file:///home/trainyard/artifacts/dag_id=fan/run_id=run_prev/task_id=shard/map_index=${m}/attempt=1`, cache_key: 'f'.repeat(64) });
  for (let start = 0; start < mapped; start += 5000) {
    const rows = [];
    for (let m = start; m < Math.min(mapped, start + 5000); m++) {
      const failed = m % 7 === 0;
      rows.push({
        dag_id: 'fan', run_id: 'run_0', task_id: 'shard', map_index: m, state: failed ? 'failed' : 'success', try_number: 1,
        budget_tries: 1, free_retries: 0, priority_weight: 1, pool: 'default_pool', pool_slots: 1, next_retry_at: null, queued_at: t0,
        start_date: t0, end_date: t0 + (m % 97) * 1000, failure_class: failed ? 'user_error' : null, reason: failed ? 'exit code 1' : null,
        result: JSON.stringify({ shard: m }), item: JSON.stringify({ seed: m }), params: null, resource_overrides: null, updated_at: t0,
        cached_from: !failed && m % 2 === 0 ? from(m) : null,
      });
    }
    await store.insertTaskInstances(rows);
  }
}

async function main() {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-bench-counts-'));
  const { migrateToLatest, openSqlite } = await src('store/db.ts');
  const { Store } = await src('store/store.ts');
  const { summarizeTask } = await src('api/queries/task-instances.ts');
  const { loadGrid } = await src('api/queries/grid.ts');
  const opened = openSqlite(path.join(home, 'trainyard.db'));
  try {
    await migrateToLatest(opened.db);
    const store = new Store(opened.db, 'sqlite');
    await seed(store, Date.UTC(2026, 0, 1));
    const key = { dagId: 'fan', runId: 'run_0', taskId: 'shard', mapped: true };
    const opts = { buckets: 20, top: 8 };
    const queries = {
      summary_cacheable: () => summarizeTask(store, { ...key, cacheable: true }, opts),
      summary_not_cacheable: () => summarizeTask(store, { ...key, cacheable: false }, opts),
      grid: () => loadGrid(store, 'fan', 12),
    };
    const times = Object.fromEntries(Object.keys(queries).map((k) => [k, []]));
    const seen = {};
    for (let r = 0; r < reps + 2; r++) {
      for (const [name, run] of Object.entries(queries)) {
        const t = performance.now();
        const out = await run();
        if (r >= 2) times[name].push(performance.now() - t);
        seen[name] = out.cached ?? out.cells?.get('run_0')?.get('shard')?.cached;
      }
    }
    const result = { mapped, reps, ms: Object.fromEntries(Object.entries(times).map(([k, v]) => [k, summary(v)])), cached_counted: seen };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await opened.close();
    fs.rmSync(home, { recursive: true, force: true });
  }
}

await main();
