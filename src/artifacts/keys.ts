import { ArtifactError } from './errors.js';

/** S3's limit on key length, applied to every backend so that keys stay portable. */
export const MAX_KEY_BYTES = 1024;

function checkSegments(kind: 'key' | 'prefix', value: string, segments: string[]): void {
  for (const s of segments) {
    if (s === '') throw new ArtifactError('ARTIFACT_KEY_INVALID', `artifact ${kind} ${JSON.stringify(value)} has an empty path segment ("//"); use single slashes between segments`);
    if (s === '.' || s === '..') throw new ArtifactError('ARTIFACT_KEY_INVALID', `artifact ${kind} ${JSON.stringify(value)} contains "${s}": keys are relative paths inside the store and may not step out of it`);
  }
}

function checkCommon(kind: 'key' | 'prefix', value: unknown): asserts value is string {
  if (typeof value !== 'string') throw new ArtifactError('ARTIFACT_KEY_INVALID', `artifact ${kind} must be a string, got ${typeof value}`);
  if (value.startsWith('/')) throw new ArtifactError('ARTIFACT_KEY_INVALID', `artifact ${kind} ${JSON.stringify(value)} is absolute; give a path relative to the store, without a leading "/"`);
  if (value.includes('\\')) throw new ArtifactError('ARTIFACT_KEY_INVALID', `artifact ${kind} ${JSON.stringify(value)} contains a backslash; separate segments with "/"`);
  // Control characters (NUL included) break file systems and S3 listings alike.
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) throw new ArtifactError('ARTIFACT_KEY_INVALID', `artifact ${kind} ${JSON.stringify(value)} contains a control character`);
  if (Buffer.byteLength(value) > MAX_KEY_BYTES) throw new ArtifactError('ARTIFACT_KEY_INVALID', `artifact ${kind} is ${Buffer.byteLength(value)} bytes long; the limit is ${MAX_KEY_BYTES}`);
}

/** Checks an object key (`a/b/c.bin`) and returns it. Throws ARTIFACT_KEY_INVALID for anything that could leave the store. */
export function validateKey(key: string): string {
  checkCommon('key', key);
  if (key === '') throw new ArtifactError('ARTIFACT_KEY_INVALID', 'artifact key is empty; name the object, for example "model/weights.bin"');
  if (key.endsWith('/')) throw new ArtifactError('ARTIFACT_KEY_INVALID', `artifact key ${JSON.stringify(key)} ends with "/": that is a prefix, not an object`);
  checkSegments('key', key, key.split('/'));
  return key;
}

/**
 * Checks a listing prefix and returns it. A prefix is matched as a string, as S3 does: `a/b`
 * matches `a/b/c` and `a/bc`. The empty prefix is the whole store.
 */
export function validatePrefix(prefix: string): string {
  checkCommon('prefix', prefix);
  if (prefix === '') return prefix;
  const segments = prefix.split('/');
  if (prefix.endsWith('/')) segments.pop();
  checkSegments('prefix', prefix, segments);
  return prefix;
}

/** Joins key parts with "/" and validates the result. */
export function joinKey(...parts: string[]): string {
  return validateKey(parts.filter((p) => p !== '').map((p) => p.replace(/^\/+|\/+$/g, '')).join('/'));
}

/** What identifies a task instance; the same fields as the executors' TryKey. */
export interface InstanceKeyParts {
  readonly dagId: string;
  readonly runId: string;
  readonly taskId: string;
  readonly mapIndex: number;
}

export interface TryKeyParts extends InstanceKeyParts {
  readonly tryNumber: number;
}

function part(name: string, value: string | number): string {
  const s = String(value);
  if (s === '' || s.includes('/') || s === '.' || s === '..') {
    throw new ArtifactError('ARTIFACT_KEY_INVALID', `${name} ${JSON.stringify(s)} cannot be used in an artifact path: it is empty or contains "/"`);
  }
  return `${name}=${s}`;
}

/** `dag_id=…/run_id=…/`: the prefix of every artifact of a DAG run. */
export function runPrefix(dagId: string, runId: string): string {
  return validatePrefix(`${part('dag_id', dagId)}/${part('run_id', runId)}/`);
}

/** `dag_id=…/run_id=…/task_id=…/map_index=…/`: the same for every try of a task instance (checkpoints live here). */
export function instancePrefix(k: InstanceKeyParts): string {
  return validatePrefix(`${runPrefix(k.dagId, k.runId)}${part('task_id', k.taskId)}/${part('map_index', k.mapIndex)}/`);
}

/**
 * `dag_id=…/run_id=…/task_id=…/map_index=…/attempt=N/`: one try's own prefix. It follows the
 * layout of `HomeLayout.artifactsDir` (scheduler/paths.ts), so a file store rooted at
 * `$TRAINYARD_HOME/artifacts` puts a try's objects in that try's artifacts directory.
 */
export function tryPrefix(k: TryKeyParts): string {
  if (!Number.isInteger(k.tryNumber) || k.tryNumber < 1) {
    throw new ArtifactError('ARTIFACT_KEY_INVALID', `try number ${k.tryNumber} is not a positive integer`);
  }
  return validatePrefix(`${instancePrefix(k)}attempt=${k.tryNumber}/`);
}
