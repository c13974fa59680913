/**
 * PROFILE and PROFILE-S5 (opt-in: --only PROFILE,PROFILE-S5): one S2-10K run, or one S5 run
 * (1,000 inline tasks), with `node --cpu-prof` on the standalone process (the scheduler, the
 * executor and the store run in it; its spawner process is profiled too), and a summary of
 * the top self-time functions and files of each profile. The .cpuprofile files stay in
 * --profile-dir (default bench/results/, git-ignored) for Chrome DevTools or speedscope.
 */
import fs from 'node:fs';
import path from 'node:path';
import { summariseCpuProfile } from '../lib/cpuprofile.js';
import { trainyardMappedRep } from './s2-mapped.js';
import { trainyardInlineRep } from './s5-inline.js';

function profileScenario({ id, title, size, quickSize, rep }) {
  return {
    id,
    optIn: true,
    title,
    async run(ctx) {
      const n = ctx.quick ? quickSize : size;
      const out = { tasks: n, parallelism: 8 };
      for (const ty of ctx.trainyards) {
        const dir = path.join(ctx.profileDir, `${id.toLowerCase()}-${ty.label}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
        fs.mkdirSync(dir, { recursive: true });
        const run = await rep(ty, n, { label: id, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
        const files = fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
        const main = files.find((f) => f.split('.')[3] === String(run.process.pid));
        const role = (f) => (f === main ? 'standalone (scheduler)' : 'child (spawner, DAG processor or worker)');
        const summaries = files.map((f) => ({ role: role(f), ...summariseCpuProfile(path.join(dir, f), { repo: ty.repo, top: 20 }) }));
        out[`trainyard_${ty.label}`] = { run, profile_dir: dir, profiles: summaries.sort((a, b) => (a.role < b.role ? 1 : -1)) };
      }
      return out;
    },
  };
}

export const profileS2 = profileScenario({
  id: 'PROFILE',
  title: 'CPU profile of the standalone process during S2 (10,000 mapped tasks)',
  size: 10_000,
  quickSize: 2000,
  rep: (ty, n, o) => trainyardMappedRep(ty, n, 8, o),
});

export const profileS5 = profileScenario({
  id: 'PROFILE-S5',
  title: 'CPU profile of the standalone process during S5 (1,000 inline TypeScript tasks)',
  size: 1000,
  quickSize: 200,
  rep: (ty, n, o) => trainyardInlineRep(ty, n, 8, o),
});
