import { afterEach, describe, expect, it } from 'vitest';
import { dag, type SweepOptions } from '../src/index.js';
import type { FailureClass } from '../src/core/failure.js';
import { type LaunchRequest, type TryKey, tryKeyString } from '../src/executors/types.js';
import { ScriptedExecutor } from './support/scripted-executor.js';
import { registerDag, type SchedulerHarness, schedulerHarness } from './support/harness.js';

let h: SchedulerHarness;
let ex: ScriptedExecutor;

/** A scripted executor whose cancelled tries end at the harness's clock. */
class ClockedExecutor extends ScriptedExecutor {
  override async cancel(key: TryKey, cls: FailureClass, reason: string): Promise<void> {
    this.cancelled.push({ key, cls, reason });
    const req = this.live().find((l) => tryKeyString(l.key) === tryKeyString(key));
    if (req) this.finish(req, h.now, { outcome: 'failed', failureClass: cls });
  }
}

afterEach(async () => {
  await h?.close();
});

type Params = { readonly lr: number };
const space: Params[] = [0, 1, 2, 3, 4, 5].map((i) => ({ lr: i / 10 }));

async function setup(options: Partial<SweepOptions<unknown, {}, Params, unknown>>, dagId = 'sweep') {
  ex = new ClockedExecutor();
  h = await schedulerHarness({ scripted: ex });
  const d = dag(dagId);
  d.sweep('train', { command: 'train', space, objective: 'loss', direction: 'minimize', ...options });
  await registerDag(h.store, d);
  const runId = await h.trigger(dagId);
  await h.tick();
  return runId;
}

const trial = (mapIndex: number): LaunchRequest => {
  const found = ex.live('train').find((l) => l.key.mapIndex === mapIndex);
  if (!found) throw new Error(`trial ${mapIndex} is not live`);
  return found;
};

/** Metric lines of one trial, as the executor reports them. */
function report(mapIndex: number, points: [step: number, value: number][], name = 'loss') {
  const l = trial(mapIndex);
  h.scheduler.receive({ type: 'telemetry', key: l.key, metrics: points.map(([step, value]) => ({ name, step, value, at: h.now })) });
}

async function finish(mapIndex: number, advanceMs = 1000) {
  ex.finish(trial(mapIndex), h.now + advanceMs);
  await h.tick();
}

let runIdOf = '';
async function ti(taskId: string, mapIndex: number) {
  return (await h.store.getTaskInstance({ dagId: 'sweep', runId: runIdOf, taskId, mapIndex }))!;
}

describe('sweeps in the scheduler (fake clock)', () => {
  it('stops a trial that the median rule judges worse, as a stopped success, and picks the best trial', async () => {
    runIdOf = await setup({ earlyStopping: { kind: 'median', graceSteps: 2, minTrials: 2 } });
    expect(ex.live('train')).toHaveLength(6);
    for (const l of ex.live('train')) ex.start(l, h.now);
    await h.tick();
    // Three good trials finish in full: losses fall to 0.3, 0.2 and 0.25.
    for (const [i, end] of [[0, 0.3], [1, 0.2], [2, 0.25]] as const) {
      report(i, [[1, 0.9], [2, 0.6], [3, end]]);
      await finish(i, 3000);
    }
    expect(ex.cancelled).toEqual([]);
    // Trial 3 is bad: at step 2 its best (0.95) is worse than the median of the running averages.
    report(3, [[1, 0.99], [2, 0.95]]);
    // Trial 4 is on track: not stopped.
    report(4, [[1, 0.8], [2, 0.5]]);
    await h.tick(500);
    expect(ex.cancelled.map((c) => [c.key.mapIndex, c.cls])).toEqual([[3, 'early_stopped']]);
    expect(ex.cancelled[0].reason).toBe("stopped early by the median stopping rule at step 2: its best loss so far (0.95) is worse than the median of the other trials' running averages (0.75)");
    await h.tick();
    const stopped = await ti('train', 3);
    expect([stopped.state, stopped.failure_class]).toEqual(['success', 'early_stopped']);
    const [tryRow] = await h.store.listTries({ dagId: 'sweep', runId: runIdOf, taskId: 'train', mapIndex: 3 });
    expect([tryRow.state, tryRow.failure_class]).toEqual(['success', 'early_stopped']);
    // A repeated point from the stopped trial does not stop it twice.
    await h.tick();
    expect(ex.cancelled).toHaveLength(1);

    report(4, [[3, 0.1]]);
    await finish(4, 3000);
    report(5, [[1, 0.7], [2, 0.45], [3, 0.35]]);
    await finish(5, 3000);
    expect((await ti('train_best', -1)).state).toBe('success');
    const best = JSON.parse((await ti('train_best', -1)).result!);
    expect(best).toMatchObject({ mapIndex: 4, params: { lr: 0.4 }, value: 0.1, step: 3, objective: 'loss', direction: 'minimize' });
    expect(best.report).toMatchObject({ trials: 6, completed: 5, stoppedEarly: [3], failed: [] });
    // On the fake clock, three full trials ran 3 s and two 3.5 s (mean 3.2 s); the stopped one ran 0.5 s.
    expect(best.report.saved.fullTrialSeconds).toBeCloseTo(3.2, 3);
    expect(best.report.saved.trialSeconds).toBeCloseTo(2.7, 3);
    expect(best.report.saved.cpuSeconds).toBeCloseTo(2.7, 3);
    expect(best.report.saved.fraction).toBeCloseTo(2.7 / (16 + 0.5 + 2.7), 3);
    expect(await h.runState('sweep', runIdOf)).toBe('success');
  });

  it('reports an objective that no trial reports on the best-trial task, and ends the run instead of hanging', async () => {
    runIdOf = await setup({ objective: 'val_loss', earlyStopping: { kind: 'median' } });
    for (const l of ex.live('train')) ex.start(l, h.now);
    report(0, [[1, 0.5]], 'loss');
    await h.tick();
    const waiting = await ti('train_best', -1);
    expect(waiting.state).toBe('none');
    expect(waiting.reason).toMatch(/objective metric 'val_loss' has not been reported by any trial; they report loss/);
    for (let i = 0; i < 6; i++) await finish(i);
    expect(ex.cancelled).toEqual([]);
    const best = await ti('train_best', -1);
    expect([best.state, best.failure_class]).toEqual(['failed', 'config']);
    expect(best.reason).toMatch(/'val_loss'.*they report loss/);
    expect(await h.runState('sweep', runIdOf)).toBe('failed');
  });

  it('ASHA stops the worse trial at a rung and promotes a stopped one that becomes the best there', async () => {
    runIdOf = await setup({ earlyStopping: { kind: 'asha', minSteps: 2, maxSteps: 8, reductionFactor: 2 } });
    for (const l of ex.live('train')) ex.start(l, h.now);
    // The first trial at rung 2 is alone there (quota ⌊1/2⌋ = 0): it is stopped and waits.
    report(0, [[2, 0.5]]);
    await h.tick();
    expect(ex.cancelled.map((c) => c.key.mapIndex)).toEqual([0]);
    // It prints one more point while it winds down: that point does not move it past the rung.
    h.scheduler.receive({ type: 'telemetry', key: ex.cancelled[0].key, metrics: [{ name: 'loss', step: 3, value: 0.45, at: h.now }] });
    await h.tick();
    expect((await ti('train', 0)).failure_class).toBe('early_stopped');
    // A worse trial arrives: quota 1, trial 0 is the best, so it is promoted and trial 1 stopped.
    report(1, [[2, 0.9]]);
    await h.tick();
    expect(ex.cancelled.map((c) => c.key.mapIndex)).toEqual([0, 1]);
    expect(ex.cancelled[0].reason).toMatch(/^stopped by ASHA at the rung at step 2: it is among the first trials there, so it waits/);
    expect(ex.cancelled[1].reason).toBe('stopped by ASHA at the rung at step 2: its loss (0.9) is not among the best 1 there (the cut-off is 0.5)');
    const promoted = await ti('train', 0);
    expect([promoted.state, promoted.failure_class, promoted.try_number]).toEqual(['queued', null, 2]);
    const resumed = trial(0);
    expect(resumed.key.tryNumber).toBe(2);
    expect(resumed.env.TRAINYARD_RESUME).toBe('1');
  });
});

