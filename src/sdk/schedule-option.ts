import { DagValidationError } from '../core/errors.js';
import { parseDuration } from '../core/retry.js';
import type { ScheduleSpec } from '../core/spec.js';
import type { AssetExpr } from '../core/assets.js';

const PRESETS = new Set(['@hourly', '@daily', '@weekly', '@monthly', '@yearly', '@annually', '@midnight']);

/** The DAG's `schedule` option as a spec: none, a cron expression or preset, or a fixed interval. */
export function parseSchedule(dagId: string, schedule: string | AssetExpr | null | undefined, timezone = 'UTC'): ScheduleSpec {
  if (typeof schedule === 'object' && schedule !== null) return { kind: 'assets', expr: schedule };
  if (schedule === undefined || schedule === null || schedule === 'none' || schedule === '@once') return { kind: 'none' };
  const s = schedule.trim();
  if (PRESETS.has(s)) return { kind: 'cron', expression: s, timezone };
  if (s.startsWith('@') || s.split(/\s+/).length === 5) return { kind: 'cron', expression: s, timezone };
  if (/^\d/.test(s)) {
    try {
      return { kind: 'interval', everyMs: parseDuration(s) };
    } catch {
      // fall through to the error below
    }
  }
  throw new DagValidationError(
    'INVALID_SCHEDULE',
    `DAG '${dagId}': invalid schedule '${schedule}'. Use a 5-field cron expression ("0 2 * * *"), a preset (${[...PRESETS].join(', ')}), an interval ("15m", "6h"), or null for manual runs`,
    dagId,
  );
}

/** Asset schedules: `schedule: assets.any('s3://b/features', 's3://b/labels')`. */
export const assets = {
  any: (...items: (string | AssetExpr)[]): AssetExpr => ({ any: items.map((i) => (typeof i === 'string' ? { uri: i } : i)) }),
  all: (...items: (string | AssetExpr)[]): AssetExpr => ({ all: items.map((i) => (typeof i === 'string' ? { uri: i } : i)) }),
};
