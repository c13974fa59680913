/**
 * The machine's raw rate of starting and reaping `/bin/true`, through the spawn path the local
 * executor uses, `parallel` in flight: the checkout's Spawner (dist/executors/spawner), which
 * starts each process from a spawner process, detached (own process group), stdin ignored,
 * stdout and stderr piped, the exit seen after the pipes close. A checkout from before the
 * spawner existed spawned from the scheduler's own process with child_process.spawn; for it,
 * the same call is made here.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

/** The repo's spawner module, or undefined when the checkout has none. */
async function spawnerOf(repo) {
  const file = path.join(repo, 'dist/executors/spawner/spawner.js');
  if (!fs.existsSync(file)) return undefined;
  return import(pathToFileURL(file).href);
}

export async function rawSpawnRate(repo, count, parallel = 8, command = '/bin/true') {
  const mod = await spawnerOf(repo);
  if (!mod) return { ...(await measure(count, parallel, directStart(command))), path: 'child_process.spawn in the calling process' };
  const spawner = new mod.Spawner();
  try {
    // The spawner process starts once per scheduler; its start-up is not part of the rate.
    await measure(1, 1, spawnerStart(spawner, command));
    return { ...(await measure(count, parallel, spawnerStart(spawner, command))), path: 'Spawner (a spawner process)' };
  } finally {
    await spawner.close();
  }
}

/** Starts `command` with child_process.spawn; calls done(err?) when it closed. */
function directStart(command) {
  return (done) => {
    const child = spawn(command, [], { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env });
    child.stdout.resume();
    child.stderr.resume();
    child.once('error', done);
    child.once('close', () => done());
  };
}

function spawnerStart(spawner, command) {
  return (done) =>
    spawner.spawn(
      { file: command, args: [], env, leftoverGraceMs: 1000 },
      {
        onSpawn: () => {},
        onOutput: () => {},
        onClose: (c) => done(c.spawnError || c.lost ? new Error(`${command}: ${c.spawnError?.message ?? c.lost}`) : undefined),
      },
    );
}

function measure(count, parallel, start) {
  return new Promise((resolve, reject) => {
    let started = 0;
    let finished = 0;
    let inFlight = 0;
    const t0 = performance.now();
    const next = () => {
      while (inFlight < parallel && started < count) {
        started++;
        inFlight++;
        start((err) => {
          if (err) return reject(err);
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
