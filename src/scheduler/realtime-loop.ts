/** What the loop drives: a tick over "now", and when the next timer is due. */
export interface Tickable {
  tick(now: number): Promise<void>;
  nextWakeAt(now: number): number;
  /** Work arrived during the last tick (events): tick again at once. */
  hasPendingWork(): boolean;
}

/**
 * Runs ticks in real time: at once when woken (an executor event, a trigger), else when the
 * next timer is due. Never two ticks at the same time.
 */
export class RealtimeLoop {
  private timer?: NodeJS.Timeout;
  private pending = false;
  private ticking = false;
  private again = false;
  private stopped = true;

  constructor(
    private readonly target: Tickable,
    private readonly onError: (e: unknown) => void = () => {},
  ) {}

  start(): void {
    this.stopped = false;
    this.wake();
  }

  wake(): void {
    if (this.stopped) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    if (this.pending) return;
    this.pending = true;
    if (this.timer) clearTimeout(this.timer);
    setImmediate(() => void this.run());
  }

  private async run(): Promise<void> {
    this.pending = false;
    if (this.stopped) return;
    this.ticking = true;
    try {
      await this.target.tick(Date.now());
    } catch (e) {
      this.onError(e);
    } finally {
      this.ticking = false;
    }
    if (this.again || this.target.hasPendingWork()) {
      this.again = false;
      this.wake();
      return;
    }
    const now = Date.now();
    const delay = Math.max(1, Math.min(this.target.nextWakeAt(now) - now, 60_000));
    this.timer = setTimeout(() => this.wake(), delay);
    this.timer.unref?.();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
