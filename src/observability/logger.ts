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
import { defaultMasker, type SecretMasker } from './mask.js';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_LEVEL_ENV = 'TRAINYARD_LOG_LEVEL';

/** The level from TRAINYARD_LOG_LEVEL (default info); an unknown value is an error naming the allowed ones. */
export function logLevelFromEnv(env: NodeJS.ProcessEnv = process.env): LogLevel {
  const raw = env[LOG_LEVEL_ENV];
  if (raw === undefined || raw.trim() === '') return 'info';
  const level = raw.trim().toLowerCase();
  if ((LOG_LEVELS as readonly string[]).includes(level)) return level as LogLevel;
  throw new TrainyardError(
    'INVALID_CONFIG',
    `invalid value for logLevel: ${LOG_LEVEL_ENV}='${raw}'; allowed values: ${LOG_LEVELS.join(', ')}`,
  );
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

/**
 * Adapts a logger to the `log?: (line: string) => void` options the scheduler, the DAG
 * processor and the API server take today.
 */
export function lineLogger(log: Logger, level: Exclude<LogLevel, 'silent'> = 'info'): (line: string) => void {
  return (line) => log[level](line);
}
