import { afterEach, describe, expect, it } from 'vitest';
import { chain, dag } from '../src/index.js';
import { ScriptedExecutor } from './support/scripted-executor.js';
import { registerDag, type SchedulerHarness, schedulerHarness } from './support/harness.js';
import { clearTasks, markTask } from '../src/scheduler/operations.js';
import { HomeLayout } from '../src/scheduler/paths.js';

let h: SchedulerHarness;
let ex: ScriptedExecutor;

async function setup(opts: Parameters<typeof schedulerHarness>[1] = {}) {
  ex = new ScriptedExecutor();
  h = await schedulerHarness({ scripted: ex }, opts);
}

afterEach(async () => {
  await h?.close();
});

/** Starts and finishes every live try of a task with success. */
async function succeed(taskId: string, result?: unknown) {
  for (const l of ex.live(taskId)) {
    ex.start(l, h.now);
    ex.finish(l, h.now, { result });
  }
  await h.tick();
}

describe('scheduler on a fake clock', () => {
  it('runs a chain in order and ends the run success', async () => {
    await setup();
    const d = dag('chain3');
    const a = d.command('a', { command: 'true' });
    const b = d.command('b', { command: 'true' });
    const c = d.command('c', { command: 'true' });
    chain(a, b, c);
    await registerDag(h.store, d);
    const runId = await h.trigger('chain3');
    await h.tick();
    expect(ex.live().map((l) => l.key.taskId)).toEqual(['a']);
    await succeed('a');
    expect(ex.live().map((l) => l.key.taskId)).toEqual(['b']);
    await succeed('b');
    await succeed('c');
    expect(await h.tiStates('chain3', runId)).toEqual({ a: 'success', b: 'success', c: 'success' });
    expect(await h.runState('chain3', runId)).toBe('success');
  });

  it('retries after the delay, with exponential backoff, then fails the run', async () => {
    await setup();
    const d = dag('retry', { defaultArgs: { retries: 2, retryDelay: '10s', retryExponentialBackoff: true } });
    d.command('flaky', { command: 'false' });
    await registerDag(h.store, d);
    const runId = await h.trigger('retry');
    await h.tick();
    const fail = async () => {
      const [l] = ex.live('flaky');
      ex.start(l, h.now);
      ex.finish(l, h.now, { outcome: 'failed' });
      await h.tick();
    };
    await fail();
    expect((await h.tiStates('retry', runId)).flaky).toBe('up_for_retry');
    const ti1 = await h.store.getTaskInstance({ dagId: 'retry', runId, taskId: 'flaky', mapIndex: -1 });
    // First retry: base delay with jitter in [delay/2, delay] (random fixed at 0.5).
    const delay1 = ti1!.next_retry_at! - h.now;
    expect(delay1).toBeGreaterThanOrEqual(5_000);
    expect(delay1).toBeLessThanOrEqual(10_000);
    await h.tick(delay1 - 1);
    expect(ex.live('flaky')).toHaveLength(0);
    await h.tick(1);
    expect(ex.live('flaky')).toHaveLength(1);
    await fail();
    const ti2 = await h.store.getTaskInstance({ dagId: 'retry', runId, taskId: 'flaky', mapIndex: -1 });
    const delay2 = ti2!.next_retry_at! - h.now;
    expect(delay2).toBeGreaterThan(delay1);
    await h.tick(delay2);
    await fail();
    expect((await h.tiStates('retry', runId)).flaky).toBe('failed');
    expect(await h.runState('retry', runId)).toBe('failed');
    const tries = await h.store.listTries({ dagId: 'retry', runId, taskId: 'flaky', mapIndex: -1 });
    expect(tries.map((t) => t.try_number)).toEqual([1, 2, 3]);
    expect(tries.every((t) => t.state === 'failed' && t.failure_class === 'user_error')).toBe(true);
  });

  it('a free failure class (lost) retries at once without using the budget', async () => {
    await setup();
    const d = dag('lost', { defaultArgs: { retries: 0 } });
    d.command('t', { command: 'true' });
    await registerDag(h.store, d);
    const runId = await h.trigger('lost');
    await h.tick();
    const [l] = ex.live('t');
    ex.finish(l, h.now, { outcome: 'failed', failureClass: 'lost' });
    await h.tick();
    await h.tick();
    expect(ex.live('t')).toHaveLength(1);
    await succeed('t');
    const ti = await h.store.getTaskInstance({ dagId: 'lost', runId, taskId: 't', mapIndex: -1 });
    expect(ti).toMatchObject({ state: 'success', try_number: 2, free_retries: 1, budget_tries: 1 });
  });

  it('cancels a try past its execution timeout and records the class', async () => {
    await setup();
    const d = dag('timeout');
    d.command('slow', { command: 'sleep', args: ['100'], executionTimeout: '30s' });
    await registerDag(h.store, d);
    const runId = await h.trigger('timeout');
    await h.tick();
    const [l] = ex.live('slow');
    ex.start(l, h.now);
    await h.tick(29_999);
    expect(ex.cancelled).toHaveLength(0);
    await h.tick(1);
    expect(ex.cancelled.map((c) => c.cls)).toEqual(['execution_timeout']);
    await h.tick();
    const ti = await h.store.getTaskInstance({ dagId: 'timeout', runId, taskId: 'slow', mapIndex: -1 });
    expect(ti).toMatchObject({ state: 'failed', failure_class: 'execution_timeout' });
    expect(ti!.reason).toContain('30s');
  });

  it('fails the run at its dagrunTimeout and skips what had not started', async () => {
    await setup();
    const d = dag('runtimeout', { dagrunTimeout: '1m' });
    const a = d.command('a', { command: 'sleep' });
    d.command('b', { command: 'true' }).after(a);
    await registerDag(h.store, d);
    const runId = await h.trigger('runtimeout');
    await h.tick();
    ex.start(ex.live('a')[0], h.now);
    await h.tick(60_000);
    await h.tick();
    expect(await h.tiStates('runtimeout', runId)).toEqual({ a: 'failed', b: 'skipped' });
    expect(await h.runState('runtimeout', runId)).toBe('failed');
  });

  it('admits within pool slots, highest priority first', async () => {
    await setup();
    await h.store.upsertPool('gpu', 2, null);
    const d = dag('pools');
    d.command('low', { command: 'true', pool: 'gpu', priorityWeight: 1, expand: { i: [0, 1, 2] } });
    d.command('high', { command: 'true', pool: 'gpu', priorityWeight: 10 });
    await registerDag(h.store, d);
    await h.trigger('pools');
    await h.tick();
    await h.tick();
    const first = ex.live().map((l) => `${l.key.taskId}[${l.key.mapIndex}]`);
    expect(first).toHaveLength(2);
    expect(first[0]).toBe('high[-1]');
    await succeed('high');
    expect(ex.live()).toHaveLength(2);
    const seen = new Set<string>();
    while (ex.live().length) {
      expect(ex.live().length).toBeLessThanOrEqual(2);
      const [l] = ex.live();
      seen.add(`${l.key.taskId}[${l.key.mapIndex}]`);
      ex.finish(l, h.now);
      await h.tick();
    }
    expect(seen.size).toBe(3);
  });

  it('tells the executor which tries come next, once each, with the folders their launch will use', async () => {
    await setup({ parallelism: 2 });
    const d = dag('ahead', { defaultArgs: { retries: 1, retryDelay: '1s' } });
    d.command('t', { command: 'true', expand: { i: [0, 1, 2, 3, 4] } });
    d.sensor('wait', { check: { kind: 'time_delta', delta: '1h' } });
    await registerDag(h.store, d);
    const runId = await h.trigger('ahead');
    await h.tick();
    const launched = () => ex.launched.map((l) => `${l.key.taskId}[${l.key.mapIndex}]#${l.key.tryNumber}`);
    const prepared = () => ex.prepared.map((p) => `${p.key.taskId}[${p.key.mapIndex}]#${p.key.tryNumber}`);
    expect(launched()).toEqual(['t[0]#1', 't[1]#1']);
    // The rest of the queue, in the order it will be admitted; the sensor is not told.
    expect(prepared()).toEqual(['t[2]#1', 't[3]#1', 't[4]#1']);
    const next = ex.prepared[0];
    expect(next.dirs).toEqual(new HomeLayout(h.home).tryDirs(next.key));
    expect(next.logPath).toBe(new HomeLayout(h.home).logPath(next.key));
    expect(next.logPath).toContain(`run_id=${runId}`);
    // A launch made after the hint uses the same folders.
    const [first] = ex.live('t');
    ex.finish(first, h.now, { outcome: 'failed' });
    await h.tick();
    const third = ex.launched.find((l) => l.key.mapIndex === 2)!;
    expect(third.dirs).toEqual(next.dirs);
    expect(third.logPath).toBe(next.logPath);
    // Nothing is told twice; the failed instance's retry is told as its next try when it is queued again.
    expect(prepared()).toEqual(['t[2]#1', 't[3]#1', 't[4]#1']);
    await h.tick(1_000);
    expect(prepared()).toEqual(['t[2]#1', 't[3]#1', 't[4]#1', 't[0]#2']);
  });

  it('starts at most maxActiveRuns runs of a DAG at once', async () => {
    await setup();
    const d = dag('mar', { maxActiveRuns: 1 });
    d.command('t', { command: 'true' });
    await registerDag(h.store, d);
    const r1 = await h.trigger('mar', { runId: 'r1' });
    const r2 = await h.trigger('mar', { runId: 'r2' });
    await h.tick();
    expect(await h.runState('mar', r1)).toBe('running');
    expect(await h.runState('mar', r2)).toBe('queued');
    await succeed('t');
    await h.tick();
    expect(await h.runState('mar', r1)).toBe('success');
    expect(await h.runState('mar', r2)).toBe('running');
  });

  it('expands a mapping over an upstream result and reduces in map-index order', async () => {
    await setup();
    const d = dag('mapred');
    const make = d.command('make', { command: 'true' });
    const sq = d.command('square', { command: 'true', expand: { n: make.output as never } });
    d.command('sum', { command: 'true', inputs: { all: sq.output } });
    await registerDag(h.store, d);
    const runId = await h.trigger('mapred');
    await h.tick();
    await succeed('make', [3, 1, 2]);
    await h.tick();
    const sq3 = ex.live('square');
    expect(sq3.map((l) => l.key.mapIndex)).toEqual([0, 1, 2]);
    expect(sq3.map((l) => JSON.parse(l.env.TRAINYARD_ITEM))).toEqual([{ n: 3 }, { n: 1 }, { n: 2 }]);
    // finish out of order; the reduce still sees map-index order
    for (const i of [2, 0, 1]) {
      const l = sq3[i];
      ex.finish(l, h.now, { result: (l.key.mapIndex + 1) * 10 });
    }
    await h.tick();
    await h.tick();
    const [sum] = ex.live('sum');
    expect(sum.kind === 'command' && sum.render === undefined).toBe(true);
    expect((sum as { env: Record<string, string> }).env.TRAINYARD_TASK_ID).toBe('sum');
    await succeed('sum');
    expect(await h.runState('mapred', runId)).toBe('success');
  });

  it('skips a mapped task whose input is empty, and its all_success downstream', async () => {
    await setup();
    const d = dag('empty');
    const make = d.command('make', { command: 'true' });
    const m = d.command('each', { command: 'true', expand: { x: make.output as never } });
    d.command('after', { command: 'true' }).after(m);
    await registerDag(h.store, d);
    const runId = await h.trigger('empty');
    await h.tick();
    await succeed('make', []);
    expect(await h.tiStates('empty', runId)).toEqual({ make: 'success', each: 'skipped', after: 'skipped' });
    expect(await h.runState('empty', runId)).toBe('success');
  });

  it('fails the upstream when its list is over maxMapLength, naming the limit', async () => {
    await setup();
    const d = dag('toolong');
    const make = d.command('make', { command: 'true' });
    d.command('each', { command: 'true', maxMapLength: 3, expand: { x: make.output as never } });
    await registerDag(h.store, d);
    const runId = await h.trigger('toolong');
    await h.tick();
    await succeed('make', [1, 2, 3, 4]);
    const ti = await h.store.getTaskInstance({ dagId: 'toolong', runId, taskId: 'make', mapIndex: -1 });
    expect(ti!.state).toBe('failed');
    expect(ti!.reason).toMatch(/3/);
    expect(ti!.reason).toMatch(/maxMapLength/);
    expect((await h.tiStates('toolong', runId)).each).toBe('upstream_failed');
  });

  it('a branch follows the chosen task and skip propagates with trigger rules', async () => {
    await setup();
    const d = dag('branchy');
    const br = d.command('choose', { command: 'true', branch: true });
    const yes = d.command('register', { command: 'true' }).after(br);
    const no = d.command('notify', { command: 'true' }).after(br);
    d.command('after_no', { command: 'true' }).after(no);
    d.command('join', { command: 'true', triggerRule: 'none_failed_min_one_success' }).after(yes, no);
    await registerDag(h.store, d);
    const runId = await h.trigger('branchy');
    await h.tick();
    await succeed('choose', 'register');
    expect(await h.tiStates('branchy', runId)).toMatchObject({ register: 'queued', notify: 'skipped', after_no: 'skipped' });
    await h.tick();
    await succeed('register');
    await succeed('join');
    expect(await h.tiStates('branchy', runId)).toMatchObject({ join: 'success' });
    expect(await h.runState('branchy', runId)).toBe('success');
  });

  it('all_done runs after a failure and one_failed fires early', async () => {
    await setup();
    const d = dag('rules');
    const a = d.command('a', { command: 'false' });
    const b = d.command('b', { command: 'sleep' });
    d.command('cleanup', { command: 'true', triggerRule: 'all_done' }).after(a, b);
    d.command('alert', { command: 'true', triggerRule: 'one_failed' }).after(a, b);
    await registerDag(h.store, d);
    const runId = await h.trigger('rules');
    await h.tick();
    const [la] = ex.live('a');
    ex.finish(la, h.now, { outcome: 'failed' });
    await h.tick();
    expect(await h.tiStates('rules', runId)).toMatchObject({ alert: 'queued', cleanup: 'none' });
    await h.tick();
    await succeed('alert');
    await succeed('b');
    await h.tick();
    expect(await h.tiStates('rules', runId)).toMatchObject({ cleanup: 'queued' });
  });

  it('a mapped upstream counts every instance for its downstream', async () => {
    await setup();
    const d = dag('mappedup');
    const m = d.command('m', { command: 'true', expand: { x: [1, 2, 3] } });
    d.command('all', { command: 'true' }).after(m);
    await registerDag(h.store, d);
    const runId = await h.trigger('mappedup');
    await h.tick();
    await h.tick();
    const ls = ex.live('m');
    expect(ls).toHaveLength(3);
    ex.finish(ls[0], h.now);
    ex.finish(ls[1], h.now);
    await h.tick();
    expect((await h.tiStates('mappedup', runId)).all).toBe('none');
    ex.finish(ls[2], h.now, { outcome: 'failed' });
    await h.tick();
    expect((await h.tiStates('mappedup', runId)).all).toBe('upstream_failed');
  });

  it('rejects a trigger whose conf fails the params schema and creates no run', async () => {
    await setup();
    const { z } = await import('zod');
    const d = dag('params', { params: z.object({ epochs: z.number().int().min(1).default(5) }) });
    d.command('t', { command: 'true' });
    await registerDag(h.store, d);
    await expect(h.trigger('params', { conf: { epochs: 'many' } })).rejects.toThrow(/field epochs must be integer/);
    expect(await h.store.listRuns({ dagId: 'params' })).toHaveLength(0);
    const ok = await h.trigger('params', { conf: { epochs: 3 } });
    expect(JSON.parse((await h.store.getRun('params', ok))!.params)).toEqual({ epochs: 3 });
  });

  it('fails a task that asks for more GPUs than the executor has, saying why', async () => {
    await setup();
    ex.gpuTotal = 2;
    const d = dag('greedy');
    const big = d.command('big', { command: 'true', resources: { gpu: 4 } });
    d.command('after', { command: 'true' }).after(big);
    d.command('small', { command: 'true', resources: { gpu: 2 } });
    await registerDag(h.store, d);
    const runId = await h.trigger('greedy');
    await h.tick();
    const ti = await h.store.getTaskInstance({ dagId: 'greedy', runId, taskId: 'big', mapIndex: -1 });
    expect(ti).toMatchObject({ state: 'failed', failure_class: 'unschedulable' });
    expect(ti!.reason).toContain('4 GPU (it has 2)');
    expect((await h.tiStates('greedy', runId)).after).toBe('upstream_failed');
    expect(ex.live().map((l) => l.key.taskId)).toEqual(['small']);
  });

  it('never gives more GPUs than exist: GPU tasks wait for a free device', async () => {
    await setup();
    ex.gpuTotal = 2;
    const d = dag('gpus');
    d.command('trial', { command: 'true', resources: { gpu: 1 }, expand: { i: [0, 1, 2, 3, 4] } });
    await registerDag(h.store, d);
    const runId = await h.trigger('gpus');
    await h.tick();
    await h.tick();
    for (let round = 0; round < 5 && ex.live().length; round++) {
      expect(ex.live().length).toBeLessThanOrEqual(2);
      ex.finish(ex.live()[0], h.now);
      await h.tick();
    }
    expect(Object.values(await h.tiStates('gpus', runId)).every((s) => s === 'success')).toBe(true);
  });

  it('clearing a failed task with its downstream re-runs them as new tries', async () => {
    await setup();
    const d = dag('clearme');
    const a = d.command('a', { command: 'false' });
    d.command('b', { command: 'true' }).after(a);
    await registerDag(h.store, d);
    const runId = await h.trigger('clearme');
    await h.tick();
    ex.finish(ex.live('a')[0], h.now, { outcome: 'failed' });
    await h.tick();
    expect(await h.runState('clearme', runId)).toBe('failed');
    expect(await clearTasks(h.store, 'clearme', runId, ['a'], { downstream: true }, h.now)).toEqual(['a', 'b']);
    h.scheduler.notify();
    await h.tick();
    const [retry] = ex.live('a');
    expect(retry.key.tryNumber).toBe(2);
    await succeed('a');
    await succeed('b');
    expect(await h.runState('clearme', runId)).toBe('success');
    const ti = await h.store.getTaskInstance({ dagId: 'clearme', runId, taskId: 'a', mapIndex: -1 });
    expect(ti).toMatchObject({ state: 'success', try_number: 2 });
  });

  it('marking a running task success stops its try and lets downstream run', async () => {
    await setup();
    const d = dag('markme');
    const a = d.command('a', { command: 'sleep' });
    d.command('b', { command: 'true' }).after(a);
    await registerDag(h.store, d);
    const runId = await h.trigger('markme');
    await h.tick();
    ex.start(ex.live('a')[0], h.now);
    await h.tick();
    await markTask(h.store, { dagId: 'markme', runId, taskId: 'a' }, 'success', h.now);
    h.scheduler.notify();
    await h.tick();
    await h.tick();
    expect(ex.cancelled.map((c) => c.key.taskId)).toEqual(['a']);
    expect(ex.live().map((l) => l.key.taskId)).toEqual(['b']);
    await succeed('b');
    expect(await h.runState('markme', runId)).toBe('success');
  });

  it('retries an OOM-killed try with 1.5x the memory, up to the cap', async () => {
    await setup({ oomMemoryCapMb: 2500 });
    const d = dag('oom', { defaultArgs: { retries: 3, retryDelay: 0 } });
    d.command('train', { command: 'true', resources: { memory: '1Gi' } });
    await registerDag(h.store, d);
    const runId = await h.trigger('oom');
    await h.tick();
    const memories: number[] = [];
    for (let i = 0; i < 3; i++) {
      const [l] = ex.live('train');
      memories.push(l.resources.memoryMb);
      ex.finish(l, h.now, { outcome: 'failed', failureClass: 'oom_killed' });
      await h.tick();
      await h.tick();
    }
    expect(memories).toEqual([1024, 1536, 2304]);
    expect(ex.live('train')[0].resources.memoryMb).toBe(2500);
    const ti = await h.store.getTaskInstance({ dagId: 'oom', runId, taskId: 'train', mapIndex: -1 });
    expect(JSON.parse(ti!.resource_overrides!)).toEqual({ memoryMb: 2500 });
  });
});
