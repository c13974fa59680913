/**
 * Starts the local executor's processes through a small long-lived spawner process (see
 * spawner-main.ts), so the scheduler's own event loop never forks or execs. A fork blocks the
 * calling thread for a time that grows with the caller's memory: milliseconds per process in
 * a scheduler holding thousands of tries. Here the scheduler only sends a message.
 *
 * Guarantees are those of a direct spawn: each process leads its own process group (so a
 * signal to `-pid` reaches everything it started), its pid is known before its output, its
 * output arrives in order and before its exit status, and a process that exits has the rest
 * of its group stopped. Signals to a process group are sent by the caller directly (see
 * process-tree.ts); they need no round trip.
 *
 * If the spawner process dies, the processes it was following cannot be reaped any more:
 * their groups are stopped and each is reported closed with `lost`. The next spawn starts a
 * new spawner.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { minimalEnv } from '../local/env.js';
import { terminateGroup } from '../local/process-tree.js';
import type { FromSpawner, SpawnFailure, ToSpawner } from './protocol.js';

export type { SpawnFailure } from './protocol.js';

export interface SpawnRequest {
  /** The program; a bare name is looked up on the env's PATH. */
  readonly file: string;
  readonly args: readonly string[];
  readonly cwd?: string;
  /** The whole environment of the process (nothing is inherited). */
  readonly env: Readonly<Record<string, string>>;
  /** After the process exits, the rest of its group gets SIGTERM, then SIGKILL after this. */
  readonly leftoverGraceMs: number;
}

/** How a process ended. */
export interface SpawnClose {
  readonly code: number | null;
  readonly signal: string | null;
  /** It never started. */
  readonly spawnError?: SpawnFailure;
  /** The spawner process died while following it: why, in words (its group was stopped). */
  readonly lost?: string;
}

export interface SpawnHooks {
  /** The process runs (called before any output). */
  readonly onSpawn: (pid: number) => void;
  readonly onOutput: (stream: 'stdout' | 'stderr', data: string) => void;
  /** Called once, last. */
  readonly onClose: (close: SpawnClose) => void;
}

export interface SpawnedProcess {
  /** The pid, once the process runs. */
  readonly pid: () => number | undefined;
  /** Closes the process's pipes, for when something outside its killed group holds them open. */
  releasePipes(): void;
}

export interface SpawnerOptions {
  /** Environment of the spawner process itself (default: the minimal inherited env). */
  readonly env?: Readonly<Record<string, string>>;
  /** Grace between SIGTERM and SIGKILL for the groups of processes lost with a dead spawner. */
  readonly lostGraceMs?: number;
}

interface Pending {
  readonly hooks: SpawnHooks;
  pid?: number;
}

interface Channel {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  referenced: boolean;
}

/**
 * The spawner entry next to this module: compiled `.js` when present, else the `.ts` source
 * (through tsx). Of this process's flags only the CPU profiler's are passed on, so profiling
 * the scheduler also profiles its spawner.
 */
function spawnerEntry(): { file: string; execArgv: string[] } {
  const profiling = process.execArgv.filter((a) => a.startsWith('--cpu-prof'));
  const js = fileURLToPath(new URL('./spawner-main.js', import.meta.url));
  if (existsSync(js)) return { file: js, execArgv: profiling };
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return { file: fileURLToPath(new URL('./spawner-main.ts', import.meta.url)), execArgv: ['--import', tsx, ...profiling] };
}

export class Spawner {
  private readonly env: Readonly<Record<string, string>>;
  private readonly lostGraceMs: number;
  private readonly pending = new Map<number, Pending>();
  private channel?: Channel;
  private outbox: ToSpawner[] = [];
  private flushScheduled = false;
  private nextId = 1;
  private closed = false;

  constructor(options: SpawnerOptions = {}) {
    this.env = options.env ?? minimalEnv();
    this.lostGraceMs = options.lostGraceMs ?? 2000;
  }

  /** The spawner process's pid, while it runs (for tests and metrics). */
  spawnerPid(): number | undefined {
    return this.channel?.child.pid;
  }

