/**
 * Signals for whole process groups. Every local try (and every worker process) is spawned
 * detached, so it leads its own process group and a signal to `-pid` reaches the children it
 * started as well.
 */
import { readFileSync } from 'node:fs';

/** Sends a signal to the process group led by `pid`. False when the group no longer exists. */
export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  // -1 or -0 would signal every process we may signal, or our own group: never.
  if (!Number.isInteger(pid) || pid <= 1) return false;
  try {
    process.kill(-pid, signal);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') return false;
    if (code === 'EPERM') return true;
    throw err;
  }
}

/**
 * Whether a process exists and is not a zombie. A killed grandchild that is re-parented to
 * a PID 1 that never reaps stays a zombie; it is dead for every purpose here.
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  const stat = readProcStat(pid);
  return stat === undefined || stat.state !== 'Z';
}

/** Fields of /proc/<pid>/stat (Linux only; undefined elsewhere or when gone). */
export function readProcStat(pid: number): { state: string; pgrp: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid pgrp ..."; comm may hold spaces and parentheses.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: rest[0], pgrp: Number(rest[2]) };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * SIGTERM to the group, up to `graceMs` for the leader to exit, then SIGKILL to what is left
 * of the group. `exited` resolves when the leader is gone (for our own children); without
 * it, the leader is polled.
 */
export async function terminateGroup(pid: number, graceMs: number, exited?: Promise<unknown>): Promise<void> {
  if (!signalGroup(pid, 'SIGTERM')) {
    if (exited) await exited;
    return;
  }
  if (exited) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
  } else {
    const deadline = Date.now() + graceMs;
    while (isProcessAlive(pid) && Date.now() < deadline) await sleep(Math.min(50, graceMs));
  }
  signalGroup(pid, 'SIGKILL');
  if (exited) await exited;
}
