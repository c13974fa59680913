import { describe, expect, it } from 'vitest';
import { ashaRungs, decide, type EarlyStoppingPolicy, savedTime, savedTimeFromRuns, sweepStateFromMetrics, type TrialProgress } from './early-stopping.js';
import { seededRng } from './search-space.js';

type Points = [number, number][];
const trial = (steps: Points, finished = false): TrialProgress => ({ steps, finished });

describe('median stopping rule', () => {
  it("stops a trial whose best so far is worse than the median of the finished trials' running averages", () => {
    // Three finished trials; running averages at step 4: 0.5, 0.6, 0.7 → median 0.6 (maximising).
    const done = (v: number) => trial([1, 2, 3, 4, 5, 6].map((s) => [s, v]) as Points, true);
    const state = {
      direction: 'max' as const,
      trials: new Map<string, TrialProgress>([
        ['a', done(0.5)],
        ['b', done(0.6)],
        ['c', done(0.7)],
        ['low', trial([[1, 0.1], [2, 0.55], [3, 0.3], [4, 0.2]])], // best 0.55 < 0.6
        ['tie', trial([[1, 0.6], [4, 0.1]])], // best 0.6 = median: not strictly worse
        ['early', trial([[1, 0.0], [3, 0.0]])], // step 3 < grace 4
      ]),
    };
    expect(decide({ kind: 'median' }, state).stop).toEqual(['low']);
  });

  it('compares running averages up to the same step, not whole curves', () => {
    // The finished trial rises late: its average up to step 4 is 0.1, so a trial at 0.2 survives.
    const late = trial([[1, 0.1], [2, 0.1], [3, 0.1], [4, 0.1], [5, 0.9], [100, 0.99]], true);
    const state = { direction: 'max' as const, trials: new Map([['late', late], ['x', trial([[4, 0.2]])]]) };
    expect(decide({ kind: 'median', minTrials: 1 }, state).stop).toEqual([]);
    // When minimising, the same numbers stop it.
    expect(decide({ kind: 'median', minTrials: 1 }, { ...state, direction: 'min' }).stop).toEqual(['x']);
  });

  it('waits for minTrials reference trials; reference "all" counts running ones', () => {
    const running = (v: number) => trial([[5, v]]);
    const trials = new Map([['a', running(0.9)], ['b', running(0.8)], ['c', running(0.7)], ['d', running(0.1)]]);
    expect(decide({ kind: 'median' }, { direction: 'max', trials }).stop).toEqual([]);
    // Each is compared with the median of the other three: c (0.7 < 0.8) and d go.
    expect(decide({ kind: 'median', reference: 'all' }, { direction: 'max', trials }).stop).toEqual(['c', 'd']);
  });
});

