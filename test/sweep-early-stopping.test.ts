import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type BestTrial, dag, grid, type SweepEarlyStopping } from '../src/index.js';
import { LocalExecutor } from '../src/executors/local/local-executor.js';
import { registerDag, type SchedulerHarness, schedulerHarness } from './support/harness.js';

/**
 * A fake training script: prints a metric line per step and sleeps between steps. Its loss
 * falls towards a floor set by its params; lr = 10 is a planted bad config that never learns.
 */
const TRIAL_SCRIPT = `
import json, math, os, sys, time
p = json.loads(os.environ["TRAINYARD_ITEM"])
lr, layers = p["lr"], p["layers"]
floor = abs(math.log10(lr) + 1.5) * 0.3 + 0.05 * abs(layers - 2) + 0.1
for step in range(1, 13):
    loss = 3.0 + 0.05 * math.sin(step) if lr >= 1 else floor + (2.0 - floor) * math.exp(-step / 4)
    print("::trainyard::metric " + json.dumps({"step": step, "loss": round(loss, 6)}), flush=True)
    time.sleep(0.15)
`;

/** lr varies slowest: the four planted bad trials (lr = 10) are map indexes 12–15. */
const SPACE = grid({ lr: [0.01, 0.03, 0.1, 10], layers: [1, 2, 3, 4] });
const BAD = [12, 13, 14, 15];

let h: SchedulerHarness | undefined;
afterEach(async () => {
  await h?.scheduler.stop(0);
  await h?.close();
  h = undefined;
});

async function runSweep(dagId: string, earlyStopping?: SweepEarlyStopping) {
  const local = new LocalExecutor({ capacity: { cpu: 4, memoryMb: 65_536 }, killGraceMs: 2_000 });
  h = await schedulerHarness({ local }, { killGraceMs: 2_000 });
  const script = path.join(h.home, 'trial.py');
  fs.writeFileSync(script, TRIAL_SCRIPT);
  const d = dag(dagId);
  const s = d.sweep('train', { command: 'python3', args: [script], space: SPACE, objective: 'loss', direction: 'minimize', earlyStopping });
  d.command('report', { command: 'sh', args: ['-c', 'echo "{\\"lr\\": $1}" > "$TRAINYARD_RESULT_PATH"', 'sh', s.bestParam('lr')] });
  await registerDag(h.store, d);
  const runId = await h.trigger(dagId);
  h.scheduler.start();
  const state = await waitForRun(h, dagId, runId);
  const tis = await h.store.listTaskInstances(dagId, runId, { taskId: 'train' });
  const best = await h.store.getTaskInstance({ dagId, runId, taskId: 'train_best', mapIndex: -1 });
  const downstream = await h.store.getTaskInstance({ dagId, runId, taskId: 'report', mapIndex: -1 });
  const tries = await h.store.listTaskTries(dagId, runId, 'train');
  return {
    state,
    trials: tis.filter((t) => t.map_index >= 0),
    tries,
    best: JSON.parse(best!.result!) as BestTrial<{ lr: number; layers: number }>,
    downstream: JSON.parse(downstream!.result!) as { lr: number },
  };
}

async function waitForRun(harness: SchedulerHarness, dagId: string, runId: string): Promise<string> {
  for (;;) {
    const state = await harness.runState(dagId, runId);
    if (state === 'success' || state === 'failed') return state;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('a 16-trial sweep with early stopping, on real processes', () => {
  it('stops the planted bad trials early, succeeds, and finds the same best trial as the full sweep', async () => {
    const full = await runSweep('sweep_full');
    expect(full.state).toBe('success');
    expect(full.trials.every((t) => t.state === 'success' && t.failure_class === null)).toBe(true);
    expect(full.best.report.stoppedEarly).toEqual([]);
    await h!.scheduler.stop(0);
    await h!.close();
    h = undefined;

    const stopped = await runSweep('sweep_median', { kind: 'median', graceSteps: 3, minTrials: 3 });
    expect(stopped.state).toBe('success');
    const early = stopped.trials.filter((t) => t.failure_class === 'early_stopped');
    // Every planted bad trial is stopped, as a stopped success; the best one never is.
    expect(early.map((t) => t.map_index)).toEqual(expect.arrayContaining(BAD));
    expect(early.every((t) => t.state === 'success')).toBe(true);
    expect(early.map((t) => t.map_index)).not.toContain(full.best.mapIndex);
    const earlyTries = stopped.tries.filter((t) => t.failure_class === 'early_stopped');
    expect(earlyTries.every((t) => t.state === 'success' && t.signal === 'SIGTERM')).toBe(true);
    expect(early[0].reason).toMatch(/stopped early by the median stopping rule at step \d+/);
    // The bad trials printed fewer than their 12 steps.
    for (const i of BAD) {
      const points = await h!.store.listMetrics({ dagId: 'sweep_median', runId: stopped.trials[0].run_id, taskId: 'train', mapIndex: i });
      expect(points.length).toBeLessThan(12);
    }

    expect(stopped.best.mapIndex).toBe(full.best.mapIndex);
    expect(stopped.best.params).toEqual(full.best.params);
    expect(stopped.best.value).toBe(full.best.value);
    expect(stopped.best.params).toEqual({ lr: 0.03, layers: 2 });
    expect(stopped.downstream).toEqual({ lr: 0.03 });

    const report = stopped.best.report;
    expect(report.trials).toBe(16);
    expect(report.stoppedEarly).toEqual(early.map((t) => t.map_index));
    expect(report.completed).toBe(16 - early.length);
    expect(report.saved.fullTrialSeconds).toBeGreaterThan(1.8);
    expect(report.saved.cpuSeconds).toBeGreaterThan(0);
    expect(report.saved.fraction).toBeGreaterThan(0);
    expect(report.saved.fraction).toBeLessThan(1);
  }, 180_000);
});
