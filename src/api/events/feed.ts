/**
 * One change feed per API server process, shared by every connected client: while at least
 * one client listens it reads the store's change log (one indexed query per poll, whatever
 * the number of clients) and fans the events out. An in-process scheduler nudges it after
 * each tick, so standalone sees changes at once; a separate API server polls.
 */
import { ChangeLog } from '../../store/change-log.js';
import type { Store } from '../../store/store.js';
import { type FeedEvent, toEvents } from './changes.js';

export interface FeedOptions {
  /** Poll interval while clients listen. Default 500 ms. */
  readonly pollMs?: number;
  /** Changes read per query. Default 5,000. */
  readonly batch?: number;
  /** A resume that is further behind than this many changes gets a `reset` instead. Default 5,000. */
  readonly maxCatchUp?: number;
  /** Least time between two polls started by nudges. Default 50 ms. */
  readonly nudgeGapMs?: number;
  readonly log?: (line: string) => void;
}

export interface FeedListener {
  /** Events in order; called synchronously, so a listener must only queue them. */
  events(events: readonly FeedEvent[]): void;
}

export interface FeedStats {
  /** Reads of the change log by polls (catch-ups of resuming clients are counted apart). */
  readonly polls: number;
  readonly catchUps: number;
  readonly changes: number;
  readonly listeners: number;
}

/** How a new listener starts: from now, resumed after its last event, or told to refetch. */
export interface Start {
  readonly kind: 'live' | 'resumed' | 'reset';
  /** The feed's position: where the listener's live events start. */
  readonly cursor: string;
}

export class ChangeFeed {
  private readonly changes: ChangeLog;
  private readonly listeners = new Set<FeedListener>();
  private cursor: string | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private nextPollAt = Infinity;
  private lastPollAt = 0;
  private closed = false;
  private counts = { polls: 0, catchUps: 0, changes: 0 };

  constructor(
    store: Store,
    private readonly o: FeedOptions = {},
  ) {
    this.changes = new ChangeLog(store);
  }

  stats(): FeedStats {
    return { ...this.counts, listeners: this.listeners.size };
  }

  /**
   * Adds a listener. With `lastEventId` it first gets the changes it missed (or a `reset`
   * start when they are gone or too many); then every change as it is read.
   */
  subscribe(listener: FeedListener, lastEventId?: string): Promise<{ start: Start; unsubscribe: () => void }> {
    return this.exclusive(async () => {
      this.cursor ??= await this.changes.head();
      let start: Start = { kind: 'live', cursor: this.cursor };
      if (lastEventId !== undefined && lastEventId !== this.cursor) start = await this.catchUp(listener, lastEventId, this.cursor);
      this.listeners.add(listener);
      this.schedule(this.o.pollMs ?? 500);
      return {
        start,
        unsubscribe: () => {
          this.listeners.delete(listener);
          // With nobody listening, the next client starts from the head, not from old changes.
          void this.exclusive(async () => {
            if (!this.listeners.size) this.cursor = undefined;
          });
        },
      };
    });
  }

  /** Something changed the store (a tick, an API write): read soon. */
  nudge(): void {
    if (!this.listeners.size || this.closed) return;
    this.schedule(Math.max(0, this.lastPollAt + (this.o.nudgeGapMs ?? 50) - Date.now()));
  }

  close(): void {
    this.closed = true;
    this.listeners.clear();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async catchUp(listener: FeedListener, from: string, to: string): Promise<Start> {
    if (!(await this.changes.resumable(from).catch(() => false))) return { kind: 'reset', cursor: to };
    this.counts.catchUps++;
    const max = this.o.maxCatchUp ?? 5000;
    const rows = await this.changes.read(from, max + 1, to);
    if (rows.length > max) return { kind: 'reset', cursor: to };
    if (rows.length) listener.events(toEvents(rows, from));
    return { kind: 'resumed', cursor: to };
  }

  private schedule(delayMs: number): void {
    if (this.closed) return;
    const at = Date.now() + delayMs;
    if (this.timer && this.nextPollAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.nextPollAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.nextPollAt = Infinity;
      void this.exclusive(() => this.poll());
    }, delayMs);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    if (!this.listeners.size || this.closed || this.cursor === undefined) return;
    this.lastPollAt = Date.now();
    const batch = this.o.batch ?? 5000;
    let full = false;
    try {
      this.counts.polls++;
      const rows = await this.changes.read(this.cursor, batch);
      full = rows.length === batch;
      if (rows.length) {
        this.counts.changes += rows.length;
        const events = toEvents(rows, this.cursor);
        this.cursor = rows[rows.length - 1].cursor;
        for (const l of this.listeners) l.events(events);
      }
    } catch (e) {
      this.o.log?.(`event feed: reading changes failed: ${(e as Error).message}`);
    }
    // A full batch means more are waiting: read on at once.
    this.schedule(full ? 0 : (this.o.pollMs ?? 500));
  }

  /** Polls and subscriptions one at a time, so a resuming client's catch-up and the live feed meet exactly. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => {});
    return run;
  }
}
