#!/usr/bin/env node
/**
 * Benchmark of the Kubernetes executor (not a test): a mapped sweep of N pods (default
 * 1,000) on KWOK GPU nodes (default 100 × 8 GPUs), each pod "running" 1 s, next to a bare
 * client creating N pods on the same cluster in the same run.
 *
 *   node bench/k8s-sweep.mjs [--pods 1000] [--nodes 100] [--duration 1s] [--concurrency 32]
 *                            [--qps 500] [--burst 1000] [--no-logs] [--kubeconfig FILE] [--keep]
 *
 * Without --kubeconfig it starts a private cluster with scripts/cluster/up.sh in a temporary
 * state directory on its own ports, registers the nodes with nodes.sh, and stops it at the
 * end (--keep leaves it up). Prints one JSON object:
 * - executor: end-to-end time, pods created per second, the p50/p99 delay from a pod's
 *   status change (its terminal status, as seen by an independent watch in a child process)
 *   to the executor's `finished` event, and the CPU seconds of this process (the executor)
 *   during the sweep;
 * - bare: a plain HTTPS client creating the same pods with the same concurrency, no limits;
 * - ratio: executor pods/s ÷ bare pods/s.
 */
import { execFile, fork } from 'node:child_process';
import https from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { register } from 'tsx/esm/api';

register();
const here = path.dirname(fileURLToPath(import.meta.url));
const scripts = path.join(here, '..', 'scripts', 'cluster');
const src = (p) => import(path.join(here, '..', 'src', p));
const run = promisify(execFile);

function opt(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  return typeof fallback === 'boolean' ? true : typeof fallback === 'number' ? Number(process.argv[i + 1]) : process.argv[i + 1];
}

// Ports below Linux's ephemeral range (32768 and up), so an outgoing connection never holds one.
const PRIVATE_ENV = {
  TRAINYARD_APISERVER_PORT: '17443',
  TRAINYARD_ETCD_CLIENT_PORT: '25790',
  TRAINYARD_ETCD_PEER_PORT: '25800',
  TRAINYARD_SCHEDULER_PORT: '21659',
  TRAINYARD_KWOK_PORT: '21647',
  TRAINYARD_UP_TIMEOUT: '300',
};

const pct = (sorted, p) => (sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]);
const round = (n, d = 3) => (n === null ? null : Math.round(n * 10 ** d) / 10 ** d);
const log = (m) => process.stderr.write(`[k8s-sweep] ${m}\n`);

// ---- child mode: an independent watch that records when each pod reached a final status ----
if (process.argv.includes('--reference-watch')) {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const [kubeconfig, ns] = process.argv.slice(process.argv.indexOf('--reference-watch') + 1);
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const o = {};
  await kc.applyToHTTPSOptions(o);
  const server = new URL(kc.getCurrentCluster().server);
  const seen = {};
  let events = 0;
  let status = 0;
  let rv;
  let req;
  let stopped = false;
  // The API server closes watchers that fall behind (this child is starved on a busy
  // machine): reconnect from the last resourceVersion, as the executor does.
  const connect = () => {
    const q = new URLSearchParams({ watch: '1', allowWatchBookmarks: 'true', ...(rv ? { resourceVersion: rv } : {}) });
    req = https.request(new URL(`/api/v1/namespaces/${ns}/pods?${q}`, server), { ca: o.ca, cert: o.cert, key: o.key, headers: o.headers }, (res) => {
      status = res.statusCode;
      let rest = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        const lines = (rest + c).split('\n');
        rest = lines.pop();
        const now = Date.now();
        for (const l of lines) {
          if (!l.trim()) continue;
          const ev = JSON.parse(l);
          events++;
          const p = ev.object;
          if (p?.metadata?.resourceVersion) rv = p.metadata.resourceVersion;
          const phase = p?.status?.phase;
          if ((phase === 'Succeeded' || phase === 'Failed') && seen[p.metadata.name] === undefined) seen[p.metadata.name] = now;
        }
      });
      res.on('end', () => !stopped && setTimeout(connect, 50));
    });
    req.on('error', () => !stopped && setTimeout(connect, 200));
    req.end();
  };
  connect();
  process.send({ ready: true });
  process.on('message', (m) => {
    if (m === 'report') {
      stopped = true;
      process.send({ seen, events, status });
      req.destroy();
      process.exit(0);
    }
  });
} else {
  await main();
}

