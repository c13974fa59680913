import { describe, expect, it } from 'vitest';
import { DagValidationError } from '../core/errors.js';
import { formatDurationMs, nextPokeDelay, sensorTimedOut, validateSensorOptions } from './options.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DagValidationError);
    return (e as DagValidationError).code;
  }
  return undefined;
}

describe('validateSensorOptions', () => {
  it('fills Airflow-like defaults', () => {
    expect(validateSensorOptions({})).toEqual({
      pokeIntervalMs: 60_000,
      timeoutMs: 7 * 86_400_000,
      softFail: false,
      exponentialBackoff: false,
      maxWaitMs: 3_600_000,
    });
  });

  it('takes durations as text or milliseconds', () => {
    expect(validateSensorOptions({ pokeInterval: '30s', timeout: '1h', maxWait: 600_000, softFail: true, exponentialBackoff: true })).toEqual({
      pokeIntervalMs: 30_000,
      timeoutMs: 3_600_000,
      softFail: true,
      exponentialBackoff: true,
      maxWaitMs: 600_000,
    });
  });

  it('refuses a timeout shorter than the poke interval, naming both and the fix', () => {
    let err: DagValidationError | undefined;
    try {
      validateSensorOptions({ pokeInterval: '30s', timeout: '10s' }, { dagId: 'train', taskId: 'wait_for_data' });
    } catch (e) {
      err = e as DagValidationError;
    }
    expect(err).toBeInstanceOf(DagValidationError);
    expect(err!.code).toBe('SENSOR_TIMEOUT_TOO_SHORT');
    expect(err!.dagId).toBe('train');
    expect(err!.message).toBe(
      "Sensor 'wait_for_data' in DAG 'train': timeout 10s is shorter than pokeInterval 30s: the sensor would time out before its second check. " +
        'Raise timeout to at least 30s, or lower pokeInterval.',
    );
  });

  it('names each bad field with its own code', () => {
    expect(codeOf(() => validateSensorOptions({ pokeInterval: 'soon' }))).toBe('SENSOR_POKE_INTERVAL_INVALID');
    expect(codeOf(() => validateSensorOptions({ pokeInterval: 10 }))).toBe('SENSOR_POKE_INTERVAL_INVALID');
    expect(codeOf(() => validateSensorOptions({ timeout: -5 }))).toBe('SENSOR_TIMEOUT_INVALID');
    expect(codeOf(() => validateSensorOptions({ pokeInterval: '1m', maxWait: '30s' }))).toBe('SENSOR_MAX_WAIT_TOO_SHORT');
    expect(codeOf(() => validateSensorOptions({ maxWait: 'x' }))).toBe('SENSOR_MAX_WAIT_INVALID');
    expect(codeOf(() => validateSensorOptions({ softFail: 'yes' as unknown as boolean }))).toBe('SENSOR_OPTION_INVALID');
    expect(codeOf(() => validateSensorOptions({ exponentialBackoff: 1 as unknown as boolean }))).toBe('SENSOR_OPTION_INVALID');
    expect(codeOf(() => validateSensorOptions({ pokeInterval: '30s', timeout: '30s' }))).toBeUndefined();
  });
});

describe('nextPokeDelay', () => {
  it('is the poke interval without backoff', () => {
    for (const pokes of [1, 2, 10]) expect(nextPokeDelay({ pokeIntervalMs: 5000, exponentialBackoff: false, pokes }, () => 0.3)).toBe(5000);
  });

  it('doubles with backoff, spread over [nominal/2, nominal], never under the interval nor over maxWait', () => {
    const top = (pokes: number) => nextPokeDelay({ pokeIntervalMs: 1000, exponentialBackoff: true, pokes, maxWaitMs: 20_000 }, () => 1);
    const bottom = (pokes: number) => nextPokeDelay({ pokeIntervalMs: 1000, exponentialBackoff: true, pokes, maxWaitMs: 20_000 }, () => 0);
    expect([1, 2, 3, 4, 5, 6, 7].map(top)).toEqual([1000, 2000, 4000, 8000, 16_000, 20_000, 20_000]);
    expect([1, 2, 3, 4, 5, 6, 7].map(bottom)).toEqual([1000, 1000, 2000, 4000, 8000, 10_000, 10_000]);
    expect(nextPokeDelay({ pokeIntervalMs: 1000, exponentialBackoff: true, pokes: 3 }, () => 0.5)).toBe(3000);
  });

  it('stays finite for absurd inputs', () => {
    expect(nextPokeDelay({ pokeIntervalMs: 1000, exponentialBackoff: true, pokes: 1e9 }, () => NaN)).toBe(1_800_000);
    expect(nextPokeDelay({ pokeIntervalMs: 1000, exponentialBackoff: true, pokes: NaN }, () => 2)).toBe(1000);
  });
});

describe('sensorTimedOut', () => {
  it('counts from the first check', () => {
    expect(sensorTimedOut({ firstCheckAt: 1000, timeoutMs: 500, now: 1499 })).toBe(false);
    expect(sensorTimedOut({ firstCheckAt: 1000, timeoutMs: 500, now: 1500 })).toBe(true);
  });
});

describe('formatDurationMs', () => {
  it('writes the shortest exact text', () => {
    expect([250, 1000, 30_000, 90_000, 5_400_000, 86_400_000, 1500].map(formatDurationMs)).toEqual(['250ms', '1s', '30s', '1m30s', '1h30m', '1d', '1500ms']);
  });
});
