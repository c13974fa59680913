import type { Store } from '../store/store.js';

/** What a sensor check sees. Time is a parameter, as everywhere in the scheduler. */
export interface SensorContext {
  /** Epoch milliseconds at the start of this check. */
  readonly now: number;
  /** Aborted when the check runs past its deadline or the sensor is removed. */
  readonly signal: AbortSignal;
  /** The metadata store, for sensors that read other runs (externalTaskSensor). */
  readonly store?: Store;
  /** The artifact store, seen through the one method sensors need. */
  readonly artifacts?: ArtifactExistence;
  /** The logical date of the run the sensor belongs to, epoch milliseconds. */
  readonly logicalDate: number;
}

/** The port objectKeySensor needs; an ArtifactStore (src/artifacts) satisfies it. */
export interface ArtifactExistence {
  exists(key: string): Promise<boolean>;
}

/**
 * The outcome of one check. `done: false` carries a plain-words "why still waiting" for the
 * UI ("no file matches /data/2026-11-21/*.parquet yet"). A check that must end the sensor as
 * failed throws SensorFailed; any other error it throws also ends the sensor (see SensorRunner).
 */
export type SensorResult = { done: true; value?: unknown } | { done: false; detail: string };

/** A sensor: an async check, called once per poke. Built-in ones are made by fileSensor() and friends. */
export type SensorCheck = (ctx: SensorContext) => Promise<SensorResult>;
