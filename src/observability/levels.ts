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
