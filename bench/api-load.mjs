#!/usr/bin/env node
/**
 * Load benchmark of the REST API's list endpoints (not a test).
 *
 *   node bench/api-load.mjs [--clients 50] [--duration 30] [--runs 200] [--mapped 2000] [--sse 10]
 *
 * Seeds a SQLite store in a temporary home (50 DAGs, runs, one run with a large mapped
 * task), starts the API server in a child process on 127.0.0.1, then runs N concurrent
 * clients (keep-alive, bearer token) for the duration, each hitting the list endpoints in
 * turn, while --sse clients follow GET /api/v1/events (the live UI's one stream per tab). Prints
 * JSON: requests, throughput, errors, and latency percentiles overall and per endpoint, the
 * event feed's store reads (one per poll, however many streams), and the server's CPU time per request (which, unlike latency, does not depend on
 * how busy the machine is). BENCH_CPU_PROF=<dir> writes a CPU profile of the server there.
 */
import { fork } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';
import { optionNumber } from './lib/args.js';

register();
const here = path.dirname(fileURLToPath(import.meta.url));
const src = (p) => import(path.join(here, '..', 'src', p));


async function seed(home, o) {
  const { migrateToLatest, openSqlite } = await src('store/db.ts');
  const { Store } = await src('store/store.ts');
  const { AuthStore } = await src('store/auth-store.ts');
  const { newToken } = await src('api/auth/secrets.ts');
  const { dag } = await src('index.ts');
  const { triggerRun } = await src('scheduler/trigger.ts');
  const opened = openSqlite(path.join(home, 'trainyard.db'));
  await migrateToLatest(opened.db);
  const store = new Store(opened.db, 'sqlite');
  const t0 = Date.UTC(2026, 0, 1);
  for (let i = 0; i < 50; i++) {
    const d = dag(`dag_${String(i).padStart(2, '0')}`, { tags: [i % 2 ? 'ml' : 'etl', `team${i % 5}`] });
    const a = d.command('prep', { command: 'true' });
    d.command('train', { command: 'true', expand: { seed: [1, 2, 3] } }).after(a);
    const spec = d.toSpec();
    const hash = crypto.createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 16);
    await store.upsertDag(spec, `/dags/dag_${i}.ts`, hash, t0);
  }
  for (let r = 0; r < o.runs; r++) {
    const dagId = `dag_${String(r % 50).padStart(2, '0')}`;
    await triggerRun(store, dagId, { runId: `run_${r}` }, t0 + r * 1000);
  }
  const rows = [];
  for (let m = 0; m < o.mapped; m++) {
    rows.push({
      dag_id: 'dag_00', run_id: 'run_0', task_id: 'train', map_index: m, state: m % 7 === 0 ? 'failed' : 'success', try_number: 1,
      budget_tries: 1, free_retries: 0, priority_weight: 1, pool: 'default_pool', pool_slots: 1, next_retry_at: null, queued_at: t0,
      start_date: t0, end_date: t0 + (m % 97) * 1000, failure_class: m % 7 === 0 ? 'user_error' : null, reason: m % 7 === 0 ? `exit code ${m % 3}` : null,
      result: null, item: JSON.stringify({ seed: m }), params: null, resource_overrides: null, updated_at: t0,
    });
  }
  await store.insertTaskInstances(rows);
  const { token, hash } = newToken();
  const auth = new AuthStore(store);
  await auth.createUser({ username: 'bench', password_hash: 'scrypt$1$1$1$AA==$AA==', role: 'viewer', created_at: t0 });
  await auth.insertToken({ token_hash: hash, username: 'bench', name: 'bench', created_at: t0, last_used_at: null });
  await opened.close();
  return token;
}

/** Child process: the API server over the seeded home. */
async function serve(home) {
  const { openRuntime } = await src('app/runtime.ts');
  const { loadConfig } = await src('config.ts');
  const { startApi } = await src('api/index.ts');
  const rt = await openRuntime(loadConfig({ home }, {}));
  const { url, server } = await startApi(rt, { port: 0, host: '127.0.0.1', auth: 'password', log: () => {} });
  process.send({ url });
  let cpu;
  process.on('message', async (m) => {
    if (m === 'start') cpu = process.cpuUsage();
    if (m === 'stop') {
      const used = process.cpuUsage(cpu);
      process.send({ cpu_ms: (used.user + used.system) / 1000, feed: server.events.stats() });
      await server.close();
      await rt.close();
      process.exit(0);
    }
  });
}

