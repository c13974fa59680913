/**
 * Kubernetes Secrets end to end: a DAG's `secretRef({ name, key })` becomes
 * `valueFrom.secretKeyRef` in the pod the API server accepts; the value is never read by
 * Trainyard, so it is in neither the pod spec, the store nor the try's log.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRuntime, startSchedulerServices, type Runtime, type SchedulerServices } from '../../src/app/runtime.js';
import { loadConfig } from '../../src/config.js';
import type { PodJson } from '../../src/executors/kubernetes/pod-json.js';
import { triggerRun } from '../../src/scheduler/trigger.js';
import { sqliteStoreText } from '../support/store-text.js';
import { CLUSTER_START_TIMEOUT_MS, clusterAvailable, dropNamespace, ensureCluster, eventually, freshNamespace, listPods, type TestCluster } from './cluster.js';

const VALUE = 'wandb-k8s-only-8f2d6c1a97';

describe.runIf(clusterAvailable())('Kubernetes Secrets in DAGs', () => {
  let cluster: TestCluster;
  let ns: string;
  let home: string;
  let rt: Runtime;
  let services: SchedulerServices;

  beforeAll(async () => {
    cluster = await ensureCluster();
    ns = await freshNamespace(cluster, 'ty-secrets');
    await cluster.client.request('POST', `/api/v1/namespaces/${ns}/secrets`, {
      body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'wandb' }, type: 'Opaque', stringData: { 'api-key': VALUE } },
    });
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-k8s-secrets-'));
    const config = loadConfig(
      { home, dagsFolder: path.resolve('test/fixtures/dags-k8s-secrets'), dagScanIntervalMs: 500, executor: 'kubernetes', kubeconfig: cluster.kubeconfig, k8sNamespace: ns },
      {},
    );
    rt = await openRuntime(config);
    services = await startSchedulerServices(rt, { processDags: true });
  }, CLUSTER_START_TIMEOUT_MS);

  afterAll(async () => {
    await services?.stop(1000);
    await rt?.close();
    if (cluster && ns) await dropNamespace(cluster, ns);
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  it('gives the pod a secretKeyRef, never the value, and keeps the value out of the store and the log', async () => {
    await eventually(() => rt.store.getDag('k8s_secret'), 60_000, 'the DAG to be loaded');
    const { runId } = await triggerRun(rt.store, 'k8s_secret', {}, Date.now());
    services.scheduler.notify();
    const state = await eventually(async () => {
      const run = await rt.store.getRun('k8s_secret', runId);
      return run && (run.state === 'success' || run.state === 'failed') ? run.state : undefined;
    }, 60_000, 'the run to finish');
    expect(state).toBe('success');

    // The pod as the API server stored it.
    const pods = (await listPods(cluster, ns)).filter((p) => p.metadata.annotations?.['trainyard.dev/try-key'] === `k8s_secret/${runId}/train/-1/1`);
    expect(pods).toHaveLength(1);
    const pod = await cluster.client.request<PodJson & { spec: { containers: { name: string; env?: { name: string; value?: string; valueFrom?: unknown }[] }[] } }>(
      'GET',
      `/api/v1/namespaces/${ns}/pods/${pods[0].metadata.name}`,
    );
    const env = pod.spec.containers[0].env ?? [];
    const key = env.find((e) => e.name === 'WANDB_API_KEY');
    expect(key).toEqual({ name: 'WANDB_API_KEY', valueFrom: { secretKeyRef: { name: 'wandb', key: 'api-key' } } });
    expect(env.find((e) => e.name === 'LR')).toEqual({ name: 'LR', value: '0.01' });
    expect(JSON.stringify(pod)).not.toContain(VALUE);
    // The reference points at a key the Secret has.
    const secret = await cluster.client.request<{ data: Record<string, string> }>('GET', `/api/v1/namespaces/${ns}/secrets/wandb`);
    expect(Buffer.from(secret.data['api-key'], 'base64').toString('utf8')).toBe(VALUE);

    const store = sqliteStoreText(path.join(home, 'trainyard.db'));
    expect(store.rows).toBeGreaterThan(0);
    expect(store.text).toContain('"$expr":"secretRef","secret":"wandb","key":"api-key"');
    expect(store.text).not.toContain(VALUE);
    const logs = (fs.readdirSync(path.join(home, 'logs'), { recursive: true }) as string[]).filter((f) => f.endsWith('.log'));
    expect(logs.length).toBeGreaterThan(0);
    for (const f of logs) expect(fs.readFileSync(path.join(home, 'logs', f), 'utf8')).not.toContain(VALUE);
  }, 120_000);

  it('fails the try before creating a pod when a secret() is in no backend, naming it and the backends', async () => {
    await eventually(() => rt.store.getDag('k8s_secret_missing'), 60_000, 'the DAG to be loaded');
    const { runId } = await triggerRun(rt.store, 'k8s_secret_missing', {}, Date.now());
    services.scheduler.notify();
    const state = await eventually(async () => {
      const run = await rt.store.getRun('k8s_secret_missing', runId);
      return run && (run.state === 'success' || run.state === 'failed') ? run.state : undefined;
    }, 60_000, 'the run to finish');
    expect(state).toBe('failed');
    const [attempt] = await rt.store.listTries({ dagId: 'k8s_secret_missing', runId, taskId: 'push', mapIndex: -1 });
    expect(attempt.failure_class).toBe('config');
    expect(attempt.reason).toMatch(/env REGISTRY_TOKEN: secret 'registry\/token' was not found \(looked in: environment \(TRAINYARD_SECRET_<NAME>\)\); set TRAINYARD_SECRET_REGISTRY_TOKEN/);
    const pods = (await listPods(cluster, ns)).filter((p) => p.metadata.annotations?.['trainyard.dev/try-key']?.startsWith('k8s_secret_missing/'));
    expect(pods).toEqual([]);
  }, 120_000);
});
