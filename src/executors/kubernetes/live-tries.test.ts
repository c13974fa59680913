import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tryKeyString, type ExecutorEvent, type TryKey } from '../types.js';
import type { ExecutorContext } from './context.js';
import { CreationGate } from './creation-gate.js';
import { LiveTries } from './live-tries.js';
import { newPodTry, type LaunchInfo, type PodTry } from './pod-try.js';
import { TryLogs } from './try-logs.js';

const T0 = Date.parse('2026-03-01T10:00:00.000Z');

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trainyard-live-tries-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The try-keeping parts of the executor on a settable clock, with no API server (no pod is created or deleted here). */
function parts() {
  const clock = { at: T0 };
  const events: ExecutorEvent[] = [];
  const ctx: ExecutorContext = {
    id: 'test',
    options: {},
    now: () => clock.at,
    stats: { podsCreated: 0, alreadyExisted: 0, podsDeleted: 0, watchEvents: 0 },
    creations: new CreationGate(60_000),
    client: () => {
      throw new Error('these tries have no pod: the API server is never asked');
    },
    namespace: () => 'default',
    emit: (e) => events.push(e),
  };
  const logs = new TryLogs(ctx);
  return { clock, events, ctx, logs, tries: new LiveTries(ctx, logs) };
}

function keyOf(taskId: string): TryKey {
  return { dagId: 'train', runId: 'r1', taskId, mapIndex: -1, tryNumber: 1 };
}

function launchInfo(logPath: string): LaunchInfo {
  return { container: 'task', skipExitCode: 99, resultLimitBytes: 4096, logPath, killGraceMs: 1000, unscheduledTimeoutMs: 60_000, startupTimeoutMs: 60_000, onFinish: 'delete' };
}

async function liveTry(p: ReturnType<typeof parts>, taskId: string, phase: PodTry['phase'], gpus = 0): Promise<PodTry> {
  const logPath = join(dir, `${taskId}.log`);
  const t = newPodTry(p.clock.at, keyOf(taskId), 'default', `pod-${taskId}`, launchInfo(logPath), phase);
  t.gpus = gpus;
  p.tries.add(t);
  p.tries.placed(t);
  t.log = await p.logs.open(logPath, t);
  return t;
}

async function logLines(t: PodTry): Promise<string[]> {
  return (await readFile(t.info.logPath, 'utf8')).trimEnd().split('\n');
}

/** A creation held in flight until release() is called. */
function pendingCreation(gate: CreationGate): { release: () => Promise<void> } {
  let resolve!: () => void;
  const run = gate.run(() => new Promise<void>((r) => (resolve = r)));
  return {
    release: async () => {
      resolve();
      await run;
    },
  };
}