describe('ASHA', () => {
  const asha: EarlyStoppingPolicy = { kind: 'asha', minSteps: 4, maxSteps: 64, reductionFactor: 2 };

  it('puts rungs at r·η^k below maxSteps', () => {
    expect(ashaRungs(asha as never)).toEqual([4, 8, 16, 32]);
    expect(ashaRungs({ kind: 'asha', minSteps: 1, maxSteps: 81 })).toEqual([1, 3, 9, 27]);
  });

  it('keeps the best ⌊n/η⌋ at a rung, stops the rest, and promotes a paused trial that becomes good enough', () => {
    // Two trials reached rung 4: quota 1. The better (a) goes on, b is stopped.
    let d = decide(asha, { direction: 'max', trials: new Map([['a', trial([[4, 0.5]])], ['b', trial([[4, 0.4]])]]) });
    expect(d.stop).toEqual(['b']);
    expect(d.promote).toEqual([]);
    // Later: a went past the rung, b is paused (finished at 4), c and d arrive better than b.
    // n = 4 → quota 2: a has passed; the second place is c (running, continues); b stays paused.
    d = decide(asha, {
      direction: 'max',
      trials: new Map([['a', trial([[4, 0.5], [5, 0.55]])], ['b', trial([[4, 0.4]], true)], ['c', trial([[4, 0.45]])], ['d', trial([[4, 0.1]])]]),
    });
    expect(d.stop).toEqual(['d']);
    expect(d.promote).toEqual([]);
    // With c and d paused and a sixth arrival: n = 6 → quota 3: a passed; c and b are promoted, best first.
    d = decide(asha, {
      direction: 'max',
      trials: new Map([
        ['a', trial([[4, 0.5], [6, 0.6]])],
        ['b', trial([[4, 0.4]], true)],
        ['c', trial([[4, 0.45]], true)],
        ['d', trial([[4, 0.1]], true)],
        ['e', trial([[4, 0.2]], true)],
        ['f', trial([[4, 0.3]], true)],
      ]),
    });
    expect(d.stop).toEqual([]);
    expect(d.promote).toEqual(['c', 'b']);
  });

  it('says the rung each promotion leaves, and never judges a promoted trial again at that rung', () => {
    // b waits at rung 4; a worse trial arrives: quota 1, b is promoted from rung 4.
    let d = decide(asha, { direction: 'min', trials: new Map([['b', trial([[4, 0.2]], true)], ['c', trial([[4, 0.9]])]]) });
    expect(d.promote).toEqual(['b']);
    expect([...d.promotedFrom!]).toEqual([['b', 4]]);
    // b's resumed try runs but has not reported past the rung; two better trials arrive (quota 2).
    const later = new Map([['b', trial([[4, 0.2]])], ['c', trial([[4, 0.9]], true)], ['d', trial([[4, 0.1]])], ['e', trial([[4, 0.15]])]]);
    // Without the record of its promotion b would look like a running trial waiting at the rung, outside the best 2.
    expect(decide(asha, { direction: 'min', trials: later }).stop).toEqual(['b']);
    later.set('b', { ...trial([[4, 0.2]]), promotedFrom: [4] });
    d = decide(asha, { direction: 'min', trials: later });
    expect(d.stop).toEqual([]);
    expect(d.promote).toEqual([]);
  });

  it('never promotes a failed or completed trial', () => {
    const d = decide(asha, {
      direction: 'min',
      trials: new Map<string, TrialProgress>([
        ['failed', { steps: [[4, 0.1]], finished: true, failed: true }],
        ['x', trial([[4, 0.5]], true)],
        ['y', trial([[4, 0.6]], true)],
        ['z', trial([[4, 0.7]], true)],
      ]),
    });
    expect(d.promote).toEqual(['x']);
  });

  it('rejects bad policies with clear errors', () => {
    expect(() => decide({ kind: 'asha', minSteps: 10, maxSteps: 5 }, { direction: 'max', trials: new Map() })).toThrow(/maxSteps \(5\) must be greater than minSteps \(10\)/);
    expect(() => decide({ kind: 'asha', minSteps: 1, maxSteps: 5, reductionFactor: 1 }, { direction: 'max', trials: new Map() })).toThrow(/reductionFactor must be at least 2/);
    expect(() => decide({ kind: 'nope' } as never, { direction: 'max', trials: new Map() })).toThrow(/unknown early-stopping policy 'nope'/);
  });
});

// ---- a 16-trial synthetic sweep with planted bad configs ---------------------------------------

const MAX_STEPS = 64;
const BAD = new Set([5, 7, 9, 12, 14]);
const rng = seededRng(3);
/** Trial i's accuracy at step s: good trials rise to 0.80 + 0.01·i (trial 11 is best, 0.91);
 * planted bad ones plateau at 0.3. A little noise, smaller than the gaps between trials. */
const noise = Array.from({ length: 16 }, () => Array.from({ length: MAX_STEPS + 1 }, () => (rng() - 0.5) * 0.001));
const ceiling = (i: number) => (BAD.has(i) ? 0.3 : i === 11 ? 0.95 : 0.8 + 0.01 * (i % 11));
const accuracy = (i: number, s: number) => ceiling(i) * (1 - Math.exp(-s / 6)) + noise[i][s];

