#!/usr/bin/env node
/**
 * Benchmark of the Kubernetes executor (not a test): a mapped sweep of N pods (default
 * 1,000) on KWOK GPU nodes (default 100 × 8 GPUs), each pod "running" 1 s, against a bare
 * client creating N pods on the same cluster, alternated rep by rep in the same run.
 *
 *   node bench/k8s-sweep.mjs [--pods 1000] [--nodes 100] [--duration 1s] [--concurrency 32]
 *                            [--qps 500] [--burst 1000] [--reps 3] [--warmup 50] [--no-logs]
 *                            [--baseline-src DIR] [--kubeconfig FILE] [--keep]
 *
 * Without --kubeconfig it starts a private cluster with scripts/cluster/up.sh in a temporary
 * state directory on its own ports, registers the nodes with nodes.sh, and stops it at the
 * end (--keep leaves it up). Each rep runs every variant once, each in a fresh namespace
 * watched by an independent reference watch (a child process), and starts with the variant
 * after the one the rep before started with (before the reps, each variant runs once
 * unmeasured with --warmup pods, so the first measured rep does not pay for cold code):
 * - executor: the sweep through the Kubernetes executor (createConcurrency, qps, burst);
 * - bare: a plain client (the same HTTP client, no rate limit) creating the same pods with
 *   the same concurrency;
 * - baseline (with --baseline-src DIR): the executor from another source tree (DIR is its
 *   src/, e.g. an older commit's), for A/B of executor changes.
 * Prints one JSON object: per variant the medians and every rep (pods created per second,
 * end-to-end time, p50/p99 delay from a pod's final status as the reference watch saw it to
 * the executor's `finished` event, CPU seconds of this process), and ratio: executor pods/s
 * ÷ bare pods/s, per round and its median.
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
  process.on('disconnect', () => process.exit(0));
  process.on('message', (m) => {
    if (m === 'report') {
      stopped = true;
      process.send({ seen, events, status });
      req.destroy();
      process.exit(0);
    }
  });
}

async function main() {
  const pods = opt('pods', 1000);
  const nodes = opt('nodes', 100);
  const duration = opt('duration', '1s');
  const concurrency = opt('concurrency', 32);
  const qps = opt('qps', 500);
  const burst = opt('burst', 1000);
  const reps = opt('reps', 3);
  const warmup = opt('warmup', 50);
  const streamLogs = !opt('no-logs', false);
  const baselineSrc = opt('baseline-src', '');
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
  const ours = await modules(path.join(here, '..', 'src'));
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const admin = new ours.KubeApiClient(kc, { qps: 1000, burst: 2000 });
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'trainyard-k8s-bench-logs-'));
  const cluster = { kc, kubeconfig, admin, tmp };
  const sweep = { pods, duration, concurrency, qps, burst, streamLogs, warmup };

  const variants = [
    { name: 'executor', run: (ns, rep) => executorRep(ours, cluster, sweep, ns, `e${rep}`) },
    { name: 'bare', run: (ns) => bareRep(ours, cluster, sweep, ns) },
  ];
  const base = baselineSrc ? await modules(path.resolve(baselineSrc)) : undefined;
  if (base) {
    variants.push({ name: 'baseline', run: (ns, rep) => executorRep(base, cluster, sweep, ns, `b${rep}`) });
  }
  const results = Object.fromEntries(variants.map((v) => [v.name, []]));
  const loads = [];
  if (warmup > 0) {
    // Unmeasured: the first sweep of a process also pays for compiling its code paths.
    for (const v of variants) {
      const ns = await newNamespace(admin, `bench-warmup-${v.name}`);
      log(`warm-up: ${v.name}, ${warmup} pods`);
      const run = v.name === 'bare' ? bareRep(ours, cluster, { ...sweep, pods: warmup }, ns) : executorRep(v.name === 'baseline' ? base : ours, cluster, { ...sweep, pods: warmup }, ns, `w${v.name[0]}`);
      await run;
      await emptyNamespace(admin, ns);
      await admin.request('DELETE', `/api/v1/namespaces/${ns}`).catch(() => {});
    }
  }
  for (let rep = 0; rep < reps; rep++) {
    // A/B alternated: each rep starts with the next variant.
    const order = variants.map((_, i) => variants[(i + rep) % variants.length]);
    for (const v of order) {
      const load = round(os.loadavg()[0], 2);
      const ns = await newNamespace(admin, `bench-${v.name}`);
      const reference = await startReference(kubeconfig, ns);
      log(`rep ${rep + 1}/${reps}: ${v.name} (load ${load})`);
      const r = await v.run(ns, rep);
      const seen = await reference.report();
      if (r.finishedAt) r.delays = delaysOf(r, seen);
      delete r.finishedAt;
      delete r.names;
      await emptyNamespace(admin, ns);
      await admin.request('DELETE', `/api/v1/namespaces/${ns}`).catch(() => {});
      results[v.name].push({ ...r, load });
      loads.push(load);
      log(`  ${v.name}: ${r.podsCreatedPerS} pods/s`);
    }
  }
  admin.close();
  rmSync(tmp, { recursive: true, force: true });
  if (stateDir && !opt('keep', false)) {
    log('stopping the private cluster');
    await run(path.join(scripts, 'down.sh'), [stateDir], { env: { ...process.env, ...PRIVATE_ENV } });
  }
  process.stdout.write(`${JSON.stringify(summary({ sweep, nodes, reps, results, loads }), null, 2)}\n`);
  process.exit(0);
}

/** The modules a rep needs, from one source tree (this one, or a baseline's). */
async function modules(root) {
  const imp = (p) => import(path.join(root, p));
  const [{ KubeApiClient }, { KubernetesExecutor }, { buildPod }, { podName }] = await Promise.all([
    imp('executors/kubernetes/api-client.ts'),
    imp('executors/kubernetes/kubernetes-executor.ts'),
    imp('executors/kubernetes/pod-spec.ts'),
    imp('executors/kubernetes/naming.ts'),
  ]);
  return { KubeApiClient, KubernetesExecutor, buildPod, podName };
}

