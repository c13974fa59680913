import { defaultMasker } from '../observability/mask.js';
/**
 * The try log: every line a task prints, timestamped and tagged with its stream, plus the
 * metric and params lines of the task contract parsed into telemetry.
 *
 * Format of one line in the log file:
 *
 *     2026-11-21T10:00:00.123Z stdout | text the task printed
 *     2026-11-21T10:00:00.124Z stderr | text the task printed on stderr
 *     2026-11-21T10:00:00.125Z system | a note from Trainyard (start, exit, warnings)
 *
 * Used by the local executor (subprocess pipes) and by the worker pool (output that inline
 * tasks write through process.stdout / console), so both produce the same log.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { ensureDir } from './dirs.js';
import type { MetricPoint } from './types.js';

export type LogStream = 'stdout' | 'stderr' | 'system';

export const METRIC_PREFIX = '::trainyard::metric ';
export const PARAMS_PREFIX = '::trainyard::params ';

/** What one `::trainyard::` line gives: metric points, params, and warnings for the log. */
export interface ParsedTelemetryLine {
  readonly metrics: MetricPoint[];
  readonly params?: Record<string, unknown>;
  readonly warnings: string[];
}

/**
 * Parses one stdout line. Returns undefined when the line is not a telemetry line.
 * Never throws: a malformed line gives warnings instead.
 */
export function parseTelemetryLine(line: string, at: number): ParsedTelemetryLine | undefined {
  if (line.startsWith(METRIC_PREFIX)) return parseMetricLine(line.slice(METRIC_PREFIX.length), at);
  if (line.startsWith(PARAMS_PREFIX)) return parseParamsLine(line.slice(PARAMS_PREFIX.length));
  return undefined;
}

function parseJsonObject(text: string): Record<string, unknown> | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return `is not valid JSON (${(err as Error).message})`;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'is not a JSON object';
  return value as Record<string, unknown>;
}

function parseMetricLine(text: string, at: number): ParsedTelemetryLine {
  const obj = parseJsonObject(text);
  if (typeof obj === 'string') {
    return { metrics: [], warnings: [`metric line ignored: it ${obj}; expected e.g. ::trainyard::metric {"step": 3, "loss": 0.41}`] };
  }
  const warnings: string[] = [];
  let step: number | null = null;
  if (obj.step !== undefined && obj.step !== null) {
    if (typeof obj.step === 'number' && Number.isInteger(obj.step)) step = obj.step;
    else warnings.push(`metric step ${JSON.stringify(obj.step)} ignored: step must be an integer`);
  }
  const metrics: MetricPoint[] = [];
  for (const [name, value] of Object.entries(obj)) {
    if (name === 'step') continue;
    if (typeof value === 'number' && Number.isFinite(value)) metrics.push({ name, value, step, at });
    else warnings.push(`metric "${name}" ignored: its value ${JSON.stringify(value) ?? String(value)} is not a finite number`);
  }
  return { metrics, warnings };
}

function parseParamsLine(text: string): ParsedTelemetryLine {
  const obj = parseJsonObject(text);
  if (typeof obj === 'string') {
    return { metrics: [], warnings: [`params line ignored: it ${obj}; expected e.g. ::trainyard::params {"lr": 0.1}`] };
  }
  return { metrics: [], params: obj, warnings: [] };
}

export type TelemetryListener = (metrics: readonly MetricPoint[], params: Record<string, unknown> | undefined) => void;

export interface TryLogWriterOptions {
  readonly now?: () => number;
  /** Called at most once per written chunk, with what that chunk's telemetry lines held. */
  readonly onTelemetry?: TelemetryListener;
  /** How many trailing stderr lines to keep for failure reasons. */
  readonly tailLines?: number;
}

/** Pending log text written at once rather than at the next turn of the event loop. */
const FLUSH_AT_BYTES = 1 << 20;

/**
 * Writes one try's log. Chunks may end mid-line: the rest of a line is kept per stream until
 * its newline arrives (or until `close`). What is written in one turn of the event loop goes
 * to the file in one synchronous write at the end of that turn: the file is on local disk,
 * where that costs less than a round trip through libuv's thread pool per write.
 */
