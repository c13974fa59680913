import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isProcessAlive, readProcStat } from '../local/process-tree.js';
import { Spawner, type SpawnClose, type SpawnRequest } from './spawner.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(20);
  }
}

/** Everything reported about one process, in order. */
interface Seen {
  readonly events: string[];
  readonly output: { stdout: string; stderr: string };
  pid?: number;
  readonly closed: Promise<SpawnClose>;
}

function run(spawner: Spawner, req: Partial<SpawnRequest> & { script?: string }): Seen & { handle: ReturnType<Spawner['spawn']> } {
  let resolve!: (c: SpawnClose) => void;
  const seen: Seen = { events: [], output: { stdout: '', stderr: '' }, closed: new Promise((r) => (resolve = r)) };
  const handle = spawner.spawn(
    {
      file: req.file ?? '/bin/sh',
      args: req.args ?? ['-c', req.script ?? 'true'],
      cwd: req.cwd,
      env: req.env ?? { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      leftoverGraceMs: req.leftoverGraceMs ?? 300,
    },
    {
      onSpawn: (pid) => {
        seen.pid = pid;
        seen.events.push('spawn');
      },
      onOutput: (stream, data) => {
        if (seen.events.at(-1) !== stream) seen.events.push(stream);
        seen.output[stream] += data;
      },
      onClose: (c) => {
        seen.events.push('close');
        resolve(c);
      },
    },
  );
  return { ...seen, handle, get pid() { return seen.pid; } };
}

describe('Spawner', () => {
  let spawner: Spawner;
  let dir: string;

  beforeEach(async () => {
    spawner = new Spawner({ lostGraceMs: 300 });
    dir = await mkdtemp(join(tmpdir(), 'trainyard-spawner-'));
  });
  afterEach(async () => {
    await spawner.close(2000);
    await rm(dir, { recursive: true, force: true });
  });

  it('starts the process from the spawner process, in its own group, with exactly the env given', async () => {
    const script = 'echo "pid=$$ ppid=$PPID"; echo "env=$(env | grep -c .) secret=${SCHEDULER_SECRET-unset} mine=$MINE"; echo oops >&2; exit 7';
    const p = run(spawner, { script, env: { PATH: process.env.PATH!, MINE: 'yes' } });
    process.env.SCHEDULER_SECRET = 'must-not-leak';
    try {
      const close = await p.closed;
      expect(close).toEqual({ code: 7, signal: null });
    } finally {
      delete process.env.SCHEDULER_SECRET;
    }
    expect(p.events[0]).toBe('spawn');
    expect(p.events.at(-1)).toBe('close');
    const [, pid, ppid] = /pid=(\d+) ppid=(\d+)/.exec(p.output.stdout)!.map(Number);
    expect(pid).toBe(p.pid);
    // Its parent is the spawner process, not this one: this event loop did not fork.
    expect(ppid).toBe(spawner.spawnerPid());
    expect(ppid).not.toBe(process.pid);
    // sh adds PWD, SHLVL and _ of its own; nothing of this process's env comes through.
    expect(p.output.stdout).toContain('secret=unset mine=yes');
    expect(p.output.stderr).toBe('oops\n');
  });

  it('reports the pid before any output, then the output in order, then the close', async () => {
    const p = run(spawner, { script: 'for i in 1 2 3 4 5; do echo "line $i"; done; echo err >&2; sleep 0.05; echo last' });
    await p.closed;
    expect(p.output.stdout).toBe('line 1\nline 2\nline 3\nline 4\nline 5\nlast\n');
    expect(p.events[0]).toBe('spawn');
    expect(p.events.indexOf('stdout')).toBeGreaterThan(0);
    expect(p.events.lastIndexOf('stdout')).toBeGreaterThan(p.events.indexOf('stderr'));
    expect(p.events.at(-1)).toBe('close');
  });

  it('starts every process of a batch sent at once, each once and in the order asked', async () => {
    // Several processes start per message, over several turns of the spawner's event loop.
    const spawned: number[] = [];
    const closes = Array.from({ length: 9 }, (_, i) => {
      let out = '';
      return new Promise<{ close: SpawnClose; out: string }>((resolve) =>
        spawner.spawn(
          { file: '/bin/sh', args: ['-c', `echo ${i}`], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, leftoverGraceMs: 300 },
          { onSpawn: () => spawned.push(i), onOutput: (_s, d) => (out += d), onClose: (close) => resolve({ close, out }) },
        ),
      );
    });
    const ended = await Promise.all(closes);
    expect(spawned).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    ended.forEach(({ close, out }, i) => {
      expect(close).toEqual({ code: 0, signal: null });
      expect(out).toBe(`${i}\n`);
    });
  });

  it('leads its own process group, so a signal to the group reaches what it started', async () => {
    const p = run(spawner, { script: `sleep 30 & echo $! > ${dir}/child.pid; wait` });
    await waitUntil(() => p.pid !== undefined);
    const stat = readProcStat(p.pid!);
    if (stat) expect(stat.pgrp).toBe(p.pid);
    await sleep(200);
    const child = Number(await readFile(join(dir, 'child.pid'), 'utf8'));
    process.kill(-p.pid!, 'SIGTERM');
    const close = await p.closed;
    expect(close).toEqual({ code: null, signal: 'SIGTERM' });
    await waitUntil(() => !isProcessAlive(child), 2000);
  });

  it('stops what an exited process left in its group: SIGTERM, then SIGKILL after the grace', async () => {
    // The leftover ignores SIGTERM; only the SIGKILL after leftoverGraceMs ends it.
    const script = `sh -c 'echo $$ > ${dir}/left.pid; trap "" TERM; while :; do sleep 0.05; done' >/dev/null 2>&1 & sleep 0.2; exit 0`;
    const p = run(spawner, { script, leftoverGraceMs: 300 });
    expect(await p.closed).toEqual({ code: 0, signal: null });
    const left = Number(await readFile(join(dir, 'left.pid'), 'utf8'));
    await waitUntil(() => !isProcessAlive(left), 3000);
  });

  it('names a command that does not exist and refuses arguments with a NUL byte', async () => {
    const missing = await run(spawner, { file: 'trainyard-no-such-command', args: [] }).closed;
    expect(missing.spawnError).toMatchObject({ kind: 'errno', code: 'ENOENT' });
    const bad = await run(spawner, { file: '/bin/echo', args: ['a\0b'] }).closed;
    expect(bad.spawnError?.kind).toBe('invalid');
    expect(bad.spawnError?.message).toMatch(/null bytes|\\0|NUL/i);
    // The spawner is still there for the next process.
    expect((await run(spawner, { script: 'exit 0' }).closed).code).toBe(0);
  });

  it('when the spawner process dies, stops the groups it followed and reports them lost; the next spawn starts a new one', async () => {
    const p = run(spawner, { script: 'trap "" TERM; sleep 30' });
    await waitUntil(() => p.pid !== undefined);
    const first = spawner.spawnerPid()!;
    process.kill(first, 'SIGKILL');
    const close = await p.closed;
    expect(close.lost).toMatch(/process spawner was killed by signal SIGKILL/);
    expect(close.lost).toContain(`process group ${p.pid}`);
    await waitUntil(() => !isProcessAlive(p.pid!), 3000);
    const next = await run(spawner, { script: 'exit 4' }).closed;
    expect(next.code).toBe(4);
    expect(spawner.spawnerPid()).not.toBe(first);
  });

  it('closes the pipes on request when a process outside the group holds them', async () => {
    // setsid puts the sleeper in a session of its own, holding stdout after the main process
    // exits; the main process waits until it is there (field 6 of /proc/pid/stat: the session).
    const script = 'setsid sleep 30 & while [ "$(cut -d" " -f6 /proc/$!/stat)" = "$$" ]; do sleep 0.01; done; echo $!; exit 0';
    const p = run(spawner, { script, leftoverGraceMs: 60_000 });
    await waitUntil(() => p.output.stdout !== '');
    const sleeper = Number(p.output.stdout.trim());
    try {
      await sleep(200);
      expect(p.events).not.toContain('close');
      p.handle.releasePipes();
      expect(await p.closed).toEqual({ code: 0, signal: null });
    } finally {
      try {
        process.kill(sleeper, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  });

  it('a closed spawner refuses new processes and its process is gone', async () => {
    await run(spawner, { script: 'true' }).closed;
    const pid = spawner.spawnerPid()!;
    await spawner.close();
    await waitUntil(() => !isProcessAlive(pid), 3000);
    const refused = await run(spawner, { script: 'true' }).closed;
    expect(refused.spawnError?.message).toMatch(/closed/);
  });
});