const machines = {
  'gpu-a100-1x': {
    resources: { requests: { 'nvidia.com/gpu': '1' }, limits: { 'nvidia.com/gpu': '1' } },
    nodeSelector: { 'gpu-type': 'a100' },
    tolerations: [{ key: 'nvidia.com/gpu', operator: 'Equal', value: 'present', effect: 'NoSchedule' }],
  },
};

/** The launch request of trial i, as the scheduler would make it. */
function launchRequest(i, runId, duration, tmp) {
  const key = { dagId: 'sweep', runId, taskId: 'trial', mapIndex: i, tryNumber: 1 };
  return {
    kind: 'command',
    key,
    env: { TRAINYARD_DAG_ID: 'sweep', TRAINYARD_RUN_ID: runId, TRAINYARD_TASK_ID: 'trial', TRAINYARD_MAP_INDEX: String(i), TRAINYARD_TRY_NUMBER: '1' },
    resources: { cpu: 0.1, memoryMb: 128, gpu: 0 },
    killGraceMs: 1000,
    logPath: path.join(tmp, runId, `trial-${i}.log`),
    resultPath: '/dev/termination-log',
    resultLimitBytes: 65536,
    command: 'python',
    args: ['train.py', '--trial', String(i)],
    shell: false,
    image: 'acme/train:1',
    pod: { machine: 'gpu-a100-1x', annotations: { 'sim.trainyard.dev/duration': duration, 'sim.trainyard.dev/result': `{"trial":${i}}` } },
  };
}

async function newNamespace(admin, prefix) {
  const name = `${prefix}-${Date.now().toString(36)}`;
  await admin.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } } });
  return name;
}

