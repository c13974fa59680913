/**
 * The scheduler's async check loop: runs the checks of many waiting (deferred) sensors in the
 * scheduler's process, holding no executor slot and no process.
 *
 * - One timer for all sensors: pokes wait in a min-heap by due time, and a single timer is
 *   armed for the earliest one.
 * - At most `maxInFlight` checks run at once; due checks beyond that wait in a FIFO queue.
 * - Each check gets an AbortSignal that fires at its own deadline (`checkTimeoutMs`); a check
 *   that misses it counts as "not yet" and is poked again, and its slot is freed at once even
 *   if it ignores the signal.
 * - Every error is caught: a throwing check ends its own sensor (onError), a throwing listener is
 *   logged, and the runner goes on.
 * - The sensor's timeout counts from its first check; on the first poke at or past it the
 *   sensor ends with onTimeout(id, softFail) and no further check.
 */
import type { Store } from '../store/store.js';
import { realClock, MAX_TIMER_MS, type SensorClock } from './clock.js';
import { Heap } from '../util/heap.js';
import { formatDurationMs, MIN_POKE_INTERVAL_MS, nextPokeDelay, sensorTimedOut, type SensorOptions } from './options.js';
import type { ArtifactExistence, SensorCheck, SensorContext, SensorResult } from './types.js';

export const DEFAULT_MAX_IN_FLIGHT = 64;
export const DEFAULT_TICK_MS = 100;
/** Default per-check deadline: the poke interval, within [1s, 60s]. */
export const MIN_CHECK_TIMEOUT_MS = 1_000;
export const MAX_CHECK_TIMEOUT_MS = 60_000;

export interface SensorProgress {
  /** Checks made so far. */
  readonly pokes: number;
  /** When the first check ran; the timeout counts from here. Undefined before it. */
  readonly firstCheckAt?: number;
  /** The latest "why still waiting". */
  readonly detail?: string;
  /** When the next check is due; undefined while one runs or once the sensor ended. */
  readonly nextCheckAt?: number;
}

export interface SensorRunnerListeners {
  /** The check said done. The sensor is removed before this is called. */
  onDone?(id: string, result: { value?: unknown }, progress: SensorProgress): void;
  /** The sensor waited past its timeout: skip it when softFail, else fail it. */
  onTimeout?(id: string, softFail: boolean, progress: SensorProgress): void;
  /** The check threw (SensorFailed or anything else) or returned something that is not a SensorResult. */
  onError?(id: string, err: unknown, progress: SensorProgress): void;
  /** A check said "not yet"; `progress.detail` is the why, for the task's pending reason. */
  onPoke?(id: string, progress: SensorProgress): void;
}

export interface SensorRunnerOptions extends SensorRunnerListeners {
  clock?: SensorClock;
  /** For backoff jitter; default Math.random. */
  random?: () => number;
  /** Checks running at once; default 64. */
  maxInFlight?: number;
  /**
   * Wake-ups are rounded up to a multiple of this many milliseconds (default 100), so sensors
   * due within the same tick share one timer wake-up. 0: wake at each exact due time.
   */
  tickMs?: number;
  store?: Store;
  artifacts?: ArtifactExistence;
  /** Where a listener's own error goes; default console.error. */
  log?(message: string, err: unknown): void;
}

export interface AddSensorOptions extends SensorOptions {
  /** The run's logical date, handed to the check. */
  logicalDate: number;
  /** The deadline of one check; default the poke interval, within [1s, 60s]. */
  checkTimeoutMs?: number;
  /** When resuming after a restart: the first check's time, so the timeout keeps counting from it. */
  firstCheckAt?: number;
  /** When resuming: checks made so far (drives backoff). */
  pokes?: number;
  /** When the first check is due; default now. */
  startAt?: number;
}

