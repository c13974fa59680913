import { describe, expect, it } from 'vitest';
import { assertValidConfigEnv, checkConfigEnv, didYouMean, editDistance, settingChecks } from './config-validate.js';
import { SETTINGS } from './config.js';

describe('config validation', () => {
  it('names the key, the value, the allowed values and the env var of an invalid value', () => {
    const { errors } = checkConfigEnv({ TRAINYARD_PARALLELISM: 'lots' });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ key: 'parallelism', env: 'TRAINYARD_PARALLELISM', value: 'lots', allowed: 'a whole number ≥ 1' });
    expect(errors[0].message).toMatch(/^invalid value for parallelism: TRAINYARD_PARALLELISM='lots' \(.*\); allowed: a whole number ≥ 1$/);
  });

  it('checks durations, enums and ports, and reports every problem at once', () => {
    const env = { TRAINYARD_KILL_GRACE: '10 parsecs', TRAINYARD_AUTH: 'oauth', TRAINYARD_PORT: '70000', TRAINYARD_LOG_LEVEL: 'loud', TRAINYARD_WORKERS: '2' };
    const { errors } = checkConfigEnv(env);
    expect(errors.map((e) => e.env).sort()).toEqual(['TRAINYARD_AUTH', 'TRAINYARD_KILL_GRACE', 'TRAINYARD_LOG_LEVEL', 'TRAINYARD_PORT']);
    expect(errors.find((e) => e.env === 'TRAINYARD_AUTH')!.message).toContain("allowed: password, none");
    expect(errors.find((e) => e.env === 'TRAINYARD_KILL_GRACE')!.message).toContain('30s');
    expect(() => assertValidConfigEnv(env, () => {})).toThrow(/4 invalid settings:\n  - invalid value for/);
    expect(() => assertValidConfigEnv({ TRAINYARD_PARALLELISM: '8', TRAINYARD_KILL_GRACE: '30s', TRAINYARD_GPUS: '0' }, () => {})).not.toThrow();
  });

  it('warns about unknown TRAINYARD_* variables with a did-you-mean, and ignores known families', () => {
    const warnings: string[] = [];
    assertValidConfigEnv(
      { TRAINYARD_PARALELISM: '4', TRAINYARD_DATABSE_URL: 'x', TRAINYARD_TOTALLY_UNRELATED_THING: '1', TRAINYARD_SECRET_HF_TOKEN: 'x', TRAINYARD_DAG_ID: 'd', TRAINYARD_PG_PORT: '1', PATH: '/bin' },
      (w) => warnings.push(w),
    );
    expect(warnings).toEqual([
      'unknown setting TRAINYARD_DATABSE_URL is ignored; did you mean TRAINYARD_DATABASE_URL?',
      'unknown setting TRAINYARD_PARALELISM is ignored; did you mean TRAINYARD_PARALLELISM?',
      'unknown setting TRAINYARD_TOTALLY_UNRELATED_THING is ignored',
    ]);
  });

  it('covers every setting of config.ts with an allowed-values text', () => {
    const checks = settingChecks();
    for (const s of SETTINGS) expect(checks.find((c) => c.env === s.env)?.allowed, s.env).toBeTruthy();
  });

  it('computes edit distances with transpositions', () => {
    expect(editDistance('WORKERS', 'WROKERS')).toBe(1);
    expect(editDistance('GPUS', 'GPU')).toBe(1);
    expect(didYouMean('TRAINYARD_GPU', ['TRAINYARD_GPUS', 'TRAINYARD_HOME'])).toBe('TRAINYARD_GPUS');
    expect(didYouMean('TRAINYARD_XYZZY_PLUGH', ['TRAINYARD_GPUS', 'TRAINYARD_HOME'])).toBeUndefined();
  });
});