async function emptyNamespace(admin, ns) {
  await admin.request('DELETE', `/api/v1/namespaces/${ns}/pods`, { body: { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 0 } }).catch(() => {});
  for (let i = 0; i < 120; i++) {
    const l = await admin.request('GET', `/api/v1/namespaces/${ns}/pods`, { query: { limit: 1 } });
    if (l.items.length === 0) return;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** The independent watch (a child process) on a rep's namespace; report() returns when it saw each pod finish. */
async function startReference(kubeconfig, ns) {
  const child = fork(fileURLToPath(import.meta.url), ['--reference-watch', kubeconfig, ns], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  await new Promise((r) => child.once('message', r));
  return {
    report: async () => {
      child.send('report');
      const { seen } = await new Promise((r) => child.once('message', r));
      return seen;
    },
  };
}

/** One sweep through the Kubernetes executor: creation rate, status-to-event delays, CPU. */
async function executorRep(m, cluster, sweep, ns, tag) {
  const runId = `bench-${tag}-${Date.now().toString(36)}`;
  const executor = new m.KubernetesExecutor({
    kubeconfigPath: cluster.kubeconfig,
    namespace: ns,
    machines,
    qps: sweep.qps,
    burst: sweep.burst,
    createConcurrency: sweep.concurrency,
    streamLogs: sweep.streamLogs,
    onClose: 'delete',
  });
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
    if (++finished === sweep.pods) allDone();
  });
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  const reqs = Array.from({ length: sweep.pods }, (_, i) => launchRequest(i, runId, sweep.duration, cluster.tmp));
  await Promise.all(reqs.map((r) => executor.launch(r)));
  const tCreated = Date.now() - t0;
  await done;
  const tEnd = Date.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const client = await executor.api();
  const apiRequests = client.requests;
  const limiterWaits = client.limiterWaits;
  await executor.close();
  return {
    createS: round(tCreated / 1000),
    podsCreatedPerS: round(sweep.pods / (tCreated / 1000), 1),
    endToEndS: round(tEnd / 1000),
    outcomes,
    cpuSeconds: round((cpu.user + cpu.system) / 1e6),
    apiRequests,
    ...(limiterWaits !== undefined ? { rateLimiterWaits: limiterWaits } : {}),
    finishedAt,
    names: reqs.map((r) => m.podName(r.key, executor.id)),
  };
}

/** A plain client creating the same pods (built beforehand) with the same concurrency and no rate limit. */
async function bareRep(m, cluster, sweep, ns) {
  const bare = new m.KubeApiClient(cluster.kc, { qps: 1e9, burst: 1e9 });
  const defaults = {
    executorId: 'bare',
    namespace: ns,
    resultPath: '/dev/termination-log',
    cpuLimits: false,
    localOnlyEnv: [],
    machines,
    unscheduledTimeoutMs: 600_000,
    startupTimeoutMs: 600_000,
    onFinish: 'delete',
  };
  const runId = `bench-bare-${Date.now().toString(36)}`;
  const barePods = Array.from({ length: sweep.pods }, (_, i) => m.buildPod({ req: launchRequest(i, runId, sweep.duration, cluster.tmp), defaults }).pod);
  const cpu0 = process.cpuUsage();
  const b0 = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: sweep.concurrency }, async () => {
      while (next < barePods.length) {
        const p = barePods[next++];
        await bare.request('POST', `/api/v1/namespaces/${ns}/pods`, { body: p });
      }
    }),
  );
  const tBare = Date.now() - b0;
  const cpu = process.cpuUsage(cpu0);
  bare.close();
  return { createS: round(tBare / 1000), podsCreatedPerS: round(sweep.pods / (tBare / 1000), 1), cpuSeconds: round((cpu.user + cpu.system) / 1e6) };
}

