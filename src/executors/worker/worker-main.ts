/**
 * Entry of a worker process (forked by WorkerPool, with tsx registered through `--import`).
 * It loads DAG files, runs one job at a time (an inline task body, or the functions that
 * render a command's args and env) and reports over IPC. Jobs sent while one runs wait here,
 * in order, so the next starts without a round trip to the parent; the parent may take a
 * waiting job back (`unqueue`). Output written through
 * process.stdout / process.stderr / console while a job runs is sent to the parent, which
 * writes the try's log.
 */
import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { findDags, type LoadedDag, type TaskCallables } from '../../sdk/user-code.js';
import type { ResolvedValues } from '../deferred.js';
import { readDeferred, storeResultFile, storeReturnValue } from './offloaded.js';
import type { AnyJobMessage, DoneMessage, JobMessage, ParentMessage, SerializedError, WorkerMessage } from './protocol.js';

const send = (msg: WorkerMessage, then?: () => void): void => {
  if (process.connected) process.send!(msg, undefined, {}, () => then?.());
  else then?.();
};

// ---- output capture -------------------------------------------------------------------

let currentJob: AnyJobMessage | undefined;
/** Jobs sent while one ran, oldest first. */
const waiting: AnyJobMessage[] = [];
const pendingOutput: { stream: 'stdout' | 'stderr'; data: string }[] = [];
let flushScheduled = false;

function flushOutput(): void {
  flushScheduled = false;
  if (!currentJob || pendingOutput.length === 0) return;
  // Coalesce consecutive writes to the same stream into one message.
  let stream = pendingOutput[0].stream;
  let data = '';
  for (const piece of pendingOutput) {
    if (piece.stream !== stream) {
      send({ type: 'out', id: currentJob.id, stream, data });
      stream = piece.stream;
      data = '';
    }
    data += piece.data;
  }
  pendingOutput.length = 0;
  send({ type: 'out', id: currentJob.id, stream, data });
}

function capture(stream: 'stdout' | 'stderr'): void {
  const target = process[stream];
  const original = target.write.bind(target);
  target.write = ((chunk: unknown, encodingOrCb?: unknown, cb?: unknown): boolean => {
    if (!currentJob) return original(chunk as string, encodingOrCb as BufferEncoding, cb as () => void);
    const data = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
    pendingOutput.push({ stream, data });
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flushOutput);
    }
    const callback = typeof encodingOrCb === 'function' ? encodingOrCb : cb;
    if (typeof callback === 'function') queueMicrotask(callback as () => void);
    return true;
  }) as typeof target.write;
}
capture('stdout');
capture('stderr');

// ---- loading DAG files ----------------------------------------------------------------

const requireCache = createRequire(import.meta.url).cache;
const moduleCache = new Map<string, { mtimeMs: number; exports: Promise<Record<string, unknown>> }>();

/** Imports a DAG file, again only when its modification time changed. */
async function loadModule(file: string): Promise<Record<string, unknown>> {
  const { mtimeMs } = await stat(file);
  const cached = moduleCache.get(file);
  if (cached && cached.mtimeMs === mtimeMs) return cached.exports;
  // A new query string makes a new ES module; a file that loads as CommonJS (no
  // "type": "module" above it) is also cached by path in require.cache.
  delete requireCache[file];
  const url = `${pathToFileURL(file).href}?trainyard_mtime=${mtimeMs}`;
  const exports = import(url) as Promise<Record<string, unknown>>;
  moduleCache.set(file, { mtimeMs, exports });
  exports.catch(() => moduleCache.delete(file));
  return exports;
}

async function findCallables(job: JobMessage): Promise<TaskCallables> {
  const mod = await loadModule(job.code.file);
  const dags = findDags(mod);
  const dag: LoadedDag | undefined = dags.find((d) => d.dagId === job.code.dagId);
  if (!dag) {
    const found = dags.map((d) => `"${d.dagId}"`).join(', ') || 'none';
    throw new Error(
      `DAG "${job.code.dagId}" is not exported by ${job.code.file} (DAGs found: ${found}); export the DAG object from the file`,
    );
  }
  const callables = dag.callables(job.code.taskId);
  if (!callables) throw new Error(`task "${job.code.taskId}" of DAG "${job.code.dagId}" has no functions to run`);
  return callables;
}

// ---- running jobs ---------------------------------------------------------------------

function isSkip(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  return (err as { name?: unknown }).name === 'TrainyardSkip' || (err as Record<symbol, unknown>)[Symbol.for('trainyard.skip')] === true;
}

function serializeError(err: unknown): SerializedError {
  if (err instanceof Error || (typeof err === 'object' && err !== null && 'message' in err)) {
    const e = err as Error;
    return { name: String(e.name ?? 'Error'), message: String(e.message), stack: typeof e.stack === 'string' ? e.stack : undefined };
  }
  return { name: 'Error', message: `a non-Error value was thrown: ${String(err)}` };
}

/** Replaces process.env with `env` for the time of `fn`. */
async function withEnv<T>(env: Readonly<Record<string, string>>, fn: () => Promise<T>): Promise<T> {
  const saved = { ...process.env };
  for (const key of Object.keys(process.env)) delete process.env[key];
  Object.assign(process.env, env);
  try {
    return await fn();
  } finally {
    for (const key of Object.keys(process.env)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}

function checkStrings(value: unknown, what: string): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw new TypeError(`the ${what} function must return an array of strings, got ${JSON.stringify(value)}`);
  }
  return value as string[];
}

