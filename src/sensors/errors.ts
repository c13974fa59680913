import { TrainyardError } from '../core/errors.js';

/**
 * A sensor that is done, with failure: what it waits for can no longer happen (the other DAG's
 * run failed, the endpoint answered with a status that means "never"). The sensor's task fails
 * with this message; it is not retried by poking again.
 */
export class SensorFailed extends TrainyardError {
  constructor(
    message: string,
    readonly detail?: Readonly<Record<string, unknown>>,
  ) {
    super('SENSOR_FAILED', message);
    this.name = 'SensorFailed';
  }
}

export function isSensorFailed(e: unknown): e is SensorFailed {
  return e instanceof SensorFailed || (e instanceof TrainyardError && e.code === 'SENSOR_FAILED');
}
