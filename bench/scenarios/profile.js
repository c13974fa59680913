/**
 * PROFILE (opt-in: --only PROFILE): one S2-10K run with `node --cpu-prof` on the standalone
 * process (the scheduler, the executor and the store run in it), and a summary of the top
 * self-time functions and files. The .cpuprofile files stay in --profile-dir (default
 * bench/results/, git-ignored) for Chrome DevTools or speedscope.
 */
import fs from 'node:fs';
import path from 'node:path';
import { summariseCpuProfile } from '../lib/cpuprofile.js';
import { trainyardMappedRep } from './s2-mapped.js';

export default {
  id: 'PROFILE',
  optIn: true,
  title: 'CPU profile of the standalone process during S2 (10,000 mapped tasks)',
  async run(ctx) {
    const n = ctx.quick ? 2000 : 10_000;
    const out = { tasks: n, parallelism: 8 };
    for (const ty of ctx.trainyards) {
      const dir = path.join(ctx.profileDir, `profile-${ty.label}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
      fs.mkdirSync(dir, { recursive: true });
      const rep = await trainyardMappedRep(ty, n, 8, { label: 'PROFILE', nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
      const files = fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
      const main = files.find((f) => f.split('.')[3] === String(rep.process.pid));
      const summaries = files.map((f) => ({ role: f === main ? 'standalone (scheduler)' : 'child (DAG processor or worker)', ...summariseCpuProfile(path.join(dir, f), { repo: ty.repo, top: 20 }) }));
      out[`trainyard_${ty.label}`] = { run: rep, profile_dir: dir, profiles: summaries.sort((a, b) => (a.role < b.role ? 1 : -1)) };
    }
    return out;
  },
};