interface SimResult {
  readonly lastStep: number[];
  readonly stoppedEarly: boolean[];
  readonly best: number;
}

/** Runs the sweep with `slots` trials at a time, one step per trial per tick, asking the policy after each tick. */
function simulate(policy: EarlyStoppingPolicy | undefined, slots = 4): SimResult {
  const points: Points[] = Array.from({ length: 16 }, () => []);
  const finished = Array<boolean>(16).fill(false);
  const queue: number[] = Array.from({ length: 16 }, (_, i) => i);
  const resume: number[] = [];
  const running = new Set<number>();
  for (let tick = 0; tick < 10_000; tick++) {
    while (running.size < slots && (resume.length || queue.length)) {
      const i = resume.length ? resume.shift()! : queue.shift()!;
      finished[i] = false;
      running.add(i);
    }
    if (running.size === 0) break;
    for (const i of running) {
      const s = (points[i].at(-1)?.[0] ?? 0) + 1;
      points[i].push([s, accuracy(i, s)]);
      if (s >= MAX_STEPS) {
        running.delete(i);
        finished[i] = true;
      }
    }
    if (!policy) continue;
    const d = decide(policy, { direction: 'max', trials: new Map(points.map((p, i) => [i, { steps: p, finished: finished[i] }])) });
    for (const i of d.stop) {
      running.delete(i);
      finished[i] = true;
    }
    for (const i of d.promote ?? []) if (!resume.includes(i)) resume.push(i);
  }
  const lastStep = points.map((p) => p.at(-1)?.[0] ?? 0);
  const completed = lastStep.map((s, i) => [s, i] as const).filter(([s]) => s >= MAX_STEPS).map(([, i]) => i);
  const best = completed.reduce((a, b) => (points[b].at(-1)![1] > points[a].at(-1)![1] ? b : a));
  return { lastStep, stoppedEarly: lastStep.map((s) => s < MAX_STEPS), best };
}

describe('a 16-trial sweep with planted bad configs', () => {
  const full = simulate(undefined);

  it('runs every trial in full without a policy; trial 11 is best', () => {
    expect(full.lastStep.every((s) => s === MAX_STEPS)).toBe(true);
    expect(full.best).toBe(11);
  });

  for (const [name, policy] of [
    ['the median stopping rule', { kind: 'median', graceSteps: 4, minTrials: 3 }],
    ['ASHA', { kind: 'asha', minSteps: 4, maxSteps: MAX_STEPS, reductionFactor: 2 }],
  ] as const) {
    it(`${name}: stops the bad configs early and keeps the same best trial`, () => {
      const r = simulate(policy);
      for (const i of BAD) {
        expect(r.stoppedEarly[i], `bad trial ${i}`).toBe(true);
        expect(r.lastStep[i], `bad trial ${i}`).toBeLessThanOrEqual(8);
      }
      expect(r.best).toBe(full.best);
      const saved = savedTime(MAX_STEPS, r.lastStep.map((s, i) => ({ lastStep: s, stoppedEarly: r.stoppedEarly[i], secondsPerStep: 2, gpus: 1 })));
      // At least the bad trials' remaining steps were saved.
      expect(saved.stepsSaved).toBeGreaterThanOrEqual(BAD.size * (MAX_STEPS - 8));
      expect(saved.gpuSeconds).toBe(saved.stepsSaved * 2);
      expect(saved.fullSeconds).toBe(16 * MAX_STEPS * 2);
      expect(saved.fraction).toBeGreaterThan(0.25);
    });
  }
});

