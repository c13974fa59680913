/**
 * S3: 100,000 mapped `true` tasks in one run (parallelism 8): per-task time against S2's
 * (10,000) from the same harness run when S2-10K ran before it, and the scheduler process's
 * peak resident memory (VmHWM of the standalone process, read from /proc until it exits).
 */
import { rawSpawnRate } from '../lib/spawn-rate.js';
import { acrossReps, repeat } from './common.js';
import { trainyardMappedRep } from './s2-mapped.js';

export default {
  id: 'S3',
  title: '100,000 mapped `true` tasks in one run: per-task time against S2, scheduler peak memory',
  async run(ctx) {
    const n = ctx.s3Tasks;
    const parallelism = 8;
    const out = { tasks: n, parallelism };
    for (const ty of ctx.trainyards) {
      const reps = await repeat(ctx, `S3 ${ty.label} (${n} tasks)`, ctx.repsS3, async () => {
        const spawn = await rawSpawnRate(ty.repo, 5000, parallelism);
        const rep = await trainyardMappedRep(ty, n, parallelism, { label: 'S3', timeoutMs: 4 * 3600_000 });
        rep.raw_spawn = spawn;
        return rep;
      });
      const s2 = ctx.results['S2-10K']?.[`trainyard_${ty.label}`];
      const msPerTask = acrossReps(reps, (r) => r.ms_per_task);
      const s2MsPerTask = s2 ? acrossReps(s2.reps, (r) => r.ms_per_task).median : null;
      out[`trainyard_${ty.label}`] = {
        ms_per_task: msPerTask,
        tasks_per_s: acrossReps(reps, (r) => r.tasks_per_s),
        s2_10k_ms_per_task: s2MsPerTask,
        ratio_to_s2_10k: s2MsPerTask ? Math.round((msPerTask.median / s2MsPerTask) * 1000) / 1000 : null,
        scheduler_peak_rss_mb: acrossReps(reps, (r) => r.process.scheduler_peak_rss_mb),
        children_peak_rss_mb: acrossReps(reps, (r) => r.process.children_peak_rss_mb),
        reps,
      };
    }
    return out;
  },
};
