/**
 * Sensors: checks that wait for something (a file, an object key, another DAG's run, an HTTP
 * endpoint, a time) and the runner that pokes many of them from the scheduler's process.
 */
export type { SensorCheck, SensorContext, SensorResult, ArtifactExistence } from './types.js';
export { SensorFailed, isSensorFailed } from './errors.js';
export {
  validateSensorOptions,
  nextPokeDelay,
  sensorTimedOut,
  formatDurationMs,
  DEFAULT_POKE_INTERVAL_MS,
  DEFAULT_SENSOR_TIMEOUT_MS,
  DEFAULT_MAX_WAIT_MS,
  MIN_POKE_INTERVAL_MS,
  type SensorOptions,
  type SensorOptionsInput,
  type SensorWhere,
  type PokeDelayInput,
} from './options.js';
export { fileSensor, type FileSensorOptions } from './file.js';
export { objectKeySensor, type ObjectKeySensorOptions } from './object-key.js';
export { externalTaskSensor, type ExternalTaskSensorOptions } from './external-task.js';
export { httpSensor, type HttpSensorOptions, type HttpResponseInfo } from './http.js';
export { timeDeltaSensor, dateTimeSensor } from './time.js';
export { sensorFromSpec, SENSOR_KINDS, type SensorSpec } from './spec.js';
export { matchGlob, findFirstMatch, segmentRegExp, hasMagic, type GlobSearchOptions, type GlobSearchResult } from './glob.js';
export {
  SensorRunner,
  DEFAULT_MAX_IN_FLIGHT,
  DEFAULT_TICK_MS,
  type SensorRunnerOptions,
  type SensorRunnerListeners,
  type AddSensorOptions,
  type SensorProgress,
} from './runner.js';
export { realClock, ManualClock, settle, type SensorClock } from './clock.js';
