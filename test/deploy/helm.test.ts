/**
 * The Helm chart deploy/helm/trainyard: rendered by a real `helm` (built from the Go module
 * registry by scripts/helm.sh, cached), linted, and applied to the test control plane
 * (scripts/cluster/up.sh) with `kubectl apply --dry-run=server`: every object must be
 * accepted by the API server's validation and admission.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterAvailable, CLUSTER_SCRIPTS, dropNamespace, ensureCluster, freshNamespace, REPO, type TestCluster } from '../k8s/cluster.js';

const run = promisify(execFile);
const CHART = path.join(REPO, 'deploy', 'helm', 'trainyard');
const ALL_ON = path.join(REPO, 'test', 'deploy', 'helm-values-all-on.yaml');
const BIG = { maxBuffer: 64 * 1024 * 1024 };

interface K8sObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Record<string, string> };
  readonly spec?: Record<string, unknown>;
  readonly data?: Record<string, string>;
  readonly rules?: unknown[];
}
type PodSpec = {
  serviceAccountName?: string;
  securityContext?: Record<string, unknown>;
  initContainers?: Container[];
  containers: Container[];
  volumes?: { name: string; persistentVolumeClaim?: { claimName: string }; emptyDir?: object; secret?: { secretName: string } }[];
};
type Container = {
  name: string;
  image: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  envFrom?: { configMapRef?: { name: string } }[];
  resources?: { requests?: Record<string, string> };
  livenessProbe?: { httpGet?: { path: string } };
  readinessProbe?: { httpGet?: { path: string } };
  volumeMounts?: { name: string; mountPath: string }[];
};

const skipCluster = !clusterAvailable();
let helm = '';
let kubectl = '';
let cluster: TestCluster | undefined;
const namespaces: string[] = [];

async function render(release: string, ns: string, args: string[] = []): Promise<string> {
  const { stdout } = await run(helm, ['template', release, CHART, '--namespace', ns, ...args], BIG);
  return stdout;
}

/** Applies rendered YAML with server-side dry-run; returns the objects as the server would store them. */
async function dryRunApply(yaml: string, ns: string, o: { namespaceFlag?: boolean } = {}): Promise<K8sObject[]> {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-helm-')), 'rendered.yaml');
  fs.writeFileSync(file, yaml);
  try {
    // The chart sets each object's namespace (as `helm template | kubectl apply` needs); deploy/rbac.yaml sets none and takes `-n`.
    const nsArgs = o.namespaceFlag ? ['-n', ns] : [];
    const { stdout } = await run(kubectl, ['--kubeconfig', cluster!.kubeconfig, 'apply', '--dry-run=server', ...nsArgs, '-f', file, '-o', 'json'], BIG);
    const doc = JSON.parse(stdout) as { kind: string; items?: K8sObject[] } & K8sObject;
    return doc.kind === 'List' ? doc.items! : [doc];
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`the API server refused the chart's output:\n${err.stderr ?? err.message}`);
  }
}

const kinds = (objs: readonly K8sObject[]) => objs.map((o) => `${o.kind}/${o.metadata.name}`).sort();
const find = (objs: readonly K8sObject[], kind: string, nameSuffix: string) => objs.find((o) => o.kind === kind && o.metadata.name.endsWith(nameSuffix));
const podSpec = (o: K8sObject | undefined) => (o!.spec as { template: { spec: PodSpec } }).template.spec;

beforeAll(async () => {
  // Builds helm on first use (minutes); later runs find it in the cache.
  const { stdout } = await run('bash', [path.join(REPO, 'scripts', 'helm.sh')], { ...BIG, timeout: 40 * 60_000 });
  helm = stdout.trim().split('\n').pop()!;
  if (!skipCluster) {
    const bin = (await run('bash', [path.join(CLUSTER_SCRIPTS, 'build.sh')], { ...BIG, timeout: 45 * 60_000 })).stdout.trim().split('\n').pop()!;
    kubectl = path.join(bin, 'kubectl');
    cluster = await ensureCluster();
  }
}, 45 * 60_000);

afterAll(async () => {
  if (cluster) for (const ns of namespaces) await dropNamespace(cluster, ns);
});

