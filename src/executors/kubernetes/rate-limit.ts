/**
 * Client-side manners towards the API server: a token bucket for requests per second with
 * a burst, a counting semaphore for pod creations, and the backoff between retries.
 */

/** A token bucket; time is a parameter, so it is tested without a clock. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly qps: number,
    readonly burst: number,
    now: number,
  ) {
    if (!(qps > 0) || !(burst >= 1)) throw new RangeError(`qps must be > 0 and burst >= 1 (got qps ${qps}, burst ${burst})`);
    this.tokens = burst;
    this.last = now;
  }

  /** Takes a token: returns 0 when one was free, else the ms until it is (the token is reserved either way). */
  take(now: number): number {
    const elapsed = Math.max(0, now - this.last);
    this.last = Math.max(this.last, now);
    this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.qps) / 1000);
    this.tokens -= 1;
    if (this.tokens >= 0) return 0;
    return Math.ceil((-this.tokens * 1000) / this.qps);
  }
}

/** Waits for a token of the bucket. */
export class RateLimiter {
  private readonly bucket: TokenBucket;

  constructor(
    qps: number,
    burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.bucket = new TokenBucket(qps, burst, now());
  }

  /** Requests that had to wait for a token, for figures. */
  waits = 0;

  async acquire(): Promise<void> {
    const wait = this.bucket.take(this.now());
    if (wait > 0) {
      this.waits++;
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

/** At most `limit` holders at once; the rest wait in order. */
export class Semaphore {
  private held = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly limit: number) {
    if (!(limit >= 1)) throw new RangeError(`the limit must be >= 1 (got ${limit})`);
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.held >= this.limit) await new Promise<void>((r) => this.waiting.push(r));
    else this.held++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.held--;
    }
  }
}

/**
 * The delay before retry number `attempt` (0 = the first retry): exponential from `baseMs`,
 * capped, with jitter in [50%, 100%]; a server's Retry-After wins when it is longer.
 */
export function retryDelayMs(attempt: number, opts: { baseMs?: number; maxMs?: number; retryAfterMs?: number; random?: number } = {}): number {
  const base = opts.baseMs ?? 200;
  const max = opts.maxMs ?? 10_000;
  const exp = Math.min(max, base * 2 ** attempt);
  const jittered = Math.round(exp * (0.5 + 0.5 * (opts.random ?? Math.random())));
  return Math.max(jittered, opts.retryAfterMs ?? 0);
}

/** Retry-After as ms: delta-seconds or an HTTP date. */
export function parseRetryAfter(header: string | undefined, now: number): number | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  const secs = Number(header);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const at = Date.parse(header);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}
