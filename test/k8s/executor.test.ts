/**
 * The Kubernetes executor against a real kube-apiserver and kube-scheduler, with KWOK playing
 * the kubelet. Pods are steered with sim.trainyard.dev/* annotations (see
 * docs/kubernetes-test-cluster.md); nothing runs in them, so the task's own output is the
 * cluster's canned log.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventRecorder, shellTry, uniqueKey } from '../../src/executors/conformance.js';
import { KubernetesExecutor } from '../../src/executors/kubernetes/kubernetes-executor.js';
import { podName } from '../../src/executors/kubernetes/naming.js';
import type { PodJson } from '../../src/executors/kubernetes/pod-json.js';
import type { CommandLaunch, ExecutorEvent, TryKey } from '../../src/executors/types.js';
import { CLUSTER_START_TIMEOUT_MS, clusterAvailable, dropNamespace, ensureCluster, eventually, freshNamespace, getNode, listPods, sleep, type TestCluster } from './cluster.js';

const SIM = 'sim.trainyard.dev/';
const EXECUTOR_ID = 'k8s-test';

describe.runIf(clusterAvailable())('KubernetesExecutor on a real control plane', () => {
  let cluster: TestCluster;
  let ns: string;
  let dir: string;
  let executor: KubernetesExecutor;
  let events: EventRecorder;

  const tryOf = (pod: Record<string, unknown> = {}, o: Partial<CommandLaunch> = {}): CommandLaunch =>
    shellTry(dir, 'python train.py', { key: uniqueKey(), image: 'acme/train:1', pod, ...o });
  const sim = (a: Record<string, string>) => Object.fromEntries(Object.entries(a).map(([k, v]) => [`${SIM}${k}`, v]));
  const podOf = (key: TryKey) => cluster.client.request<PodJson>('GET', `/api/v1/namespaces/${ns}/pods/${podName(key, EXECUTOR_ID)}`);
  const podsOfTry = async (key: TryKey) =>
    (await listPods(cluster, ns, `trainyard.dev/managed-by=${EXECUTOR_ID}`)).filter((p) => p.metadata.annotations?.['trainyard.dev/try-key'] === `${key.dagId}/${key.runId}/${key.taskId}/${key.mapIndex}/${key.tryNumber}`);
  const gone = (key: TryKey) => eventually(async () => ((await podsOfTry(key)).length === 0 ? true : undefined), 10_000, 'the pod to be deleted');

  beforeAll(async () => {
    cluster = await ensureCluster();
    ns = await freshNamespace(cluster, 'ty-exec');
    dir = await mkdtemp(join(tmpdir(), 'trainyard-k8s-'));
    executor = new KubernetesExecutor({
      id: EXECUTOR_ID,
      kubeconfigPath: cluster.kubeconfig,
      namespace: ns,
      unscheduledTimeoutMs: 60_000,
      onClose: 'delete',
      machines: {
        'gpu-a100-1x': {
          resources: { requests: { 'nvidia.com/gpu': '1', memory: '8Gi' }, limits: { 'nvidia.com/gpu': '1', memory: '8Gi' } },
          nodeSelector: { 'gpu-type': 'a100' },
          tolerations: [{ key: 'nvidia.com/gpu', operator: 'Equal', value: 'present', effect: 'NoSchedule' }],
        },
      },
    });
    events = new EventRecorder(executor);
  }, CLUSTER_START_TIMEOUT_MS);

  afterAll(async () => {
    await executor?.close();
    if (cluster && ns) await dropNamespace(cluster, ns);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs a pod to success: result from the termination message, logs and metric lines as telemetry', async () => {
    const req = tryOf({ annotations: sim({ result: '{"answer": 42, "tags": ["a"]}', duration: '300ms' }) });
    await executor.launch(req);
    const fin = await events.finished(req.key, 20_000);
    expect(fin).toMatchObject({ outcome: 'success', exitCode: 0, result: { answer: 42, tags: ['a'] } });
    const kinds = events.of(req.key).map((e) => e.type);
    expect(kinds.indexOf('started')).toBeLessThan(kinds.indexOf('finished'));
    const started = events.of(req.key).find((e) => e.type === 'started') as Extract<ExecutorEvent, { type: 'started' }>;
    expect(started.external).toMatch(new RegExp(`^${podName(req.key, EXECUTOR_ID)}/[0-9a-f-]{36}$`));
    expect(started.host).toMatch(/^kwok-/);
    const points = events
      .of(req.key)
      .filter((e): e is Extract<ExecutorEvent, { type: 'telemetry' }> => e.type === 'telemetry')
      .flatMap((e) => e.metrics.map((m) => [m.name, m.value, m.step]));
    expect(points).toEqual([
      ['loss', 0.5, 1],
      ['loss', 0.25, 2],
    ]);
    await executor.logsFlushed(req.key);
    const log = await readFile(req.logPath, 'utf8');
    expect(log).toMatch(/Z stdout \| ::trainyard::metric \{"step":1,"loss":0.5\}$/m);
    expect(log.match(/::trainyard::metric \{"step":1/g)).toHaveLength(1); // no duplicates across reconnects
    expect(log).toMatch(/system \| try succeeded$/m);
    await gone(req.key); // onFinish delete
  });

  it('the pod the API server accepted carries resources, placement, volumes, env, labels and the result path', async () => {
    const req = tryOf(
      {
        annotations: sim({ duration: '30s' }),
        nodeSelector: { type: 'kwok' },
        tolerations: [{ key: 'spot', operator: 'Exists', effect: 'NoSchedule' }],
        env: [{ name: 'WANDB_API_KEY', valueFrom: { secretKeyRef: { name: 'wandb', key: 'api-key', optional: true } } }],
        envFrom: [{ configMapRef: { name: 'common', optional: true } }],
        volumes: [
          { name: 'cfg', configMap: { name: 'train-config', optional: true } },
          { name: 'creds', secret: { secretName: 'creds', optional: true } },
          { name: 'scratch', emptyDir: { sizeLimit: '1Gi' } },
        ],
        volumeMounts: [
          { name: 'cfg', mountPath: '/etc/train' },
          { name: 'creds', mountPath: '/var/secrets' },
          { name: 'scratch', mountPath: '/scratch' },
        ],
        labels: { team: 'vision' },
        securityContext: { runAsUser: 1000 },
        onFinish: 'keep-all',
      },
      { resources: { cpu: 0.5, memoryMb: 1536, gpu: 0, extra: {} } },
    );
    await executor.launch(req);
    await events.waitFor(req.key, 'started', 20_000);
    const pod = (await podOf(req.key)) as unknown as { metadata: PodJson['metadata']; spec: Record<string, any> };
    const c = pod.spec.containers[0];
    expect(c.resources).toEqual({ requests: { cpu: '500m', memory: '1536Mi' }, limits: { memory: '1536Mi' } });
    expect(pod.spec.nodeSelector).toEqual({ type: 'kwok' });
    expect(pod.spec.tolerations).toContainEqual({ key: 'spot', operator: 'Exists', effect: 'NoSchedule' });
    expect(pod.spec.volumes.map((v: { name: string }) => v.name)).toEqual(['cfg', 'creds', 'scratch']);
    expect(c.volumeMounts.map((m: { mountPath: string }) => m.mountPath)).toEqual(expect.arrayContaining(['/etc/train', '/var/secrets', '/scratch']));
    const env = Object.fromEntries(c.env.map((e: { name: string; value?: string; valueFrom?: unknown }) => [e.name, e.value ?? e.valueFrom]));
    expect(env).toMatchObject({ TRAINYARD_TRY_NUMBER: '1', TRAINYARD_TASK_ID: req.key.taskId, TRAINYARD_RESULT_PATH: '/dev/termination-log', TRAINYARD_RUN_ID: req.key.runId });
    expect(env.WANDB_API_KEY).toEqual({ secretKeyRef: { name: 'wandb', key: 'api-key', optional: true } });
    expect(c.envFrom).toEqual([{ configMapRef: { name: 'common', optional: true } }]);
    expect(c.terminationMessagePath).toBe('/dev/termination-log');
    expect(pod.spec.restartPolicy).toBe('Never');
    expect(pod.spec.securityContext).toEqual({ runAsUser: 1000 });
    expect(pod.metadata.labels).toMatchObject({ team: 'vision', 'trainyard.dev/managed-by': EXECUTOR_ID, 'trainyard.dev/try': '1', 'trainyard.dev/map-index': 'none' });
    expect(pod.metadata.annotations?.['trainyard.dev/run-id']).toBe(req.key.runId);
    await executor.cancel(req.key, 'cancelled', 'done looking');
    expect(await events.finished(req.key)).toMatchObject({ outcome: 'failed', failureClass: 'cancelled', reason: 'done looking' });
    await gone(req.key); // a cancelled try never leaves a pod, even with keep-all
  });

  it('a GPU task lands only on a GPU node that matches its selector', async () => {
    const reqs = [0, 1, 2].map(() => tryOf({ machine: 'gpu-a100-1x', annotations: sim({ duration: '200ms' }) }));
    await Promise.all(reqs.map((r) => executor.launch(r)));
    for (const r of reqs) {
      const started = await events.waitFor(r.key, 'started', 20_000);
      const node = await getNode(cluster, started.host);
      expect(node.metadata.labels?.['gpu-type']).toBe('a100');
      expect((await events.finished(r.key)).outcome).toBe('success');
    }
  });

  it('16 GPUs: pending with the scheduler reason, then unschedulable after its deadline, and the pod deleted', async () => {
    const req = tryOf({ machine: 'gpu-a100-1x', unscheduledTimeout: '3s' }, { resources: { cpu: 1, memoryMb: 256, gpu: 16 } });
    const t0 = Date.now();
    await executor.launch(req);
    const pending = await events.waitFor(req.key, 'pending_reason', 10_000);
    expect(pending.reason).toMatch(/^waiting for a node: 0\/\d+ nodes are available: .*Insufficient nvidia\.com\/gpu/);
    const fin = await events.finished(req.key, 15_000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2900);
    expect(fin).toMatchObject({ outcome: 'failed', failureClass: 'unschedulable' });
    expect(fin.reason).toMatch(/^no node could take the pod within 3 s; the scheduler said: 0\/\d+ nodes are available: .*Insufficient nvidia\.com\/gpu/);
    expect(events.of(req.key).some((e) => e.type === 'started')).toBe(false);
    await gone(req.key);
  });

  it('OOMKilled is oom_killed, evicted is evicted, a non-zero exit is user_error, the skip code skips', async () => {
    const oom = tryOf({ annotations: sim({ outcome: 'oom', duration: '200ms' }) }, { resources: { cpu: 0.1, memoryMb: 64, gpu: 0 } });
    const evict = tryOf({ annotations: sim({ outcome: 'evict', duration: '200ms' }) });
    const fail = tryOf({ annotations: sim({ outcome: 'fail', 'exit-code': '3', duration: '200ms' }) });
    const skip = tryOf({ annotations: sim({ outcome: 'fail', 'exit-code': '99', duration: '200ms' }) });
    await Promise.all([oom, evict, fail, skip].map((r) => executor.launch(r)));
    expect(await events.finished(oom.key)).toMatchObject({
      outcome: 'failed',
      failureClass: 'oom_killed',
      exitCode: 137,
      reason: 'container "task" used more than its memory limit of 64Mi and was killed (OOMKilled, exit code 137)',
    });
    const ev = await events.finished(evict.key);
    expect(ev).toMatchObject({ outcome: 'failed', failureClass: 'evicted' });
    expect(ev.reason).toMatch(/^the pod was evicted on node kwok-\S+ \(Evicted: The node was low on resource: memory/);
    expect(await events.finished(fail.key)).toMatchObject({ outcome: 'failed', failureClass: 'user_error', exitCode: 3, reason: 'exited with code 3 (Error)' });
    expect(await events.finished(skip.key)).toMatchObject({ outcome: 'skipped', exitCode: 99 });
  });

  it('an image pull error fails fast as image_pull and the pod is deleted', async () => {
    const req = tryOf({ annotations: sim({ outcome: 'imagepull' }) }, { image: 'acme/does-not-exist:404' });
    const t0 = Date.now();
    await executor.launch(req);
    const fin = await events.finished(req.key, 10_000);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(fin).toMatchObject({ outcome: 'failed', failureClass: 'image_pull' });
    expect(fin.reason).toMatch(/^the image "acme\/does-not-exist:404" of container "task" could not be pulled \(ErrImagePull/);
    await gone(req.key);
  });

  it('an oversized termination message is a clear error pointing to the artifact store', async () => {
    const req = tryOf({ annotations: sim({ result: JSON.stringify('x'.repeat(5000)), duration: '200ms' }) });
    await executor.launch(req);
    const fin = await events.finished(req.key);
    expect(fin).toMatchObject({ outcome: 'failed', failureClass: 'result_invalid' });
    expect(fin.reason).toMatch(/4,096-byte limit of a Kubernetes termination message.*artifact store/);
  });

  it('execution and startup timeouts stop the pod and say which clock ran out', async () => {
    const slow = tryOf({ annotations: sim({ duration: '60s' }) }, { executionTimeoutMs: 1500, killGraceMs: 1000 });
    const stuck = tryOf({ annotations: sim({ 'start-delay': '60s' }), startupTimeout: '1500ms' });
    await Promise.all([executor.launch(slow), executor.launch(stuck)]);
    const a = await events.finished(slow.key, 20_000);
    expect(a).toMatchObject({ outcome: 'failed', failureClass: 'execution_timeout', reason: 'ran longer than its execution timeout of 1.5 s' });
    const b = await events.finished(stuck.key, 20_000);
    expect(b).toMatchObject({ outcome: 'failed', failureClass: 'startup_timeout' });
    expect(b.reason).toMatch(/^the pod was scheduled on node kwok-\S+ but its containers did not start within 1\.5 s/);
    await gone(slow.key);
    await gone(stuck.key);
  });

  it('launch is idempotent on the try key: one pod, even from a second executor (409 AlreadyExists)', async () => {
    const req = tryOf({ annotations: sim({ duration: '2s', result: '7' }) });
    await Promise.all([executor.launch(req), executor.launch(req), executor.launch({ ...req })]);
    const other = new KubernetesExecutor({ id: EXECUTOR_ID, kubeconfigPath: cluster.kubeconfig, namespace: ns });
    const otherEvents = new EventRecorder(other);
    await other.launch(req);
    // The second executor found the pod (in its watch's list, or by 409 AlreadyExists) and made none.
    expect(other.stats.podsCreated).toBe(0);
    expect(await podsOfTry(req.key)).toHaveLength(1);
    expect(await events.finished(req.key)).toMatchObject({ outcome: 'success', result: 7 });
    expect(await otherEvents.finished(req.key)).toMatchObject({ outcome: 'success', result: 7 });
    expect(events.of(req.key).filter((e) => e.type === 'started')).toHaveLength(1);
    await other.close();
  });

  it('one watch per namespace: no pod is fetched one by one', async () => {
    const stats = executor.watchStats()[ns];
    expect(stats.podLists).toBe(1);
    expect(stats.podConnects).toBeLessThanOrEqual(3);
    expect(executor.stats.alreadyExisted).toBe(0);
  });

  it('the reaper deletes pods whose run no longer exists, and only those', async () => {
    const keep = tryOf({ annotations: sim({ duration: '300ms' }), onFinish: 'keep-all' });
    const orphan = tryOf({ annotations: sim({ duration: '300ms' }), onFinish: 'keep-all' });
    await Promise.all([executor.launch(keep), executor.launch(orphan)]);
    await events.finished(keep.key);
    await events.finished(orphan.key);
    await sleep(300);
    expect(await podsOfTry(keep.key)).toHaveLength(1); // keep-all
    const deleted = await executor.reap((_dag, run) => run !== orphan.key.runId);
    expect(deleted).toEqual([`${ns}/${podName(orphan.key, EXECUTOR_ID)}`]);
    await gone(orphan.key);
    expect(await podsOfTry(keep.key)).toHaveLength(1);
  });

  it('a YAML pod template file is the base of the pod', async () => {
    const file = join(dir, 'template.yaml');
    await writeFile(
      file,
      [
        'apiVersion: v1',
        'kind: Pod',
        'metadata:',
        '  labels: { from-template: "yes" }',
        'spec:',
        '  volumes: [{ name: shm, emptyDir: { medium: Memory } }]',
        '  containers:',
        '  - name: main',
        '    image: template/image:1',
        '    volumeMounts: [{ name: shm, mountPath: /dev/shm }]',
        '  - name: logger',
        '    image: fluent-bit:3',
        '',
      ].join('\n'),
    );
    const req = tryOf({ template: file, annotations: sim({ duration: '30s' }) }, { image: undefined });
    await executor.launch(req);
    await events.waitFor(req.key, 'started', 20_000);
    const pod = (await podOf(req.key)) as unknown as { metadata: PodJson['metadata']; spec: { containers: { name: string; image: string; command?: string[]; terminationMessagePath?: string }[]; volumes: { name: string }[] } };
    expect(pod.metadata.labels?.['from-template']).toBe('yes');
    expect(pod.spec.containers.map((c) => [c.name, c.image])).toEqual([
      ['main', 'template/image:1'],
      ['logger', 'fluent-bit:3'],
    ]);
    expect(pod.spec.containers[0].command).toEqual(['sh']);
    expect(pod.spec.containers[0].terminationMessagePath).toBe('/dev/termination-log');
    expect(pod.spec.volumes.map((v) => v.name)).toEqual(['shm']);
    await executor.cancel(req.key, 'cancelled', 'seen enough');
    await events.finished(req.key);
  });

  it('a namespace quota that refuses the pod is a plain pending reason; the try fails unschedulable at its deadline', async () => {
    const qns = await freshNamespace(cluster, 'ty-quota');
    try {
      // Without a controller manager nobody computes the quota's usage: set it by hand, full.
      await cluster.client.request('POST', `/api/v1/namespaces/${qns}/resourcequotas`, {
        body: { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'gpus' }, spec: { hard: { 'requests.nvidia.com/gpu': '2' } } },
      });
      await cluster.client.request('PUT', `/api/v1/namespaces/${qns}/resourcequotas/gpus/status`, {
        body: { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'gpus' }, spec: { hard: { 'requests.nvidia.com/gpu': '2' } }, status: { hard: { 'requests.nvidia.com/gpu': '2' }, used: { 'requests.nvidia.com/gpu': '2' } } },
      });
      const req = tryOf({ namespace: qns, machine: 'gpu-a100-1x', unscheduledTimeout: '3s' });
      await executor.launch(req);
      const pending = await events.waitFor(req.key, 'pending_reason', 10_000);
      expect(pending.reason).toMatch(/^waiting for namespace quota: .*exceeded quota: gpus/);
      const fin = await events.finished(req.key, 15_000);
      expect(fin).toMatchObject({ outcome: 'failed', failureClass: 'unschedulable' });
      expect(fin.reason).toMatch(/^no node could take the pod within 3 s; last state: waiting for namespace quota: .*exceeded quota/);
    } finally {
      await dropNamespace(cluster, qns);
    }
  });

  it('GPU quota: hasCapacity admits within the quota; capacity reports it', async () => {
    const quota = new KubernetesExecutor({ kubeconfigPath: cluster.kubeconfig, namespace: ns, gpuQuota: 2 });
    expect(quota.hasCapacity({ cpu: 1, memoryMb: 1, gpu: 2 })).toBe(true);
    expect(quota.hasCapacity({ cpu: 1, memoryMb: 1, gpu: 3 })).toBe(false);
    expect(quota.capacity().gpu).toEqual({ used: 0, total: 2 });
    expect(executor.hasCapacity({ cpu: 64, memoryMb: 1e6, gpu: 64 })).toBe(true);
    await quota.close();
  });
});