/** Delays from the reference watch's sight of a final status to the executor's finished event. */
function delaysOf(r, seen) {
  return r.names
    .map((name, i) => (seen[name] === undefined || r.finishedAt[i] === undefined ? null : r.finishedAt[i] - seen[name]))
    .filter((d) => d !== null)
    .sort((a, b) => a - b);
}

const median = (xs) => {
  const s = xs.filter((x) => x !== null && x !== undefined).sort((a, b) => a - b);
  if (s.length === 0) return null;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

function executorSummary(reps) {
  const all = reps.flatMap((r) => r.delays ?? []).sort((a, b) => a - b);
  return {
    podsCreatedPerS: { median: round(median(reps.map((r) => r.podsCreatedPerS)), 1), reps: reps.map((r) => r.podsCreatedPerS) },
    endToEndS: { median: median(reps.map((r) => r.endToEndS)), reps: reps.map((r) => r.endToEndS) },
    statusToEventDelayMs: { samples: all.length, p50: pct(all, 50), p99: pct(all, 99), max: all.at(-1) ?? null, p99PerRep: reps.map((r) => pct(r.delays ?? [], 99)) },
    cpuSeconds: { median: median(reps.map((r) => r.cpuSeconds)), reps: reps.map((r) => r.cpuSeconds) },
    apiRequests: reps.map((r) => r.apiRequests),
    ...(reps[0]?.rateLimiterWaits !== undefined ? { rateLimiterWaits: reps.map((r) => r.rateLimiterWaits) } : {}),
    outcomes: reps.map((r) => r.outcomes),
    loadAtStart: reps.map((r) => r.load),
  };
}

function summary({ sweep, nodes, reps, results, loads }) {
  const bare = results.bare;
  const pairs = (name) => results[name].map((r, i) => round(r.podsCreatedPerS / bare[i].podsCreatedPerS, 2));
  const out = {
    benchmark: 'k8s-sweep',
    pods: sweep.pods,
    gpuNodes: nodes,
    gpusPerNode: 8,
    podDuration: sweep.duration,
    reps,
    machine: { cpus: os.cpus().length, node: process.version, loadavg1: { min: Math.min(...loads), max: Math.max(...loads) } },
    settings: { createConcurrency: sweep.concurrency, qps: sweep.qps, burst: sweep.burst, streamLogs: sweep.streamLogs, warmupPods: sweep.warmup },
    executor: executorSummary(results.executor),
    bare: {
      podsCreatedPerS: { median: round(median(bare.map((r) => r.podsCreatedPerS)), 1), reps: bare.map((r) => r.podsCreatedPerS) },
      cpuSeconds: { median: median(bare.map((r) => r.cpuSeconds)), reps: bare.map((r) => r.cpuSeconds) },
      concurrency: sweep.concurrency,
      loadAtStart: bare.map((r) => r.load),
    },
    ratio: { median: median(pairs('executor')), pairs: pairs('executor') },
  };
  if (results.baseline) {
    out.baseline = executorSummary(results.baseline);
    out.baselineRatio = { median: median(pairs('baseline')), pairs: pairs('baseline') };
  }
  out.notes = [
    'reps alternate: rep n starts with the variant after the one rep n-1 started with; ratio.pairs divides each executor rep by the bare rep of the same round',
    'both clients: the same concurrency (settings.createConcurrency) and HTTP client; the bare one has no rate limit, the executor its qps/burst (rateLimiterWaits counts requests it delayed)',
    'the bare client builds its pods before its clock starts; the executor builds them, opens try logs and starts its watches on the clock',
    'status change = the moment an independent watch (a child process, running during every rep, bare ones too) saw the pod reach Succeeded/Failed; event = the executor emitting finished',
    'cpuSeconds is this process during the sweep (executor: launch to last finished event; bare: the creations)',
    'the kubelet is simulated by KWOK on the same machine, so the API server, scheduler and KWOK compete with the executor for CPU',
  ];
  return out;
}

if (!process.argv.includes('--reference-watch')) await main();