function checkEnv(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || Object.values(value).some((v) => typeof v !== 'string')) {
    throw new TypeError(`the env function must return an object of strings, got ${JSON.stringify(value)}`);
  }
  return value as Record<string, string>;
}

async function runJob(job: JobMessage): Promise<DoneMessage> {
  let deferred: ResolvedValues | undefined;
  try {
    deferred = await readDeferred(job);
  } catch (err) {
    return { type: 'done', id: job.id, ok: false, error: serializeError(err), skip: false, kind: 'upstream_unavailable' };
  }
  const ctx = { ...job.context, inputs: { ...(deferred?.inputs ?? job.context.inputs) } };
  let callables: TaskCallables = {};
  try {
    // A render job of values alone (no args or env function) needs nothing from the DAG file.
    if (job.kind === 'run' || job.want?.args || job.want?.env) callables = await findCallables(job);
  } catch (err) {
    return { type: 'done', id: job.id, ok: false, error: serializeError(err), skip: false, kind: 'user_error' };
  }
  let value: unknown;
  try {
    value = await withEnv(job.env, async () => {
      if (job.kind === 'render') {
        const rendered: { command?: string; args?: string[]; env?: Record<string, string> } = {
          ...(deferred?.command !== undefined ? { command: deferred.command } : {}),
          ...(deferred?.args ? { args: deferred.args } : {}),
          ...(deferred?.env ? { env: deferred.env } : {}),
        };
        if (job.want?.args) {
          if (!callables.args) throw new Error(`task "${job.code.taskId}" has no args function`);
          rendered.args = checkStrings(await callables.args(ctx), 'args');
        }
        if (job.want?.env) {
          if (!callables.env) throw new Error(`task "${job.code.taskId}" has no env function`);
          rendered.env = checkEnv(await callables.env(ctx));
        }
        return rendered;
      }
      if (!callables.run) throw new Error(`task "${job.code.taskId}" has no inline function`);
      return await callables.run(ctx.inputs, ctx);
    });
  } catch (err) {
    return { type: 'done', id: job.id, ok: false, error: serializeError(err), skip: isSkip(err), kind: 'user_error' };
  }
  if (job.kind === 'render') return { type: 'done', id: job.id, ok: true, rendered: value as { args?: string[] } };
  if (value === undefined) return { type: 'done', id: job.id, ok: true, resultJson: null };
  try {
    const json = JSON.stringify(value);
    if (json === undefined) throw new TypeError(`a ${typeof value} is not JSON`);
    const stored = await storeReturnValue(json, job);
    if ('message' in stored) return { type: 'done', id: job.id, ok: false, skip: false, kind: 'result_invalid', error: { name: 'Error', message: stored.message } };
    return { type: 'done', id: job.id, ok: true, resultJson: stored.json };
  } catch (err) {
    const e = serializeError(err);
    return {
      type: 'done',
      id: job.id,
      ok: false,
      skip: false,
      kind: 'result_invalid',
      error: { ...e, message: `the task's return value cannot be turned into JSON: ${e.message}` },
    };
  }
}

function start(job: AnyJobMessage): void {
  currentJob = job;
  (job.kind === 'store_result' ? storeResultFile(job) : runJob(job)).then(finish, (err) =>
    finish({ type: 'done', id: job.id, ok: false, error: serializeError(err), skip: false, kind: 'user_error' }),
  );
}

/** Set once the worker is going to exit: it reports nothing more and starts nothing. */
let exiting = false;

/** Reports a job's end and starts the next waiting one, unless the worker is about to exit. */
function finish(done: DoneMessage, exit?: () => void): void {
  if (exiting) return;
  if (exit) exiting = true;
  flushOutput();
  currentJob = undefined;
  const next = exit ? undefined : waiting.shift();
  send(next ? { ...done, next: next.id } : done, exit);
  if (next) start(next);
}

process.on('message', (msg: ParentMessage) => {
  if (msg?.type === 'unqueue') {
    const i = waiting.findIndex((j) => j.id === msg.id);
    if (i >= 0) {
      waiting.splice(i, 1);
      send({ type: 'unqueued', id: msg.id });
    }
    return;
  }
  if (msg?.type !== 'job' || exiting) return;
  if (currentJob) waiting.push(msg);
  else {
    if (msg.ahead) send({ type: 'started', id: msg.id });
    start(msg);
  }
});

// An error thrown outside the awaited chain of the job (a stray callback, an unhandled
// rejection) fails the current job; the worker then exits, since its state is unknown.
const fatal = (err: unknown) => {
  const exit = () => process.exit(70);
  if (currentJob) {
    const job = currentJob;
    finish({ type: 'done', id: job.id, ok: false, error: serializeError(err), skip: isSkip(err), kind: 'user_error' }, exit);
  } else {
    process.stderr.write(`trainyard worker: ${serializeError(err).stack ?? String(err)}\n`);
    exit();
  }
};
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);

// The parent went away: nothing to report to any more.
process.on('disconnect', () => process.exit(0));
