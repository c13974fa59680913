/**
 * A burst of launches on a real control plane (KWOK nodes): creations go first, and the try
 * logs still read as if every line had been written when it happened.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventRecorder, shellTry, uniqueKey } from '../../src/executors/conformance.js';
import { KubernetesExecutor } from '../../src/executors/kubernetes/kubernetes-executor.js';
import type { TryKey } from '../../src/executors/types.js';
import { CLUSTER_START_TIMEOUT_MS, clusterAvailable, dropNamespace, ensureCluster, freshNamespace, type TestCluster } from './cluster.js';

const timeOf = (line: string) => Date.parse(line.slice(0, line.indexOf(' ')));

describe.runIf(clusterAvailable())('Kubernetes executor: a burst of launches', () => {
  let cluster: TestCluster;
  let ns: string;
  let dir: string;
  let executor: KubernetesExecutor;
  let events: EventRecorder;

  beforeAll(async () => {
    cluster = await ensureCluster();
    ns = await freshNamespace(cluster, 'ty-burst');
    dir = await mkdtemp(join(tmpdir(), 'trainyard-k8s-burst-'));
    executor = new KubernetesExecutor({ id: 'k8s-burst', kubeconfigPath: cluster.kubeconfig, namespace: ns, createConcurrency: 4, onClose: 'delete' });
    events = new EventRecorder(executor);
  }, CLUSTER_START_TIMEOUT_MS);

  afterAll(async () => {
    await executor?.close();
    if (cluster && ns) await dropNamespace(cluster, ns);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('status lines held while pods are created keep their order and the time they happened', async () => {
    const reqs = Array.from({ length: 24 }, (_, i) =>
      shellTry(dir, 'python train.py', {
        key: uniqueKey(),
        logPath: join(dir, `try-${i}.log`),
        image: 'acme/train:1',
        pod: { annotations: { 'sim.trainyard.dev/duration': '300ms' } },
      }),
    );
    const launchedAt = new Map<TryKey, number>();
    await Promise.all(reqs.map((r) => executor.launch(r).then(() => launchedAt.set(r.key, Date.now()))));
    for (const r of reqs) {
      expect(await events.finished(r.key, 60_000)).toMatchObject({ outcome: 'success' });
      await executor.logsFlushed(r.key);
      const lines = (await readFile(r.logPath, 'utf8')).trimEnd().split('\n');
      const at = (mark: string) => lines.findIndex((l) => l.includes(mark));
      // The watch may see the pod bound before the create's answer arrives: those two lines may swap.
      const [created, scheduled, running, output, ended] = ['system | created pod ', 'system | scheduled on node ', 'system | pod ', 'stdout | ', 'system | try succeeded'].map(at);
      const inOrder = [created, scheduled].every((i) => i >= 0 && i < running) && running < output && output < ended;
      expect(inOrder, lines.join('\n')).toBe(true);
      const systemTimes = lines.filter((l) => l.includes(' system | ')).map(timeOf);
      expect(systemTimes).toEqual([...systemTimes].sort((a, b) => a - b));
    }
    // The first pod's lines were written once the burst was over, but its "created" line is
    // stamped when it was created: no later than its launch returned, before the last one did.
    const [firstKey, firstAt] = [...launchedAt].sort((a, b) => a[1] - b[1])[0];
    const lastAt = Math.max(...launchedAt.values());
    expect(lastAt).toBeGreaterThan(firstAt);
    const created = (await readFile(reqs.find((r) => r.key === firstKey)!.logPath, 'utf8')).split('\n').find((l) => l.includes('system | created pod '))!;
    expect(timeOf(created)).toBeLessThanOrEqual(firstAt);
  });
});
