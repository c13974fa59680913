/**
 * Follows a container's log into the try's log. The log is requested with
 * `timestamps=true`; when a follow stream closes while the container still runs (API server
 * restart, proxy timeout, kubelet hiccup) it is opened again with `sinceTime` at the last
 * line seen. `sinceTime` has a resolution of one second, so the new stream repeats lines;
 * LineDeduper drops exactly those, by timestamp (nanoseconds) and by how many lines with the
 * last timestamp were already taken. No gaps, no duplicates.
 */
import { KubeApiError, type KubeApiClient, type StreamHandle } from './api-client.js';

/** A log timestamp in sortable form: "YYYY-MM-DDTHH:MM:SS.nnnnnnnnn" (fraction padded to 9 digits). */
export function sortableTimestamp(ts: string): string | null {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(ts);
  if (!m) return null;
  if (m[3] !== 'Z') {
    const ms = Date.parse(ts);
    if (!Number.isFinite(ms)) return null;
    const iso = new Date(ms).toISOString(); // loses digits past ms only for non-UTC stamps
    return `${iso.slice(0, 19)}.${(m[2] ?? '').padEnd(9, '0')}`;
  }
  return `${m[1]}.${(m[2] ?? '').padEnd(9, '0')}`;
}

/** Splits "<RFC3339Nano> <text>"; a line without a timestamp keeps ts null. */
export function splitTimestamp(line: string): { ts: string | null; text: string; raw: string | null } {
  const sp = line.indexOf(' ');
  const head = sp >= 0 ? line.slice(0, sp) : line;
  const ts = sortableTimestamp(head);
  if (ts === null) return { ts: null, text: line, raw: null };
  return { ts, text: sp >= 0 ? line.slice(sp + 1) : '', raw: head };
}

/** Drops lines already delivered by an earlier stream. */
export class LineDeduper {
  private lastTs: string | null = null;
  private countAtLast = 0;
  private skip = 0;

  /** Call when a new stream starts: its lines at the last timestamp repeat the ones already taken. */
  newStream(): void {
    this.skip = this.countAtLast;
  }

  /** Whether to keep the line. */
  accept(ts: string | null): boolean {
    if (ts === null) return true;
    if (this.lastTs !== null && ts < this.lastTs) return false;
    if (ts === this.lastTs) {
      if (this.skip > 0) {
        this.skip--;
        return false;
      }
      this.countAtLast++;
      return true;
    }
    this.lastTs = ts;
    this.countAtLast = 1;
    this.skip = 0;
    return true;
  }

  /** Skips everything up to and including this timestamp (resuming a log written by an earlier process). */
  resumeAfter(ts: string): void {
    this.lastTs = ts;
    this.countAtLast = Number.MAX_SAFE_INTEGER;
    this.skip = Number.MAX_SAFE_INTEGER;
  }

  get last(): string | null {
    return this.lastTs;
  }
}

export interface LogFollowerOptions {
  readonly client: KubeApiClient;
  readonly namespace: string;
  readonly pod: string;
  readonly container: string;
  /** One line of the container's log, with its timestamp (epoch ms) when it had one. */
  readonly onLine: (text: string, atMs: number | null) => void;
  readonly onProblem?: (message: string) => void;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** RFC 3339 at second resolution, rounded down: what sinceTime accepts. */
function sinceTimeOf(sortable: string): string {
  return `${sortable.slice(0, 19)}Z`;
}

function msOf(sortable: string): number {
  return Date.parse(`${sortable.slice(0, 23)}Z`);
}

export class LogFollower {
  private readonly dedupe = new LineDeduper();
  private rest = '';
  private stopped = false;
  private current?: StreamHandle;
  private loop?: Promise<void>;
  /** Ends the wait between reconnects at once (on stop). */
  private wake?: () => void;
  /** Follow streams opened (1 + reconnects). */
  connects = 0;
  /** Lines delivered. */
  taken = 0;

  constructor(private readonly o: LogFollowerOptions) {}

  /** Continue after lines an earlier process already wrote (a sortable timestamp). */
  resumeAfter(ts: string): void {
    this.dedupe.resumeAfter(ts);
  }

  start(): void {
    this.loop ??= this.follow();
  }

  private path(): string {
    return `/api/v1/namespaces/${encodeURIComponent(this.o.namespace)}/pods/${encodeURIComponent(this.o.pod)}/log`;
  }

  private query(follow: boolean) {
    const last = this.dedupe.last;
    return { container: this.o.container, timestamps: true, follow: follow || undefined, sinceTime: last ? sinceTimeOf(last) : undefined };
  }

  private take(chunk: string): void {
    const text = this.rest + chunk;
    const lines = text.split('\n');
    this.rest = lines.pop() ?? '';
    for (const line of lines) this.line(line);
  }

  private line(line: string): void {
    if (line === '') return;
    const { ts, text } = splitTimestamp(line);
    if (!this.dedupe.accept(ts)) return;
    this.taken++;
    this.o.onLine(text, ts ? msOf(ts) : null);
  }

  private async follow(): Promise<void> {
    let failures = 0;
    let quietEnds = 0;
    while (!this.stopped) {
      let cleanEnd = false;
      const taken = this.taken;
      try {
        this.rest = '';
        this.dedupe.newStream();
        this.connects++;
        const h = await this.o.client.stream(this.path(), this.query(true), (c) => this.take(c));
        this.current = h;
        if (this.stopped) h.abort();
        await h.done;
        this.current = undefined;
        if (this.rest !== '' && !this.stopped) {
          // An unterminated last line of a closed stream is complete only when the container is done;
          // it is taken again (whole) by the next stream or by finish().
          this.rest = '';
        }
        // A follow stream ends cleanly when the container exits: the pod's status will say so
        // (and finish() reads the tail), so reconnect only after a while.
        cleanEnd = true;
        failures = 0;
        quietEnds = this.taken > taken ? 0 : quietEnds + 1;
      } catch (err) {
        this.current = undefined;
        if (err instanceof KubeApiError && (err.status === 404 || err.status === 400)) {
          // The pod is gone, or its container is not running (yet / any more): finish() catches up.
          failures++;
        } else {
          failures++;
          this.o.onProblem?.(`log stream of ${this.o.pod} broke (${(err as Error).message}); reconnecting`);
        }
      }
      if (!this.stopped) {
        // After a clean end: 2 s, then doubling up to 30 s while streams bring nothing new.
        const ms = cleanEnd ? Math.min(30_000, 2000 * 2 ** Math.min(quietEnds, 4)) : Math.min(5000, 500 * 2 ** Math.min(failures - 1, 4));
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, ms);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
      }
    }
  }

  /** Stops following and reads what the container wrote since the last line seen. */
  async finish(timeoutMs = 5000): Promise<void> {
    this.stopped = true;
    this.current?.abort();
    this.wake?.();
    await this.loop;
    this.rest = '';
    this.dedupe.newStream();
    try {
      const text = await Promise.race([
        this.o.client.request<string>('GET', this.path(), { query: this.query(false), retryBudgetMs: timeoutMs }),
        sleep(timeoutMs).then(() => null),
      ]);
      if (typeof text === 'string') {
        this.take(text);
        if (this.rest !== '') this.line(this.rest);
        this.rest = '';
      }
    } catch (err) {
      if (!(err instanceof KubeApiError && (err.status === 404 || err.status === 400))) {
        this.o.onProblem?.(`could not read the end of ${this.o.pod}'s log: ${(err as Error).message}`);
      }
    }
  }

  /** Stops following without catching up (the executor is detaching). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.current?.abort();
    this.wake?.();
    await this.loop;
  }
}
