import { describe, expect, it } from 'vitest';
import { TrainyardError } from './errors.js';
import { FAILURE_CLASSES, retryTreatment, type FailureClass } from './failure.js';
import {
  DEFAULT_MAX_RETRY_DELAY_MS,
  parseDuration,
  retryDelayMs,
  shouldRetry,
  type ShouldRetryOptions,
} from './retry.js';

const never = (): number => {
  throw new Error('random must not be called');
};
const low = (): number => 0;
const high = (): number => 0.999_999;
const half = (): number => 0.5;

describe('retryDelayMs without backoff', () => {
  it('returns the base delay for every try', () => {
    for (const tryNumber of [1, 2, 5, 100]) {
      expect(retryDelayMs({ baseDelayMs: 300_000, tryNumber, exponentialBackoff: false }, never)).toBe(
        300_000,
      );
    }
  });

  it('does not add jitter even when asked, and never calls random', () => {
    expect(
      retryDelayMs({ baseDelayMs: 1000, tryNumber: 3, exponentialBackoff: false, jitter: true }, never),
    ).toBe(1000);
  });

  it('is capped by maxDelayMs', () => {
    expect(
      retryDelayMs({ baseDelayMs: 10_000, tryNumber: 1, exponentialBackoff: false, maxDelayMs: 5000 }, never),
    ).toBe(5000);
  });

  it('is never negative', () => {
    expect(retryDelayMs({ baseDelayMs: -5, tryNumber: 1, exponentialBackoff: false }, never)).toBe(0);
    expect(retryDelayMs({ baseDelayMs: Number.NaN, tryNumber: 1, exponentialBackoff: false }, never)).toBe(0);
  });
});

describe('retryDelayMs with backoff', () => {
  const exp = (tryNumber: number, extra: Partial<Parameters<typeof retryDelayMs>[0]> = {}) => ({
    baseDelayMs: 1000,
    tryNumber,
    exponentialBackoff: true,
    jitter: false,
    ...extra,
  });

  it('doubles per try without jitter: base × 2^(try − 1)', () => {
    expect([1, 2, 3, 4, 5].map((t) => retryDelayMs(exp(t), never))).toEqual([1000, 2000, 4000, 8000, 16000]);
  });

  it('treats try numbers below 1 as the first try', () => {
    expect(retryDelayMs(exp(0), never)).toBe(1000);
    expect(retryDelayMs(exp(-3), never)).toBe(1000);
  });

  it('jitters in [delay / 2, delay], driven by the injected random', () => {
    expect(retryDelayMs(exp(3, { jitter: true }), low)).toBe(2000);
    expect(retryDelayMs(exp(3, { jitter: true }), half)).toBe(3000);
    expect(retryDelayMs(exp(3, { jitter: true }), high)).toBe(3999);
    expect(retryDelayMs(exp(3, { jitter: true }), () => 1)).toBe(4000);
  });

  it('jitters by default when backing off', () => {
    expect(retryDelayMs({ baseDelayMs: 1000, tryNumber: 2, exponentialBackoff: true }, low)).toBe(1000);
    expect(retryDelayMs({ baseDelayMs: 1000, tryNumber: 2, exponentialBackoff: true }, half)).toBe(1500);
  });

  it('clamps a misbehaving random into [0, 1]', () => {
    expect(retryDelayMs(exp(1, { jitter: true }), () => -4)).toBe(500);
    expect(retryDelayMs(exp(1, { jitter: true }), () => 7)).toBe(1000);
    expect(retryDelayMs(exp(1, { jitter: true }), () => Number.NaN)).toBe(500);
  });

  it('caps at maxDelayMs, and jitters within the cap', () => {
    expect(retryDelayMs(exp(10, { maxDelayMs: 60_000 }), never)).toBe(60_000);
    expect(retryDelayMs(exp(10, { maxDelayMs: 60_000, jitter: true }), low)).toBe(30_000);
    expect(retryDelayMs(exp(10, { maxDelayMs: 60_000, jitter: true }), high)).toBeLessThanOrEqual(60_000);
  });

  it('caps at 24 hours by default', () => {
    expect(DEFAULT_MAX_RETRY_DELAY_MS).toBe(86_400_000);
    expect(retryDelayMs(exp(40), never)).toBe(86_400_000);
  });

  it('stays finite and capped for huge try numbers', () => {
    for (const tryNumber of [1100, 1e9, Number.MAX_SAFE_INTEGER, Infinity]) {
      const d = retryDelayMs(exp(tryNumber), never);
      expect(d).toBe(86_400_000);
    }
    expect(retryDelayMs(exp(5000, { maxDelayMs: Infinity }), never)).toBeLessThanOrEqual(
      Number.MAX_SAFE_INTEGER,
    );
  });

  it('is 0 for a zero base delay, whatever the try', () => {
    expect(retryDelayMs(exp(2000, { baseDelayMs: 0, jitter: true }), high)).toBe(0);
  });

  it('returns whole milliseconds', () => {
    const d = retryDelayMs(exp(1, { baseDelayMs: 3, jitter: true }), () => 0.3);
    expect(Number.isInteger(d)).toBe(true);
  });

  it('never exceeds the nominal delay over many random draws', () => {
    let seed = 42;
    const lcg = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 1000; i++) {
      const d = retryDelayMs(exp(4, { jitter: true }), lcg);
      expect(d).toBeGreaterThanOrEqual(4000);
      expect(d).toBeLessThanOrEqual(8000);
    }
  });
});

