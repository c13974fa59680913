/**
 * Entry of the spawner process (forked by Spawner). It starts the local executor's processes
 * on the scheduler's behalf, so that fork and exec, which block the calling thread for
 * milliseconds in a process as big as the scheduler, happen here, in a small process with
 * an event loop of its own. It reports each process's pid, output and exit over IPC, and
 * cleans up what a process leaves in its group when it exits.
 *
 * It imports nothing heavy: it starts in a few tens of milliseconds and stays small, which
 * keeps each fork cheap.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { signalGroup } from '../local/process-tree.js';
import type { FromSpawner, SpawnMessage, ToSpawner } from './protocol.js';

interface Running {
  readonly child: ChildProcess;
  /** Closes the pipes if they outlive the process by its grace and a second. */
  releaseTimer?: NodeJS.Timeout;
}

const running = new Map<number, Running>();
let outbox: FromSpawner[] = [];
let flushScheduled = false;

function flush(): void {
  flushScheduled = false;
  if (outbox.length === 0 || !process.connected) return;
  const batch = outbox;
  outbox = [];
  process.send!(batch);
}

function post(msg: FromSpawner): void {
  outbox.push(msg);
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flush);
  }
}

function releasePipes(child: ChildProcess): void {
  child.stdout?.destroy();
  child.stderr?.destroy();
}

function start(m: SpawnMessage): void {
  let child: ChildProcess;
  try {
    child = spawn(m.file, [...m.args], { cwd: m.cwd, env: m.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    // Invalid arguments (e.g. a NUL byte) throw before any process exists.
    post({ type: 'closed', id: m.id, code: null, signal: null, spawnError: { kind: 'invalid', message: (err as Error).message } });
    return;
  }
  const r: Running = { child };
  running.set(m.id, r);
  let spawnError: NodeJS.ErrnoException | undefined;
  child.on('error', (err: NodeJS.ErrnoException) => {
    if (child.pid === undefined) spawnError = err;
  });
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stdout!.on('data', (data: string) => post({ type: 'out', id: m.id, stream: 'stdout', data }));
  child.stderr!.on('data', (data: string) => post({ type: 'out', id: m.id, stream: 'stderr', data }));
  child.on('exit', () => {
    // The main process is gone: what is left of its group (daemons, stray children) is
    // stopped too, even when it does not hold the pipes, and the pipes are closed if
    // something outside the group holds them.
    const pid = child.pid!;
    if (signalGroup(pid, 'SIGTERM')) setTimeout(() => signalGroup(pid, 'SIGKILL'), m.leftoverGraceMs);
    r.releaseTimer = setTimeout(() => releasePipes(child), m.leftoverGraceMs + 1000);
  });
  child.on('close', (code: number | null, signal: NodeJS.Signals | null) => {
    clearTimeout(r.releaseTimer);
    running.delete(m.id);
    const failure = spawnError ? { kind: 'errno' as const, code: spawnError.code, message: spawnError.message } : undefined;
    post({ type: 'closed', id: m.id, code, signal, ...(failure ? { spawnError: failure } : {}) });
  });
  if (child.pid !== undefined) post({ type: 'spawned', id: m.id, pid: child.pid });
}

/**
 * Processes started per turn of the event loop. A start blocks this process for about a
 * millisecond, and the exits of processes started earlier are only seen between turns: when a
 * batch of eight was started in one go, the processes of the first ones had long exited before
 * their exits were seen and reported. Two per turn, and the scheduler hears of those exits (and
 * sends the next tries) while the rest of the batch is still being started.
 */
const STARTS_PER_TURN = 2;
const waiting: SpawnMessage[] = [];
let turnScheduled = false;

function startWaiting(): void {
  turnScheduled = false;
  // What is ready goes out before this process blocks on the next starts.
  flush();
  for (let i = 0; i < STARTS_PER_TURN && waiting.length > 0; i++) start(waiting.shift()!);
  if (waiting.length > 0) {
    turnScheduled = true;
    // Two turns on, not one: an exit seen in the next turn is reported as a close only once
    // its pipes have closed, in that turn's close phase; the flush above then sends it before
    // the next starts.
    setImmediate(() => setImmediate(startWaiting));
  }
}

function onMessage(batch: ToSpawner[]): void {
  for (const m of batch) {
    if (m.type === 'spawn') waiting.push(m);
    else if (m.type === 'release') {
      const r = running.get(m.id);
      if (r) releasePipes(r.child);
    }
  }
  if (!turnScheduled) startWaiting();
}

process.on('message', (batch: ToSpawner[]) => onMessage(batch));

// Signals meant for the scheduler's terminal or service (Ctrl-C, a stop) are the scheduler's
// to handle: it stops its tries with their grace periods, then closes this process.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => {});

// The scheduler went away (closed, or crashed): nothing to report to any more. Running tries
// keep running, as they would have without this process; a restarted scheduler finds them
// by pid and stops them (see LocalExecutor.adopt).
process.on('disconnect', () => process.exit(0));