export class TryLogWriter {
  /** Undefined once closed, or after a write failed. */
  private fd: number | undefined;
  private pending = '';
  private flushScheduled = false;
  private readonly partial: Record<'stdout' | 'stderr', string> = { stdout: '', stderr: '' };
  private readonly now: () => number;
  private readonly onTelemetry?: TelemetryListener;
  private readonly tailLimit: number;
  private readonly tail: string[] = [];
  private closed = false;

  private constructor(fd: number, opts: TryLogWriterOptions) {
    this.fd = fd;
    this.now = opts.now ?? Date.now;
    this.onTelemetry = opts.onTelemetry;
    this.tailLimit = opts.tailLines ?? 5;
  }

  /** Opens (appends to) the log file, creating its folder. */
  static async open(path: string, opts: TryLogWriterOptions = {}): Promise<TryLogWriter> {
    await ensureDir(dirname(path));
    return new TryLogWriter(openSync(path, 'a'), opts);
  }

  private append(text: string): void {
    if (this.fd === undefined) return;
    this.pending += text;
    if (this.pending.length >= FLUSH_AT_BYTES) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** A failing disk must not crash the executor: the log stops, and the try itself still finishes. */
  private flush(): void {
    this.flushScheduled = false;
    if (this.fd === undefined || this.pending === '') return;
    const data = Buffer.from(this.pending);
    this.pending = '';
    try {
      for (let offset = 0; offset < data.length; ) offset += writeSync(this.fd, data, offset);
    } catch {
      this.release();
    }
  }

  private release(): void {
    if (this.fd === undefined) return;
    try {
      closeSync(this.fd);
    } catch {
      // already unusable; nothing more to do
    }
    this.fd = undefined;
  }

  /** The last stderr lines seen, oldest first. */
  stderrTail(): readonly string[] {
    return this.tail;
  }

  /** Writes raw output of the task. */
  write(stream: 'stdout' | 'stderr', chunk: string | Buffer): void {
    if (this.closed) return;
    const text = this.partial[stream] + (typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
    const lastNewline = text.lastIndexOf('\n');
    if (lastNewline < 0) {
      this.partial[stream] = text;
      return;
    }
    this.partial[stream] = text.slice(lastNewline + 1);
    this.writeLines(stream, text.slice(0, lastNewline).split('\n'));
  }

  /** Writes a note from Trainyard itself. */
  system(message: string): void {
    if (this.closed) return;
    this.writeLines('system', message.split('\n'));
  }

  private writeLines(stream: LogStream, lines: string[]): void {
    const at = this.now();
    const prefix = `${new Date(at).toISOString()} ${stream} | `;
    let out = '';
    let metrics: MetricPoint[] | undefined;
    let params: Record<string, unknown> | undefined;
    for (let line of lines) {
      if (line.endsWith('\r')) line = line.slice(0, -1);
      const masked = defaultMasker.mask(line);
      out += prefix + masked + '\n';
      if (stream === 'stderr') {
        // The tail becomes a failure reason, which is stored: masked like the log.
        this.tail.push(masked);
        if (this.tail.length > this.tailLimit) this.tail.shift();
      } else if (stream === 'stdout' && line.startsWith('::trainyard::')) {
        const parsed = parseTelemetryLine(line, at);
        if (!parsed) continue;
        if (parsed.metrics.length > 0) (metrics ??= []).push(...parsed.metrics);
        if (parsed.params) params = { ...params, ...parsed.params };
        for (const w of parsed.warnings) out += `${new Date(at).toISOString()} system | warning: ${w}\n`;
      }
    }
    this.append(out);
    if ((metrics || params) && this.onTelemetry) this.onTelemetry(metrics ?? [], params);
  }

  /** Flushes unterminated last lines and closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    for (const s of ['stdout', 'stderr'] as const) {
      if (this.partial[s] !== '') {
        const rest = this.partial[s];
        this.partial[s] = '';
        this.writeLines(s, [rest]);
      }
    }
    this.closed = true;
    this.flush();
    this.release();
  }
}