describe('savedTime', () => {
  it('counts only trials stopped early, weighted by the devices they held', () => {
    const s = savedTime(100, [
      { lastStep: 100, stoppedEarly: false, secondsPerStep: 1, gpus: 1 },
      { lastStep: 20, stoppedEarly: true, secondsPerStep: 0.5, gpus: 2, cpus: 4 },
      { lastStep: 30, stoppedEarly: false, secondsPerStep: 1 }, // failed: saved nothing
    ]);
    expect(s).toEqual({ stepsSaved: 80, trialSeconds: 40, gpuSeconds: 80, cpuSeconds: 160, fullSeconds: 250, fraction: 40 / 250 });
  });
});

describe('savedTimeFromRuns', () => {
  it('estimates a full trial from the trials that ran in full, and counts what each stopped trial did not run', () => {
    const s = savedTimeFromRuns([
      { seconds: 10, outcome: 'full', gpus: 1 },
      { seconds: 14, outcome: 'full' },
      { seconds: 2, outcome: 'stopped', gpus: 2, cpus: 4 }, // saved 12 - 2 = 10
      { seconds: 20, outcome: 'stopped' }, // ran longer than the estimate: saved nothing
      { seconds: 5, outcome: 'failed' },
    ]);
    expect(s).toEqual({ fullTrialSeconds: 12, trialSeconds: 10, gpuSeconds: 20, cpuSeconds: 40, fullSeconds: 10 + 14 + 12 + 20 + 5, fraction: 10 / 61 });
  });

  it('saves nothing without a full trial to estimate from', () => {
    expect(savedTimeFromRuns([{ seconds: 3, outcome: 'stopped' }])).toMatchObject({ fullTrialSeconds: null, trialSeconds: 0, fraction: 0 });
  });
});

describe('ASHA and trials that ended on their own', () => {
  it('never promotes a trial that completed before maxSteps', () => {
    const policy: EarlyStoppingPolicy = { kind: 'asha', minSteps: 2, maxSteps: 64, reductionFactor: 2 };
    const trials = new Map<string, TrialProgress>([
      ['short', { steps: [[2, 0.1]], finished: true, completed: true }],
      ['stopped', { steps: [[2, 0.1]], finished: true }],
      ['b', { steps: [[2, 0.9]], finished: true }],
      ['c', { steps: [[2, 0.8]], finished: true }],
    ]);
    expect(decide(policy, { direction: 'min', trials }).promote).toEqual(['stopped']);
  });
});

describe('sweepStateFromMetrics', () => {
  const row = (map_index: number, try_number: number, step: number | null, value: number, name = 'val_loss') => ({ map_index, try_number, name, step, value });

  it('merges the tries of a trial (a resumed try continues its steps) and keeps only the objective', () => {
    const state = sweepStateFromMetrics(
      [row(0, 1, 0, 0.9), row(0, 1, 1, 0.8), row(0, 2, 1, 0.75), row(0, 2, 2, 0.7), row(0, 1, 0, 5, 'other'), row(1, 1, null, 0.95), row(1, 1, null, 0.9)],
      { objective: 'val_loss', direction: 'min', status: (i) => ({ finished: i === 1 }) },
    );
    expect(state.direction).toBe('min');
    expect(state.trials.get(0)).toEqual({ steps: [[0, 0.9], [1, 0.75], [2, 0.7]], finished: false, failed: undefined });
    expect(state.trials.get(1)).toEqual({ steps: [[0, 0.95], [1, 0.9]], finished: true, failed: undefined });
  });

  it('names the reported metrics when the objective is unknown', () => {
    expect(() => sweepStateFromMetrics([row(0, 1, 0, 0.5, 'val_loss'), row(0, 1, 0, 0.9, 'accuracy')], { objective: 'val_acc', direction: 'max', status: () => ({ finished: false }) })).toThrow(
      "the sweep's objective metric 'val_acc' has not been reported by any trial; they report accuracy, val_loss",
    );
    // No metrics yet is not an error.
    expect(sweepStateFromMetrics([], { objective: 'x', direction: 'max', status: () => ({ finished: false }) }).trials.size).toBe(0);
  });
});
