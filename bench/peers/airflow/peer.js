/**
 * The Apache Airflow peer: one Airflow 3 deployment (api-server, scheduler with the
 * LocalExecutor, dag-processor; SQLite) in a temporary state directory, kept up for a whole
 * harness run and stopped with SIGSTOP while Trainyard's reps run (SIGCONT before its own), so
 * its idle loops do not take CPU from the other system. Every setting is in README.md.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { makeStateDir, killGroup } from '../../lib/state.js';
import { startDetached, sleep, tail } from '../../lib/proc.js';
import { loadAverage } from '../../lib/machine.js';
import { chainFigures } from '../../scenarios/s1-chain.js';
import { mappedFigures } from '../../scenarios/s2-mapped.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../../package.json'));
const run = promisify(execFile);

export const AIRFLOW_VERSION = process.env.AIRFLOW_BENCH_VERSION ?? '3.3.2';

export function airflowVenv() {
  const cache = process.env.TRAINYARD_CACHE ?? path.join(os.homedir(), '.cache/trainyard');
  return path.join(cache, `airflow-${AIRFLOW_VERSION}`, 'venv');
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Airflow stores UTC datetimes in SQLite as 'YYYY-MM-DD HH:MM:SS.ffffff'; epoch ms with the µs kept. */
export function airflowTime(v) {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v.getTime();
  const m = /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(?:\.(\d+))?/.exec(String(v));
  if (!m) throw new Error(`unexpected Airflow timestamp '${v}'`);
  const base = Date.parse(`${m[1]}T${m[2]}Z`);
  return base + (m[3] ? Number(`0.${m[3]}`) * 1000 : 0);
}

export class AirflowPeer {
  static async start({ log, parallelism, chainLength = 100, mapSize = 1000 }) {
    const venv = airflowVenv();
    const bin = path.join(venv, 'bin/airflow');
    if (!fs.existsSync(bin)) throw new Error(`Airflow ${AIRFLOW_VERSION} is not installed at ${venv}: run bench/peers/airflow/setup.sh first`);
    const peer = new AirflowPeer(venv, log, parallelism);
    peer.shape = { chainLength, mapSize };
    try {
      await peer.boot();
    } catch (e) {
      await peer.stop();
      throw e;
    }
    return peer;
  }

  constructor(venv, log, parallelism) {
    this.venv = venv;
    this.log = log;
    this.parallelism = parallelism;
    this.dir = makeStateDir('airflow');
    this.home = path.join(this.dir, 'home');
    this.dags = path.join(this.dir, 'dags');
    this.components = [];
    this.runs = 0;
    this.paused = false;
  }

  describe() {
    return { version: AIRFLOW_VERSION, executor: 'LocalExecutor', database: 'sqlite', parallelism: this.parallelism, settings: this.settings };
  }

  async boot() {
    fs.mkdirSync(this.home, { recursive: true });
    fs.mkdirSync(this.dags, { recursive: true });
    for (const f of fs.readdirSync(path.join(here, 'dags'))) if (f.endsWith('.py')) fs.copyFileSync(path.join(here, 'dags', f), path.join(this.dags, f));
    this.port = await freePort();
    this.settings = {
      AIRFLOW__CORE__EXECUTOR: 'LocalExecutor',
      AIRFLOW__CORE__PARALLELISM: String(this.parallelism),
      AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG: String(this.parallelism),
      AIRFLOW__CORE__LOAD_EXAMPLES: 'False',
      AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION: 'False',
      AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: `sqlite:///${path.join(this.home, 'airflow.db')}`,
      AIRFLOW__API__HOST: '127.0.0.1',
      AIRFLOW__API__PORT: String(this.port),
      AIRFLOW__API__WORKERS: '1',
      AIRFLOW__CORE__EXECUTION_API_SERVER_URL: `http://127.0.0.1:${this.port}/execution/`,
      AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS: 'True',
      AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL: '5',
      AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK: 'False',
      AIRFLOW__LOGGING__LOGGING_LEVEL: 'WARNING',
    };
    this.env = {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AIRFLOW') && !k.startsWith('TRAINYARD_'))),
      ...this.settings,
      AIRFLOW_HOME: this.home,
      AIRFLOW__CORE__DAGS_FOLDER: this.dags,
      PATH: `${path.join(this.venv, 'bin')}:${process.env.PATH}`,
      BENCH_CHAIN_LENGTH: String(this.shape.chainLength),
      BENCH_MAP_SIZE: String(this.shape.mapSize),
    };
    this.log(`airflow: migrating a fresh SQLite database in ${this.home}`);
    const t0 = performance.now();
    await run(path.join(this.venv, 'bin/airflow'), ['db', 'migrate'], { env: this.env, cwd: this.dir, maxBuffer: 64 << 20 });
    for (const c of ['api-server', 'scheduler', 'dag-processor']) {
      const p = startDetached(path.join(this.venv, 'bin/airflow'), [c], {
        env: this.env,
        cwd: this.dir,
        stdoutFile: path.join(this.dir, `${c}.log`),
        stderrFile: path.join(this.dir, `${c}.log`),
      });
      p.exited.then((e) => {
        if (!this.stopping) this.log(`airflow ${c} exited (${e.signal ?? e.code}): ${tail(path.join(this.dir, `${c}.log`), 800)}`);
      });
      this.components.push({ name: c, proc: p });
    }
    await this.waitReady();
    this.startupMs = Math.round(performance.now() - t0);
    this.log(`airflow: up in ${(this.startupMs / 1000).toFixed(1)} s (port ${this.port})`);
    this.pause();
  }

