import fs from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { logKey, REMOTE_LOGS_ENV, shipLog } from '../artifacts/remote-log.js';
import type { ArtifactStore } from '../artifacts/types.js';
import { TrainyardError } from '../core/errors.js';
import { retryDelayMs } from '../core/retry.js';
import { type Executor, type TryKey, tryKeyString } from '../executors/types.js';
import type { LogFields } from '../observability/logger.js';
import type { HomeLayout } from '../scheduler/paths.js';
import { RemoteLogStore } from '../store/remote-log-store.js';
import type { Store } from '../store/store.js';

export interface LogShipperOptions {
  /** Where logs are shipped. Closed by close(). */
  readonly logStore: ArtifactStore;
  readonly store: Store;
  /** Where a try's log is on this machine. */
  readonly logPathOf: (k: TryKey) => string;
  /** Logs shipped at once, at most. Default 4. */
  readonly concurrency?: number;
  /** Attempts per log before giving up until the next start. Default 4. */
  readonly attempts?: number;
  /** Delay before the second attempt; doubled (with jitter) for each later one. Default 1 s. */
  readonly retryBaseDelayMs?: number;
  readonly log?: (line: string, fields?: LogFields) => void;
}

interface ShipJob {
  readonly key: TryKey;
  readonly logPath: string;
  /** Resolves when the log is complete on disk. */
  readonly ready: Promise<void>;
  /** Told whether the log was shipped. */
  readonly settle?: (shipped: boolean) => void;
}

/** Tries listed per query when looking for logs left unshipped. */
const SWEEP_PAGE = 200;
const MAX_RETRY_DELAY_MS = 60_000;

/**
 * Remote logging: copies each finished try's log to the remote log store and records where it
 * went (task_try.remote_log_uri). Work runs in the background, a few logs at a time, never on
 * the scheduler's tick. A failed copy is retried with backoff, then reported; it never changes
 * the try. On start, tries that ended without being shipped (a crash, a store that was down)
 * are shipped when their log is on this machine.
 */
export class LogShipper {
  private readonly waiting: ShipJob[] = [];
  /** Tries queued or being shipped, so a try is never shipped twice at once. */
  private readonly pending = new Set<string>();
  private readonly tries: RemoteLogStore;
  private readonly stopping = new AbortController();
  private readonly idleWaiters: (() => void)[] = [];
  private active = 0;
  private sweep: Promise<void> | undefined;
  /** Logs shipped and logs given up on since start. */
  readonly stats = { shipped: 0, failed: 0 };

  constructor(private readonly o: LogShipperOptions) {
    this.tries = new RemoteLogStore(o.store);
  }

  /** Ships the log of every try this executor reports finished, once the executor says the log is complete. */
  attach(executor: Executor): void {
    const flushed = (executor as { logsFlushed?: (k: TryKey) => Promise<void> }).logsFlushed?.bind(executor);
    executor.onEvent((e) => {
      if (e.type !== 'finished') return;
      this.enqueue({ key: e.key, logPath: this.o.logPathOf(e.key), ready: flushed ? flushed(e.key) : Promise.resolve() });
    });
  }

  /** Starts shipping the logs of tries that ended before this start and were not shipped. */
  start(): void {
    this.sweep ??= this.shipUnshipped().catch((e: unknown) => {
      this.o.log?.(`remote logging: could not look for unshipped logs: ${(e as Error).message}; they are looked for again at the next start`);
    });
  }

