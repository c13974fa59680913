#!/usr/bin/env node
/**
 * Trainyard's benchmark harness: runs the scenarios and prints one JSON object (all results
 * and the machine) on stdout; progress goes to stderr. See bench/README.md.
 *
 *   node bench/run.js [--only S1,S2-1k] [--reps N] [--quick] [--airflow] [--airflow-reps N]
 *                     [--repo DIR] [--out FILE] [--list]
 *
 * Postgres: set TRAINYARD_BENCH_PG_URL=postgres://… and the Trainyard scenarios run on it too
 * (a fresh database per rep, created and dropped through that URL). The opt-in scenarios
 * PG-S2, HA-1-2-3 and PG-STMT measure Postgres itself (against SQLite, with 1–3 schedulers,
 * per statement) and need that URL.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { acquire, BenchBusyError, cleanupAll } from './lib/state.js';
import { machineInfo, loadAverage } from './lib/machine.js';
import { Trainyard } from './lib/trainyard.js';
import { SCENARIOS } from './scenarios/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));

function usage() {
  return `usage: node bench/run.js [options]
  --only IDS          comma-separated scenario ids (default: all but the opt-in PROFILE ones,
                      PG-S2, HA-1-2-3, PG-STMT); --list shows them
  --reps N            repetitions per scenario (default 5; S3 runs once unless --reps-s3)
  --quick             small sizes and 2 reps, to check that everything works
  --airflow           also run the Apache Airflow peer (bench/peers/airflow/setup.sh first) for S1 and S2-1k
  --airflow-reps N    Airflow reps (default: --reps); they alternate with Trainyard's first N reps
  --reps-s3 N         S3 repetitions (default 1)
  --s3-tasks N        S3 size (default 100000)
  --repo DIR          the Trainyard checkout to measure (default: this one; needs dist/)
  --out FILE          also write the JSON to FILE
  --profile-dir DIR   where the PROFILE scenario keeps its .cpuprofile (default bench/results)
  --list              list the scenarios and exit`;
}

async function main() {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      reps: { type: 'string' },
      quick: { type: 'boolean', default: false },
      airflow: { type: 'boolean', default: false },
      'airflow-reps': { type: 'string' },
      'reps-s3': { type: 'string' },
      's3-tasks': { type: 'string' },
      repo: { type: 'string' },
      out: { type: 'string' },
      'profile-dir': { type: 'string' },
      list: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${usage()}\n`);
    return;
  }
  if (values.list) {
    for (const s of SCENARIOS) process.stdout.write(`${s.id.padEnd(10)} ${s.title}\n`);
    return;
  }
  const count = (name, raw, dflt) => {
    if (raw === undefined) return dflt;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a whole number ≥ 1, got '${raw}'`);
    return n;
  };
  const quick = values.quick;
  const reps = count('reps', values.reps, quick ? 2 : 5);
  const only = values.only ? values.only.split(',').map((s) => s.trim().toUpperCase()).filter(Boolean) : undefined;
  if (only) {
    const known = new Set(SCENARIOS.map((s) => s.id.toUpperCase()));
    const unknown = only.filter((id) => !known.has(id));
    if (unknown.length) throw new UsageError(`unknown scenario ${unknown.join(', ')}; known: ${[...known].join(', ')}`);
  }
  const repo = path.resolve(values.repo ?? path.join(here, '..'));

  acquire();

  const backends = [{ kind: 'sqlite' }];
  if (process.env.TRAINYARD_BENCH_PG_URL) backends.push({ kind: 'postgres', url: process.env.TRAINYARD_BENCH_PG_URL });
  const trainyards = backends.map((backend) => new Trainyard({ repo, backend }));

  const log = (line) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
  let airflow;
  const selected = SCENARIOS.filter((s) => (only ? only.includes(s.id.toUpperCase()) : !s.optIn));
  if (values.airflow && selected.some((s) => s.peer)) {
    const { AirflowPeer } = await import('./peers/airflow/peer.js');
    airflow = await AirflowPeer.start({ log, parallelism: 8, chainLength: quick ? 20 : 100, mapSize: quick ? 200 : 1000 });
  }
  const ctx = {
    repo,
    reps,
    quick,
    airflow,
    airflowReps: count('airflow-reps', values['airflow-reps'], reps),
    repsS3: count('reps-s3', values['reps-s3'], 1),
    s3Tasks: count('s3-tasks', values['s3-tasks'], quick ? 5_000 : 100_000),
    profileDir: path.resolve(values['profile-dir'] ?? path.join(here, 'results')),
    trainyards,
    log,
    results: {},
  };

  const report = {
    harness: 'trainyard bench/run.js',
    machine: machineInfo(),
    settings: {
      reps,
      quick,
      repo,
      backends: backends.map((b) => b.kind),
      airflow: airflow ? airflow.describe() : values.airflow ? 'no scenario selected that runs the peer' : 'not run (pass --airflow)',
    },
    scenarios: {},
  };
  try {
    for (const s of selected) {
      log(`${s.id}: ${s.title}`);
      const t0 = performance.now();
      const loadBefore = loadAverage();
      try {
        const result = await s.run(ctx);
        report.scenarios[s.id] = { title: s.title, load_before: loadBefore, load_after: loadAverage(), seconds: Math.round((performance.now() - t0) / 100) / 10, ...result };
        ctx.results[s.id] = result;
        if (values.out) writeReport(values.out, { ...report, partial: true });
      } catch (e) {
        log(`${s.id} failed: ${e.stack ?? e}`);
        report.scenarios[s.id] = { title: s.title, error: String(e.message ?? e), load_before: loadBefore, load_after: loadAverage() };
      }
    }
  } finally {
    if (airflow) await airflow.stop();
  }
  report.machine.load_average_at_end = loadAverage();
  report.machine.finished = new Date().toISOString();
  if (values.out) writeReport(values.out, report);
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  if (Object.values(report.scenarios).some((s) => s.error)) process.exitCode = 1;
}

class UsageError extends Error {}

/** Writes the report so far (after every scenario, so a stopped run keeps what it finished). */
function writeReport(file, report) {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
}

main()
  .catch((e) => {
    if (e instanceof BenchBusyError || e instanceof UsageError) {
      process.stderr.write(`bench: ${e.message}\n`);
      if (e instanceof UsageError) process.stderr.write(`${usage()}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`bench: ${e.stack ?? e}\n`);
      process.exitCode = 1;
    }
  })
  .finally(() => cleanupAll());
