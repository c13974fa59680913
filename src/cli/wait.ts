import type { RunState } from '../core/states.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { Store } from '../store/store.js';

/** Resolves with the run's final state; calls onProgress after each scheduler tick (and twice a second). */
export function waitForRun(store: Store, scheduler: Scheduler, dagId: string, runId: string, onProgress: () => Promise<void>): Promise<RunState> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const check = async () => {
      if (settled) return;
      await onProgress();
      const run = await store.getRun(dagId, runId);
      if (!run) {
        finish();
        reject(new Error(`run ${runId} of ${dagId} disappeared`));
      } else if (run.state === 'success' || run.state === 'failed') {
        finish();
        resolve(run.state);
      }
    };
    const off = scheduler.onTick(() => void check().catch(() => {}));
    const timer = setInterval(() => void check().catch(() => {}), 500);
    const finish = () => {
      settled = true;
      off();
      clearInterval(timer);
    };
    void check().catch(reject);
  });
}