  db() {
    const Sqlite = require('better-sqlite3');
    const db = new Sqlite(path.join(this.home, 'airflow.db'), { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 10000');
    return db;
  }

  async waitReady(timeoutMs = 300_000) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        const db = this.db();
        try {
          const n = db.prepare("SELECT count(*) AS n FROM dag WHERE dag_id IN ('bench_chain', 'bench_map') AND is_paused = 0").get().n;
          const s = db.prepare("SELECT count(*) AS n FROM serialized_dag WHERE dag_id IN ('bench_chain', 'bench_map')").get().n;
          const res = await fetch(`http://127.0.0.1:${this.port}/api/v2/monitor/health`).catch(() => undefined);
          if (n === 2 && s >= 2 && res?.ok) return;
        } finally {
          db.close();
        }
      } catch {
        /* not created yet */
      }
      await sleep(1000);
    }
    throw new Error(`Airflow did not load the bench DAGs within ${timeoutMs / 1000} s; logs in ${this.dir}`);
  }

  pause() {
    if (this.paused) return;
    for (const c of this.components) killGroup(c.proc.pid, 'SIGSTOP');
    this.paused = true;
  }

  resume() {
    if (!this.paused) return;
    for (const c of this.components) killGroup(c.proc.pid, 'SIGCONT');
    this.paused = false;
  }

  async token() {
    const res = await fetch(`http://127.0.0.1:${this.port}/auth/token`);
    if (!res.ok) throw new Error(`Airflow /auth/token: HTTP ${res.status}`);
    return (await res.json()).access_token;
  }

  /** Triggers a run through the REST API and waits for it to end; returns its rows. */
  async runDag(dagId, timeoutMs) {
    this.resume();
    try {
      // A moment for the scheduler to find its feet after SIGCONT.
      await sleep(500);
      const runId = `bench_${process.pid}_${++this.runs}`;
      const res = await fetch(`http://127.0.0.1:${this.port}/api/v2/dags/${dagId}/dagRuns`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await this.token()}` },
        body: JSON.stringify({ dag_run_id: runId, logical_date: null }),
      });
      if (!res.ok) throw new Error(`Airflow trigger of ${dagId}: HTTP ${res.status} ${await res.text()}`);
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        await sleep(1000);
        const db = this.db();
        try {
          const r = db.prepare('SELECT state, queued_at, start_date, end_date FROM dag_run WHERE dag_id = ? AND run_id = ?').get(dagId, runId);
          if (r && (r.state === 'success' || r.state === 'failed')) {
            const tis = db
              .prepare('SELECT task_id, map_index, try_number, state, queued_dttm AS queued_at, start_date, end_date FROM task_instance WHERE dag_id = ? AND run_id = ?')
              .all(dagId, runId);
            const conv = (o) => ({ ...o, queued_at: airflowTime(o.queued_at), start_date: airflowTime(o.start_date), end_date: airflowTime(o.end_date) });
            return { run: conv(r), tries: tis.map(conv) };
          }
        } finally {
          db.close();
        }
        if (Date.now() > deadline) throw new Error(`Airflow run ${runId} of ${dagId} did not end within ${timeoutMs / 1000} s`);
      }
    } finally {
      this.pause();
    }
  }

  async chainRep(length) {
    const load_before = loadAverage();
    const { run, tries } = await this.runDag('bench_chain', 60 * 60_000);
    if (run.state !== 'success') throw new Error(`Airflow chain run ended ${run.state}`);
    return { ...chainFigures(run, tries, length), load_before, load_after: loadAverage() };
  }

  async mapRep(n) {
    const load_before = loadAverage();
    const { run, tries } = await this.runDag('bench_map', 60 * 60_000);
    if (run.state !== 'success') throw new Error(`Airflow mapped run ended ${run.state}`);
    return { ...mappedFigures(run, tries, n), load_before, load_after: loadAverage() };
  }

  async stop() {
    this.stopping = true;
    for (const c of this.components) {
      killGroup(c.proc.pid, 'SIGCONT');
      killGroup(c.proc.pid, 'SIGTERM');
    }
    await Promise.race([Promise.all(this.components.map((c) => c.proc.exited)), sleep(15_000)]);
    for (const c of this.components) killGroup(c.proc.pid, 'SIGKILL');
  }
}