interface Entry {
  readonly id: string;
  readonly check: SensorCheck;
  readonly opts: AddSensorOptions;
  readonly checkTimeoutMs: number;
  firstCheckAt?: number;
  pokes: number;
  detail?: string;
  nextCheckAt?: number;
  /** The in-flight check's controller. */
  running?: AbortController;
  ended: boolean;
}

interface Due {
  readonly at: number;
  readonly seq: number;
  readonly entry: Entry;
}

/** Why a check was aborted: its own deadline. */
class CheckDeadline extends Error {
  constructor(readonly ms: number) {
    super(`the check did not finish within ${formatDurationMs(ms)}`);
    this.name = 'CheckDeadline';
  }
}

/** Why a check was aborted: its sensor was removed or the runner closed. */
class SensorRemoved extends Error {
  constructor() {
    super('the sensor was removed');
    this.name = 'SensorRemoved';
  }
}

export class SensorRunner {
  private readonly clock: SensorClock;
  private readonly random: () => number;
  private readonly maxInFlight: number;
  private readonly tickMs: number;
  private readonly entries = new Map<string, Entry>();
  // Earliest first; equal times keep insertion order.
  private readonly heap = new Heap<Due>((x, y) => x.at < y.at || (x.at === y.at && x.seq < y.seq));
  private ready: Entry[] = [];
  private readyHead = 0;
  private seq = 0;
  private running = 0;
  private timer: unknown;
  private timerAt = Infinity;
  private closed = false;

  constructor(private readonly options: SensorRunnerOptions = {}) {
    this.clock = options.clock ?? realClock;
    this.random = options.random ?? Math.random;
    this.maxInFlight = Math.max(1, Math.floor(options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT));
    this.tickMs = Math.max(0, Math.floor(options.tickMs ?? DEFAULT_TICK_MS));
  }

  /** Sensors waiting or being checked. */
  get size(): number {
    return this.entries.size;
  }

