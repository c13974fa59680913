import { afterEach, describe, expect, it } from 'vitest';
import { dag } from '../src/index.js';
import type { FailureClass } from '../src/core/failure.js';
import { type AdoptResult, type LaunchRequest, type LiveTryRecord, type TryKey, tryKeyString } from '../src/executors/types.js';
import { loadSweepDecisions } from '../src/ml/sweep-store.js';
import { HomeLayout } from '../src/scheduler/paths.js';
import { Scheduler } from '../src/scheduler/scheduler.js';
import { ScriptedExecutor } from './support/scripted-executor.js';
import { registerDag, type SchedulerHarness, schedulerHarness } from './support/harness.js';

/**
 * ASHA across scheduler restarts: the same script of metric points is played once on one
 * scheduler and again with the scheduler replaced mid-sweep by a fresh one on the same store
 * (the old one simply stops ticking, as after a crash). Stops, promotions and the best trial
 * must be the same.
 */

let h: SchedulerHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** A scripted executor whose cancelled tries end at the clock, and that adopts the tries it still runs. */
class AdoptingExecutor extends ScriptedExecutor {
  /** While set, cancels are recorded but never reach the try (the scheduler dies before they do). */
  dropCancels = false;

  constructor(private readonly clock: () => number) {
    super();
  }

  override async cancel(key: TryKey, cls: FailureClass, reason: string): Promise<void> {
    this.cancelled.push({ key, cls, reason });
    if (this.dropCancels) return;
    const req = this.live().find((l) => tryKeyString(l.key) === tryKeyString(key));
    if (req) this.finish(req, this.clock(), { outcome: 'failed', failureClass: cls });
  }

  override async adopt(records: readonly LiveTryRecord[]): Promise<AdoptResult[]> {
    const running = new Set(this.live().map((l) => tryKeyString(l.key)));
    return records.map((r) => (running.has(tryKeyString(r.key)) ? { key: r.key, adopted: true } : { key: r.key, adopted: false, reason: 'not running' }));
  }
}

type Step = { report: [mapIndex: number, points: [step: number, value: number][]][] } | { windDown: [mapIndex: number, step: number, value: number] } | { finish: number[] };

/**
 * ASHA with rungs at steps 2 and 4 (η = 2, 8 steps in full) over six trials. Trial 0 arrives
 * first at both rungs, waits there, and is promoted each time; in the end it is the best.
 */
const SCRIPT: Step[] = [
  { report: [[0, [[1, 0.6], [2, 0.5]]]] }, // 0: trial 0 is alone at rung 2: stopped, it waits
  { windDown: [0, 3, 0.45] }, // 1: a point it prints while it winds down
  { report: [[1, [[2, 0.9]]]] }, // 2: quota 1 at rung 2: trial 0 promoted, trial 1 stopped
  { report: [[2, [[2, 0.3]]], [3, [[2, 0.35]]]] }, // 3: two better trials at rung 2; trial 0 already left it
  { report: [[0, [[3, 0.4], [4, 0.3]]]] }, // 4: trial 0 alone at rung 4: stopped, it waits
  { report: [[2, [[3, 0.32], [4, 0.35]]], [3, [[3, 0.34], [4, 0.36]]]] }, // 5: trial 0 promoted at rung 4; 2 and 3 stopped
  { report: [[4, [[2, 0.8]]]] }, // 6: trial 4 stopped at rung 2
  { report: [[5, [[2, 0.2]]]] }, // 7: trial 5 is among the best at rung 2
  { report: [[5, [[4, 0.25]]]] }, // 8: and at rung 4
  { report: [[0, [[6, 0.1], [8, 0.01]]], [5, [[6, 0.1], [8, 0.05]]]] },
  { finish: [0, 5] },
];

interface Outcome {
  cancelled: [mapIndex: number, tryNumber: number, reason: string][];
  launched: [mapIndex: number, tryNumber: number, resume: string | undefined][];
  trials: [mapIndex: number, state: string, failureClass: string | null, tryNumber: number][];
  decisions: [kind: string, mapIndex: number, tryNumber: number, step: number][];
  best: unknown;
  run: string | undefined;
}

