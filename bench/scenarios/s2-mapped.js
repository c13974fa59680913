/**
 * S2: N mapped `true` tasks at parallelism 8 (N = 1,000 and 10,000): tasks/s end to end
 * (the run's start to its end, from dag_run), beside the raw spawn rate of /bin/true through
 * the same spawn path (lib/spawn-rate.js), measured right before each Trainyard rep.
 * Also the foundation's figure: 1,000 at parallelism 4.
 */
import { rawSpawnRate } from '../lib/spawn-rate.js';
import { mappedShape } from '../lib/trainyard.js';
import { acrossReps, repeat } from './common.js';
import { median } from '../lib/stats.js';

/**
 * `cpu`: the tasks' CPU request. The bench asks for 100m so that the parallelism setting, not
 * the local executor's CPU count, bounds concurrency (a command task asks for 1 CPU by default,
 * so on a 2-core machine only 2 would run at once); `null` keeps the default.
 */
export function mappedDag(ty, n, dagId = 'bench_map', cpu = '100m') {
  const { a, b } = mappedShape(n);
  const resources = cpu ? `, resources: { cpu: '${cpu}' }` : '';
  return (
    ty.importLine(['dag']) +
    `const range = (n: number) => Array.from({ length: n }, (_, i) => i);\n` +
    `const d = dag('${dagId}', { description: '${n} mapped tasks running true' });\n` +
    `d.command('t', { command: 'true', expand: { a: range(${a}), b: range(${b}) }, maxMapLength: ${n}${resources} });\n` +
    `export default d;\n`
  );
}

/** One Trainyard run of N mapped tasks. */
export async function trainyardMappedRep(ty, n, parallelism, { nodeArgs = [], label = 'S2', timeoutMs, cpu } = {}) {
  const inst = await ty.instance(label);
  try {
    inst.writeDag('bench_map.ts', mappedDag(ty, n, 'bench_map', cpu === undefined ? '100m' : cpu));
    const proc = await ty.runToEnd(inst, 'bench_map', { env: { TRAINYARD_PARALLELISM: String(parallelism) }, nodeArgs, timeoutMs });
    const { run, tries } = await ty.runFigures(inst, 'bench_map');
    if (run.state !== 'success') throw new Error(`the mapped run ended ${run.state}`);
    return { ...mappedFigures(run, tries, n), process: proc };
  } finally {
    await inst.cleanup();
  }
}

export function mappedFigures(run, tries, n) {
  if (tries.length !== n) throw new Error(`expected ${n} tries, found ${tries.length}`);
  const runMs = run.end_date - run.start_date;
  let first = Infinity;
  let last = -Infinity;
  for (const t of tries) {
    first = Math.min(first, t.start_date);
    last = Math.max(last, t.end_date);
  }
  return {
    tasks: n,
    max_concurrent: maxConcurrent(tries),
    run_ms: runMs,
    tasks_per_s: Math.round((n / runMs) * 1000 * 10) / 10,
    ms_per_task: Math.round((runMs / n) * 1000) / 1000,
    first_start_to_last_end_ms: last - first,
  };
}

export function s2Scenario({ id, n: fullSize, parallelism, peer = false, cpu = '100m' }) {
  return {
    id,
    title: `${fullSize.toLocaleString('en')} mapped \`true\` tasks, parallelism ${parallelism}${cpu ? '' : ', default CPU request (1)'}: tasks/s beside the raw spawn rate`,
    async run(ctx) {
      const n = ctx.quick ? Math.round(fullSize / 5) : fullSize;
      const out = { tasks: n, parallelism, cpu_request: cpu ?? 'default (1)' };
      for (const ty of ctx.trainyards) {
        const af = peer && ty.label === 'sqlite' ? ctx.airflow : undefined;
        const tyReps = [];
        const afReps = [];
        await repeat(ctx, `${id} ${ty.label}${af ? ' A/B with Airflow' : ''}`, ctx.reps, async (i) => {
          // The raw rate drifts with the machine: half is measured right before the rep and
          // half right after, so the rep is compared with the machine it ran on.
          const rawCount = Math.max(1, Math.round(Math.min(n, 5000) / 2));
          const before = await rawSpawnRate(ty.repo, rawCount, parallelism);
          const rep = await trainyardMappedRep(ty, n, parallelism, { label: id, cpu });
          const after = await rawSpawnRate(ty.repo, rawCount, parallelism);
          rep.raw_spawn = bracketedRate(before, after);
          rep.fraction_of_raw_spawn = Math.round((rep.tasks_per_s / rep.raw_spawn.per_s) * 1000) / 1000;
          tyReps.push(rep);
          const a = af && i < ctx.airflowReps ? await af.mapRep(n) : undefined;
          if (a) afReps.push(a);
          return { trainyard: rep, airflow: a };
        });
        out[`trainyard_${ty.label}`] = {
          tasks_per_s: acrossReps(tyReps, (r) => r.tasks_per_s),
          raw_spawn_per_s: acrossReps(tyReps, (r) => r.raw_spawn.per_s),
          fraction_of_raw_spawn: acrossReps(tyReps, (r) => r.fraction_of_raw_spawn),
          scheduler_peak_rss_mb: acrossReps(tyReps, (r) => r.process.scheduler_peak_rss_mb),
          reps: tyReps,
        };
        if (af) {
          out.airflow = { tasks_per_s: acrossReps(afReps, (r) => r.tasks_per_s), reps: afReps };
          const t = out[`trainyard_${ty.label}`].tasks_per_s.median;
          const a = out.airflow.tasks_per_s.median;
          out.ratio_tasks_per_s_trainyard_over_airflow = t && a ? Math.round((t / a) * 10) / 10 : null;
          // The A/B figure: each Airflow rep against the Trainyard rep just before it.
          const pairs = afReps.map((r, i) => tyReps[i].tasks_per_s / r.tasks_per_s);
          out.ratio_paired = { median: pairs.length ? Math.round(median(pairs) * 10) / 10 : null, pairs: pairs.map((x) => Math.round(x * 10) / 10) };
        }
      }
      return out;
    },
  };
}

/** One raw rate from the measurements before and after a rep: all spawns over all the time. */
export function bracketedRate(before, after) {
  const tasks = before.tasks + after.tasks;
  const ms = before.ms + after.ms;
  return { tasks, parallel: before.parallel, ms: Math.round(ms * 10) / 10, per_s: Math.round((tasks / ms) * 1000 * 10) / 10, before_per_s: before.per_s, after_per_s: after.per_s, path: before.path };
}

/** Most tries running at once, from their start and end stamps. */
export function maxConcurrent(tries) {
  const ev = [];
  for (const t of tries) if (t.start_date !== null && t.end_date !== null) ev.push([t.start_date, 1], [t.end_date, -1]);
  ev.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cur = 0;
  let max = 0;
  for (const [, d] of ev) max = Math.max(max, (cur += d));
  return max;
}
