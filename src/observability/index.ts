/** Metrics, structured logs and secret masking. */
export * from './metrics.js';
export { componentLoggers, createLogger, lineLogger, logLevelFromEnv, withContext, LOG_LEVELS, LOG_LEVEL_ENV, type LogFields, type LogLevel, type Logger, type LoggerOptions, type TaskLogContext } from './logger.js';
export { defaultMasker, isSensitiveName, MASK, MIN_SECRET_LENGTH, SecretMasker, StreamMasker } from './mask.js';
export { maskProcessOutput, maskResponses } from './redact-output.js';
export { logExecutorEvent } from './task-events.js';
export { DEFAULT_LOG_LEVEL, parseLogLevel } from './levels.js';
