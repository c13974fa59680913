import { Semaphore } from './rate-limit.js';

/**
 * Creations first. While pods are being created, work that can wait (following logs,
 * reading their tails, deleting finished pods, writing status lines to try logs) waits until
 * no creation is queued or in flight, at most `maxWaitMs`, so a burst of launches is not
 * slowed by the lifecycle of the pods it already made. Past that limit, while creations
 * still go on, housekeeping requests trickle: at most `trickle` at a time.
 */
export class CreationGate {
  private pending = 0;
  private readonly waiters: (() => void)[] = [];
  private readonly trickle: Semaphore;

  constructor(
    readonly maxWaitMs: number,
    trickle = 4,
  ) {
    this.trickle = new Semaphore(trickle);
  }

  /** Whether creations are queued or in flight. */
  get busy(): boolean {
    return this.pending > 0;
  }

  /** Runs one creation (queued or in flight until fn settles). */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    this.pending++;
    try {
      return await fn();
    } finally {
      if (--this.pending === 0) for (const wake of this.waiters.splice(0)) wake();
    }
  }

  /** Runs a housekeeping request after the creations; past maxWaitMs, while they go on, a few at a time. */
  async housekeeping<T>(fn: () => Promise<T>): Promise<T> {
    await this.after();
    return this.busy ? this.trickle.run(fn) : fn();
  }

  /** Resolves once no creation is pending (at once when none is), or after maxWaitMs. */
  after(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, this.maxWaitMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

/** A status line of a try held back while creations are pending, with the time it happened. */
export interface HeldLine {
  readonly at: number;
  readonly message: string;
}

/**
 * Work on items (tries) held while creations are pending: once they are done, or once the
 * gate's limit has passed, the items are handled in slices, so a burst of held work never
 * stalls the handling of watch events: a slice per turn of the event loop once creations
 * are done, a slice per wait of the gate while they still go on.
 */
export class HeldQueue<T> {
  private readonly items = new Set<T>();
  private scheduled = false;

  constructor(
    private readonly gate: CreationGate,
    private readonly handle: (item: T) => void,
    private readonly slice = 64,
  ) {}

  /** Holds an item until the gate opens. */
  add(item: T): void {
    this.items.add(item);
    if (this.scheduled) return;
    this.scheduled = true;
    void this.gate.after().then(() => setImmediate(() => this.drain()));
  }

  /** Forgets an item (it was handled another way). */
  delete(item: T): void {
    this.items.delete(item);
  }

  private drain(): void {
    let n = 0;
    for (const item of this.items) {
      this.items.delete(item);
      this.handle(item);
      if (++n >= this.slice) break;
    }
    if (this.items.size === 0) this.scheduled = false;
    else if (this.gate.busy) void this.gate.after().then(() => setImmediate(() => this.drain()));
    else setImmediate(() => this.drain());
  }
}