  /** Resolves when nothing is queued or being shipped. */
  idle(): Promise<void> {
    if (this.active === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stops taking work; lets queued and running copies finish for up to graceMs, then abandons
   * the rest (the next start ships them) and closes the store.
   */
  async close(graceMs = 5_000): Promise<void> {
    await within(Promise.all([this.idle(), this.sweep]), graceMs);
    this.stopping.abort();
    for (const job of this.waiting.splice(0)) {
      this.pending.delete(tryKeyString(job.key));
      job.settle?.(false);
    }
    if (this.active === 0) for (const w of this.idleWaiters.splice(0)) w();
    // Copies under way see the abort at their next step; a request in flight gets a moment.
    await within(this.idle(), 1000);
    await this.o.logStore.close();
  }

  /** Queues a copy; resolves with whether it was shipped (false at once when it is queued already). */
  private enqueue(job: Omit<ShipJob, 'settle'>): Promise<boolean> {
    const id = tryKeyString(job.key);
    if (this.stopping.signal.aborted || this.pending.has(id)) return Promise.resolve(false);
    this.pending.add(id);
    return new Promise((settle) => {
      this.waiting.push({ ...job, settle });
      this.pump();
    });
  }

  private pump(): void {
    const limit = this.o.concurrency ?? 4;
    while (this.active < limit && this.waiting.length > 0) {
      const job = this.waiting.shift()!;
      this.active++;
      void this.ship(job).catch((e: unknown) => this.giveUp(job, 1, e)).then((shipped) => {
        job.settle?.(shipped);
        this.active--;
        this.pending.delete(tryKeyString(job.key));
        this.pump();
        if (this.active === 0 && this.waiting.length === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
    }
  }

  private async ship(job: ShipJob): Promise<boolean> {
    await job.ready.catch(() => undefined);
    const key = logKey(job.key);
    const uri = this.o.logStore.uriOf(key);
    const attempts = Math.max(1, this.o.attempts ?? 4);
    for (let attempt = 1; ; attempt++) {
      try {
        const put = await shipLog(job.logPath, this.o.logStore, key);
        await this.tries.recordShipped(job.key, put.uri);
        this.stats.shipped++;
        return true;
      } catch (e) {
        if (attempt >= attempts || this.stopping.signal.aborted) return this.giveUp(job, attempt, e, uri);
      }
      const delay = retryDelayMs({ baseDelayMs: this.o.retryBaseDelayMs ?? 1000, tryNumber: attempt, exponentialBackoff: true, maxDelayMs: MAX_RETRY_DELAY_MS }, Math.random);
      try {
        await sleep(delay, undefined, { signal: this.stopping.signal });
      } catch {
        return this.giveUp(job, attempt, new Error('the scheduler is stopping'), uri);
      }
    }
  }

  private giveUp(job: ShipJob, attempts: number, e: unknown, uri = this.o.logStore.rootUri): false {
    this.stats.failed++;
    const k = job.key;
    this.o.log?.(
      `remote logging: could not ship the log of ${tryKeyString(k)} to ${uri} (${attempts} attempt${attempts === 1 ? '' : 's'}): ${(e as Error).message}. ` +
        `The try is not affected; its log stays at ${job.logPath} and is shipped again when the scheduler restarts.`,
      { dag_id: k.dagId, run_id: k.runId, task_id: k.taskId, map_index: k.mapIndex, try_number: k.tryNumber, remote_log_uri: uri },
    );
    return false;
  }

  /** Pages through ended, unshipped tries; ships those whose log is on this machine. */
  private async shipUnshipped(): Promise<void> {
    let skip = 0;
    let shipped = 0;
    while (!this.stopping.signal.aborted) {
      const page = await this.tries.listUnshipped(SWEEP_PAGE, skip);
      const copies: Promise<boolean>[] = [];
      for (const t of page) {
        if (await fileExists(t.logPath)) copies.push(this.enqueue({ key: t.key, logPath: t.logPath, ready: Promise.resolve() }));
      }
      const done = (await Promise.all(copies)).filter(Boolean).length;
      shipped += done;
      // Rows not shipped (logs of another machine, failed copies) stay in the list: step over them.
      skip += page.length - done;
      if (page.length < SWEEP_PAGE) break;
    }
    if (shipped > 0) this.o.log?.(`remote logging: shipped the logs of ${shipped} tries that ended before this start`);
  }
}

/** Waits for a promise, or for `ms`, whichever comes first. */
async function within(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([p, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whether a file is there (and readable): a log not yet shipped, or still on this machine. */
export async function fileExists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * The log shipper of a scheduler process, or undefined when remote logging is off. Checks the
 * setting and opens the store (no request yet): a bad URI or S3 setting stops the start.
 */
export async function createLogShipper(o: { remoteLogs?: string; store: Store; layout: HomeLayout; log?: (line: string, fields?: LogFields) => void }): Promise<LogShipper | undefined> {
  if (o.remoteLogs === undefined || o.remoteLogs === '') return undefined;
  let logStore: ArtifactStore;
  try {
    // Loaded only when remote logging is on: the S3 client is large.
    const { openArtifactStore } = await import('../artifacts/open.js');
    logStore = openArtifactStore(o.remoteLogs);
  } catch (e) {
    throw new TrainyardError('INVALID_CONFIG', `invalid remote log store ${REMOTE_LOGS_ENV}='${o.remoteLogs}' (config key remoteLogs): ${(e as Error).message}`);
  }
  o.log?.(`remote logging: finished tries' logs are shipped to ${logStore.rootUri}`);
  return new LogShipper({ logStore, store: o.store, logPathOf: (k) => o.layout.logPath(k), log: o.log });
}
