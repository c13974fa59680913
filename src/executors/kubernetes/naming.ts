/**
 * Names, labels and annotations of a try's pod. Pure: the same try key (and executor id)
 * always gives the same pod name, so a repeated launch after a crash finds the pod it made
 * instead of making a second one.
 */
import { createHash } from 'node:crypto';
import { tryKeyString, type TryKey } from '../types.js';

export const LABEL_PREFIX = 'trainyard.dev/';
export const LABELS = {
  managedBy: 'trainyard.dev/managed-by',
  dagId: 'trainyard.dev/dag-id',
  runId: 'trainyard.dev/run-id',
  taskId: 'trainyard.dev/task-id',
  mapIndex: 'trainyard.dev/map-index',
  tryNumber: 'trainyard.dev/try',
} as const;

/** Annotations carry the full, unaltered ids (labels may be shortened or hashed). */
export const ANNOTATIONS = {
  dagId: 'trainyard.dev/dag-id',
  runId: 'trainyard.dev/run-id',
  taskId: 'trainyard.dev/task-id',
  mapIndex: 'trainyard.dev/map-index',
  tryNumber: 'trainyard.dev/try',
  tryKey: 'trainyard.dev/try-key',
} as const;

const MAX_NAME = 63;
const MAX_LABEL_VALUE = 63;
const HASH_LEN = 10;
const LABEL_VALUE_RE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** A short, lowercase base-32 digest (DNS- and label-safe). */
export function shortHash(text: string, length = HASH_LEN): string {
  const digest = createHash('sha256').update(text).digest();
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of digest) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < length) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    if (out.length >= length) break;
  }
  return out;
}

/** Lowercase DNS-label characters only, runs of others collapsed to '-', trimmed to `max`. */
function slug(text: string, max: number): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, max)
    .replace(/^-+|-+$/g, '');
}

/**
 * The pod name of a try: `<dag>-<task>[-m<map>]-t<try>-<hash>`, at most 63 characters,
 * lowercase DNS-safe, starting with a letter. The hash covers the executor id and the full
 * try key (run id included), so two tries never share a name even when their readable parts
 * were shortened alike.
 */
export function podName(key: TryKey, executorId: string): string {
  const hash = shortHash(`${executorId}\u0000${tryKeyString(key)}`);
  const tail = `${key.mapIndex >= 0 ? `-m${key.mapIndex}` : ''}-t${key.tryNumber}-${hash}`;
  const budget = MAX_NAME - tail.length; // for "<dag>-<task>"
  const dagMax = Math.min(20, Math.floor((budget - 1) / 2));
  const dag = slug(/^[a-z]/i.test(key.dagId) ? key.dagId : `ty-${key.dagId}`, dagMax) || 'ty';
  const task = slug(key.taskId, budget - dag.length - 1);
  return `${task ? `${dag}-${task}` : dag}${tail}`;
}

/**
 * A label value for an id: the id itself when it is a valid label value, otherwise a
 * sanitised prefix plus a hash of the full id (so different ids stay different and the same
 * id always maps to the same value). Full ids are in the annotations.
 */
export function labelValue(id: string): string {
  if (id.length <= MAX_LABEL_VALUE && LABEL_VALUE_RE.test(id)) return id;
  const hash = shortHash(id);
  const prefix = id
    .replace(/[^A-Za-z0-9_.-]+/g, '_')
    .slice(0, MAX_LABEL_VALUE - hash.length - 1)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  return prefix ? `${prefix}-${hash}` : hash;
}

/** Labels of a try's pod: the executor's marker plus the try key (label-safe). */
export function tryLabels(key: TryKey, executorId: string): Record<string, string> {
  return {
    [LABELS.managedBy]: labelValue(executorId),
    [LABELS.dagId]: labelValue(key.dagId),
    [LABELS.runId]: labelValue(key.runId),
    [LABELS.taskId]: labelValue(key.taskId),
    [LABELS.mapIndex]: key.mapIndex >= 0 ? String(key.mapIndex) : 'none',
    [LABELS.tryNumber]: String(key.tryNumber),
  };
}

/** Annotations of a try's pod: the full ids. */
export function tryAnnotations(key: TryKey): Record<string, string> {
  return {
    [ANNOTATIONS.dagId]: key.dagId,
    [ANNOTATIONS.runId]: key.runId,
    [ANNOTATIONS.taskId]: key.taskId,
    [ANNOTATIONS.mapIndex]: String(key.mapIndex),
    [ANNOTATIONS.tryNumber]: String(key.tryNumber),
    [ANNOTATIONS.tryKey]: tryKeyString(key),
  };
}

/** The try key a pod belongs to, read from its annotations; undefined when it is not a try pod. */
export function tryKeyOfPod(annotations: Readonly<Record<string, string>> | undefined): TryKey | undefined {
  if (!annotations) return undefined;
  const dagId = annotations[ANNOTATIONS.dagId];
  const runId = annotations[ANNOTATIONS.runId];
  const taskId = annotations[ANNOTATIONS.taskId];
  const mapIndex = Number(annotations[ANNOTATIONS.mapIndex]);
  const tryNumber = Number(annotations[ANNOTATIONS.tryNumber]);
  if (dagId === undefined || runId === undefined || taskId === undefined) return undefined;
  if (!Number.isInteger(mapIndex) || !Number.isInteger(tryNumber)) return undefined;
  return { dagId, runId, taskId, mapIndex, tryNumber };
}

/** The label selector of every pod this executor manages. */
export function managedSelector(executorId: string): string {
  return `${LABELS.managedBy}=${labelValue(executorId)}`;
}
