/** Levels of the server processes' JSON logs, most verbose first (`silent` writes nothing). */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_LEVEL_ENV = 'TRAINYARD_LOG_LEVEL';
export const DEFAULT_LOG_LEVEL: LogLevel = 'info';

/** A level from text (any case); throws naming the allowed values. */
export function parseLogLevel(raw: string): LogLevel {
  const level = raw.trim().toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new Error(`not one of ${LOG_LEVELS.join(', ')}`);
  return level as LogLevel;
}

/** How the server processes write their logs: JSON lines, or plain text for a person at a terminal. */
export const LOG_FORMATS = ['json', 'text'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export const LOG_FORMAT_ENV = 'TRAINYARD_LOG_FORMAT';

/** A format from text (any case); throws naming the allowed values. */
export function parseLogFormat(raw: string): LogFormat {
  const f = raw.trim().toLowerCase();
  if (!(LOG_FORMATS as readonly string[]).includes(f)) throw new Error(`not one of ${LOG_FORMATS.join(', ')}`);
  return f as LogFormat;
}

/** The default format: text when stdout is a terminal, JSON otherwise (a file, a pipe, a log collector). */
export const defaultLogFormat = (): LogFormat => (process.stdout.isTTY ? 'text' : 'json');
