/**
 * The machine's raw rate of starting and reaping `/bin/true`, through the spawn path the local
 * executor uses: child_process.spawn, detached (own process group), stdin ignored, stdout and
 * stderr piped, the exit seen through 'close', `parallel` in flight.
 */
import { spawn } from 'node:child_process';

export function rawSpawnRate(count, parallel = 8, command = '/bin/true') {
  return new Promise((resolve, reject) => {
    let started = 0;
    let finished = 0;
    let inFlight = 0;
    const t0 = performance.now();
    const next = () => {
      while (inFlight < parallel && started < count) {
        started++;
        inFlight++;
        const child = spawn(command, [], { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
        child.stdout.resume();
        child.stderr.resume();
        child.once('error', reject);
        child.once('close', () => {
          inFlight--;
          finished++;
          if (finished === count) {
            const ms = performance.now() - t0;
            resolve({ tasks: count, parallel, ms: Math.round(ms * 10) / 10, per_s: Math.round((count / ms) * 1000 * 10) / 10 });
          } else next();
        });
      }
    };
    next();
  });
}
