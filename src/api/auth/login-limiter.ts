/**
 * Slows password guessing: after `maxFailures` failed logins for one username from one
 * address within `windowMs`, further attempts from there are refused until the window ends.
 * Per address and username, so a guesser elsewhere cannot lock the real user out. In memory:
 * each API replica counts on its own, which bounds guesses per replica.
 */
export class LoginLimiter {
  private readonly failures = new Map<string, { count: number; since: number }>();

  constructor(
    private readonly maxFailures = 10,
    private readonly windowMs = 15 * 60_000,
  ) {}

  private key(address: string, username: string): string {
    return `${address}\u0000${username.toLowerCase()}`;
  }

  /** Milliseconds until attempts are allowed again; 0 when they are. */
  blockedFor(address: string, username: string, now: number): number {
    const f = this.failures.get(this.key(address, username));
    if (!f) return 0;
    if (now - f.since >= this.windowMs) {
      this.failures.delete(this.key(address, username));
      return 0;
    }
    return f.count >= this.maxFailures ? f.since + this.windowMs - now : 0;
  }

  fail(address: string, username: string, now: number): void {
    const key = this.key(address, username);
    const f = this.failures.get(key);
    if (!f || now - f.since >= this.windowMs) this.failures.set(key, { count: 1, since: now });
    else f.count++;
    if (this.failures.size > 10_000) this.prune(now);
  }

  succeed(address: string, username: string): void {
    this.failures.delete(this.key(address, username));
  }

  private prune(now: number): void {
    for (const [k, f] of this.failures) if (now - f.since >= this.windowMs) this.failures.delete(k);
  }
}
