/**
 * The benchmark's own bookkeeping:
 * - a pid file under the bench state directory listing the harness and every process group it
 *   started, so a second harness refuses to run while any of them is alive;
 * - one temporary state directory per scenario run, removed when the harness ends;
 * - process groups killed on exit, on SIGINT and on SIGTERM.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const BENCH_STATE_DIR = process.env.TRAINYARD_BENCH_STATE ?? path.join(os.tmpdir(), 'trainyard-bench');
const PID_FILE = path.join(BENCH_STATE_DIR, 'bench.pid');

const groups = new Set();
const dirs = new Set();
let held = false;

export class BenchBusyError extends Error {}

export function isAlive(pid) {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return e.code === 'EPERM';
  }
  // A zombie is not running anything.
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return true;
  }
}

/** Any member of the process group still alive? */
export function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

/** Takes the pid file, or throws BenchBusyError naming what is still running. */
export function acquire() {
  fs.mkdirSync(BENCH_STATE_DIR, { recursive: true });
  let previous;
  try {
    previous = JSON.parse(fs.readFileSync(PID_FILE, 'utf8'));
  } catch {
    previous = undefined;
  }
  if (previous) {
    const alive = [];
    if (previous.pid !== process.pid && isAlive(previous.pid)) alive.push(`harness ${previous.pid}`);
    for (const g of previous.groups ?? []) if (groupAlive(g)) alive.push(`process group ${g}`);
    if (alive.length) {
      throw new BenchBusyError(
        `a previous benchmark is still running (${alive.join(', ')}; pid file ${PID_FILE}). ` +
          `Wait for it to finish, or stop it with: kill -TERM ${alive.map((a) => (a.startsWith('harness') ? a.split(' ')[1] : `-${a.split(' ')[2]}`)).join(' ')}`,
      );
    }
  }
  held = true;
  writePidFile();
  const onSignal = (sig) => {
    cleanupAll();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', cleanupAll);
}

function writePidFile() {
  if (!held) return;
  const tmp = `${PID_FILE}.${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify({ pid: process.pid, started: new Date().toISOString(), groups: [...groups] }));
  fs.renameSync(tmp, PID_FILE);
}

/** Records a detached child (it leads its own process group). */
export function trackGroup(pid) {
  groups.add(pid);
  writePidFile();
}

export function untrackGroup(pid) {
  groups.delete(pid);
  writePidFile();
}

export function killGroup(pgid, signal = 'SIGKILL') {
  try {
    process.kill(-pgid, signal);
  } catch {
    /* gone */
  }
}

/**
 * A fresh state directory for one scenario run, removed with the others when the harness ends
 * (or is stopped), not when its run ends. On ext4 without a journal, a new inode is never one
 * freed in the last minute (six while its inode table block is not yet written back), and the
 * allocator reads each such inode as it steps over it. Removing a rep's thousands of folders
 * and logs at once made the next rep's mkdirs and log files up to ten times slower
 * (bench/RESULTS.md): the reps measured the harness's own clean-up.
 */
export function makeStateDir(label) {
  fs.mkdirSync(os.tmpdir(), { recursive: true });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `trainyard-bench-${label}-`));
  dirs.add(dir);
  return dir;
}

/** Removes a directory when this process exits, whether its script finished or failed. */
export function removeAtExit(dir) {
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
}

export function cleanupAll() {
  for (const g of groups) killGroup(g);
  groups.clear();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  dirs.clear();
  if (held) {
    held = false;
    try {
      fs.rmSync(PID_FILE, { force: true });
    } catch {
      /* ignore */
    }
  }
}
