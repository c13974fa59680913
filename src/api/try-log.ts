/**
 * Reading a try's log wherever it is: the local file while it exists (always, for a try that
 * still runs), else the copy shipped to the remote log store (remote logging). Both read with
 * the same byte offsets, so a reader pages through either the same way.
 */
import { fileExists } from '../app/log-shipper.js';
import { logKey, readLog, REMOTE_LOGS_ENV } from '../artifacts/remote-log.js';
import type { ArtifactStore } from '../artifacts/types.js';
import { parseArtifactUri } from '../artifacts/uri.js';
import { TrainyardError } from '../core/errors.js';
import type { TaskTryRow } from '../store/store.js';
import { type FollowEvent, followLog, type FollowOptions, type LogChunk, readLogRange } from './logs.js';

const LIVE_TRY_STATES = new Set(['queued', 'running']);

/** Where a try's log is read from. */
export type TryLogSource = { readonly kind: 'local'; readonly file: string } | { readonly kind: 'remote'; readonly store: ArtifactStore; readonly key: string };

/** Remote log stores opened by this process, by root URI; opening one costs an S3 client. */
const stores = new Map<string, Promise<ArtifactStore>>();

function storeAt(rootUri: string): Promise<ArtifactStore> {
  let s = stores.get(rootUri);
  if (!s) {
    // Loaded only when a shipped log is read: the S3 client is large.
    s = import('../artifacts/open.js').then(({ openArtifactStore }) => openArtifactStore(rootUri));
    stores.set(rootUri, s);
    s.catch(() => stores.delete(rootUri));
  }
  return s;
}

function keyParts(t: TaskTryRow) {
  return { dagId: t.dag_id, runId: t.run_id, taskId: t.task_id, mapIndex: Number(t.map_index), tryNumber: Number(t.try_number) };
}

function describeTry(t: TaskTryRow): string {
  return `try ${t.try_number} of ${t.task_id}${Number(t.map_index) >= 0 ? `[${t.map_index}]` : ''} in run '${t.run_id}' of DAG '${t.dag_id}'`;
}

/** The shipped copy of a try's log: where it was recorded, else where this process's setting would have put it. */
async function shippedCopy(t: TaskTryRow, remoteLogs: string | undefined): Promise<{ store: ArtifactStore; key: string } | undefined> {
  const configured = remoteLogs ? await storeAt(remoteLogs) : undefined;
  const recorded = t.remote_log_uri ?? undefined;
  if (recorded) {
    const inConfigured = configured?.keyOf(recorded);
    if (configured && inConfigured !== undefined) return { store: configured, key: inConfigured };
    // Shipped under another setting: read it through a store at the root of its bucket or disk.
    const parsed = parseArtifactUri(recorded);
    const root = await storeAt(parsed.scheme === 's3' ? `s3://${parsed.bucket}/` : 'file:///');
    const key = root.keyOf(recorded);
    return key === undefined ? undefined : { store: root, key };
  }
  if (!configured) return undefined;
  const key = logKey(keyParts(t));
  return (await configured.exists(key)) ? { store: configured, key } : undefined;
}

function logNotFound(t: TaskTryRow, remoteLogs: string | undefined): TrainyardError {
  const remote = t.remote_log_uri
    ? `its shipped copy ${t.remote_log_uri} does not exist either`
    : remoteLogs
      ? `it was not shipped to the remote log store ${remoteLogs}`
      : `remote logging is off on this server (set ${REMOTE_LOGS_ENV} to read shipped logs)`;
  return new TrainyardError('LOG_NOT_FOUND', `the log of ${describeTry(t)} is in neither place: it is not at ${t.log_path} on this machine, and ${remote}`);
}

/**
 * Where to read a try's log. A try that still runs reads its local file (which may not exist
 * yet). Throws LOG_NOT_FOUND when an ended try's log is neither local nor shipped.
 */
export async function locateTryLog(t: TaskTryRow, remoteLogs: string | undefined): Promise<TryLogSource> {
  if (LIVE_TRY_STATES.has(t.state) || (await fileExists(t.log_path))) return { kind: 'local', file: t.log_path };
  const copy = await shippedCopy(t, remoteLogs);
  if (!copy) throw logNotFound(t, remoteLogs);
  return { kind: 'remote', ...copy };
}

/** Up to `length` bytes of a try's log from `offset`, from wherever the log is. */
export async function readTryLog(t: TaskTryRow, remoteLogs: string | undefined, offset: number, length: number): Promise<LogChunk> {
  const source = await locateTryLog(t, remoteLogs);
  if (source.kind === 'local') return readLogRange(source.file, offset, length);
  try {
    return await readLog(source.store, source.key, { offset, length });
  } catch (e) {
    if ((e as TrainyardError).code === 'ARTIFACT_NOT_FOUND') throw logNotFound(t, remoteLogs);
    throw e;
  }
}

/**
 * followLog over wherever the log is: a shipped log does not grow, so it is read to its end
 * and the follow ends. A log that is nowhere yields nothing (as an empty log would).
 */
export async function* followTryLog(t: TaskTryRow, remoteLogs: string | undefined, o: Omit<FollowOptions, 'file'>): AsyncGenerator<FollowEvent> {
  let source: TryLogSource;
  try {
    source = await locateTryLog(t, remoteLogs);
  } catch (e) {
    if ((e as TrainyardError).code === 'LOG_NOT_FOUND') return;
    throw e;
  }
  if (source.kind === 'local') {
    yield* followLog({ ...o, file: source.file });
    return;
  }
  const chunkBytes = o.chunkBytes ?? 256 * 1024;
  for (let offset = o.offset; !o.signal.aborted; ) {
    const chunk = await readLog(source.store, source.key, { offset, length: chunkBytes });
    if (chunk.next_offset <= offset) return;
    offset = chunk.next_offset;
    yield { kind: 'data', ...chunk };
  }
}

/** Writes a whole try's log to `out`, from wherever it is, a chunk at a time. */
export async function writeTryLog(t: TaskTryRow, remoteLogs: string | undefined, out: NodeJS.WritableStream, chunkBytes = 1024 * 1024): Promise<void> {
  for (let offset = 0; ; ) {
    const chunk = await readTryLog(t, remoteLogs, offset, chunkBytes);
    if (chunk.next_offset <= offset) return;
    out.write(chunk.text);
    offset = chunk.next_offset;
  }
}

/** Whether an ended try's log has to be read from somewhere else than its local file (which is gone). */
export async function isShippedOnly(t: TaskTryRow): Promise<boolean> {
  return !LIVE_TRY_STATES.has(t.state) && !(await fileExists(t.log_path));
}