  /** Checks running now. */
  get inFlight(): number {
    return this.running;
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  progress(id: string): SensorProgress | undefined {
    const e = this.entries.get(id);
    return e && progressOf(e);
  }

  /** Starts waiting on a sensor; a sensor with the same id is replaced. */
  add(id: string, check: SensorCheck, opts: AddSensorOptions): void {
    if (this.closed) throw new Error('SensorRunner is closed');
    for (const field of ['pokeIntervalMs', 'timeoutMs', 'logicalDate'] as const) {
      if (!Number.isFinite(opts[field])) {
        throw new TypeError(`SensorRunner.add('${id}'): ${field} must be a number; build the options with validateSensorOptions().`);
      }
    }
    if (opts.pokeIntervalMs < MIN_POKE_INTERVAL_MS) {
      throw new TypeError(`SensorRunner.add('${id}'): pokeIntervalMs ${opts.pokeIntervalMs} is under ${MIN_POKE_INTERVAL_MS} ms; build the options with validateSensorOptions().`);
    }
    this.remove(id);
    const checkTimeoutMs =
      opts.checkTimeoutMs ?? Math.min(MAX_CHECK_TIMEOUT_MS, Math.max(MIN_CHECK_TIMEOUT_MS, opts.pokeIntervalMs));
    const entry: Entry = { id, check, opts, checkTimeoutMs, firstCheckAt: opts.firstCheckAt, pokes: opts.pokes ?? 0, ended: false };
    this.entries.set(id, entry);
    this.schedule(entry, opts.startAt ?? this.clock.now());
  }

  /** Stops waiting on a sensor and aborts its running check. Returns whether it was there. */
  remove(id: string): boolean {
    const e = this.entries.get(id);
    if (!e) return false;
    this.end(e);
    e.running?.abort(new SensorRemoved());
    return true;
  }

  /** Removes every sensor and disarms the timer. */
  close(): void {
    this.closed = true;
    for (const id of [...this.entries.keys()]) this.remove(id);
    this.heap.clear();
    this.ready = [];
    this.readyHead = 0;
    this.disarm();
  }

  // ---- timing ------------------------------------------------------------------------------

  private schedule(entry: Entry, at: number): void {
    entry.nextCheckAt = at;
    this.heap.push({ at, seq: ++this.seq, entry });
    this.arm();
  }

  private arm(): void {
    if (this.closed) return;
    // Drop stale heap tops (ended sensors) so they do not hold the timer.
    let top = this.heap.peek();
    while (top && (top.entry.ended || top.entry.nextCheckAt !== top.at)) {
      this.heap.pop();
      top = this.heap.peek();
    }
    if (!top) {
      this.disarm();
      return;
    }
    const wakeAt = this.tickMs > 0 ? Math.ceil(top.at / this.tickMs) * this.tickMs : top.at;
    if (this.timer !== undefined && this.timerAt <= wakeAt) return;
    this.disarm();
    const delay = Math.min(Math.max(0, wakeAt - this.clock.now()), MAX_TIMER_MS);
    this.timerAt = wakeAt;
    this.timer = this.clock.setTimeout(() => this.wake(), delay);
  }

  private disarm(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  private wake(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.clock.now();
    for (let top = this.heap.peek(); top && top.at <= now; top = this.heap.peek()) {
      this.heap.pop();
      const e = top.entry;
      if (e.ended || e.nextCheckAt !== top.at || e.running) continue;
      e.nextCheckAt = undefined;
      this.ready.push(e);
    }
    this.pump();
    this.arm();
  }

  private pump(): void {
    if (this.closed) return;
    while (this.running < this.maxInFlight && this.readyHead < this.ready.length) {
      const e = this.ready[this.readyHead++];
      if (!e.ended) this.start(e);
    }
    if (this.readyHead === this.ready.length) {
      this.ready = [];
      this.readyHead = 0;
    } else if (this.readyHead > 1024 && this.readyHead * 2 > this.ready.length) {
      this.ready = this.ready.slice(this.readyHead);
      this.readyHead = 0;
    }
  }

  // ---- one check ---------------------------------------------------------------------------

  private start(e: Entry): void {
    const now = this.clock.now();
    if (e.firstCheckAt === undefined) e.firstCheckAt = now;
    else if (sensorTimedOut({ firstCheckAt: e.firstCheckAt, timeoutMs: e.opts.timeoutMs, now })) {
      this.end(e);
      this.emit('onTimeout', e.id, e.opts.softFail, progressOf(e));
      return;
    }
    const ac = new AbortController();
    e.running = ac;
    this.running++;
    const ctx: SensorContext = {
      now,
      signal: ac.signal,
      logicalDate: e.opts.logicalDate,
      ...(this.options.store ? { store: this.options.store } : {}),
      ...(this.options.artifacts ? { artifacts: this.options.artifacts } : {}),
    };
    // The first of: the check settles, its deadline passes, the sensor is removed. An abort
    // settles at once, so a check that ignores its signal does not hold the slot.
    let settled = false;
    const deadline = this.clock.setTimeout(() => ac.abort(new CheckDeadline(e.checkTimeoutMs)), e.checkTimeoutMs);
    const settle = (out: { result?: SensorResult; err?: unknown }) => {
      if (settled) return;
      settled = true;
      ac.signal.removeEventListener('abort', onAbort);
      this.finish(e, ac, deadline, out);
    };
    const onAbort = () => settle({ err: ac.signal.reason });
    ac.signal.addEventListener('abort', onAbort);
    let outcome: Promise<SensorResult>;
    try {
      outcome = Promise.resolve(e.check(ctx));
    } catch (err) {
      outcome = Promise.reject(err);
    }
    outcome.then(
      (result) => settle({ result }),
      (err: unknown) => settle({ err }),
    );
  }

  private finish(e: Entry, ac: AbortController, deadline: unknown, out: { result?: SensorResult; err?: unknown }): void {
    this.clock.clearTimeout(deadline);
    this.running--;
    if (e.running === ac) e.running = undefined;
    try {
      if (!e.ended) this.conclude(e, out);
    } catch (err) {
      this.log('SensorRunner: failed to handle the result of a check', err);
    }
    this.pump();
    this.arm();
  }

  private conclude(e: Entry, out: { result?: SensorResult; err?: unknown }): void {
    const now = this.clock.now();
    e.pokes++;
    if ('err' in out && out.err !== undefined) {
      if (out.err instanceof CheckDeadline) {
        this.again(e, `${out.err.message}; checking again`, now);
        return;
      }
      if (out.err instanceof SensorRemoved) return;
      this.end(e);
      this.emit('onError', e.id, out.err, progressOf(e));
      return;
    }
    const r = out.result as unknown;
    if (!isSensorResult(r)) {
      this.end(e);
      this.emit(
        'onError',
        e.id,
        new TypeError(
          `the sensor check returned ${describeValue(r)}; a check must return { done: true, value? } or { done: false, detail: "why it is still waiting" }`,
        ),
        progressOf(e),
      );
      return;
    }
    if (r.done) {
      this.end(e);
      this.emit('onDone', e.id, 'value' in r ? { value: r.value } : {}, progressOf(e));
      return;
    }
    const hint = (r as { nextCheckAt?: unknown }).nextCheckAt;
    this.again(e, r.detail, now, typeof hint === 'number' && Number.isFinite(hint) ? hint : undefined);
  }

  /** Not done yet: records why and schedules the next poke, never past the timeout. */
  private again(e: Entry, detail: string, now: number, hint?: number): void {
    e.detail = detail;
    const delay = nextPokeDelay(
      { pokeIntervalMs: e.opts.pokeIntervalMs, exponentialBackoff: e.opts.exponentialBackoff, pokes: e.pokes, maxWaitMs: e.opts.maxWaitMs },
      this.random,
    );
    // A hint may skip pokes or bring one forward, but never below the minimum interval (no busy loop).
    let at = hint !== undefined ? Math.max(now + MIN_POKE_INTERVAL_MS, hint) : now + delay;
    const timeoutAt = (e.firstCheckAt ?? now) + e.opts.timeoutMs;
    at = Math.min(at, timeoutAt);
    this.schedule(e, at);
    this.emit('onPoke', e.id, progressOf(e));
  }

  private end(e: Entry): void {
    e.ended = true;
    e.nextCheckAt = undefined;
    if (this.entries.get(e.id) === e) this.entries.delete(e.id);
  }

  private emit<K extends keyof SensorRunnerListeners>(name: K, ...args: Parameters<NonNullable<SensorRunnerListeners[K]>>): void {
    const fn = this.options[name] as ((...a: unknown[]) => void) | undefined;
    if (!fn) return;
    try {
      fn.apply(this.options, args);
    } catch (err) {
      this.log(`SensorRunner: the ${name} listener threw for sensor '${String(args[0])}'`, err);
    }
  }

  private log(message: string, err: unknown): void {
    try {
      (this.options.log ?? ((m: string, e: unknown) => console.error(m, e)))(message, err);
    } catch {
      // A logger that throws cannot be told about it.
    }
  }
}

function progressOf(e: Entry): SensorProgress {
  return {
    pokes: e.pokes,
    ...(e.firstCheckAt !== undefined ? { firstCheckAt: e.firstCheckAt } : {}),
    ...(e.detail !== undefined ? { detail: e.detail } : {}),
    ...(e.nextCheckAt !== undefined ? { nextCheckAt: e.nextCheckAt } : {}),
  };
}

function isSensorResult(r: unknown): r is SensorResult {
  if (typeof r !== 'object' || r === null) return false;
  const o = r as { done?: unknown; detail?: unknown };
  return o.done === true || (o.done === false && typeof o.detail === 'string');
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'undefined';
  try {
    const s = JSON.stringify(v);
    return s.length > 80 ? `${s.slice(0, 77)}...` : s;
  } catch {
    return String(v);
  }
}