async function main() {
  const pods = opt('pods', 1000);
  const nodes = opt('nodes', 100);
  const duration = opt('duration', '1s');
  const concurrency = opt('concurrency', 32);
  const qps = opt('qps', 500);
  const burst = opt('burst', 1000);
  const streamLogs = !opt('no-logs', false);
  let kubeconfig = opt('kubeconfig', '');
  let stateDir;

  if (!kubeconfig) {
    stateDir = mkdtempSync(path.join(os.tmpdir(), 'trainyard-k8s-bench-'));
    const env = { ...process.env, ...PRIVATE_ENV };
    log(`starting a private cluster in ${stateDir}`);
    kubeconfig = (await run(path.join(scripts, 'up.sh'), [stateDir], { env })).stdout.trim().split('\n').pop();
    log(`registering ${nodes} GPU nodes`);
    await run(path.join(scripts, 'nodes.sh'), [stateDir, '--cpu', '0', '--gpu', `a100:${nodes}:8`], { env, maxBuffer: 64 * 1024 * 1024 });
  }

  const { KubeConfig } = await import('@kubernetes/client-node');
  const { KubeApiClient } = await src('executors/kubernetes/api-client.ts');
  const { KubernetesExecutor } = await src('executors/kubernetes/kubernetes-executor.ts');
  const { buildPod } = await src('executors/kubernetes/pod-spec.ts');
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const admin = new KubeApiClient(kc, { qps: 1000, burst: 2000 });
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'trainyard-k8s-bench-logs-'));
  const runId = `bench-${Date.now().toString(36)}`;
  const machines = {
    'gpu-a100-1x': {
      resources: { requests: { 'nvidia.com/gpu': '1' }, limits: { 'nvidia.com/gpu': '1' } },
      nodeSelector: { 'gpu-type': 'a100' },
      tolerations: [{ key: 'nvidia.com/gpu', operator: 'Equal', value: 'present', effect: 'NoSchedule' }],
    },
  };
  const request = (i) => {
    const key = { dagId: 'sweep', runId, taskId: 'trial', mapIndex: i, tryNumber: 1 };
    return {
      kind: 'command',
      key,
      env: { TRAINYARD_DAG_ID: 'sweep', TRAINYARD_RUN_ID: runId, TRAINYARD_TASK_ID: 'trial', TRAINYARD_MAP_INDEX: String(i), TRAINYARD_TRY_NUMBER: '1' },
      resources: { cpu: 0.1, memoryMb: 128, gpu: 0 },
      killGraceMs: 1000,
      logPath: path.join(tmp, `trial-${i}.log`),
      resultPath: '/dev/termination-log',
      resultLimitBytes: 65536,
      command: 'python',
      args: ['train.py', '--trial', String(i)],
      shell: false,
      image: 'acme/train:1',
      pod: { machine: 'gpu-a100-1x', annotations: { 'sim.trainyard.dev/duration': duration, 'sim.trainyard.dev/result': `{"trial":${i}}` } },
    };
  };
  const newNamespace = async (prefix) => {
    const name = `${prefix}-${Date.now().toString(36)}`;
    await admin.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } } });
    return name;
  };
  const emptyNamespace = async (ns) => {
    await admin.request('DELETE', `/api/v1/namespaces/${ns}/pods`, { body: { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 0 } }).catch(() => {});
    for (let i = 0; i < 120; i++) {
      const l = await admin.request('GET', `/api/v1/namespaces/${ns}/pods`, { query: { limit: 1 } });
      if (l.items.length === 0) return;
      await new Promise((r) => setTimeout(r, 1000));
    }
  };

  // ---- the executor ----------------------------------------------------------------------
  const execNs = await newNamespace('bench-exec');
  const reference = fork(fileURLToPath(import.meta.url), ['--reference-watch', kubeconfig, execNs], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  await new Promise((r) => reference.once('message', r));
  const executor = new KubernetesExecutor({ kubeconfigPath: kubeconfig, namespace: execNs, machines, qps, burst, createConcurrency: concurrency, streamLogs, onClose: 'delete' });
  await executor.api();
  const finishedAt = {};
  const outcomes = {};
  let finished = 0;
  let allDone;
  const done = new Promise((r) => (allDone = r));
  executor.onEvent((e) => {
    if (e.type !== 'finished') return;
    finishedAt[e.key.mapIndex] = Date.now();
    outcomes[e.outcome] = (outcomes[e.outcome] ?? 0) + 1;
    if (++finished === pods) allDone();
  });
  log(`executor: launching ${pods} pods (concurrency ${concurrency}, qps ${qps}, burst ${burst}, logs ${streamLogs ? 'on' : 'off'})`);
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  const reqs = Array.from({ length: pods }, (_, i) => request(i));
  await Promise.all(reqs.map((r) => executor.launch(r)));
  const tCreated = Date.now() - t0;
  await done;
  const tEnd = Date.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  reference.send('report');
  const { seen, events: refEvents, status: refStatus } = await new Promise((r) => reference.once('message', r));
  log(`reference watch: HTTP ${refStatus}, ${refEvents} events, ${Object.keys(seen).length} pods seen finishing`);
  const { podName } = await src('executors/kubernetes/naming.ts');
  const delays = reqs
    .map((r, i) => {
      const at = seen[podName(r.key, executor.id)];
      return at === undefined || finishedAt[i] === undefined ? null : finishedAt[i] - at;
    })
    .filter((d) => d !== null)
    .sort((a, b) => a - b);
  const executorRequests = (await executor.api()).requests;
  await executor.close();
  await emptyNamespace(execNs);

  // ---- a bare client ---------------------------------------------------------------------
  const bareNs = await newNamespace('bench-bare');
  const bare = new KubeApiClient(kc, { qps: 1e9, burst: 1e9 });
  const defaults = {
    executorId: 'bare',
    namespace: bareNs,
    resultPath: '/dev/termination-log',
    cpuLimits: false,
    localOnlyEnv: [],
    machines,
    unscheduledTimeoutMs: 600_000,
    startupTimeoutMs: 600_000,
    onFinish: 'delete',
  };
  const barePods = reqs.map((r) => buildPod({ req: r, defaults }).pod);
  log(`bare client: creating ${pods} pods (concurrency ${concurrency})`);
  const b0 = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < barePods.length) {
        const p = barePods[next++];
        await bare.request('POST', `/api/v1/namespaces/${bareNs}/pods`, { body: p });
      }
    }),
  );
  const tBare = Date.now() - b0;
  await emptyNamespace(bareNs);
  bare.close();
  admin.close();
  rmSync(tmp, { recursive: true, force: true });

  if (stateDir && !opt('keep', false)) {
    log('stopping the private cluster');
    await run(path.join(scripts, 'down.sh'), [stateDir], { env: { ...process.env, ...PRIVATE_ENV } });
  }

  const execRate = pods / (tCreated / 1000);
  const bareRate = pods / (tBare / 1000);
  const result = {
    benchmark: 'k8s-sweep',
    pods,
    gpuNodes: nodes,
    gpusPerNode: 8,
    podDuration: duration,
    machine: { cpus: os.cpus().length, loadavg1: round(os.loadavg()[0], 2), node: process.version },
    executor: {
      endToEndS: round(tEnd / 1000),
      createS: round(tCreated / 1000),
      podsCreatedPerS: round(execRate, 1),
      outcomes,
      statusToEventDelayMs: { samples: delays.length, p50: pct(delays, 50), p99: pct(delays, 99), max: delays.at(-1) ?? null },
      cpuSeconds: round((cpu.user + cpu.system) / 1e6),
      apiRequests: executorRequests,
      settings: { createConcurrency: concurrency, qps, burst, streamLogs },
    },
    bare: { createS: round(tBare / 1000), podsCreatedPerS: round(bareRate, 1), concurrency },
    ratio: round(execRate / bareRate, 2),
    notes: [
      'status change = the moment an independent watch (a child process) saw the pod reach Succeeded/Failed; event = the executor emitting finished',
      'cpuSeconds is this process during the sweep: the executor, the event listener and IPC; the reference watch runs in a child',
      'the kubelet is simulated by KWOK on the same machine, so the API server, scheduler and KWOK compete with the executor for CPU',
    ],
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  process.exit(0);
}