describe('the Helm chart', () => {
  it('lints cleanly with default values and with every option on', async () => {
    await run(helm, ['lint', '--strict', CHART], BIG);
    await run(helm, ['lint', '--strict', CHART, '-f', ALL_ON, '--set', 'executor.taskNamespaces[0]=ml-tasks'], BIG);
    await run(helm, ['lint', '--strict', CHART, '--set', 'dags.source=pvc', '--set', 'dags.pvc.create=true'], BIG);
  }, 120_000);

  it('refuses inconsistent values with a message that says what to set', async () => {
    await expect(render('t', 'default', ['--set', 'dags.source=s3'])).rejects.toThrow(/dags.source must be image, pvc or gitSync, not "s3"/);
    await expect(render('t', 'default', ['--set', 'dags.source=gitSync'])).rejects.toThrow(/dags.gitSync.repo is required/);
    await expect(render('t', 'default', ['--set', 'dags.source=pvc'])).rejects.toThrow(/set dags.pvc.existingClaim, or dags.pvc.create=true/);
  }, 120_000);

  it.skipIf(skipCluster)('with default values: every object is accepted by the API server', async () => {
    const ns = await freshNamespace(cluster!, 'helm-default');
    namespaces.push(ns);
    const objs = await dryRunApply(await render('trainyard', ns), ns);
    expect(kinds(objs)).toEqual(
      [
        'ConfigMap/trainyard-config',
        'Deployment/trainyard-api-server',
        'Deployment/trainyard-scheduler',
        'PodDisruptionBudget/trainyard-api-server',
        'PodDisruptionBudget/trainyard-scheduler',
        'Role/trainyard-executor',
        'RoleBinding/trainyard-executor',
        'Service/trainyard-api-server',
        'ServiceAccount/trainyard',
        'ServiceAccount/trainyard-api',
      ].sort(),
    );
    for (const o of objs) expect(o.metadata.namespace).toBe(ns);

    const scheduler = podSpec(find(objs, 'Deployment', '-scheduler'));
    const api = podSpec(find(objs, 'Deployment', '-api-server'));
    expect(scheduler.serviceAccountName).toBe('trainyard');
    expect(scheduler.containers[0].args).toEqual(['scheduler', '--process-dags']);
    expect(api.containers[0].args?.[0]).toBe('api-server');
    for (const spec of [scheduler, api]) {
      const c = spec.containers[0];
      expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
      expect(c.resources?.requests?.cpu).toBeTruthy();
      expect(c.resources?.requests?.memory).toBeTruthy();
      expect(c.livenessProbe?.httpGet?.path).toBeTruthy();
      expect(c.readinessProbe?.httpGet?.path).toBeTruthy();
      // The database URL is a reference to a Secret, never a value in the manifest.
      const db = c.env!.find((e) => e.name === 'TRAINYARD_DATABASE_URL')!;
      expect(db.value).toBeUndefined();
      expect(db.valueFrom?.secretKeyRef).toEqual({ name: 'trainyard-database', key: 'url' });
      expect(c.envFrom?.[0].configMapRef?.name).toBe('trainyard-config');
    }
    expect(api.containers[0].readinessProbe?.httpGet?.path).toBe('/api/v1/health');
    expect(api.containers[0].livenessProbe?.httpGet?.path).toBe('/api/v1/health');
    // DAGs baked into the image: nothing mounted over the DAG folder.
    const config = find(objs, 'ConfigMap', '-config')!;
    expect(config.data!.TRAINYARD_DAGS_FOLDER).toBe('/opt/trainyard/dags');
    expect(scheduler.volumes!.map((v) => v.name)).not.toContain('dags');
  }, 180_000);

  it.skipIf(skipCluster)('the dry run is strict: an object with an unknown field is refused (so acceptance means something)', async () => {
    const ns = await freshNamespace(cluster!, 'helm-strict');
    namespaces.push(ns);
    const yaml = (await render('trainyard', ns)).replace(/^(\s+)replicas: (\d+)$/m, '$1replicaz: $2');
    await expect(dryRunApply(yaml, ns)).rejects.toThrow(/refused[\s\S]*replicaz/);
  }, 180_000);

  it.skipIf(skipCluster)('with every option on (git-sync, bundled Postgres, object store, task namespaces): every object is accepted', async () => {
    const ns = await freshNamespace(cluster!, 'helm-all');
    const tasksNs = `${ns}-tasks`;
    await cluster!.client.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: tasksNs } } });
    namespaces.push(ns, tasksNs);
    const yaml = await render('ml', ns, ['-f', ALL_ON, '--set', `executor.taskNamespaces[0]=${tasksNs}`]);
    const objs = await dryRunApply(yaml, ns);
    expect(kinds(objs)).toEqual(
      [
        'ConfigMap/ml-trainyard-config',
        'Deployment/ml-trainyard-api-server',
        'Deployment/ml-trainyard-scheduler',
        'PodDisruptionBudget/ml-trainyard-api-server',
        'PodDisruptionBudget/ml-trainyard-scheduler',
        'Role/ml-trainyard-executor',
        'Role/ml-trainyard-executor',
        'RoleBinding/ml-trainyard-executor',
        'RoleBinding/ml-trainyard-executor',
        'Secret/ml-trainyard-database',
        'Secret/ml-trainyard-postgres',
        'Service/ml-trainyard-api-server',
        'Service/ml-trainyard-postgres',
        'ServiceAccount/ml-trainyard-api',
        'ServiceAccount/trainyard-executor',
        'StatefulSet/ml-trainyard-postgres',
      ].sort(),
    );
    // The executor may launch pods in the task namespace, as the ServiceAccount of the release namespace.
    const bindings = objs.filter((o) => o.kind === 'RoleBinding');
    expect(bindings.map((b) => b.metadata.namespace).sort()).toEqual([ns, tasksNs].sort());
    for (const b of bindings) expect((b as unknown as { subjects: unknown[] }).subjects).toEqual([{ kind: 'ServiceAccount', name: 'trainyard-executor', namespace: ns }]);

    const scheduler = podSpec(find(objs, 'Deployment', '-scheduler'));
    expect(scheduler.containers.map((c) => c.name)).toEqual(['scheduler', 'git-sync']);
    expect(scheduler.initContainers!.map((c) => c.name)).toEqual(['git-sync-init']);
    expect(scheduler.containers[0].args).toEqual(['scheduler']);
    const env = Object.fromEntries(scheduler.containers[0].env!.map((e) => [e.name, e]));
    expect(env.AWS_SECRET_ACCESS_KEY.valueFrom?.secretKeyRef).toEqual({ name: 'trainyard-s3', key: 'secret-access-key' });
    expect(env.TRAINYARD_SECRETS_FILE.value).toBe('/etc/trainyard/secrets/secrets.env');
    const config = find(objs, 'ConfigMap', '-config')!;
    expect(config.data).toMatchObject({ TRAINYARD_DAGS_FOLDER: '/opt/trainyard/dags/current/dags', TRAINYARD_S3_ENDPOINT: 'http://minio.storage.svc:9000', TRAINYARD_S3_FORCE_PATH_STYLE: 'true', TRAINYARD_GPUS: '0' });
    expect(config.data).toMatchObject({ TRAINYARD_ARTIFACT_STORE: 's3://ml-artifacts/trainyard/artifacts', TRAINYARD_REMOTE_LOGS: 's3://ml-artifacts/trainyard/logs' });
    // The bundled database's URL percent-encodes the password.
    const dbUrl = Buffer.from(find(objs, 'Secret', '-database')!.data!.url, 'base64').toString();
    const u = new URL(dbUrl);
    expect([u.protocol, u.username, u.hostname, u.port, u.pathname]).toEqual(['postgres:', 'trainyard', 'ml-trainyard-postgres', '5432', '/trainyard']);
    expect(decodeURIComponent(u.password)).toBe('p@ss word/with:special');
  }, 180_000);

  it.skipIf(skipCluster)('with DAGs on a PVC: the claim is created and mounted read-only', async () => {
    const ns = await freshNamespace(cluster!, 'helm-pvc');
    namespaces.push(ns);
    const objs = await dryRunApply(await render('trainyard', ns, ['--set', 'dags.source=pvc', '--set', 'dags.pvc.create=true', '--set', 'scheduler.podDisruptionBudget.enabled=false']), ns);
    expect(find(objs, 'PersistentVolumeClaim', '-dags')).toBeDefined();
    expect(find(objs, 'PodDisruptionBudget', '-scheduler')).toBeUndefined();
    const scheduler = podSpec(find(objs, 'Deployment', '-scheduler'));
    expect(scheduler.volumes!.find((v) => v.name === 'dags')!.persistentVolumeClaim!.claimName).toBe('trainyard-dags');
    expect(scheduler.containers[0].volumeMounts!.find((m) => m.name === 'dags')).toMatchObject({ mountPath: '/opt/trainyard/dags', readOnly: true });
  }, 180_000);

  it.skipIf(skipCluster)('gives the executor exactly the rules of deploy/rbac.yaml', async () => {
    const ns = await freshNamespace(cluster!, 'helm-rbac');
    namespaces.push(ns);
    const plain = await dryRunApply(fs.readFileSync(path.join(REPO, 'deploy', 'rbac.yaml'), 'utf8'), ns, { namespaceFlag: true });
    const plainRole = plain.find((o) => o.kind === 'Role')!;
    const objs = await dryRunApply(await render('trainyard', ns), ns);
    expect(find(objs, 'Role', '-executor')!.rules).toEqual(plainRole.rules);
  }, 180_000);
});
