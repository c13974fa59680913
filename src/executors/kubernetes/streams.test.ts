import { describe, expect, it } from 'vitest';
import { LineDeduper, sortableTimestamp, splitTimestamp } from './log-follower.js';
import { cpuQuantity, memoryQuantity, quantityValue } from './quantity.js';
import { parseRetryAfter, retryDelayMs, Semaphore, TokenBucket } from './rate-limit.js';
import { isRetryable, KubeApiError } from './api-client.js';
import { JsonLineSplitter } from './watcher.js';

describe('log timestamps and dedupe', () => {
  it('normalises RFC 3339 timestamps so they sort as text', () => {
    expect(sortableTimestamp('2026-11-21T10:00:00.1Z')).toBe('2026-11-21T10:00:00.100000000');
    expect(sortableTimestamp('2026-11-21T10:00:00.123456789Z')).toBe('2026-11-21T10:00:00.123456789');
    expect(sortableTimestamp('2026-11-21T10:00:00Z')).toBe('2026-11-21T10:00:00.000000000');
    expect(sortableTimestamp('hello')).toBeNull();
    expect(sortableTimestamp('2026-11-21T10:00:00.1Z')! > sortableTimestamp('2026-11-21T10:00:00.09Z')!).toBe(true);
    expect(splitTimestamp('2026-11-21T10:00:00.5Z hello world')).toMatchObject({ ts: '2026-11-21T10:00:00.500000000', text: 'hello world' });
    expect(splitTimestamp('no stamp here')).toMatchObject({ ts: null, text: 'no stamp here' });
  });

  it('a reconnect with sinceTime (second resolution) repeats lines: they are dropped, new ones kept', () => {
    const d = new LineDeduper();
    const s = (x: string) => sortableTimestamp(x);
    const first = ['2026-11-21T10:00:00.1Z', '2026-11-21T10:00:00.5Z', '2026-11-21T10:00:00.5Z'];
    expect(first.map((t) => d.accept(s(t)))).toEqual([true, true, true]);
    d.newStream();
    // The second stream starts at 10:00:00 (sinceTime rounds down), repeats all three, then goes on.
    const second = ['2026-11-21T10:00:00.1Z', '2026-11-21T10:00:00.5Z', '2026-11-21T10:00:00.5Z', '2026-11-21T10:00:00.5Z', '2026-11-21T10:00:01Z'];
    expect(second.map((t) => d.accept(s(t)))).toEqual([false, false, false, true, true]);
    d.newStream();
    expect(d.accept(s('2026-11-21T10:00:01Z'))).toBe(false);
    expect(d.accept(s('2026-11-21T10:00:02Z'))).toBe(true);
  });

  it('resumeAfter skips what an earlier process wrote', () => {
    const d = new LineDeduper();
    d.resumeAfter('2026-11-21T10:00:00.500999999');
    expect(d.accept(sortableTimestamp('2026-11-21T10:00:00.5Z'))).toBe(false);
    expect(d.accept(sortableTimestamp('2026-11-21T10:00:00.6Z'))).toBe(true);
  });
});

describe('watch stream splitting', () => {
  it('parses objects split across chunks', () => {
    const out: unknown[] = [];
    const s = new JsonLineSplitter();
    s.push('{"type":"ADDED","object":{"a":', (o) => out.push(o));
    s.push('1}}\n{"type":"BOOK', (o) => out.push(o));
    s.push('MARK","object":{}}\n\n', (o) => out.push(o));
    expect(out).toEqual([{ type: 'ADDED', object: { a: 1 } }, { type: 'BOOKMARK', object: {} }]);
  });
});

describe('API manners', () => {
  it('the token bucket allows a burst, then qps', () => {
    const b = new TokenBucket(10, 3, 0);
    expect([b.take(0), b.take(0), b.take(0)]).toEqual([0, 0, 0]);
    expect(b.take(0)).toBe(100);
    expect(b.take(0)).toBe(200);
    // 1 s later: 10 tokens minus the 2 owed, capped at the burst of 3.
    expect(b.take(1000)).toBe(0);
  });

  it('the semaphore holds at most its limit', async () => {
    const sem = new Semaphore(2);
    let running = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 8 }, () =>
        sem.run(async () => {
          running++;
          peak = Math.max(peak, running);
          await new Promise((r) => setTimeout(r, 5));
          running--;
        }),
      ),
    );
    expect(peak).toBe(2);
  });

  it('backs off exponentially with jitter, capped, and honours Retry-After', () => {
    expect(retryDelayMs(0, { random: 1 })).toBe(200);
    expect(retryDelayMs(3, { random: 1 })).toBe(1600);
    expect(retryDelayMs(3, { random: 0 })).toBe(800);
    expect(retryDelayMs(20, { random: 1 })).toBe(10_000);
    expect(retryDelayMs(0, { random: 1, retryAfterMs: 5000 })).toBe(5000);
    expect(parseRetryAfter('3', 0)).toBe(3000);
    expect(parseRetryAfter('Thu, 01 Jan 1970 00:00:10 GMT', 4000)).toBe(6000);
    expect(parseRetryAfter(undefined, 0)).toBeUndefined();
  });

  it('retries 429, 5xx, conflicts and dropped connections, not AlreadyExists or client errors', () => {
    expect(isRetryable(new KubeApiError(429, 'TooManyRequests', 'x'))).toBe(true);
    expect(isRetryable(new KubeApiError(503, 'ServiceUnavailable', 'x'))).toBe(true);
    expect(isRetryable(new KubeApiError(409, 'Conflict', 'x'))).toBe(true);
    expect(isRetryable(new KubeApiError(409, 'AlreadyExists', 'x'))).toBe(false);
    expect(isRetryable(new KubeApiError(422, 'Invalid', 'x'))).toBe(false);
    expect(isRetryable(new KubeApiError(404, 'NotFound', 'x'))).toBe(false);
    expect(isRetryable(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isRetryable(new Error('socket hang up'))).toBe(true);
  });
});

describe('quantities', () => {
  it('reads Kubernetes quantities', () => {
    expect(quantityValue('500m')).toBe(0.5);
    expect(quantityValue('2Gi')).toBe(2 * 2 ** 30);
    expect(quantityValue('1G')).toBe(1e9);
    expect(quantityValue('1e3')).toBe(1000);
    expect(quantityValue(4)).toBe(4);
    expect(quantityValue('lots')).toBeNaN();
    expect(cpuQuantity(0.25)).toBe('250m');
    expect(cpuQuantity(2)).toBe('2');
    expect(memoryQuantity(1536)).toBe('1536Mi');
  });
});
