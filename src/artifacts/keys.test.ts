import { describe, expect, it } from 'vitest';
import { ArtifactError } from './errors.js';
import { instancePrefix, joinKey, runPrefix, tryPrefix, validateKey, validatePrefix } from './keys.js';
import { logKey } from './remote-log.js';

const K = { dagId: 'digits', runId: 'scheduled__2026-01-01T00:00:00+00:00', taskId: 'train', mapIndex: -1, tryNumber: 1 };

describe('artifact keys', () => {
  it('gives each try its own prefix in the Airflow-style layout', () => {
    expect(tryPrefix(K)).toBe('dag_id=digits/run_id=scheduled__2026-01-01T00:00:00+00:00/task_id=train/map_index=-1/attempt=1/');
    expect(tryPrefix({ ...K, tryNumber: 2 })).toBe(`${instancePrefix(K)}attempt=2/`);
    expect(instancePrefix(K)).toBe(`${runPrefix(K.dagId, K.runId)}task_id=train/map_index=-1/`);
    expect(logKey(K)).toBe('dag_id=digits/run_id=scheduled__2026-01-01T00:00:00+00:00/task_id=train/map_index=-1/attempt=1.log');
  });

  it('refuses identifiers that would add or remove path segments', () => {
    expect(() => tryPrefix({ ...K, runId: 'a/b' })).toThrow(/run_id "a\/b"/);
    expect(() => tryPrefix({ ...K, dagId: '..' })).toThrow(ArtifactError);
    expect(() => tryPrefix({ ...K, taskId: '' })).toThrow(ArtifactError);
    expect(() => tryPrefix({ ...K, tryNumber: 0 })).toThrow(/not a positive integer/);
  });

  it('accepts relative keys and refuses escapes with a message that says why', () => {
    expect(validateKey('a/b.c/d..e')).toBe('a/b.c/d..e');
    expect(() => validateKey('../x')).toThrow(/may not step out/);
    expect(() => validateKey('/x')).toThrow(/absolute/);
    expect(() => validateKey('a//x')).toThrow(/empty path segment/);
    expect(() => validateKey('a/')).toThrow(/prefix, not an object/);
    expect(() => validateKey('')).toThrow(/empty/);
    expect(() => validateKey('a\\..\\x')).toThrow(/backslash/);
    expect(() => validateKey('a\nb')).toThrow(/control character/);
    expect(() => validateKey(42 as unknown as string)).toThrow(/must be a string/);
    try {
      validateKey('../x');
    } catch (e) {
      expect((e as ArtifactError).code).toBe('ARTIFACT_KEY_INVALID');
    }
  });

  it('accepts prefixes with or without a trailing slash, and the empty one', () => {
    expect(validatePrefix('')).toBe('');
    expect(validatePrefix('a/b/')).toBe('a/b/');
    expect(validatePrefix('a/b')).toBe('a/b');
    expect(() => validatePrefix('a/../')).toThrow(ArtifactError);
    expect(() => validatePrefix('/a/')).toThrow(ArtifactError);
  });

  it('joins parts', () => {
    expect(joinKey('a/', '/b', 'c.txt')).toBe('a/b/c.txt');
    expect(joinKey(tryPrefix(K), 'result.json')).toBe(`${tryPrefix(K)}result.json`);
    expect(() => joinKey('a', '..', 'b')).toThrow(ArtifactError);
  });
});
