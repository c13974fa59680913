import type { FailureClass } from '../../src/core/failure.js';
import type { Resources } from '../../src/core/spec.js';
import {
  type AdoptResult,
  type Executor,
  type ExecutorCapacity,
  type ExecutorEvent,
  type LaunchRequest,
  type LiveTryRecord,
  type TryKey,
  tryKeyString,
  type UpcomingTry,
} from '../../src/executors/types.js';

/**
 * An executor whose tries finish only when the test says so. It lets scheduler tests run on
 * a fake clock: the test decides when each try starts and how it ends.
 */
export class ScriptedExecutor implements Executor {
  readonly name = 'scripted';
  readonly launched: LaunchRequest[] = [];
  readonly cancelled: { key: TryKey; cls: FailureClass; reason: string }[] = [];
  /** Every try the scheduler said comes next, in the order it said so. */
  readonly prepared: UpcomingTry[] = [];
  private readonly listeners: ((e: ExecutorEvent) => void)[] = [];
  private readonly running = new Map<string, LaunchRequest>();
  gpuTotal = 0;

  hasCapacity(r: Resources): boolean {
    const used = [...this.running.values()].reduce((n, l) => n + l.resources.gpu, 0);
    return r.gpu === 0 || used + r.gpu <= this.gpuTotal;
  }

  async launch(req: LaunchRequest): Promise<void> {
    const k = tryKeyString(req.key);
    if (this.running.has(k)) return;
    this.running.set(k, req);
    this.launched.push(req);
  }

  prepare(tries: readonly UpcomingTry[]): void {
    this.prepared.push(...tries);
  }

  /** Live tries, by task id. */
  live(taskId?: string): LaunchRequest[] {
    return [...this.running.values()].filter((l) => taskId === undefined || l.key.taskId === taskId);
  }

  start(req: LaunchRequest, at: number): void {
    this.emit({ type: 'started', key: req.key, at, host: 'test', pid: 1 });
  }

  finish(req: LaunchRequest, at: number, how: { outcome?: 'success' | 'failed' | 'skipped'; result?: unknown; failureClass?: FailureClass; exitCode?: number } = {}): void {
    this.running.delete(tryKeyString(req.key));
    const outcome = how.outcome ?? 'success';
    this.emit({
      type: 'finished',
      key: req.key,
      at,
      outcome,
      exitCode: how.exitCode ?? (outcome === 'failed' ? 1 : 0),
      signal: null,
      failureClass: outcome === 'failed' ? (how.failureClass ?? 'user_error') : undefined,
      reason: outcome === 'failed' ? 'exited with code 1' : undefined,
      result: how.result ?? null,
    });
  }

  async cancel(key: TryKey, cls: FailureClass, reason: string): Promise<void> {
    this.cancelled.push({ key, cls, reason });
    const req = this.running.get(tryKeyString(key));
    if (!req) return;
    this.running.delete(tryKeyString(key));
    this.emit({ type: 'finished', key, at: 0, outcome: 'failed', exitCode: null, signal: 'SIGTERM', failureClass: cls, reason });
  }

  async adopt(records: readonly LiveTryRecord[]): Promise<AdoptResult[]> {
    return records.map((r) => ({ key: r.key, adopted: false, reason: 'scripted executor adopts nothing' }));
  }

  onEvent(listener: (e: ExecutorEvent) => void): void {
    this.listeners.push(listener);
  }

  capacity(): ExecutorCapacity {
    return { cpu: { used: 0, total: 64 }, memoryMb: { used: 0, total: 65536 }, gpu: { used: 0, total: this.gpuTotal }, running: this.running.size };
  }

  async close(): Promise<void> {}

  private emit(e: ExecutorEvent): void {
    for (const l of this.listeners) l(e);
  }
}
