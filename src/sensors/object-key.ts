import { DagValidationError, TrainyardError } from '../core/errors.js';
import type { SensorCheck } from './types.js';

export interface ObjectKeySensorOptions {
  /** A key relative to the artifact store's root, e.g. "datasets/2026-11-21/_SUCCESS". */
  key: string;
}

/** Errors that poking again cannot fix. */
const FATAL_CODES = new Set(['ARTIFACT_KEY_INVALID', 'ARTIFACT_URI_INVALID', 'ARTIFACT_CONFIG']);

/** Done when the key exists in the artifact store (filesystem or S3), through `ctx.artifacts`. */
export function objectKeySensor(opts: ObjectKeySensorOptions): SensorCheck {
  if (typeof opts?.key !== 'string' || opts.key.trim() === '') {
    throw new DagValidationError('SENSOR_OPTION_INVALID', 'objectKeySensor needs a key: an object key relative to the artifact store, such as "datasets/{{ ds }}/_SUCCESS".');
  }
  const key = opts.key;
  return async (ctx) => {
    if (!ctx.artifacts) {
      throw new TrainyardError('SENSOR_NO_ARTIFACT_STORE', `objectKeySensor for '${key}' has no artifact store to look in: configure one (TRAINYARD_ARTIFACTS_URI).`);
    }
    try {
      if (await ctx.artifacts.exists(key)) return { done: true, value: { key } };
    } catch (e) {
      if (e instanceof TrainyardError && FATAL_CODES.has(e.code)) throw e;
      return { done: false, detail: `could not check whether '${key}' exists: ${(e as Error).message}; checking again` };
    }
    return { done: false, detail: `object '${key}' does not exist in the artifact store yet` };
  };
}
