/**
 * Messages between a Spawner (in the scheduler's process) and its spawner process, over the
 * IPC channel. Each side sends arrays of messages: what accumulated during one turn of its
 * event loop goes in one write.
 */

/** Start a process (detached: it leads its own process group). */
export interface SpawnMessage {
  readonly type: 'spawn';
  readonly id: number;
  readonly file: string;
  readonly args: readonly string[];
  readonly cwd?: string;
  readonly env: Readonly<Record<string, string>>;
  /**
   * When the process exits, what is left of its group gets SIGTERM, and SIGKILL this long
   * after; its pipes are closed one second after that, if something outside the group holds
   * them open.
   */
  readonly leftoverGraceMs: number;
}

/** Close a process's pipes now (after its group was killed, a process outside it may hold them). */
export interface ReleaseMessage {
  readonly type: 'release';
  readonly id: number;
}

export type ToSpawner = SpawnMessage | ReleaseMessage;

/** The process runs. */
export interface SpawnedMessage {
  readonly type: 'spawned';
  readonly id: number;
  readonly pid: number;
}

/** Output of the process, decoded as UTF-8. */
export interface OutputMessage {
  readonly type: 'out';
  readonly id: number;
  readonly stream: 'stdout' | 'stderr';
  readonly data: string;
}

/** Why a process could not be started. */
export interface SpawnFailure {
  /** `errno`: exec failed (e.g. ENOENT, EACCES); `invalid`: the arguments were refused before any fork. */
  readonly kind: 'errno' | 'invalid';
  readonly code?: string;
  readonly message: string;
}

/** The process exited and its pipes closed (or it never started: `spawnError`). */
export interface ClosedMessage {
  readonly type: 'closed';
  readonly id: number;
  readonly code: number | null;
  readonly signal: string | null;
  readonly spawnError?: SpawnFailure;
}

export type FromSpawner = SpawnedMessage | OutputMessage | ClosedMessage;