/** `n` clients following the event stream, each counting what it receives. */
async function openStreams(url, headers, n) {
  const conns = [];
  for (let i = 0; i < n; i++) {
    const c = { broken: false, closing: false, req: undefined };
    await new Promise((resolve, reject) => {
      c.req = http.get(`${url}/api/v1/events`, { headers: { ...headers, accept: 'text/event-stream' } }, (res) => {
        if (res.statusCode !== 200) reject(new Error(`GET /api/v1/events answered ${res.statusCode}`));
        res.resume();
        res.on('error', () => (c.broken = true));
        res.on('end', () => (c.broken = !c.closing));
        resolve();
      });
      c.req.on('error', reject);
    });
    conns.push(c);
  }
  return {
    close() {
      for (const c of conns) {
        c.closing = true;
        c.req.destroy();
      }
      return { streams: n, broken: conns.filter((c) => c.broken).length };
    },
  };
}

function percentile(sorted, p) {
  if (!sorted.length) return null;
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] * 100) / 100;
}

async function main() {
  const clients = optionNumber('clients', 50);
  const durationS = optionNumber('duration', 30);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-bench-'));
  try {
    const token = await seed(home, { runs: optionNumber('runs', 200), mapped: optionNumber('mapped', 2000) });
    const child = fork(fileURLToPath(import.meta.url), ['--serve', home], { stdio: 'inherit', execArgv: process.env.BENCH_CPU_PROF ? [...process.execArgv, '--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : process.execArgv });
    const { url } = await new Promise((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
    });
    const endpoints = {
      dags: '/api/v1/dags',
      dags_by_tag: '/api/v1/dags?tag=ml&limit=20',
      runs: '/api/v1/runs?limit=50',
      dag_runs: '/api/v1/dags/dag_07/runs?state=queued',
      task_instances: '/api/v1/dags/dag_00/runs/run_0/taskInstances?limit=100&offset=500',
      task_instances_failed: '/api/v1/dags/dag_00/runs/run_0/taskInstances?state=failed&limit=50',
      grid: '/api/v1/dags/dag_00/grid?limit=25',
      import_errors: '/api/v1/importErrors',
      pools: '/api/v1/pools',
    };
    const names = Object.keys(endpoints);
    const latencies = Object.fromEntries(names.map((n) => [n, []]));
    let errors = 0;
    const errorSamples = [];
    const headers = { authorization: `Bearer ${token}` };
    // node:http with keep-alive: a client far cheaper than fetch, so the numbers are the server's.
    const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
    const get = (p) =>
      new Promise((resolve, reject) => {
        const req = http.get(url + p, { agent, headers }, (res) => {
          res.on('data', () => {});
          res.on('end', () => resolve(res.statusCode));
          res.on('error', reject);
        });
        req.on('error', reject);
      });
    // Warm up: one round of each.
    for (const n of names) await get(endpoints[n]);
    const streams = await openStreams(url, headers, optionNumber('sse', 10, { min: 0 }));
    child.send('start');
    const started = performance.now();
    const deadline = started + durationS * 1000;
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        for (let i = c; performance.now() < deadline; i++) {
          const n = names[i % names.length];
          const t = performance.now();
          try {
            const status = await get(endpoints[n]);
            if (status !== 200) {
              errors++;
              if (errorSamples.length < 5) errorSamples.push(`${n}: HTTP ${status}`);
            }
          } catch (e) {
            errors++;
            if (errorSamples.length < 5) errorSamples.push(`${n}: ${e.message}`);
          }
          latencies[n].push(performance.now() - t);
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    agent.destroy();
    const sse = streams.close();
    const serverCpu = new Promise((r) => child.once('message', r));
    child.send('stop');
    const { cpu_ms, feed } = await serverCpu;
    await new Promise((r) => child.once('exit', r));
    const all = names.flatMap((n) => latencies[n]).sort((a, b) => a - b);
    const stats = (xs) => ({ requests: xs.length, p50_ms: percentile(xs, 50), p90_ms: percentile(xs, 90), p99_ms: percentile(xs, 99), max_ms: percentile(xs, 100) });
    const out = {
      benchmark: 'api-load',
      node: process.version,
      cpus: os.cpus().length,
      clients,
      duration_s: Math.round(elapsed * 10) / 10,
      requests: all.length,
      requests_per_s: Math.round(all.length / elapsed),
      errors,
      // Server CPU per request: independent of how busy the machine is.
      server_cpu_ms_per_request: Math.round((cpu_ms / Math.max(1, all.length)) * 1000) / 1000,
      load_average_1m: Math.round(os.loadavg()[0] * 100) / 100,
      error_samples: errorSamples,
      // The event feed: its store reads (polls) do not grow with the number of streams.
      sse: { ...sse, feed_polls: feed.polls, feed_polls_per_s: Math.round((feed.polls / elapsed) * 10) / 10 },
      latency: stats(all),
      endpoints: Object.fromEntries(names.map((n) => [n, { path: endpoints[n], ...stats(latencies[n].sort((a, b) => a - b)) }])),
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--serve') await serve(process.argv[3]);
else await main();