describe('shouldRetry', () => {
  const opts = (over: Partial<ShouldRetryOptions>): ShouldRetryOptions => ({
    failureClass: 'user_error',
    tryNumber: 1,
    retries: 2,
    freeRetriesUsed: 0,
    freeRetryCap: 3,
    ...over,
  });

  it('retries a budget class while retries remain, counting each', () => {
    const first = shouldRetry(opts({ tryNumber: 1 }));
    expect(first).toMatchObject({ retry: true, countsAgainstBudget: true });
    expect(first.reason).toContain('retry 1 of 2');
    expect(shouldRetry(opts({ tryNumber: 2 }))).toMatchObject({ retry: true, countsAgainstBudget: true });
    const last = shouldRetry(opts({ tryNumber: 3 }));
    expect(last).toMatchObject({ retry: false });
    expect(last.reason).toContain('all 2 retries are used');
  });

  it('does not retry a budget class with retries = 0, and says how to enable retries', () => {
    const d = shouldRetry(opts({ retries: 0 }));
    expect(d.retry).toBe(false);
    expect(d.reason).toMatch(/no retries.*Set retries/);
  });

  it('does not count earlier free retries against the budget', () => {
    // try 1 evicted (free), try 2 evicted (free), try 3 user error: first budget retry.
    expect(shouldRetry(opts({ tryNumber: 3, retries: 1, freeRetriesUsed: 2 }))).toMatchObject({
      retry: true,
      countsAgainstBudget: true,
    });
    expect(shouldRetry(opts({ tryNumber: 4, retries: 1, freeRetriesUsed: 2 })).retry).toBe(false);
  });

  it('retries every budget class the same way', () => {
    const budget = FAILURE_CLASSES.filter((c) => retryTreatment(c) === 'budget');
    expect(budget).toEqual(
      expect.arrayContaining(['user_error', 'oom_killed', 'execution_timeout', 'startup_timeout']),
    );
    for (const failureClass of budget) {
      expect(shouldRetry(opts({ failureClass, tryNumber: 1, retries: 1 })).retry).toBe(true);
      expect(shouldRetry(opts({ failureClass, tryNumber: 2, retries: 1 })).retry).toBe(false);
    }
  });

  it('retries a free class without using the budget, up to the free cap', () => {
    for (const failureClass of ['evicted', 'preempted', 'lost'] as FailureClass[]) {
      const d = shouldRetry(opts({ failureClass, tryNumber: 5, retries: 0, freeRetriesUsed: 2, freeRetryCap: 3 }));
      expect(d).toMatchObject({ retry: true, countsAgainstBudget: false });
      expect(d.reason).toContain('free retry 3 of 3');
    }
  });

  it('falls back to the budget once the free cap is spent', () => {
    const withBudget = shouldRetry(
      opts({ failureClass: 'evicted', tryNumber: 4, retries: 1, freeRetriesUsed: 3, freeRetryCap: 3 }),
    );
    expect(withBudget).toMatchObject({ retry: true, countsAgainstBudget: true });
    expect(withBudget.reason).toContain('free retries are used up');
    const without = shouldRetry(
      opts({ failureClass: 'evicted', tryNumber: 4, retries: 0, freeRetriesUsed: 3, freeRetryCap: 3 }),
    );
    expect(without).toMatchObject({ retry: false, countsAgainstBudget: true });
  });

  it('with a free cap of 0, treats a free class like a budget class', () => {
    expect(shouldRetry(opts({ failureClass: 'lost', freeRetryCap: 0, retries: 1 }))).toMatchObject({
      retry: true,
      countsAgainstBudget: true,
    });
  });

  it('never retries a never class, whatever the budget', () => {
    const neverClasses = FAILURE_CLASSES.filter((c) => retryTreatment(c) === 'never');
    expect(neverClasses).toEqual(expect.arrayContaining(['image_pull', 'config', 'cancelled']));
    for (const failureClass of neverClasses) {
      const d = shouldRetry(opts({ failureClass, retries: 10, freeRetryCap: 10 }));
      expect(d).toMatchObject({ retry: false, countsAgainstBudget: false });
      expect(d.reason).toContain('never retried');
      expect(d.reason).toContain(failureClass);
    }
  });

  it('gives every class a reason in plain words', () => {
    for (const failureClass of FAILURE_CLASSES) {
      const d = shouldRetry(opts({ failureClass }));
      expect(d.reason.length).toBeGreaterThan(10);
      expect(d.reason).not.toMatch(/undefined|null|NaN/);
    }
  });
});

describe('parseDuration', () => {
  const cases: [string | number, number][] = [
    ['500ms', 500],
    ['5s', 5000],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['1d', 86_400_000],
    ['1d2h3m4s5ms', 86_400_000 + 7_200_000 + 180_000 + 4000 + 5],
    ['1.5h', 5_400_000],
    ['0s', 0],
    [' 10s ', 10_000],
    ['250', 250],
    [1500, 1500],
    [0, 0],
    [2.6, 3],
  ];
  for (const [input, want] of cases) {
    it(`parses ${JSON.stringify(input)} as ${want} ms`, () => {
      expect(parseDuration(input)).toBe(want);
    });
  }

  const invalid: unknown[] = ['', 'abc', '5x', '-5s', 's', '1h 30m', '5 s', '1.h', -1, NaN, Infinity, null];
  for (const input of invalid) {
    it(`rejects ${String(JSON.stringify(input) ?? input)} with INVALID_DURATION`, () => {
      const call = (): number => parseDuration(input as string);
      expect(call).toThrow(TrainyardError);
      try {
        call();
      } catch (e) {
        const err = e as TrainyardError;
        expect(err.code).toBe('INVALID_DURATION');
        expect(err.message).toContain('"1h30m"');
        if (typeof input === 'string') expect(err.message).toContain(JSON.stringify(input));
      }
    });
  }
});
