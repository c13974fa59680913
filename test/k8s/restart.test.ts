/**
 * Restarts: the executor's process (adoption of running pods, and of pods that finished
 * while nobody watched), the watch's resourceVersion going stale (410 Gone → re-list), and
 * the API server itself. The API server restart runs on a private cluster (its own state
 * directory and ports), so other tests using the shared cluster are not disturbed.
 */
import { spawn } from 'node:child_process';
import { execFile } from 'node:child_process';
import { existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventRecorder, shellTry, uniqueKey } from '../../src/executors/conformance.js';
import { KubernetesExecutor } from '../../src/executors/kubernetes/kubernetes-executor.js';
import { managedSelector } from '../../src/executors/kubernetes/naming.js';
import type { CommandLaunch, ExecutorEvent, LiveTryRecord, TryKey } from '../../src/executors/types.js';
import { CLUSTER_SCRIPTS, CLUSTER_START_TIMEOUT_MS, clusterAvailable, dropNamespace, ensureCluster, eventually, freshNamespace, listPods, sleep, type TestCluster } from './cluster.js';

const SIM = 'sim.trainyard.dev/';
const ID = 'k8s-restart';
const sim = (a: Record<string, string>) => Object.fromEntries(Object.entries(a).map(([k, v]) => [`${SIM}${k}`, v]));
const keyString = (k: TryKey) => `${k.dagId}/${k.runId}/${k.taskId}/${k.mapIndex}/${k.tryNumber}`;

async function podsPerTry(c: TestCluster, ns: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const p of await listPods(c, ns, managedSelector(ID))) {
    const k = p.metadata.annotations?.['trainyard.dev/try-key'] ?? '?';
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return counts;
}

describe.runIf(clusterAvailable())('restarts', () => {
  let cluster: TestCluster;
  let ns: string;
  let dir: string;
  const tryOf = (pod: Record<string, unknown>, o: Partial<CommandLaunch> = {}) => {
    const key = uniqueKey();
    return shellTry(dir, 'train', { key, image: 'acme/train:1', pod, logPath: join(dir, 'logs', `${key.runId}.log`), ...o });
  };

  beforeAll(async () => {
    cluster = await ensureCluster();
    ns = await freshNamespace(cluster, 'ty-restart');
    dir = await mkdtemp(join(tmpdir(), 'trainyard-k8s-restart-'));
  }, CLUSTER_START_TIMEOUT_MS);

  afterAll(async () => {
    if (cluster && ns) await dropNamespace(cluster, ns);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a restarted executor adopts running pods and reports pods that finished while it was down; never two pods per try', async () => {
    const opts = { id: ID, kubeconfigPath: cluster.kubeconfig, namespace: ns };
    const first = new KubernetesExecutor(opts);
    const firstEvents = new EventRecorder(first);
    const long = [0, 1, 2].map(() => tryOf({ annotations: sim({ duration: '4s', result: '"long"' }) }));
    const short = tryOf({ annotations: sim({ duration: '300ms', result: '"short"' }) });
    const all = [...long, short];
    await Promise.all(all.map((r) => first.launch(r)));
    const started = await Promise.all(all.map((r) => firstEvents.waitFor(r.key, 'started', 20_000)));
    await first.close(); // detach: the pods keep running
    expect(firstEvents.events.filter((e) => e.type === 'finished')).toHaveLength(0);
    await sleep(1500); // the short one ends while nobody watches

    const second = new KubernetesExecutor(opts);
    const events = new EventRecorder(second);
    const records: LiveTryRecord[] = started.map((s, i) => ({ key: all[i].key, external: s.external, host: s.host, startedAt: s.at }));
    const missing: LiveTryRecord = { key: uniqueKey('never-created') };
    const wrongUid: LiveTryRecord = { key: long[0].key, external: `${started[0].external!.split('/')[0]}/00000000-0000-0000-0000-000000000000` };
    const results = await second.adopt([...records, missing]);
    expect(results.slice(0, 4).every((r) => r.adopted)).toBe(true);
    expect(results[4]).toMatchObject({ adopted: false });
    expect((results[4] as { reason: string }).reason).toMatch(/no longer exists/);

    const third = new KubernetesExecutor(opts);
    const [mismatch] = await third.adopt([wrongUid]);
    expect(mismatch).toMatchObject({ adopted: false });
    expect((mismatch as { reason: string }).reason).toMatch(/not the recorded 00000000/);
    await third.close();

    // A repeated launch of an adopted try makes no pod.
    await second.launch(long[1]);
    for (const [, n] of await podsPerTry(cluster, ns)) expect(n).toBe(1);

    expect(await events.finished(short.key, 5000)).toMatchObject({ outcome: 'success', result: 'short' });
    // Its log was read on by the second process after the lines the first one wrote: each line once.
    await second.logsFlushed(short.key);
    const shortLog = await readFile(short.logPath, 'utf8');
    expect(shortLog.match(/stdout \| ::trainyard::metric \{"step":1,"loss":0.5\}/g)).toHaveLength(1);
    expect(shortLog).toMatch(/adopted pod .* after a restart/);
    for (const r of long) expect(await events.finished(r.key, 20_000)).toMatchObject({ outcome: 'success', result: 'long' });
    // Adopted tries were already reported started: no second `started`.
    expect(events.events.filter((e) => e.type === 'started')).toHaveLength(0);
    expect(events.events.filter((e) => e.type === 'finished')).toHaveLength(4);
    await second.close();
  });
});

