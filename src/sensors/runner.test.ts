import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock.js';
import { SensorFailed } from './errors.js';
import { fileSensor } from './file.js';
import { validateSensorOptions } from './options.js';
import { SensorRunner, type SensorProgress } from './runner.js';
import { timeDeltaSensor } from './time.js';
import type { SensorCheck, SensorContext } from './types.js';

type Event = [string, string, ...unknown[]];

function harness(extra: { maxInFlight?: number; random?: () => number } = {}) {
  const clock = new ManualClock(1_000_000);
  const events: Event[] = [];
  const logged: string[] = [];
  const runner = new SensorRunner({
    clock,
    random: extra.random ?? (() => 1),
    maxInFlight: extra.maxInFlight,
    onDone: (id, r, p) => events.push(['done', id, r.value, p.pokes]),
    onTimeout: (id, soft, p) => events.push(['timeout', id, soft, p.pokes, p.detail]),
    onError: (id, err, p) => events.push(['error', id, (err as Error).message, p.pokes]),
    onPoke: (id, p) => events.push(['poke', id, p.detail, p.nextCheckAt]),
    log: (m) => logged.push(m),
  });
  return { clock, events, logged, runner };
}

/** A check that records when it ran and answers from a script. */
function scripted(answers: ((ctx: SensorContext) => unknown)[]) {
  const calls: number[] = [];
  const check = (async (ctx: SensorContext) => {
    calls.push(ctx.now);
    const next = answers[Math.min(calls.length - 1, answers.length - 1)];
    return next(ctx);
  }) as SensorCheck;
  return { check, calls };
}

const notYet = () => ({ done: false, detail: 'not yet' });
const opts = (o: Parameters<typeof validateSensorOptions>[0]) => ({ ...validateSensorOptions(o), logicalDate: 0 });