describe('live tries', () => {
  it('finish reports the try once, frees its GPUs, remembers its key and ends its log', async () => {
    const p = parts();
    const t = await liveTry(p, 'fit', 'running', 2);
    expect(p.tries.gpuUsed).toBe(2);
    expect(p.tries.size).toBe(1);
    expect(p.tries.ofPod('default', 'pod-fit')).toBe(t);

    await p.tries.finish(t, { outcome: 'failed', failureClass: 'user_error', reason: 'exit code 3', exitCode: 3 });
    await p.tries.finish(t, { outcome: 'success', exitCode: 0, result: 1 });

    expect(p.events).toEqual([{ type: 'finished', key: t.key, at: T0, outcome: 'failed', exitCode: 3, signal: null, failureClass: 'user_error', reason: 'exit code 3' }]);
    expect(p.tries.gpuUsed).toBe(0);
    expect(p.tries.size).toBe(0);
    expect(p.tries.ofPod('default', 'pod-fit')).toBeUndefined();
    expect(p.tries.has(t.keyString)).toBe(false);
    expect(p.tries.known(t.keyString)).toBe(true);
    await p.logs.flushed(t.key);
    expect((await logLines(t)).at(-1)).toMatch(/ system \| try failed \[user_error\]: exit code 3$/);
  });

  it('a refused launch is reported failed with class config and its key is remembered', () => {
    const p = parts();
    const key = keyOf('inline');
    p.tries.refuse(key, tryKeyString(key), 'inline tasks run on the local executor');
    expect(p.events).toEqual([{ type: 'finished', key, at: T0, outcome: 'failed', exitCode: null, signal: null, failureClass: 'config', reason: 'inline tasks run on the local executor' }]);
    expect(p.tries.known(tryKeyString(key))).toBe(true);
  });

  it('stop of a try with no pod finishes it at once with the class; one being created is left to its creation', async () => {
    const p = parts();
    const waiting = await liveTry(p, 'waiting', 'unscheduled');
    waiting.timers.unscheduled = setTimeout(() => expect.fail('the unscheduled clock must stop'), 60_000);
    await p.tries.stop(waiting, 'execution_timeout', 'ran longer than 1 s');
    expect(waiting.timers.unscheduled).toBeUndefined();
    expect(p.events).toMatchObject([{ type: 'finished', key: waiting.key, outcome: 'failed', failureClass: 'execution_timeout', reason: 'ran longer than 1 s' }]);

    const creating = await liveTry(p, 'creating', 'creating');
    let woken = 0;
    creating.wakeCreate = () => woken++;
    void p.tries.stop(creating, 'lost', 'the executor shut down');
    void p.tries.stop(creating, 'user_error', 'a second stop');
    expect(woken).toBe(1);
    expect(creating.kill).toEqual({ failureClass: 'lost', reason: 'the executor shut down' });
    expect(creating.phase).toBe('creating');
    expect(p.events).toHaveLength(1);
  });

  it('status lines noted while a creation is pending are written after it, each with the time it happened', async () => {
    const p = parts();
    const t = await liveTry(p, 'held', 'unscheduled');
    const creation = pendingCreation(p.ctx.creations);
    p.logs.note(t, 'first');
    p.clock.at = T0 + 1000;
    p.logs.note(t, 'second');
    p.clock.at = T0 + 5000;
    await creation.release();
    await new Promise((r) => setImmediate(r));
    p.logs.note(t, 'third');
    await t.log!.close();
    expect(await logLines(t)).toEqual([
      `${new Date(T0).toISOString()} system | first`,
      `${new Date(T0 + 1000).toISOString()} system | second`,
      `${new Date(T0 + 5000).toISOString()} system | third`,
    ]);
  });

  it('a try finished while creations are pending is reported at once; its log is completed after them', async () => {
    const p = parts();
    const t = await liveTry(p, 'early', 'unscheduled');
    const creation = pendingCreation(p.ctx.creations);
    p.logs.note(t, 'waiting for a node');
    await p.tries.finish(t, { outcome: 'failed', failureClass: 'unschedulable', reason: 'no node' });
    expect(p.events).toMatchObject([{ type: 'finished', failureClass: 'unschedulable' }]);
    let flushed = false;
    const flushing = p.logs.flushed(t.key).then(() => (flushed = true));
    await new Promise((r) => setImmediate(r));
    expect(flushed).toBe(false);
    await creation.release();
    await flushing;
    const lines = await logLines(t);
    expect(lines.map((l) => l.replace(/^\S+ /, ''))).toEqual(['system | waiting for a node', 'system | try failed [unschedulable]: no node']);
  });

  it('detach lets go of live tries without reporting them finished', async () => {
    const p = parts();
    const a = await liveTry(p, 'a', 'running', 1);
    const b = await liveTry(p, 'b', 'unscheduled');
    await p.tries.detach(p.tries.all());
    await Promise.all([a.done, b.done]);
    expect(p.events).toEqual([]);
    expect(p.tries.size).toBe(0);
    expect(p.tries.ofPod('default', 'pod-a')).toBeUndefined();
    expect(p.tries.known(a.keyString)).toBe(false);
  });
});
