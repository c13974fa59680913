/**
 * S4: a DAG folder of 200 files × 50 tasks each.
 * - start to first schedulable task: from spawning `trainyard standalone --trigger
 *   bench_parse_000` to the first task_try row of that run (its queued_at, the moment the
 *   scheduler admitted the task), with the whole folder parsed first as standalone does;
 * - all DAGs in the store: from the same start to the 200th `dag` row (polled every 20 ms);
 * - re-parse: one file is rewritten (a new description, so a new version hash); the time
 *   from the write to the new hash in `dag.latest_version` (polled every 20 ms).
 */
import fs from 'node:fs';
import path from 'node:path';
import { sleep, withTimeout, sampleMemory } from '../lib/proc.js';
import { loadAverage } from '../lib/machine.js';
import { acrossReps, repeat } from './common.js';

const FILES = 200;
const TASKS = 50;

function parseDag(ty, i, tasks, note = 'v1') {
  const id = `bench_parse_${String(i).padStart(3, '0')}`;
  return (
    ty.importLine(['dag', 'chain']) +
    `const d = dag('${id}', { description: 'S4 file ${i} (${note})' });\n` +
    `chain(...Array.from({ length: ${tasks} }, (_, j) => d.command('t' + String(j).padStart(2, '0'), { command: 'true' })));\n` +
    `export default d;\n`
  );
}

async function until(what, timeoutMs, probe, everyMs = 20) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(everyMs);
  }
}

async function rep(ty, files, tasks) {
  const inst = await ty.instance('S4');
  try {
    for (let i = 0; i < files; i++) inst.writeDag(`bench_parse_${String(i).padStart(3, '0')}.ts`, parseDag(ty, i, tasks));
    const load_before = loadAverage();
    const p = ty.start(inst, ['standalone', '--trigger', 'bench_parse_000'], { tag: 'standalone', env: { TRAINYARD_PARALLELISM: '8' } });
    const mem = sampleMemory(p.pid);
    let reader;
    try {
      const dbReady = () => (inst.databaseUrl.startsWith('postgres') ? true : fs.existsSync(inst.databaseUrl));
      reader = await until('the store', 120_000, async () => (dbReady() ? ty.reader(inst) : undefined), 50);
      const all = async (sql, ...a) => reader.all(sql, ...a);
      let dagsAt;
      const firstQueued = await until('the first task of bench_parse_000', 600_000, async () => {
        if (dagsAt === undefined) {
          const [{ n }] = await all('SELECT count(*) AS n FROM dag');
          if (Number(n) >= files) dagsAt = Date.now();
        }
        const [r] = await all("SELECT min(queued_at) AS q FROM task_try WHERE dag_id = 'bench_parse_000'");
        return r?.q ?? undefined;
      });
      if (dagsAt === undefined) {
        await until('all DAG rows', 600_000, async () => {
          const [{ n }] = await all('SELECT count(*) AS n FROM dag');
          return Number(n) >= files;
        });
        dagsAt = Date.now();
      }
      // Re-parse after one change.
      const target = Math.floor(files / 2);
      const dagId = `bench_parse_${String(target).padStart(3, '0')}`;
      const [before] = await all('SELECT latest_version FROM dag WHERE dag_id = ?', dagId);
      await sleep(1500); // a change in a later second than the first parse, for mtime-based checks
      const t0 = Date.now();
      inst.writeDag(`${dagId}.ts`, parseDag(ty, target, tasks, 'v2'));
      await until(`the new version of ${dagId}`, 120_000, async () => {
        const [r] = await all('SELECT latest_version FROM dag WHERE dag_id = ?', dagId);
        return r && r.latest_version !== before.latest_version;
      });
      const reparseMs = Date.now() - t0;
      return {
        start_to_first_task_ms: firstQueued - p.startedAt,
        start_to_all_dags_ms: dagsAt - p.startedAt,
        reparse_ms: reparseMs,
        load_before,
        load_after: loadAverage(),
      };
    } finally {
      await reader?.close().catch(() => {});
      try {
        process.kill(p.pid, 'SIGTERM');
      } catch {
        /* gone */
      }
      await withTimeout(p, 30_000, 'standalone shutdown').catch(() => {});
      mem.stop();
    }
  } finally {
    await inst.cleanup();
  }
}

export default {
  id: 'S4',
  title: '200 DAG files × 50 tasks: start to first schedulable task; re-parse after one change',
  async run(ctx) {
    const files = ctx.quick ? 40 : FILES;
    const out = { files, tasks_per_file: TASKS };
    for (const ty of ctx.trainyards) {
      const reps = await repeat(ctx, `S4 ${ty.label}`, ctx.reps, () => rep(ty, files, TASKS));
      out[`trainyard_${ty.label}`] = {
        start_to_first_task_ms: acrossReps(reps, (r) => r.start_to_first_task_ms),
        start_to_all_dags_ms: acrossReps(reps, (r) => r.start_to_all_dags_ms),
        reparse_ms: acrossReps(reps, (r) => r.reparse_ms),
        reps,
      };
    }
    return out;
  },
};