describe('SensorRunner on a manual clock', () => {
  it('pokes at the interval until done', async () => {
    const { clock, events, runner } = harness();
    const s = scripted([notYet, notYet, () => ({ done: true, value: 42 })]);
    runner.add('a', s.check, opts({ pokeInterval: '5s', timeout: '1m' }));
    await clock.advance(0);
    expect(s.calls).toEqual([1_000_000]);
    await clock.advance(4999);
    expect(s.calls).toHaveLength(1);
    await clock.advance(1);
    await clock.advance(5000);
    expect(s.calls).toEqual([1_000_000, 1_005_000, 1_010_000]);
    expect(events).toEqual([
      ['poke', 'a', 'not yet', 1_005_000],
      ['poke', 'a', 'not yet', 1_010_000],
      ['done', 'a', 42, 3],
    ]);
    expect(runner.size).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('times out counted from the first check, soft or hard, and checks no more', async () => {
    const { clock, events, runner } = harness();
    const soft = scripted([notYet]);
    const hard = scripted([notYet]);
    runner.add('soft', soft.check, opts({ pokeInterval: '10s', timeout: '25s', softFail: true }));
    // Starts later: its timeout counts from its own first check.
    runner.add('hard', hard.check, { ...opts({ pokeInterval: '10s', timeout: '25s' }), startAt: 1_000_000 + 7000 });
    await clock.advance(60_000);
    expect(soft.calls.map((t) => t - 1_000_000)).toEqual([0, 10_000, 20_000]);
    expect(hard.calls.map((t) => t - 1_000_000)).toEqual([7000, 17_000, 27_000]);
    expect(events.filter((e) => e[0] === 'timeout')).toEqual([
      ['timeout', 'soft', true, 3, 'not yet'],
      ['timeout', 'hard', false, 3, 'not yet'],
    ]);
    expect(runner.size).toBe(0);
  });

  it('resumes after a restart with the first check time it is given', async () => {
    const { clock, events, runner } = harness();
    const s = scripted([notYet]);
    runner.add('a', s.check, { ...opts({ pokeInterval: '10s', timeout: '30s' }), firstCheckAt: 1_000_000 - 25_000, pokes: 3 });
    await clock.advance(0);
    await clock.advance(10_000);
    expect(s.calls).toHaveLength(1); // one check, then the timeout (5s later)
    expect(events.at(-1)).toEqual(['timeout', 'a', false, 4, 'not yet']);
  });

  it('backs off exponentially up to maxWait', async () => {
    const { clock, runner } = harness({ random: () => 1 });
    const s = scripted([notYet]);
    runner.add('a', s.check, opts({ pokeInterval: '1s', timeout: '1h', exponentialBackoff: true, maxWait: '10s' }));
    await clock.advance(40_000);
    const gaps = s.calls.slice(1).map((t, i) => t - s.calls[i]);
    expect(gaps).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000]);
  });

  it('wakes time sensors at their target instead of poking before it', async () => {
    const { clock, events, runner } = harness();
    const calls: number[] = [];
    const inner = timeDeltaSensor({ delta: '1h' });
    runner.add('t', (ctx) => (calls.push(ctx.now), inner(ctx)), { ...opts({ pokeInterval: '5m', timeout: '2h' }), logicalDate: 1_000_000 });
    await clock.advance(2 * 3_600_000);
    expect(calls.map((t) => t - 1_000_000)).toEqual([0, 3_600_000]);
    expect(events.at(-1)).toEqual(['done', 't', { at: 1_000_000 + 3_600_000 }, 2]);
  });

  it('caps checks in flight and runs the rest as slots free', async () => {
    const { clock, events, runner } = harness({ maxInFlight: 3 });
    const releases: (() => void)[] = [];
    let running = 0;
    let peak = 0;
    const slow: SensorCheck = () =>
      new Promise((resolve) => {
        running++;
        peak = Math.max(peak, running);
        releases.push(() => {
          running--;
          resolve({ done: true });
        });
      });
    for (let i = 0; i < 10; i++) runner.add(`s${i}`, slow, opts({ pokeInterval: '5s', timeout: '1m' }));
    await clock.advance(0);
    expect(runner.inFlight).toBe(3);
    while (releases.length) {
      releases.shift()!();
      await clock.advance(0);
    }
    expect(peak).toBe(3);
    expect(events.filter((e) => e[0] === 'done')).toHaveLength(10);
  });

  it('aborts a check at its deadline, frees its slot even if it ignores the signal, and pokes again', async () => {
    const { clock, events, runner } = harness({ maxInFlight: 1 });
    let aborted = 0;
    const hung: SensorCheck = (ctx) => {
      ctx.signal.addEventListener('abort', () => aborted++);
      return new Promise(() => undefined); // never settles
    };
    const quick = scripted([() => ({ done: true })]);
    runner.add('hung', hung, { ...opts({ pokeInterval: '5s', timeout: '1m' }), checkTimeoutMs: 2000 });
    runner.add('quick', quick.check, opts({ pokeInterval: '5s', timeout: '1m' }));
    await clock.advance(0);
    expect(quick.calls).toHaveLength(0); // the only slot is taken
    await clock.advance(2000);
    expect(aborted).toBe(1);
    expect(quick.calls).toEqual([1_002_000]);
    expect(events).toContainEqual(['poke', 'hung', 'the check did not finish within 2s; checking again', 1_007_000]);
    expect(events).toContainEqual(['done', 'quick', undefined, 1]);
  });

  it('survives throwing checks, bad results and throwing listeners', async () => {
    const { clock, events, runner, logged } = harness();
    runner.add('sync-throw', (() => {
      throw new Error('boom');
    }) as unknown as SensorCheck, opts({ pokeInterval: '5s', timeout: '1m' }));
    runner.add('failed', async () => {
      throw new SensorFailed('the upstream run failed');
    }, opts({ pokeInterval: '5s', timeout: '1m' }));
    runner.add('bad-result', (async () => ({ ok: true })) as unknown as SensorCheck, opts({ pokeInterval: '5s', timeout: '1m' }));
    const angry = new SensorRunner({
      clock,
      onDone: () => {
        throw new Error('listener bug');
      },
      log: (m) => logged.push(m),
    });
    angry.add('x', async () => ({ done: true }), opts({ pokeInterval: '5s', timeout: '1m' }));
    await clock.advance(0);
    expect(events).toEqual([
      ['error', 'sync-throw', 'boom', 1],
      ['error', 'failed', 'the upstream run failed', 1],
      ['error', 'bad-result', expect.stringMatching(/^the sensor check returned \{"ok":true\}; a check must return/), 1],
    ]);
    expect(logged).toEqual(["SensorRunner: the onDone listener threw for sensor 'x'"]);
    // Still works afterwards.
    runner.add('after', async () => ({ done: true, value: 'ok' }), opts({ pokeInterval: '5s', timeout: '1m' }));
    await clock.advance(0);
    expect(events.at(-1)).toEqual(['done', 'after', 'ok', 1]);
  });

  it('remove() aborts the running check and drops its result; add() with the same id replaces', async () => {
    const { clock, events, runner } = harness();
    let signal: AbortSignal | undefined;
    let finish: (() => void) | undefined;
    runner.add('a', (ctx) => {
      signal = ctx.signal;
      return new Promise((resolve) => (finish = () => resolve({ done: true })));
    }, opts({ pokeInterval: '5s', timeout: '1m' }));
    await clock.advance(0);
    expect(runner.remove('a')).toBe(true);
    expect(signal?.aborted).toBe(true);
    finish!();
    await clock.advance(10_000);
    expect(events).toEqual([]);
    const first = scripted([notYet]);
    const second = scripted([() => ({ done: true, value: 2 })]);
    runner.add('b', first.check, opts({ pokeInterval: '5s', timeout: '1m' }));
    await clock.advance(0);
    runner.add('b', second.check, opts({ pokeInterval: '5s', timeout: '1m' }));
    await clock.advance(5000);
    expect(first.calls).toHaveLength(1);
    expect(events.at(-1)).toEqual(['done', 'b', 2, 1]);
    expect(runner.progress('b')).toBeUndefined();
  });

  it('lets sensors due within one tick share a wake-up', async () => {
    const { clock, runner } = harness();
    const seen = new Set<number>();
    for (let i = 0; i < 100; i++) {
      runner.add(`s${i}`, async (ctx) => (seen.add(ctx.now), { done: true }), { ...opts({ pokeInterval: '5s', timeout: '1m' }), startAt: 1_000_000 + i });
    }
    await clock.advance(1000);
    expect([...seen].sort()).toEqual([1_000_000, 1_000_100]);
    expect(runner.size).toBe(0);
  });

  it('refuses options that were not validated', () => {
    const { runner } = harness();
    expect(() => runner.add('x', async () => ({ done: true }), { pokeIntervalMs: undefined, timeoutMs: 1000, logicalDate: 0 } as never)).toThrow(/pokeIntervalMs must be a number/);
    expect(() => runner.add('x', async () => ({ done: true }), { ...opts({}), pokeIntervalMs: 0 })).toThrow(/under 100 ms/);
  });

  it('keeps one timer armed for any number of sensors', async () => {
    const { clock, runner } = harness();
    for (let i = 0; i < 500; i++) runner.add(`s${i}`, async () => ({ done: false, detail: 'x' }), { ...opts({ pokeInterval: '5s', timeout: '1h' }), startAt: 1_000_000 + i * 7 });
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(20_000);
    expect(clock.pendingTimers).toBe(1);
    const p = runner.progress('s10') as SensorProgress;
    expect(p.pokes).toBeGreaterThanOrEqual(4);
    runner.close();
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('SensorRunner in real time', () => {
  it('waits for a file written later, with a real file sensor', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-runner-'));
    try {
      const pokes: string[] = [];
      const done = new Promise<{ id: string; value: unknown; progress: SensorProgress }>((resolve, reject) => {
        const runner = new SensorRunner({
          onDone: (id, r, progress) => resolve({ id, value: r.value, progress }),
          onPoke: (_id, p) => pokes.push(p.detail!),
          onError: (_id, err) => reject(err),
          onTimeout: () => reject(new Error('timed out')),
        });
        runner.add('wait', fileSensor({ path: `${dir}/ready/*.json` }), opts({ pokeInterval: '100ms', timeout: '10s' }));
      });
      setTimeout(() => {
        fs.mkdirSync(path.join(dir, 'ready'));
        fs.writeFileSync(path.join(dir, 'ready', 'a.json'), '{}');
      }, 350);
      const started = Date.now();
      const r = await done;
      expect(r.id).toBe('wait');
      expect(r.value).toEqual({ path: path.join(dir, 'ready', 'a.json') });
      expect(Date.now() - started).toBeGreaterThanOrEqual(300);
      expect(r.progress.pokes).toBeGreaterThanOrEqual(3);
      expect(pokes[0]).toBe(`no file matches ${dir}/ready/*.json yet`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
