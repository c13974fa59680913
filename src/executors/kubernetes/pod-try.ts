/**
 * What the Kubernetes executor keeps per try (one pod), and the small helpers its pod
 * lifecycle shares: API paths, durations in words, resourceVersion order, and where an
 * adopted try's log left off.
 */
import { open } from 'node:fs/promises';
import type { FailureClass } from '../../core/failure.js';
import type { TryLogWriter } from '../log-writer.js';
import { tryKeyString, type TryKey, type TryOutcome } from '../types.js';
import type { HeldLine } from './creation-gate.js';
import { sortableTimestamp, type LogFollower } from './log-follower.js';
import type { CleanupPolicy } from './options.js';

/** Annotation with what adopt() needs to follow a pod another process launched. */
export const LAUNCH_ANNOTATION = 'trainyard.dev/launch';

/** What a pod's try needs to be followed, also by another process after a restart (the launch annotation). */
export interface LaunchInfo {
  readonly container: string;
  readonly skipExitCode: number;
  readonly resultLimitBytes: number;
  readonly logPath: string;
  readonly killGraceMs: number;
  readonly executionTimeoutMs?: number;
  readonly unscheduledTimeoutMs: number;
  readonly startupTimeoutMs: number;
  readonly onFinish: CleanupPolicy;
}

/** How a try ended. */
export interface Finish {
  readonly outcome: TryOutcome;
  readonly exitCode?: number | null;
  readonly failureClass?: FailureClass;
  readonly reason?: string;
  readonly result?: unknown;
}

/** One live try and its pod. */
export interface PodTry {
  readonly key: TryKey;
  readonly keyString: string;
  namespace: string;
  name: string;
  info: LaunchInfo;
  uid?: string;
  /** resourceVersion when the pod was created or found, to tell a vanished pod from one newer than a list. */
  rv?: string;
  node?: string;
  phase: 'creating' | 'unscheduled' | 'starting' | 'running' | 'finishing' | 'done';
  /** The pod exists in the API (created, or found). */
  exists: boolean;
  startedEmitted: boolean;
  createdAt: number;
  pendingReason?: string;
  schedulerReason?: string;
  waitingReason?: string;
  gpus: number;
  log?: TryLogWriter;
  /** Timestamp of the log line being written (log lines keep the container's times). */
  lineAt: number | null;
  follower?: LogFollower;
  /** Lines to skip when following a log an earlier process wrote (sortable timestamp). */
  resumeAfter?: string;
  kill?: { readonly failureClass: FailureClass; readonly reason: string };
  /** Status lines held while creations are pending (written, with their times, once they are done). */
  held?: HeldLine[];
  /** Ends a wait between creation attempts (a quota refusal) when the try is stopped. */
  wakeCreate?: () => void;
  timers: { unscheduled?: NodeJS.Timeout; startup?: NodeJS.Timeout; execution?: NodeJS.Timeout; stop?: NodeJS.Timeout };
  readonly done: Promise<void>;
  resolveDone(): void;
}

/** A try as it starts: no pod seen yet. */
export function newPodTry(now: number, key: TryKey, namespace: string, name: string, info: LaunchInfo, phase: PodTry['phase']): PodTry {
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  return {
    key,
    keyString: tryKeyString(key),
    namespace,
    name,
    info,
    phase,
    exists: false,
    startedEmitted: false,
    createdAt: now,
    gpus: 0,
    lineAt: null,
    timers: {},
    done,
    resolveDone,
  };
}

export const podsPath = (ns: string) => `/api/v1/namespaces/${encodeURIComponent(ns)}/pods`;
export const podPath = (ns: string, name: string) => `${podsPath(ns)}/${encodeURIComponent(name)}`;

/** Why a launch that is not a command task cannot become a pod. */
export function notACommand(kind: string): string {
  return kind === 'inline'
    ? 'inline TypeScript tasks run on the local executor; give the task executor "local", or make it a command task with an image'
    : `${kind} tasks are run by the scheduler, not in pods; the Kubernetes executor runs command tasks`;
}

/** Whether resourceVersion `a` is older than `b` (they are etcd revisions; unknown counts as not older). */
export function olderThan(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  return BigInt(a) <= BigInt(b);
}

/** The container timestamp of the last task line in a try log an earlier process wrote (sortable form). */
export async function lastLoggedTimestamp(path: string): Promise<string | null> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    return null;
  }
  try {
    const { size } = await handle.stat();
    const len = Math.min(size, 64 * 1024);
    const buf = Buffer.alloc(len);
    await handle.read(buf, 0, len, size - len);
    const lines = buf.toString('utf8').split('\n').reverse();
    for (const line of lines) {
      const m = /^(\S+) (?:stdout|stderr) \| /.exec(line);
      const ts = m ? sortableTimestamp(m[1]) : null;
      // The log keeps milliseconds: skip the rest of that millisecond too.
      if (ts) return `${ts.slice(0, 23)}999999`;
    }
    return null;
  } finally {
    await handle.close();
  }
}