describe('failed trials', () => {
  it('fail the best-trial task by default; with allowFailedTrials the best of the others is taken', async () => {
    for (const allowFailedTrials of [false, true]) {
      runIdOf = await setup({ allowFailedTrials });
      for (const l of ex.live('train')) ex.start(l, h.now);
      for (let i = 0; i < 6; i++) report(i, [[1, 1 - i / 10]]);
      await h.tick();
      ex.finish(trial(5), h.now, { outcome: 'failed' }); // the best so far fails
      for (let i = 0; i < 5; i++) await finish(i);
      const best = await ti('train_best', -1);
      if (allowFailedTrials) {
        expect(best.state).toBe('success');
        expect(JSON.parse(best.result!)).toMatchObject({ mapIndex: 4, value: 0.6, report: { trials: 6, completed: 5, failed: [5] } });
        expect(await h.runState('sweep', runIdOf)).toBe('success');
      } else {
        expect(best.state).toBe('upstream_failed');
        expect(await h.runState('sweep', runIdOf)).toBe('failed');
      }
      await h.close();
    }
  });
});

describe('sweep options are checked when the DAG is built', () => {
  const base = { command: 'train', space, objective: 'loss', direction: 'minimize' } as const;
  const build = (extra: Record<string, unknown>) => () => dag('bad').sweep('t', { ...base, ...extra } as never);

  it('names the field that is wrong', () => {
    expect(build({ earlyStopping: { kind: 'median', grace: 2 } })).toThrow(/earlyStopping\.grace is not an option of the median policy; its options are graceSteps, minTrials, reference/);
    expect(build({ earlyStopping: { kind: 'asha', minSteps: 4 } })).toThrow(/earlyStopping is invalid: ASHA: maxSteps/);
    expect(build({ earlyStopping: { kind: 'hyperband' } })).toThrow(/earlyStopping\.kind must be 'median' or 'asha', got "hyperband"/);
    expect(build({ direction: 'max' })).toThrow(/direction must be 'minimize' or 'maximize', got "max"/);
    expect(build({ objective: undefined })).toThrow(/objective is missing/);
    expect(build({ space: [] })).toThrow(/space must be a non-empty list/);
    expect(build({ expand: { lr: [1] } })).toThrow(/expand is set by the sweep from 'space'/);
  });

  it('builds a mapped trial task and a best-trial task downstream of it, whose params are typed refs', () => {
    const d = dag('ok');
    const s = d.sweep('train', { ...base, earlyStopping: { kind: 'median' } });
    d.command('use', { command: 'echo', args: [s.bestParam('lr'), s.best.out('mapIndex')] });
    const tasks = d.toSpec().tasks;
    const train = tasks.find((t) => t.taskId === 'train')!;
    expect(train.mapping?.mode).toBe('kwargs');
    expect(train.sweep).toEqual({ objective: 'loss', direction: 'minimize', earlyStopping: { kind: 'median' }, bestTaskId: 'train_best' });
    expect(tasks.find((t) => t.taskId === 'train_best')).toMatchObject({ upstream: ['train'], sweepBestOf: 'train' });
    expect(tasks.find((t) => t.taskId === 'use')!.upstream).toEqual(['train_best']);
  });
});
