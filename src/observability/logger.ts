/**
 * Structured JSON logs for the server processes (scheduler, api-server, standalone), with
 * pino. One JSON object per line on stdout: `level` (a name), `time` (ISO 8601), `component`,
 * `msg`, and the context of child loggers (`dag_id`, `run_id`, `task_id`, `map_index`,
 * `try_number`). Every line passes through the secret masker before it is written.
 *
 * Task logs are not written here: they stay plain text with timestamps (executors/log-writer).
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import { TrainyardError } from '../core/errors.js';
import { DEFAULT_LOG_LEVEL, LOG_LEVEL_ENV, LOG_LEVELS, type LogFormat, parseLogLevel, type LogLevel } from './levels.js';
import { defaultMasker, type SecretMasker } from './mask.js';

export type { Logger } from 'pino';

export { LOG_FORMATS, LOG_FORMAT_ENV, LOG_LEVELS, LOG_LEVEL_ENV, type LogFormat, type LogLevel } from './levels.js';

/** The level from TRAINYARD_LOG_LEVEL (default info); an unknown value is an error naming the key, the value, the allowed ones and the variable. */
export function logLevelFromEnv(env: NodeJS.ProcessEnv = process.env): LogLevel {
  const raw = env[LOG_LEVEL_ENV];
  if (raw === undefined || raw.trim() === '') return DEFAULT_LOG_LEVEL;
  try {
    return parseLogLevel(raw);
  } catch (e) {
    throw new TrainyardError('INVALID_CONFIG', `invalid value for logLevel: ${LOG_LEVEL_ENV}='${raw}' (${(e as Error).message}); allowed: ${LOG_LEVELS.join(', ')}`);
  }
}

export interface LoggerOptions {
  /** `scheduler`, `api-server`, `dag-processor`, … */
  readonly component: string;
  /** Default: TRAINYARD_LOG_LEVEL, else info. */
  readonly level?: LogLevel;
  /** Where lines go; default stdout, written synchronously so nothing is lost on process.exit. */
  readonly destination?: DestinationStream;
  /** Default: the process-wide masker. */
  readonly masker?: SecretMasker;
}

/** A writable that masks each line before passing it on. */
function maskingDestination(dest: DestinationStream, masker: SecretMasker): DestinationStream {
  return { write: (line: string) => dest.write(masker.mask(line)) };
}

export function createLogger(o: LoggerOptions): Logger {
  const dest = o.destination ?? pino.destination({ dest: 1, sync: true });
  return pino(
    {
      level: o.level ?? logLevelFromEnv(),
      base: { component: o.component, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: pino.stdSerializers.err },
    },
    maskingDestination(dest, o.masker ?? defaultMasker),
  );
}

/** Context fields that the text format leaves out: the message names the DAG, run and task already. */
const SHOWN_IN_MESSAGE = new Set(['time', 'level', 'component', 'pid', 'msg', 'dag_id', 'run_id', 'task_id', 'map_index', 'try_number', 'event', 'state', 'reason']);

/**
 * One JSON log line as text for a person: `HH:MM:SS.mmm component: message  key=value …`,
 * with the level named unless it is info. A line that is not JSON is passed on as it is.
 */
export function formatTextLine(line: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const time = typeof o.time === 'string' ? o.time.slice(11, 23) : '';
  const level = o.level === 'info' || o.level === undefined ? '' : ` ${String(o.level).toUpperCase()}`;
  const fields = Object.entries(o)
    .filter(([k]) => !SHOWN_IN_MESSAGE.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  // A message quotes the first line of a reason; the rest (a stderr tail) follows, indented.
  const more = typeof o.reason === 'string' ? o.reason.split('\n').slice(1).filter((l) => l.trim() !== '') : [];
  return `${time} ${String(o.component ?? '')}${level}: ${String(o.msg ?? '')}${fields.length ? `  ${fields.join(' ')}` : ''}\n${more.map((l) => `    ${l}\n`).join('')}`;
}

/** Stdout, synchronously (nothing is lost on process.exit), as JSON lines or as text. */
export function stdoutDestination(format: LogFormat): DestinationStream {
  const out = pino.destination({ dest: 1, sync: true });
  return format === 'json' ? out : { write: (line: string) => out.write(formatTextLine(line)) };
}

/**
 * Loggers for the components of one process (`scheduler`, `dag-processor`, `api-server`, …),
 * all at one level and writing to one destination (stdout, as JSON lines, by default).
 */
export function componentLoggers(level: LogLevel, destination: DestinationStream = stdoutDestination('json')): (component: string) => Logger {
  const made = new Map<string, Logger>();
  return (component) => {
    let log = made.get(component);
    if (!log) made.set(component, (log = createLogger({ component, level, destination })));
    return log;
  };
}

export interface TaskLogContext {
  readonly dagId: string;
  readonly runId?: string;
  readonly taskId?: string;
  readonly mapIndex?: number;
  readonly tryNumber?: number;
}

/** A child logger carrying a DAG's, run's or try's identity on every line. */
export function withContext(log: Logger, k: TaskLogContext): Logger {
  const bindings: Record<string, string | number> = { dag_id: k.dagId };
  if (k.runId !== undefined) bindings.run_id = k.runId;
  if (k.taskId !== undefined) bindings.task_id = k.taskId;
  if (k.mapIndex !== undefined && k.mapIndex >= 0) bindings.map_index = k.mapIndex;
  if (k.tryNumber !== undefined) bindings.try_number = k.tryNumber;
  return log.child(bindings);
}

/** Fields a component may attach to one line (`dag_id`, `run_id`, …). */
export type LogFields = Readonly<Record<string, string | number | boolean | undefined>>;

/**
 * Adapts a logger to the `log?: (line, fields?) => void` options the scheduler, the DAG
 * processor and the API server take.
 */
export function lineLogger(log: Logger, level: Exclude<LogLevel, 'silent'> = 'info'): (line: string, fields?: LogFields) => void {
  return (line, fields) => (fields ? log[level](fields, line) : log[level](line));
}
