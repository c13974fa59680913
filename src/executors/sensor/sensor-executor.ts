import { EventHub } from '../event-hub.js';
import os from 'node:os';
import type { FailureClass } from '../../core/failure.js';
import { SensorRunner, type SensorRunnerOptions } from '../../sensors/runner.js';
import { sensorFromSpec, type SensorSpec } from '../../sensors/spec.js';
import { isSensorFailed } from '../../sensors/errors.js';
import { type CheckWorkers, customSensorCheck } from '../../sensors/custom.js';
import type { SensorCheck } from '../../sensors/types.js';
import { DEFAULT_MAX_CONSECUTIVE_ERRORS } from '../../sensors/options.js';
import { TryLogWriter } from '../log-writer.js';
import { minimalEnv } from '../local/env.js';
import {
  type SensorLaunch,
  type AdoptResult,
  type Executor,
  type ExecutorCapacity,
  type ExecutorEvent,
  type AnyLaunch,
  type LiveTryRecord,
  type TryKey,
  tryKeyString,
} from '../types.js';

/**
 * Runs sensors: each waiting sensor is an entry in one timer heap, poked by the runner in
 * this process. No process, no executor slot and no pool slot is held while it waits.
 */
export class SensorExecutor implements Executor {
  readonly name = 'sensor';
  private readonly events = new EventHub();
  private readonly keys = new Map<string, TryKey>();
  private readonly runner: SensorRunner;
  private readonly lastDetail = new Map<string, string>();
  /** Logs of custom sensors, open while they wait. */
  private readonly logs = new Map<string, TryLogWriter>();
  private readonly workers?: CheckWorkers;

  /** `workerPool` runs custom checks (functions in the DAG file); without it a custom sensor fails at launch. */
  constructor(options: Omit<SensorRunnerOptions, 'onDone' | 'onTimeout' | 'onError' | 'onPoke'> & { workerPool?: CheckWorkers } = {}) {
    this.workers = options.workerPool;
    const now = () => Date.now();
    this.runner = new SensorRunner({
      ...options,
      onDone: (id, r) => this.finish(id, { outcome: 'success', result: r.value ?? null }, now()),
      onTimeout: (id, softFail, p) =>
        this.finish(id, softFail ? { outcome: 'skipped', reason: `timed out after ${p.pokes} checks (soft fail): ${p.detail ?? ''}` } : { outcome: 'failed', failureClass: 'execution_timeout', reason: `the sensor timed out; last check: ${p.detail ?? 'no answer'}` }, now()),
      onError: (id, err) =>
        this.finish(id, { outcome: 'failed', failureClass: isSensorFailed(err) ? 'upstream_unavailable' : 'user_error', reason: `the sensor's check failed: ${(err as Error)?.message ?? String(err)}` }, now()),
      onPoke: (id, p) => {
        const key = this.keys.get(id);
        if (!key || !p.detail || this.lastDetail.get(id) === p.detail) return;
        this.lastDetail.set(id, p.detail);
        this.emit({ type: 'pending_reason', key, reason: p.detail });
      },
    });
  }

  hasCapacity(): boolean {
    return true;
  }

  async launch(req: AnyLaunch): Promise<void> {
    if (req.kind !== 'sensor') throw new Error('the sensor executor runs sensors only');
    const id = tryKeyString(req.key);
    if (this.keys.has(id)) return;
    this.keys.set(id, req.key);
    this.emit({ type: 'started', key: req.key, at: Date.now(), host: os.hostname() });
    try {
      const check = req.sensor.kind === 'custom' ? await this.customCheck(id, req) : sensorFromSpec(req.sensor as unknown as SensorSpec);
      if (!this.keys.has(id)) return; // cancelled while the log opened
      this.runner.add(id, check, { ...req.options, logicalDate: req.logicalDate });
    } catch (e) {
      this.finish(id, { outcome: 'failed', failureClass: 'config', reason: (e as Error).message }, Date.now());
    }
  }

  /** The check of a custom sensor: its function runs in the worker pool, its errors go to its log. */
  private async customCheck(id: string, req: SensorLaunch): Promise<SensorCheck> {
    if (!this.workers) throw new Error('this scheduler runs no worker pool, so it cannot run custom sensor checks; give the sensor executor a workerPool');
    if (!req.code || !req.context) throw new Error('a custom sensor launch carries no code reference; rebuild the launch with buildLaunch()');
    const log = await TryLogWriter.open(req.logPath);
    this.logs.set(id, log);
    log.system(`custom check ${req.code.taskId} of ${req.code.file}, run in a worker every ${req.options.pokeIntervalMs} ms`);
    return customSensorCheck({
      workers: this.workers,
      code: req.code,
      context: req.context,
      env: { ...minimalEnv(), ...req.env },
      log,
      maxConsecutiveErrors: req.options.maxConsecutiveErrors ?? DEFAULT_MAX_CONSECUTIVE_ERRORS,
      killGraceMs: req.killGraceMs,
    });
  }

  async cancel(key: TryKey, failureClass: FailureClass, reason: string): Promise<void> {
    const id = tryKeyString(key);
    if (!this.keys.has(id)) return;
    this.runner.remove(id);
    this.finish(id, { outcome: 'failed', failureClass, reason }, Date.now());
  }

  /** A sensor's waiting state lives in this process; after a restart it starts waiting again. */
  async adopt(records: readonly LiveTryRecord[]): Promise<AdoptResult[]> {
    return records.map((r) => ({ key: r.key, adopted: false, reason: 'the sensor was waiting in a scheduler that stopped; it waits again' }));
  }

  onEvent(listener: (event: ExecutorEvent) => void): void {
    this.events.on(listener);
  }

  capacity(): ExecutorCapacity {
    return { cpu: { used: 0, total: 0 }, memoryMb: { used: 0, total: 0 }, gpu: { used: 0, total: 0 }, running: this.keys.size };
  }

  async close(): Promise<void> {
    for (const id of [...this.keys.keys()]) {
      this.runner.remove(id);
      this.finish(id, { outcome: 'failed', failureClass: 'lost', reason: 'scheduler shutting down' }, Date.now());
    }
    this.runner.close();
  }

  private finish(id: string, how: { outcome: 'success' | 'failed' | 'skipped'; result?: unknown; failureClass?: FailureClass; reason?: string }, at: number): void {
    const key = this.keys.get(id);
    if (!key) return;
    this.keys.delete(id);
    this.lastDetail.delete(id);
    const finished: ExecutorEvent = { type: 'finished', key, at, outcome: how.outcome, exitCode: null, signal: null, failureClass: how.failureClass, reason: how.reason, result: how.result };
    const log = this.logs.get(id);
    if (!log) return this.emit(finished);
    this.logs.delete(id);
    log.system(`sensor ended: ${how.outcome}${how.reason ? ` (${how.reason})` : ''}`);
    // The try is finished once its log is complete: a reader that stops at the end state
    // (the API's log stream, a test) must find every line.
    void log
      .close()
      .catch(() => {})
      .then(() => this.emit(finished));
  }

  private emit(event: ExecutorEvent): void {
    this.events.emit(event);
  }
}
