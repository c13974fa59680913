/** Child processes of the benchmark: started detached (own process group), tracked, sampled. */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { trackGroup, untrackGroup, killGroup } from './state.js';

/** VmRSS and VmHWM (peak) of one process, in MiB; null when it is gone. */
export function memoryOf(pid) {
  let text;
  try {
    text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const kb = (name) => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) / 1024 : null;
  };
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** Direct children of a process (Linux /proc/<pid>/task/<tid>/children). */
export function childrenOf(pid) {
  const out = [];
  let tids;
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      for (const c of fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/)) if (c) out.push(Number(c));
    } catch {
      /* thread gone */
    }
  }
  return out;
}

export function descendantsOf(pid) {
  const out = [];
  const stack = childrenOf(pid);
  while (stack.length) {
    const p = stack.pop();
    out.push(p);
    stack.push(...childrenOf(p));
  }
  return out;
}

/** Resident memory of a process's descendants, summed, in MiB. */
export function descendantsRss(pid) {
  let total = 0;
  let count = 0;
  for (const d of descendantsOf(pid)) {
    const m = memoryOf(d);
    if (m?.rss) {
      total += m.rss;
      count++;
    }
  }
  return { rss: total, count };
}

/**
 * Samples a process's memory (every `mainMs`) and its descendants' (every `childMs`) until
 * stop(); keeps the peaks and, optionally, the series.
 */
export function sampleMemory(pid, { mainMs = 200, childMs = 1000, keepSeries = false } = {}) {
  const s = { peakRss: 0, hwm: 0, childPeakRss: 0, childPeakCount: 0, series: [] };
  const takeMain = () => {
    const m = memoryOf(pid);
    if (!m) return;
    s.peakRss = Math.max(s.peakRss, m.rss ?? 0);
    s.hwm = Math.max(s.hwm, m.hwm ?? 0);
    if (keepSeries) s.series.push({ t: Date.now(), rss: m.rss });
  };
  const takeChildren = () => {
    const c = descendantsRss(pid);
    if (c.rss > s.childPeakRss) {
      s.childPeakRss = c.rss;
      s.childPeakCount = c.count;
    }
  };
  takeMain();
  const a = setInterval(takeMain, mainMs);
  const b = setInterval(takeChildren, childMs);
  return {
    sample: s,
    /** One last reading (VmHWM is the peak over the process's life), then stop. */
    stop() {
      takeMain();
      clearInterval(a);
      clearInterval(b);
      return s;
    },
  };
}

/**
 * Starts a command in its own process group, stdout and stderr to files. Resolves `exited`
 * with { code, signal, wallMs }.
 */
export function startDetached(cmd, args, { env, cwd, stdoutFile, stderrFile } = {}) {
  const out = fs.openSync(stdoutFile ?? '/dev/null', 'a');
  const err = fs.openSync(stderrFile ?? '/dev/null', 'a');
  const t0 = performance.now();
  const startedAt = Date.now();
  const child = spawn(cmd, args, { env, cwd, detached: true, stdio: ['ignore', out, err] });
  fs.closeSync(out);
  fs.closeSync(err);
  if (child.pid) trackGroup(child.pid);
  const exited = new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      const wallMs = performance.now() - t0;
      // Whatever the child left in its group goes too.
      if (child.pid) {
        killGroup(child.pid, 'SIGKILL');
        untrackGroup(child.pid);
      }
      resolve({ code, signal, wallMs });
    });
  });
  return { child, pid: child.pid, startedAt, t0, exited };
}

/** Waits for `exited`, killing the group after `ms`. */
export async function withTimeout(proc, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => {
      killGroup(proc.pid, 'SIGKILL');
      reject(new Error(`${what} did not finish within ${Math.round(ms / 1000)} s; killed`));
    }, ms);
  });
  try {
    return await Promise.race([proc.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function tail(file, bytes = 2000) {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.slice(-bytes);
  } catch {
    return '';
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