// ---- the API server restart, on a private cluster ---------------------------------------

// Ports below Linux's ephemeral range (32768 and up), so an outgoing connection never holds one.
const PRIVATE_ENV = {
  TRAINYARD_APISERVER_PORT: '16443',
  TRAINYARD_ETCD_CLIENT_PORT: '24790',
  TRAINYARD_ETCD_PEER_PORT: '24800',
  TRAINYARD_SCHEDULER_PORT: '20659',
  TRAINYARD_KWOK_PORT: '20647',
};

/** Compacts the private cluster's etcd up to its head revision (plain HTTP on loopback, through its JSON gateway). */
async function compactEtcd(): Promise<void> {
  const etcd = `http://127.0.0.1:${PRIVATE_ENV.TRAINYARD_ETCD_CLIENT_PORT}/v3/kv`;
  const range = await fetch(`${etcd}/range`, { method: 'POST', body: JSON.stringify({ key: Buffer.from('/').toString('base64'), limit: 1 }) });
  const revision = ((await range.json()) as { header: { revision: string } }).header.revision;
  const res = await fetch(`${etcd}/compaction`, { method: 'POST', body: JSON.stringify({ revision, physical: true }) });
  if (!res.ok) throw new Error(`etcd compaction failed: HTTP ${res.status} ${await res.text()}`);
}

/** Stops kube-apiserver of the cluster in stateDir and starts it again with the same command line. */
async function restartApiServer(c: TestCluster, downMs: number, whileDown: () => Promise<void> = async () => {}): Promise<void> {
  const pidFile = join(c.stateDir, 'run', 'kube-apiserver.pid');
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
  process.kill(pid, 'SIGTERM');
  // It drains long-running requests (our watches) for a while; a restart must not wait for that.
  await eventually(() => (existsSync(`/proc/${pid}`) ? undefined : true), 3000, 'kube-apiserver to stop').catch(() => process.kill(pid, 'SIGKILL'));
  await eventually(() => (existsSync(`/proc/${pid}`) ? undefined : true), 10_000, 'kube-apiserver to stop');
  await sleep(downMs);
  await whileDown();
  const log = openSync(join(c.stateDir, 'logs', 'kube-apiserver.log'), 'a');
  const child = spawn(argv[0], argv.slice(1), { detached: true, stdio: ['ignore', log, log] });
  child.unref();
  writeFileSync(pidFile, `${child.pid}\n`);
  await eventually(
    async () => ((await c.client.request<string>('GET', '/readyz', { retry: false }).catch(() => '')) === 'ok' ? true : undefined),
    60_000,
    'kube-apiserver to be ready again',
  );
}

describe.runIf(clusterAvailable() && process.platform === 'linux')('API server restart (private cluster)', () => {
  let cluster: TestCluster;
  let stateDir: string;
  let ns: string;
  let dir: string;

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'trainyard-k8s-private-'));
    cluster = await ensureCluster(stateDir, PRIVATE_ENV);
    ns = await freshNamespace(cluster, 'ty-apirestart');
    dir = await mkdtemp(join(tmpdir(), 'trainyard-k8s-apirestart-'));
  }, CLUSTER_START_TIMEOUT_MS);

  afterAll(async () => {
    if (stateDir) await promisify(execFile)(join(CLUSTER_SCRIPTS, 'down.sh'), [stateDir], { env: { ...process.env, ...PRIVATE_ENV } }).catch(() => {});
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('watches resume after the API server restarts (re-listing when their version was compacted away), and no completion is lost', async () => {
    const executor = new KubernetesExecutor({ id: ID, kubeconfigPath: cluster.kubeconfig, namespace: ns, onClose: 'delete' });
    const events = new EventRecorder(executor);
    const reqs = [0, 1, 2, 3, 4, 5].map((i) => shellTry(dir, 'train', { key: uniqueKey(), image: 'acme/train:1', pod: { annotations: sim({ duration: `${2 + i}s`, result: String(i) }) } }));
    await Promise.all(reqs.map((r) => executor.launch(r)));
    await Promise.all(reqs.map((r) => events.waitFor(r.key, 'started', 20_000)));
    const before = executor.watchStats()[ns].podConnects;

    // While it is down, etcd is compacted: the watches' resourceVersion is gone (410) when they come back.
    const restarting = restartApiServer(cluster, 2000, compactEtcd);
    await sleep(1000);
    // A launch while the API server is down waits and retries.
    const during = shellTry(dir, 'train', { key: uniqueKey(), image: 'acme/train:1', pod: { annotations: sim({ duration: '500ms', result: '"during"' }) } });
    const launching = executor.launch(during);
    await restarting;
    await launching;

    for (const [i, r] of reqs.entries()) expect(await events.finished(r.key, 30_000)).toMatchObject({ outcome: 'success', result: i });
    expect(await events.finished(during.key, 30_000)).toMatchObject({ outcome: 'success', result: 'during' });
    const finished = events.events.filter((e): e is Extract<ExecutorEvent, { type: 'finished' }> => e.type === 'finished');
    expect(finished).toHaveLength(7);
    const after = executor.watchStats()[ns];
    expect(after.podConnects).toBeGreaterThan(before);
    expect(after.podLists).toBeGreaterThanOrEqual(2); // 410 Gone → listed again
    await executor.close();
  });
});
