import { afterEach, describe, expect, it } from 'vitest';
import { dag } from '../index.js';
import { requestedGpus } from '../executors/kubernetes/pod-spec.js';
import type { MachinePreset } from '../executors/kubernetes/options.js';
import type { CommandLaunch } from '../executors/types.js';
import { TrainyardError } from '../core/errors.js';
import { ScriptedExecutor } from '../../test/support/scripted-executor.js';
import { registerDag, schedulerHarness, type SchedulerHarness } from '../../test/support/harness.js';
import type { DagRunRow } from '../store/store.js';
import { AdmissionCounters, blockReason, impossibleRequest, tiGpus } from './admission.js';
import { KubernetesExecutor } from '../executors/kubernetes/kubernetes-executor.js';
import { RunModel, type TiModel } from './run-model.js';
import { OVERRIDES_KEY } from './task-overrides.js';

const MACHINES: Record<string, MachinePreset> = {
  'gpu-a100-2x': { resources: { requests: { 'nvidia.com/gpu': '2' }, limits: { 'nvidia.com/gpu': '2' } } },
  'gpu-a100-4x': { resources: { requests: { 'nvidia.com/gpu': '4' }, limits: { 'nvidia.com/gpu': '4' } } },
};

/** A scripted executor that counts GPUs as the Kubernetes executor does: machine presets included. */
class PresetExecutor extends ScriptedExecutor {
  gpuTotal = 1000;
  gpuRequest(req: { resources: CommandLaunch['resources']; pod?: Readonly<Record<string, unknown>> }): number {
    return requestedGpus(req.resources, req.pod, MACHINES);
  }
}

let h: SchedulerHarness;
let ex: PresetExecutor;

async function setup(): Promise<void> {
  ex = new PresetExecutor();
  h = await schedulerHarness({ scripted: ex });
}

afterEach(async () => {
  await h?.close();
});

/** Finishes the first live try, then ticks. */
async function finishOne(): Promise<void> {
  const [l] = ex.live();
  ex.start(l, h.now);
  ex.finish(l, h.now);
  await h.tick();
}

const liveGpus = () => ex.live().reduce((n, l) => n + ex.gpuRequest(l as CommandLaunch), 0);

