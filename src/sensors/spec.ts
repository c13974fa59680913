/**
 * Built-in sensors as data: what a DAG spec can store (JSON) and the scheduler can turn back
 * into a check without running user code. Template fields (path, key, url) are rendered by the
 * scheduler before `sensorFromSpec`.
 */
import { DagValidationError } from '../core/errors.js';
import { externalTaskSensor, type ExternalTaskSensorOptions } from './external-task.js';
import { fileSensor } from './file.js';
import { httpSensor } from './http.js';
import { objectKeySensor } from './object-key.js';
import { dateTimeSensor, timeDeltaSensor } from './time.js';
import type { SensorCheck } from './types.js';

export type SensorSpec =
  | { kind: 'file'; path: string }
  | { kind: 'object_key'; key: string }
  | ({ kind: 'external_task' } & ExternalTaskSensorOptions)
  | {
      kind: 'http';
      url: string;
      method?: string;
      headers?: Record<string, string>;
      expectStatus?: number | number[];
      failStatus?: number[];
      /** Done only when the body contains this text. */
      bodyContains?: string;
      /** Default 10 seconds. */
      timeoutMs?: number;
    }
  | { kind: 'time_delta'; delta: string | number }
  | { kind: 'date_time'; at: number | string };

export const SENSOR_KINDS = ['file', 'object_key', 'external_task', 'http', 'time_delta', 'date_time'] as const;

/** The check for a built-in sensor spec. Throws DagValidationError for a bad spec. */
export function sensorFromSpec(spec: SensorSpec): SensorCheck {
  switch (spec?.kind) {
    case 'file':
      return fileSensor({ path: spec.path });
    case 'object_key':
      return objectKeySensor({ key: spec.key });
    case 'external_task':
      return externalTaskSensor(spec);
    case 'http': {
      const needle = spec.bodyContains;
      return httpSensor({
        url: spec.url,
        method: spec.method,
        headers: spec.headers,
        expectStatus: spec.expectStatus,
        failStatus: spec.failStatus,
        timeoutMs: spec.timeoutMs ?? 10_000,
        ...(needle !== undefined ? { responseCheck: (body: unknown) => (typeof body === 'string' ? body : JSON.stringify(body)).includes(needle) } : {}),
      });
    }
    case 'time_delta':
      return timeDeltaSensor({ delta: spec.delta });
    case 'date_time':
      return dateTimeSensor({ at: spec.at });
    default:
      throw new DagValidationError(
        'SENSOR_KIND_UNKNOWN',
        `Unknown sensor kind ${JSON.stringify((spec as { kind?: unknown })?.kind)}. Use one of: ${SENSOR_KINDS.join(', ')}, or write a custom check function.`,
      );
  }
}