/** Plays the script; before each step index in `restartBefore` the scheduler is replaced by a fresh one. */
async function play(restartBefore: ReadonlySet<number>, opts: { steps?: number; dropCancelsUntilRestart?: boolean } = {}): Promise<Outcome> {
  await h?.close();
  const ex = new AdoptingExecutor(() => harness.now);
  ex.dropCancels = opts.dropCancelsUntilRestart === true;
  const harness = await schedulerHarness({ scripted: ex });
  h = harness;
  let scheduler = harness.scheduler;
  const tick = async (advanceMs = 0) => {
    harness.now += advanceMs;
    await scheduler.tick(harness.now);
  };
  const d = dag('asha');
  d.sweep('train', { command: 'train', space: [0, 1, 2, 3, 4, 5].map((i) => ({ lr: i / 10 })), objective: 'loss', direction: 'minimize', earlyStopping: { kind: 'asha', minSteps: 2, maxSteps: 8, reductionFactor: 2 } });
  await registerDag(harness.store, d);
  const runId = await harness.trigger('asha');
  const started = new Set<string>();
  const startNew = async () => {
    for (const l of ex.live('train')) if (!started.has(tryKeyString(l.key))) ex.start(l, harness.now), started.add(tryKeyString(l.key));
    await tick();
  };
  await tick();
  await startNew();
  const live = (mapIndex: number): LaunchRequest => {
    const found = ex.live('train').find((l) => l.key.mapIndex === mapIndex);
    if (!found) throw new Error(`trial ${mapIndex} is not live`);
    return found;
  };
  for (const [i, step] of SCRIPT.slice(0, opts.steps).entries()) {
    if (restartBefore.has(i)) {
      ex.dropCancels = false;
      scheduler = new Scheduler({
        store: harness.store,
        executors: { scripted: ex },
        defaultExecutor: 'scripted',
        layout: new HomeLayout(harness.home),
        parallelism: 32,
        killGraceMs: 100,
        resultLimitBytes: 65536,
        freeRetryCap: 3,
        schedulerId: `test-${i}`,
        random: () => 0.5,
        syncIntervalMs: 0,
      });
      await scheduler.recover(harness.now);
    }
    if ('report' in step) {
      for (const [mapIndex, points] of step.report) {
        scheduler.receive({ type: 'telemetry', key: live(mapIndex).key, metrics: points.map(([s, value]) => ({ name: 'loss', step: s, value, at: harness.now })) });
      }
    } else if ('windDown' in step) {
      const [mapIndex, s, value] = step.windDown;
      const key = ex.cancelled.filter((c) => c.key.mapIndex === mapIndex).at(-1)!.key;
      scheduler.receive({ type: 'telemetry', key, metrics: [{ name: 'loss', step: s, value, at: harness.now }] });
    } else {
      for (const mapIndex of step.finish) ex.finish(live(mapIndex), harness.now + 500);
    }
    await tick(1000);
    // Cancels end their tries at once; a second tick applies those ends and starts what was promoted.
    await tick();
    await startNew();
  }
  const tis = await harness.store.listTaskInstances('asha', runId, { taskId: 'train' });
  const best = await harness.store.getTaskInstance({ dagId: 'asha', runId, taskId: 'train_best', mapIndex: -1 });
  return {
    cancelled: ex.cancelled.map((c) => [c.key.mapIndex, c.key.tryNumber, c.reason]),
    launched: ex.launched.filter((l) => l.key.taskId === 'train').map((l) => [l.key.mapIndex, l.key.tryNumber, l.env.TRAINYARD_RESUME]),
    trials: tis.filter((t) => t.map_index >= 0).map((t) => [t.map_index, t.state, t.failure_class, t.try_number]),
    decisions: (await loadSweepDecisions(harness.store, { dagId: 'asha', runId, taskId: 'train' })).map((x) => [x.kind, x.mapIndex, x.tryNumber, x.step]),
    best: best?.result ? JSON.parse(best.result) : null,
    run: await harness.runState('asha', runId),
  };
}

describe('ASHA across a scheduler restart', () => {
  it('without a restart: waiting trials are promoted at each rung, none is stopped twice at one rung, and the best is found', async () => {
    const o = await play(new Set());
    expect(o.run).toBe('success');
    expect(o.cancelled.map(([m, t]) => [m, t])).toEqual([
      [0, 1],
      [1, 1],
      [0, 2],
      [2, 1],
      [3, 1],
      [4, 1],
    ]);
    expect(o.cancelled[2][2]).toMatch(/^stopped by ASHA at the rung at step 4: it is among the first trials there, so it waits/);
    expect(o.launched.filter(([m]) => m === 0)).toEqual([
      [0, 1, undefined],
      [0, 2, '1'],
      [0, 3, '1'],
    ]);
    expect(o.decisions).toEqual([
      ['stop', 0, 1, 2],
      ['promote', 0, 1, 2],
      ['stop', 1, 1, 2],
      ['stop', 0, 2, 4],
      ['promote', 0, 2, 4],
      ['stop', 2, 1, 4],
      ['stop', 3, 1, 4],
      ['stop', 4, 1, 2],
    ]);
    expect(o.trials.map(([m, state, cls]) => [m, state, cls])).toEqual([
      [0, 'success', null],
      [1, 'success', 'early_stopped'],
      [2, 'success', 'early_stopped'],
      [3, 'success', 'early_stopped'],
      [4, 'success', 'early_stopped'],
      [5, 'success', null],
    ]);
    expect(o.best).toMatchObject({ mapIndex: 0, value: 0.01, step: 8, report: { trials: 6, completed: 2, stoppedEarly: [1, 2, 3, 4], failed: [] } });
  });

  it('a fresh scheduler on the same store makes the same stops and promotions and finds the same best trial', async () => {
    const uninterrupted = await play(new Set());
    // Restarts: after trial 0 stopped and wound down at rung 2 (it must still be promoted there),
    // right after its promotion (it must not be stopped again at rung 2 when better trials arrive),
    // and right after its second promotion.
    for (const restartBefore of [[2], [3], [6], [2, 3, 4, 6, 9]]) {
      const restarted = await play(new Set(restartBefore));
      expect(restarted, `restart before step ${restartBefore.join(', ')}`).toEqual(uninterrupted);
    }
  });

  it('stops again, with the same reason, a try whose stop was decided but never reached it before the restart', async () => {
    const o = await play(new Set([1]), { steps: 2, dropCancelsUntilRestart: true });
    // The first scheduler decided the stop; its cancel was lost. The fresh one adopted the try
    // running and stopped it again, recording no second decision.
    expect(o.cancelled).toHaveLength(2);
    expect(o.cancelled[1]).toEqual(o.cancelled[0]);
    expect(o.cancelled[0].slice(0, 2)).toEqual([0, 1]);
    expect(o.decisions).toEqual([['stop', 0, 1, 2]]);
    expect(o.trials[0].slice(0, 3)).toEqual([0, 'success', 'early_stopped']);
  });
});