describe('pools with a GPU quota', () => {
  it('admit GPU tasks up to the quota and never beyond, recording the GPUs each holds', async () => {
    await setup();
    await h.store.upsertPool('team-a', 100, null, 4);
    const d = dag('sweep');
    d.command('trial', { command: 'train', pool: 'team-a', resources: { gpu: 1 }, expand: { i: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] } });
    await registerDag(h.store, d);
    const runId = await h.trigger('sweep');
    await h.tick();
    await h.tick();
    expect(ex.live()).toHaveLength(4);
    const tis = await h.store.listTaskInstances('sweep', runId);
    expect(tis.filter((t) => t.state === 'scheduled')).toHaveLength(6);
    expect(tis.filter((t) => t.state === 'queued').map((t) => t.pool_gpus)).toEqual([1, 1, 1, 1]);
    let done = 0;
    while (ex.live().length) {
      expect(liveGpus()).toBeLessThanOrEqual(4);
      await finishOne();
      done++;
    }
    expect(done).toBe(10);
    expect(await h.runState('sweep', runId)).toBe('success');
  });

  it('counts a machine preset’s GPUs, and admits by priority within the quota', async () => {
    await setup();
    await h.store.upsertPool('team-a', 100, null, 4);
    const d = dag('mixed');
    d.command('small', { command: 'train', pool: 'team-a', priorityWeight: 1, resources: { gpu: 1 }, expand: { i: [0, 1, 2, 3] } });
    d.command('big', { command: 'train', pool: 'team-a', priorityWeight: 10, pod: { machine: 'gpu-a100-2x' } });
    await registerDag(h.store, d);
    await h.trigger('mixed');
    await h.tick();
    await h.tick();
    const live = ex.live().map((l) => l.key.taskId).sort();
    expect(live).toEqual(['big', 'small', 'small']);
    expect(liveGpus()).toBe(4);
  });

  it('a task that needs more GPUs than the quota waits until the quota is raised; a pool without a quota does not count GPUs', async () => {
    await setup();
    await h.store.upsertPool('team-a', 100, null, 2);
    await h.store.upsertPool('open', 100, null);
    const d = dag('big');
    d.command('huge', { command: 'train', pool: 'team-a', pod: { machine: 'gpu-a100-4x' } });
    d.command('free', { command: 'train', pool: 'open', resources: { gpu: 8 }, expand: { i: [0, 1, 2] } });
    await registerDag(h.store, d);
    const runId = await h.trigger('big');
    await h.tick();
    await h.tick();
    expect(ex.live().map((l) => l.key.taskId)).toEqual(['free', 'free', 'free']);
    const huge = (await h.store.listTaskInstances('big', runId)).find((t) => t.task_id === 'huge')!;
    expect(huge.state).toBe('scheduled');
    await h.store.upsertPool('team-a', 100, null, 4);
    h.scheduler.notify();
    await h.tick();
    await h.tick();
    expect(ex.live().map((l) => l.key.taskId)).toContain('huge');
  });

  it('refuses a negative or fractional GPU quota, and changes nothing', async () => {
    await setup();
    await h.store.upsertPool('team-a', 8, null, 4);
    for (const bad of [-1, 1.5]) {
      await expect(h.store.upsertPool('team-a', 8, null, bad)).rejects.toThrow(/GPU quota must be a whole number of GPUs, 0 or more/);
    }
    expect((await h.store.listPools()).find((p) => p.name === 'team-a')).toMatchObject({ slots: 8, gpus: 4 });
  });
});

describe('why a GPU task waits for its pool', () => {
  const spec = (() => {
    const d = dag('why');
    d.command('one', { command: 'train', pool: 'team-a', resources: { gpu: 1 } });
    d.command('big', { command: 'train', pool: 'team-a', pod: { machine: 'gpu-a100-4x' } });
    return d.toSpec();
  })();
  const run = new RunModel({ dag_id: 'why', run_id: 'r', conf: '{}' } as DagRunRow, spec);
  const ti = (taskId: string): TiModel => ({ task: run.task(taskId), mapIndex: -1, state: 'scheduled', tryNumber: 0, budgetTries: 0, freeRetries: 0, nextRetryAt: null, seq: 1, item: undefined, resourceOverrides: null });
  const executor = new PresetExecutor();
  const pools = new Map([['team-a', { slots: 10, gpus: 4 }]]);

  it('says how many GPUs are in use, and when a task can never fit the quota', () => {
    const c = new AdmissionCounters((t) => tiGpus(t, executor));
    expect(blockReason(ti('one'), spec, pools, c, executor)).toBeNull();
    for (let i = 0; i < 4; i++) c.add(ti('one'));
    expect(blockReason(ti('one'), spec, pools, c, executor)).toBe("waiting for pool 'team-a': 4 of 4 GPUs in use, this task needs 1");
    expect(blockReason(ti('big'), spec, new Map([['team-a', { slots: 10, gpus: 2 }]]), new AdmissionCounters(), executor)).toBe(
      "waiting for pool 'team-a': this task needs 4 GPUs, more than the pool's GPU quota of 2; raise the quota (PATCH /api/v1/pools/team-a) or ask for fewer",
    );
    const held = ti('big');
    c.add(held);
    expect(c.poolGpus.get('team-a')).toBe(8);
    c.remove(held);
    expect(c.poolGpus.get('team-a')).toBe(4);
  });
  it('an executor that does not count CPU or memory never makes a task impossible; a GPU quota it cannot meet does', () => {
    const k8s = new KubernetesExecutor({ machines: MACHINES });
    expect(impossibleRequest(ti('one'), k8s)).toBeNull();
    const quota = new KubernetesExecutor({ machines: MACHINES, gpuQuota: 2 });
    expect(impossibleRequest(ti('one'), quota)).toBeNull();
    const big: TiModel = { ...ti('one'), resourceOverrides: { gpu: 3 } };
    expect(impossibleRequest(big, quota)).toBe(
      "the task needs 3 GPU (it has 2), more than executor 'kubernetes' has in all; lower its resources or run it on an executor with more (e.g. Kubernetes)",
    );
    expect(k8s.gpuRequest({ resources: { cpu: 1, memoryMb: 1, gpu: 0 }, pod: { machine: 'gpu-a100-4x' } })).toBe(4);
    expect(k8s.gpuRequest({ resources: { cpu: 1, memoryMb: 1, gpu: 1 }, pod: { machine: 'no-such-preset' } })).toBe(1);
  });
});

