/**
 * The local test cluster (kube-apiserver + kube-scheduler + KWOK) for the Kubernetes tests:
 * started with scripts/cluster/up.sh (reused when it is already up), nodes registered with
 * scripts/cluster/nodes.sh, and a fresh namespace per test file.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeApiClient } from '../../src/executors/kubernetes/api-client.js';
import type { ListJson, PodJson } from '../../src/executors/kubernetes/pod-json.js';

const run = promisify(execFile);
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLUSTER_SCRIPTS = join(REPO, 'scripts', 'cluster');

export interface TestCluster {
  readonly kubeconfig: string;
  readonly stateDir: string;
  readonly client: KubeApiClient;
}

/**
 * Whether to run the cluster tests: the scripts exist and the binaries are built (the first
 * build takes 15-25 minutes, too long for a test hook: run scripts/cluster/build.sh once, or
 * set TRAINYARD_K8S_TESTS=1 to let the tests build them). TRAINYARD_SKIP_K8S=1 skips them.
 */
export function clusterAvailable(): boolean {
  if (process.env.TRAINYARD_SKIP_K8S === '1' || !existsSync(join(CLUSTER_SCRIPTS, 'up.sh'))) return false;
  if (process.env.TRAINYARD_K8S_TESTS === '1') return true;
  const bin = join(process.env.TRAINYARD_CACHE ?? join(homedir(), '.cache', 'trainyard'), 'bin');
  try {
    return readdirSync(bin).some((d) => d.startsWith('k8s-') && existsSync(join(bin, d, 'kube-apiserver')) && existsSync(join(bin, d, 'kwok')));
  } catch {
    return false;
  }
}

/** How long a test file may wait for the cluster to start (or be built, with TRAINYARD_K8S_TESTS=1). */
export const CLUSTER_START_TIMEOUT_MS = process.env.TRAINYARD_K8S_TESTS === '1' ? 45 * 60_000 : 5 * 60_000;

let shared: Promise<TestCluster> | undefined;

/** Starts (or reuses) the cluster in `stateDir` (default: the scripts' default) and registers the default nodes. */
export function ensureCluster(stateDir?: string, env: NodeJS.ProcessEnv = {}): Promise<TestCluster> {
  const make = async (): Promise<TestCluster> => {
    const args = stateDir ? [stateDir] : [];
    const opts = { env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024, timeout: 45 * 60_000 };
    // Test files run in parallel; up.sh holds its own lock, so one of them starts the cluster
    // and the others wait and reuse it.
    const { stdout } = await run(join(CLUSTER_SCRIPTS, 'up.sh'), args, opts);
    const kubeconfig = stdout.trim().split('\n').pop()!;
    await run(join(CLUSTER_SCRIPTS, 'nodes.sh'), args, opts);
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    return { kubeconfig, stateDir: dirname(kubeconfig), client: new KubeApiClient(kc, { qps: 100, burst: 200 }) };
  };
  if (stateDir) return make();
  shared ??= make();
  return shared;
}

/** Creates a namespace with a unique name. */
export async function freshNamespace(c: TestCluster, prefix: string): Promise<string> {
  const name = `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  await c.client.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } } });
  return name;
}

/** Deletes every pod in the namespace at once, then the namespace (it stays Terminating without a controller manager). */
export async function dropNamespace(c: TestCluster, ns: string): Promise<void> {
  await c.client.request('DELETE', `/api/v1/namespaces/${ns}/pods`, { body: { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 0 } }).catch(() => {});
  await c.client.request('DELETE', `/api/v1/namespaces/${ns}`).catch(() => {});
}

export async function listPods(c: TestCluster, ns: string, labelSelector?: string): Promise<PodJson[]> {
  const l = await c.client.request<ListJson<PodJson>>('GET', `/api/v1/namespaces/${ns}/pods`, { query: { labelSelector } });
  return [...l.items];
}

export async function getNode(c: TestCluster, name: string): Promise<{ metadata: { labels?: Record<string, string> } }> {
  return c.client.request('GET', `/api/v1/nodes/${name}`);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns a value that is not undefined (test helper only). */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
}
