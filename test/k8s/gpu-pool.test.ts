/**
 * A pool with a GPU quota in front of the Kubernetes executor: a mapped sweep of GPU tasks
 * goes through the real scheduler, and the pods it makes on the API server never ask for more
 * GPUs at once than the pool allows. The GPUs come from a machine preset, so the count the
 * pool makes is the preset's nvidia.com/gpu, not the task's own `resources`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dag } from '../../src/index.js';
import { KubernetesExecutor } from '../../src/executors/kubernetes/kubernetes-executor.js';
import { managedSelector } from '../../src/executors/kubernetes/naming.js';
import type { PodJson } from '../../src/executors/kubernetes/pod-json.js';
import { ResourceWatcher } from '../../src/executors/kubernetes/watcher.js';
import { registerDag, schedulerHarness, type SchedulerHarness } from '../support/harness.js';
import { CLUSTER_START_TIMEOUT_MS, clusterAvailable, dropNamespace, ensureCluster, eventually, freshNamespace, type TestCluster } from './cluster.js';

const ID = 'k8s-gpu-pool';
const TRIALS = 10;
const QUOTA = 4;

/** Pods seen on the API server, in the order the server changed them (one watch). */
class PodTimeline {
  private readonly phases = new Map<string, string>();
  maxLive = 0;
  created = 0;

  /** Pods that exist and have not reached a final phase. */
  get live(): number {
    return [...this.phases.values()].filter((p) => p !== 'Succeeded' && p !== 'Failed').length;
  }

  see(type: 'ADDED' | 'MODIFIED' | 'DELETED', pod: PodJson): void {
    const name = pod.metadata.name;
    if (type === 'DELETED') this.phases.delete(name);
    else {
      if (!this.phases.has(name)) this.created++;
      this.phases.set(name, pod.status?.phase ?? 'Pending');
    }
    this.maxLive = Math.max(this.maxLive, this.live);
  }
}

describe.runIf(clusterAvailable())('a pool with a GPU quota on Kubernetes', () => {
  let cluster: TestCluster;
  let ns: string;
  let h: SchedulerHarness;
  let executor: KubernetesExecutor;
  let watcher: ResourceWatcher<PodJson>;
  const timeline = new PodTimeline();

  beforeAll(async () => {
    cluster = await ensureCluster();
    ns = await freshNamespace(cluster, 'ty-gpu-pool');
    executor = new KubernetesExecutor({
      id: ID,
      kubeconfigPath: cluster.kubeconfig,
      namespace: ns,
      defaultImage: 'acme/train:1',
      onClose: 'delete',
      machines: {
        'gpu-1x': {
          resources: { requests: { 'nvidia.com/gpu': '1' }, limits: { 'nvidia.com/gpu': '1' } },
          tolerations: [{ key: 'nvidia.com/gpu', operator: 'Equal', value: 'present', effect: 'NoSchedule' }],
        },
      },
    });
    h = await schedulerHarness({ kubernetes: executor });
    watcher = new ResourceWatcher<PodJson>({
      client: cluster.client,
      path: `/api/v1/namespaces/${ns}/pods`,
      labelSelector: managedSelector(ID),
      onList: (items) => items.forEach((p) => timeline.see('MODIFIED', p)),
      onEvent: (type, pod) => timeline.see(type, pod),
    });
    await watcher.start();
  }, CLUSTER_START_TIMEOUT_MS);

  afterAll(async () => {
    await h?.scheduler.stop(0);
    await watcher?.stop();
    await executor?.close();
    await h?.close();
    if (cluster && ns) await dropNamespace(cluster, ns);
  });

  it(`a ${TRIALS}-way sweep of 1-GPU tasks in a pool of ${QUOTA} GPUs runs ${QUOTA} at a time, never more, and all succeed`, async () => {
    await h.store.upsertPool('team-a', 100, 'the team’s GPUs', QUOTA);
    const d = dag('gpu_sweep');
    d.command('trial', {
      command: 'python',
      args: ['train.py'],
      pool: 'team-a',
      resources: { cpu: 0.5, memory: '1Gi' },
      pod: { machine: 'gpu-1x', annotations: { 'sim.trainyard.dev/duration': '3s' } },
      expand: { i: Array.from({ length: TRIALS }, (_, i) => i) },
    });
    await registerDag(h.store, d);
    const runId = await h.trigger('gpu_sweep');
    h.scheduler.start();

    const state = await eventually(async () => {
      const s = await h.runState('gpu_sweep', runId);
      return s === 'success' || s === 'failed' ? s : undefined;
    }, 120_000, 'the sweep to finish');

    const rows = await h.store.listTaskInstances('gpu_sweep', runId);
    expect(state, JSON.stringify(rows.map((t) => [t.map_index, t.state, t.failure_class, t.reason]))).toBe('success');
    const tis = (await h.store.listTaskInstances('gpu_sweep', runId)).filter((t) => t.map_index >= 0);
    expect(tis.map((t) => t.state)).toEqual(Array(TRIALS).fill('success'));
    expect(tis.every((t) => t.pool_gpus === 1)).toBe(true);
    // Every trial made exactly one pod; at most QUOTA of them were ever not finished at once.
    expect(timeline.created).toBe(TRIALS);
    expect(timeline.maxLive).toBe(QUOTA);
  }, 180_000);
});
