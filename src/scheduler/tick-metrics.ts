import type { ExecutorEvent, TryKey } from '../executors/types.js';
import { tryKeyString } from '../executors/types.js';
import { recordSchedulerLoop, recordTryFinished, recordTryStarted, setPoolSlots, setTaskInstanceCounts } from '../observability/metrics.js';
import type { AdmissionCounters, PoolLimits } from './admission.js';

/** Prometheus figures of one tick, recorded once it has committed. */
export function recordTickMetrics(
  events: readonly ExecutorEvent[],
  runSeconds: Map<string, number>,
  live: readonly { readonly key: TryKey; readonly startedAt: number | null }[],
  pools: ReadonlyMap<string, PoolLimits>,
  counters: AdmissionCounters,
  startedNs: bigint,
  executor: string,
): void {
  for (const ev of events) {
    if (ev.type === 'started') recordTryStarted(ev.key.dagId, executor);
    else if (ev.type === 'finished') {
      const key = tryKeyString(ev.key);
      recordTryFinished(ev.key.dagId, ev.key.taskId, ev.outcome, ev.failureClass, runSeconds.get(key));
      runSeconds.delete(key);
    }
  }
  const running = live.filter((l) => l.startedAt !== null).length;
  setTaskInstanceCounts(live.length - running, running);
  setPoolSlots([...pools].map(([name, p]) => ({ name, slots: p.slots, used: counters.poolSlots.get(name) ?? 0 })));
  recordSchedulerLoop(Number(process.hrtime.bigint() - startedNs) / 1e9);
}
