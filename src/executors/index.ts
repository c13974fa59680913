/**
 * Executors: the interface, and the local executor with its worker pool. The conformance
 * suite (conformance.ts) is for tests and is not exported here.
 */
export * from './types.js';
export { LocalExecutor, DEFAULT_SKIP_EXIT_CODE, type LocalExecutorOptions } from './local/local-executor.js';
export { INHERITED_ENV_VARS, minimalEnv } from './local/env.js';
export { detectGpuIds, parseNvidiaSmiList } from './local/gpus.js';
export { resultTooLargeMessage } from './local/result-file.js';
export { WorkerPool, type WorkerPoolOptions, type WorkerJob, type WorkerJobHooks, type WorkerOutcome, type WorkerTask } from './worker/pool.js';
export { TryLogWriter, parseTelemetryLine, METRIC_PREFIX, PARAMS_PREFIX, type LogStream, type ParsedTelemetryLine } from './log-writer.js';
export * from './kubernetes/index.js';