  /** Starts a process; everything about it is reported through `hooks`. */
  spawn(req: SpawnRequest, hooks: SpawnHooks): SpawnedProcess {
    const id = this.nextId++;
    const p: Pending = { hooks };
    const handle: SpawnedProcess = {
      pid: () => p.pid,
      releasePipes: () => {
        if (this.pending.has(id)) this.send({ type: 'release', id });
      },
    };
    if (this.closed) {
      queueMicrotask(() => hooks.onClose({ code: null, signal: null, spawnError: { kind: 'invalid', message: 'the process spawner is closed' } }));
      return handle;
    }
    this.pending.set(id, p);
    this.ensureChannel();
    this.send({ type: 'spawn', id, file: req.file, args: req.args, cwd: req.cwd, env: req.env, leftoverGraceMs: req.leftoverGraceMs });
    return handle;
  }

  private send(msg: ToSpawner): void {
    this.outbox.push(msg);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.outbox;
    this.outbox = [];
    const ch = this.channel;
    if (batch.length === 0 || !ch || !ch.child.connected) return;
    ch.child.send(batch);
  }

  private ensureChannel(): Channel {
    if (this.channel) {
      this.setReferenced(this.channel, true);
      return this.channel;
    }
    const entry = spawnerEntry();
    // Detached: signals for the scheduler's process group (a terminal's Ctrl-C, a supervisor
    // stopping the group) are the scheduler's to handle; this process exits when it is closed
    // or when the scheduler is gone.
    const child = fork(entry.file, [], { execArgv: entry.execArgv, env: this.env, detached: true, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' });
    let onExit!: () => void;
    const exited = new Promise<void>((r) => (onExit = r));
    const ch: Channel = { child, exited, referenced: true };
    this.channel = ch;
    child.on('message', (batch: FromSpawner[]) => this.onMessages(batch));
    child.on('error', () => {
      // A failed fork (no pid) may never emit exit.
      if (child.pid === undefined) this.onSpawnerExit(ch, null, null, onExit);
    });
    child.on('exit', (code, signal) => this.onSpawnerExit(ch, code, signal, onExit));
    return ch;
  }

  /** Keeps this process alive only while processes are being followed. */
  private setReferenced(ch: Channel, on: boolean): void {
    if (ch.referenced === on) return;
    ch.referenced = on;
    const ipc = ch.child.channel as { ref?: () => void; unref?: () => void } | undefined;
    if (on) {
      ch.child.ref();
      ipc?.ref?.();
    } else {
      ch.child.unref();
      ipc?.unref?.();
    }
  }

  private onMessages(batch: FromSpawner[]): void {
    for (const m of batch) {
      const p = this.pending.get(m.id);
      if (!p) continue;
      if (m.type === 'out') p.hooks.onOutput(m.stream, m.data);
      else if (m.type === 'spawned') {
        p.pid = m.pid;
        p.hooks.onSpawn(m.pid);
      } else {
        this.pending.delete(m.id);
        p.hooks.onClose({ code: m.code, signal: m.signal, ...(m.spawnError ? { spawnError: m.spawnError } : {}) });
      }
    }
    if (this.pending.size === 0 && this.channel) this.setReferenced(this.channel, false);
  }

  private onSpawnerExit(ch: Channel, code: number | null, signal: string | null, onExit: () => void): void {
    if (this.channel !== ch) return;
    this.channel = undefined;
    onExit();
    const lost = [...this.pending.values()];
    this.pending.clear();
    if (lost.length === 0) return;
    const how = signal ? `was killed by signal ${signal}` : `exited with code ${code}`;
    for (const p of lost) {
      const stop = p.pid !== undefined ? terminateGroup(p.pid, this.lostGraceMs) : Promise.resolve();
      const what = p.pid !== undefined ? `; process group ${p.pid} was stopped` : '';
      void stop.then(() => p.hooks.onClose({ code: null, signal: null, lost: `the process spawner ${how} while following the process${what}` }));
    }
  }

  /**
   * Stops the spawner process once the processes it follows have closed, waiting up to
   * `waitMs` for them (stop them first); any still open then are stopped and reported lost.
   */
  async close(waitMs = 5000): Promise<void> {
    this.closed = true;
    const ch = this.channel;
    if (!ch) return;
    this.flush();
    // Referenced again, so this process waits for the spawner's exit.
    this.setReferenced(ch, true);
    const deadline = Date.now() + waitMs;
    while (this.pending.size > 0 && this.channel === ch && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (ch.child.connected) ch.child.disconnect();
    await ch.exited;
  }
}

let shared: Spawner | undefined;

/**
 * This process's spawner, made on first use and kept for the life of the process: every
 * local executor in a process shares it, so it starts once. It holds the process open only
 * while it follows processes, and it exits when this process does.
 */
export function sharedSpawner(): Spawner {
  shared ??= new Spawner();
  return shared;
}