describe('trigger overrides of machine presets and resources', () => {
  it('a run may pick another preset and resources for a task; the launch and the GPU count use them', async () => {
    await setup();
    await h.store.upsertPool('team-a', 100, null, 4);
    const d = dag('ovr');
    d.command('train', { command: 'train', pool: 'team-a', resources: { gpu: 1, memory: '1Gi' }, pod: { machine: 'gpu-a100-2x' } });
    await registerDag(h.store, d);
    const conf = { [OVERRIDES_KEY]: { train: { machine: 'gpu-a100-4x', resources: { memory: '16Gi', cpu: '500m' } } } };
    const runId = await h.trigger('ovr', { conf, machines: Object.keys(MACHINES) });
    await h.tick();
    await h.tick();
    const [l] = ex.live() as CommandLaunch[];
    expect(l.resources).toMatchObject({ cpu: 0.5, memoryMb: 16384, gpu: 1 });
    expect(l.pod).toEqual({ machine: 'gpu-a100-2x', triggerOverrides: { machine: 'gpu-a100-4x' } });
    const ti = (await h.store.listTaskInstances('ovr', runId))[0];
    expect(ti.pool_gpus).toBe(4);
    // The overrides are not params.
    expect(JSON.parse((await h.store.getRun('ovr', runId))!.params)).toEqual({});
  });

  it('an unknown preset, task or figure is refused at trigger time, naming it, and no run is created', async () => {
    await setup();
    const d = dag('ovr2');
    d.command('train', { command: 'train' });
    await registerDag(h.store, d);
    const attempt = (overrides: unknown) => h.trigger('ovr2', { conf: { [OVERRIDES_KEY]: overrides }, machines: Object.keys(MACHINES), runId: 'r' });
    const error = async (overrides: unknown) => {
      const e = await attempt(overrides).then(() => undefined, (x: unknown) => x);
      expect(e).toBeInstanceOf(TrainyardError);
      expect((e as TrainyardError).code).toBe('INVALID_CONF');
      return (e as Error).message;
    };
    expect(await error({ train: { machine: 'gpu-h100-8x' } })).toBe(
      "trainyard.overrides: task 'train': unknown machine preset 'gpu-h100-8x'; the known presets are 'gpu-a100-2x', 'gpu-a100-4x'",
    );
    expect(await error({ evaluate: { machine: 'gpu-a100-2x' } })).toMatch(/DAG 'ovr2' has no task 'evaluate'; its tasks are 'train'/);
    expect(await error({ train: { resources: { gpu: 1.5 } } })).toMatch(/resources.gpu must be a whole number of GPUs/);
    expect(await error({ train: { resources: { memory: 'lots' } } })).toMatch(/invalid memory quantity 'lots'/);
    expect(await error({ train: { gpus: 2 } })).toMatch(/unknown key 'gpus'; known keys: 'machine', 'resources'/);
    expect(await h.store.getRun('ovr2', 'r')).toBeUndefined();
  });
});
