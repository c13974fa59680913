import { execFileSync } from 'node:child_process';
/**
 * Drives Trainyard the way a user does: `trainyard standalone --trigger <dag> --exit-when-done`
 * from the CLI of the checkout under test, with a DAG folder and a home in a temporary state
 * directory; reads the figures back from its store afterwards.
 *
 * Bench DAG files import the SDK by the absolute URL of the checkout's dist/index.js, so they
 * work from any folder.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { makeStateDir } from './state.js';
import { sampleMemory, startDetached, tail, withTimeout } from './proc.js';
import { loadAverage } from './machine.js';

let dbCounter = 0;

export class Trainyard {
  /**
   * @param {{ repo: string, backend: { kind: 'sqlite' } | { kind: 'postgres', url: string } }} o
   */
  constructor(o) {
    this.repo = o.repo;
    this.backend = o.backend;
    this.require = createRequire(path.join(o.repo, 'package.json'));
    if (!fs.existsSync(path.join(o.repo, 'dist/cli/main.js'))) {
      throw new Error(`${o.repo}/dist is missing: run \`npm run build\` there first`);
    }
  }

  get label() {
    return this.backend.kind;
  }

  /** `import { … } from 'trainyard'`, by absolute URL. */
  importLine(names = ['dag']) {
    return `import { ${names.join(', ')} } from ${JSON.stringify(pathToFileURL(path.join(this.repo, 'dist/index.js')).href)};\n`;
  }

  /** A fresh home, DAG folder and database. */
  async instance(label) {
    const dir = makeStateDir(label);
    const home = path.join(dir, 'home');
    const dags = path.join(dir, 'dags');
    fs.mkdirSync(home, { recursive: true });
    fs.mkdirSync(dags, { recursive: true });
    let databaseUrl = path.join(home, 'trainyard.db');
    let dropDb;
    if (this.backend.kind === 'postgres') {
      const name = `trainyard_bench_${process.pid}_${++dbCounter}`;
      await this.pgAdmin(`CREATE DATABASE ${name}`);
      const u = new URL(this.backend.url);
      u.pathname = `/${name}`;
      databaseUrl = u.toString();
      dropDb = () => this.pgAdmin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
    return {
      dir,
      home,
      dags,
      databaseUrl,
      writeDag: (file, source) => fs.writeFileSync(path.join(dags, file), source),
      cleanup: async () => {
        if (dropDb) await dropDb().catch(() => {});
        // The disk writes back one rep's thousands of log and try folders before the next rep
        // starts, not during it. The folders stay until the harness ends (makeStateDir).
        execFileSync('sync');
      },
    };
  }

  async pgAdmin(statement) {
    const { Client } = this.require('pg');
    const c = new Client({ connectionString: this.backend.url });
    await c.connect();
    try {
      await c.query(statement);
    } finally {
      await c.end();
    }
  }

  env(inst, extra = {}) {
    const env = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TRAINYARD_') && k !== 'NODE_OPTIONS') env[k] = v;
    // Port 0: a free port, so the harness never collides with a server already on 8080.
    return { ...env, TRAINYARD_DATABASE_URL: inst.databaseUrl, TRAINYARD_SHUTDOWN_GRACE: '5s', TRAINYARD_PORT: '0', ...extra };
  }

  /** Starts `trainyard <args…>` (global options first) in its own process group. */
  start(inst, args, { env = {}, nodeArgs = [], tag = 'trainyard' } = {}) {
    const cli = path.join(this.repo, 'bin/trainyard.js');
    return startDetached(process.execPath, [...nodeArgs, cli, '--home', inst.home, '--dags', inst.dags, ...args], {
      env: this.env(inst, env),
      cwd: inst.dir,
      stdoutFile: path.join(inst.dir, `${tag}.out`),
      stderrFile: path.join(inst.dir, `${tag}.err`),
    });
  }

  /**
   * Runs `standalone --trigger dagId --exit-when-done` (with `--conf`, the run's params) to the
   * end. Returns the process's wall time and memory peaks; the run's figures come from the
   * store (see reader()).
   */
  async runToEnd(inst, dagId, { env = {}, nodeArgs = [], conf, timeoutMs = 30 * 60_000 } = {}) {
    const load_before = loadAverage();
    const confArgs = conf ? ['--conf', JSON.stringify(conf)] : [];
    const p = this.start(inst, ['standalone', '--trigger', dagId, ...confArgs, '--exit-when-done'], { env, nodeArgs, tag: 'standalone' });
    const mem = sampleMemory(p.pid);
    let exit;
    try {
      exit = await withTimeout(p, timeoutMs, `trainyard standalone (${dagId})`);
    } finally {
      mem.stop();
    }
    if (exit.code !== 0) {
      throw new Error(`trainyard standalone exited with ${exit.signal ?? exit.code}:\n${tail(path.join(inst.dir, 'standalone.out'))}\n${tail(path.join(inst.dir, 'standalone.err'))}`);
    }
    return {
      pid: p.pid,
      wall_ms: Math.round(exit.wallMs),
      started_at: p.startedAt,
      scheduler_peak_rss_mb: round1(mem.sample.hwm || mem.sample.peakRss),
      children_peak_rss_mb: round1(mem.sample.childPeakRss),
      load_before,
      load_after: loadAverage(),
    };
  }

  /** Read access to an instance's store. */
  async reader(inst) {
    if (this.backend.kind === 'sqlite') {
      const Sqlite = this.require('better-sqlite3');
      const db = new Sqlite(inst.databaseUrl, { readonly: true, fileMustExist: true });
      db.pragma('busy_timeout = 5000');
      return {
        all: async (sql, ...params) => db.prepare(sql).all(...params),
        close: async () => db.close(),
      };
    }
    const { Client } = this.require('pg');
    const c = new Client({ connectionString: inst.databaseUrl });
    await c.connect();
    return {
      all: async (sql, ...params) => {
        let i = 0;
        const r = await c.query(sql.replace(/\?/g, () => `$${++i}`), params);
        // bigint columns come back as strings from pg
        return r.rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v])));
      },
      close: () => c.end(),
    };
  }

  /** The run of a DAG (the only one in a fresh instance) and its tries. */
  async runFigures(inst, dagId) {
    const r = await this.reader(inst);
    try {
      const [run] = await r.all('SELECT state, queued_at, start_date, end_date FROM dag_run WHERE dag_id = ?', dagId);
      const tries = await r.all(
        'SELECT task_id, map_index, try_number, state, queued_at, start_date, end_date FROM task_try WHERE dag_id = ? ORDER BY task_id, map_index, try_number',
        dagId,
      );
      return { run, tries };
    } finally {
      await r.close();
    }
  }
}

export const round1 = (v) => (v === null || v === undefined ? null : Math.round(v * 10) / 10);

/** `ids` as a JS array literal of 0..n-1 written compactly. */
export function rangeExpr(n) {
  return `Array.from({ length: ${n} }, (_, i) => i)`;
}

/** A cross product of two literal ranges with a × b = n instances (keeps the DAG spec small). */
export function mappedShape(n) {
  let a = Math.floor(Math.sqrt(n));
  while (n % a !== 0) a--;
  return { a, b: n / a };
}
