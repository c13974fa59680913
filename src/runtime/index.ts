/**
 * The task-side helper for TypeScript and JavaScript tasks (`import … from 'trainyard/runtime'`),
 * with the same API as the Python helper in python/trainyard_runtime.py. It only reads the
 * task contract's environment and writes files and lines; it needs no network.
 */
import fs from 'node:fs';
import path from 'node:path';

const RESULT_LIMIT_BYTES = Number(process.env.TRAINYARD_RESULT_LIMIT_BYTES ?? 64 * 1024);

function dirFromEnv(name: string, fallback: string): string {
  const dir = process.env[name] ?? path.join(process.env.TRAINYARD_HOME ?? '.trainyard', 'local', fallback);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** Prints a metric line (`::trainyard::metric {...}`); `step` is optional. Non-finite values are dropped with a warning. */
export function logMetric(name: string, value: number, step?: number): void {
  logMetrics({ [name]: value }, step);
}

export function logMetrics(values: Record<string, number>, step?: number): void {
  const point: Record<string, number> = {};
  for (const [k, v] of Object.entries(values)) {
    if (typeof v === 'number' && Number.isFinite(v)) point[k] = v;
    else process.stderr.write(`trainyard: metric '${k}' is not a finite number (${String(v)}); it was not logged\n`);
  }
  if (Object.keys(point).length === 0) return;
  process.stdout.write(`::trainyard::metric ${JSON.stringify(step === undefined ? point : { step, ...point })}\n`);
}

/** Prints a params line (`::trainyard::params {...}`), recorded on the task instance. */
export function logParams(params: Record<string, unknown>): void {
  process.stdout.write(`::trainyard::params ${JSON.stringify(params)}\n`);
}

/** Error for a result over the limit: big outputs belong in the artifact store. */
export class ResultTooLargeError extends Error {
  constructor(bytes: number) {
    super(`the result is ${bytes} bytes, over the ${RESULT_LIMIT_BYTES}-byte limit; write large outputs to artifactsDir() and return their path or URI`);
    this.name = 'ResultTooLargeError';
  }
}

/** Writes the task's JSON result (atomically) to TRAINYARD_RESULT_PATH, or prints it when run by hand. */
export function saveResult(value: unknown): void {
  const text = JSON.stringify(value);
  if (text === undefined) throw new TypeError('the result must be JSON-serialisable');
  const bytes = Buffer.byteLength(text);
  if (bytes > RESULT_LIMIT_BYTES) throw new ResultTooLargeError(bytes);
  const target = process.env.TRAINYARD_RESULT_PATH;
  if (!target) {
    process.stdout.write(`${text}\n`);
    return;
  }
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const tmp = `${target}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, target);
}

/** The checkpoint directory: the same for every try of this task instance. */
export function checkpointDir(): string {
  return dirFromEnv('TRAINYARD_CHECKPOINT_DIR', 'checkpoints');
}

/** This try's artifact directory. */
export function artifactsDir(): string {
  return dirFromEnv('TRAINYARD_ARTIFACTS_DIR', 'artifacts');
}

/** A directory shared by the tasks of this run. */
export function runArtifactsDir(): string {
  return dirFromEnv('TRAINYARD_RUN_ARTIFACTS_DIR', 'run-artifacts');
}

/** True when an earlier try of this task instance exists: look for a checkpoint. */
export function shouldResume(): boolean {
  return process.env.TRAINYARD_RESUME === '1';
}

function json<T>(name: string, fallback: T): T {
  const raw = process.env[name];
  return raw ? (JSON.parse(raw) as T) : fallback;
}

/** The run's params, and the mapped item of a mapped task. */
export function params<T = Record<string, unknown>>(): T {
  return json<T>('TRAINYARD_PARAMS', {} as T);
}

export function item<T = unknown>(): T | undefined {
  return json<T | undefined>('TRAINYARD_ITEM', undefined);
}

/** Who this try is. */
export function context() {
  const e = process.env;
  return {
    dagId: e.TRAINYARD_DAG_ID,
    runId: e.TRAINYARD_RUN_ID,
    taskId: e.TRAINYARD_TASK_ID,
    mapIndex: Number(e.TRAINYARD_MAP_INDEX ?? -1),
    tryNumber: Number(e.TRAINYARD_TRY_NUMBER ?? 1),
    ds: e.TRAINYARD_DS,
    logicalDate: e.TRAINYARD_LOGICAL_DATE,
  };
}

/** Runs `save` on SIGTERM (cancel, timeout, eviction), then exits 143: save a checkpoint there. */
export function onTerminate(save: () => void | Promise<void>): void {
  process.once('SIGTERM', () => {
    void Promise.resolve()
      .then(save)
      .finally(() => process.exit(143));
  });
}
