/**
 * The local executor's tries from an earlier scheduler process. A process this executor did
 * not start is not its child, so its exit status can never be read: the try cannot be
 * followed to the end. So a still-running process of the try is stopped (SIGTERM to its
 * group, SIGKILL after the grace period) and the try is reported not adopted; the scheduler
 * records it as `lost` and retries it without using the retry budget. A pid is only
 * signalled when it still is that try (checked, on Linux, from the process's group and
 * environment), so a reused pid is never killed.
 */
import { readFile } from 'node:fs/promises';
import type { AdoptResult, LiveTryRecord, TryKey } from '../types.js';
import { isProcessAlive, readProcStat, terminateGroup } from './process-tree.js';

/** Adopts (that is, stops and reports not adopted) one try an earlier scheduler process started on `host`. */
export async function adoptEarlierTry(r: LiveTryRecord, host: string, killGraceMs: number): Promise<AdoptResult> {
  const key = r.key;
  if (r.host && r.host !== host) {
    return { key, adopted: false, reason: `it ran on host ${r.host}; the local executor on ${host} cannot reach processes on another machine` };
  }
  const pid = r.pid ?? undefined;
  if (pid === undefined || pid <= 0) return { key, adopted: false, reason: 'no process was recorded for it (it had not started)' };
  if (!isProcessAlive(pid)) return { key, adopted: false, reason: `process ${pid} is gone` };
  const identity = await identifyTryProcess(pid, key);
  if (identity === 'other') return { key, adopted: false, reason: `process ${pid} is gone (the pid now belongs to another process, left alone)` };
  await terminateGroup(pid, killGraceMs);
  return {
    key,
    adopted: false,
    reason:
      `process ${pid} was still running from an earlier scheduler; the local executor cannot follow a process it did not ` +
      `start (its exit status is unreadable), so it stopped it (SIGTERM, then SIGKILL)`,
  };
}

/**
 * Whether a live pid is still the given try: it must lead its own process group (tries are
 * spawned detached) and carry the try's identity in its environment. 'unknown' where /proc
 * is unavailable (then the pid is trusted).
 */
async function identifyTryProcess(pid: number, key: TryKey): Promise<'same' | 'other' | 'unknown'> {
  const stat = readProcStat(pid);
  if (!stat) return 'unknown';
  if (stat.pgrp !== pid) return 'other';
  let environ: string;
  try {
    environ = await readFile(`/proc/${pid}/environ`, 'utf8');
  } catch {
    return 'other'; // not ours to read: not a try this user started
  }
  const vars = new Set(environ.split('\0'));
  const expected = [
    `TRAINYARD_DAG_ID=${key.dagId}`,
    `TRAINYARD_RUN_ID=${key.runId}`,
    `TRAINYARD_TASK_ID=${key.taskId}`,
    `TRAINYARD_TRY_NUMBER=${key.tryNumber}`,
  ];
  return expected.every((v) => vars.has(v)) ? 'same' : 'other';
}
