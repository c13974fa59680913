#!/usr/bin/env node
/**
 * What waiting sensors cost (not a test).
 *
 *   node bench/sensors.mjs [--sensors 1000] [--duration 60] [--interval 5] [--kinds file,time]
 *
 * For each kind, in a fresh child process (run with --expose-gc): a SensorRunner on the real
 * clock with N sensors of that kind, poke interval --interval seconds, first pokes spread over
 * one interval, none of which can finish during the run. Measured over --duration seconds after
 * the sensors were added:
 *
 * - file: fileSensor on N globs (`…/dNN/part-I-*.parquet`) over 100 directories of 10 files
 *   each, so every poke lists a directory and matches nothing — the worst steady state;
 * - time: timeDeltaSensor one day past the logical date: one check each, then the runner sleeps
 *   until the target time (the check's nextCheckAt), as in production;
 * - time-poll: the same check without that hint, so it is poked every interval.
 *
 * Prints one JSON object: per kind, pokes made, CPU (process.cpuUsage, user + system, as % of
 * one core over the window), RSS and heap after GC minus before the sensors were added, the peak
 * RSS delta sampled every 250 ms, and the event loop's delay beyond a 10 ms timer (p50/p99/max).
 */
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { optionNumber, optionText } from './lib/args.js';

const here = path.dirname(fileURLToPath(import.meta.url));


const settings = {
  sensors: optionNumber('sensors', 1000),
  durationS: optionNumber('duration', 60, { whole: false }),
  pokeIntervalS: optionNumber('interval', 5, { whole: false }),
};

if (process.argv.includes('--child')) {
  await child(optionText('kind', 'file'));
} else {
  const kinds = String(optionText('kinds', 'file,time,time-poll')).split(',');
  const results = {};
  for (const kind of kinds) {
    process.stderr.write(`[bench:sensors] ${kind}: ${settings.sensors} sensors for ${settings.durationS} s...\n`);
    results[kind] = await runChild(kind);
  }
  const out = {
    bench: 'sensors',
    machine: { cores: os.cpus().length, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, loadavg: os.loadavg(), date: new Date().toISOString() },
    settings,
    budget: { rssDeltaMB: 50, cpuPercentOfOneCore: 5 },
    results,
  };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

function runChild(kind) {
  return new Promise((resolve, reject) => {
    const args = ['--child', '--kind', kind, '--sensors', String(settings.sensors), '--duration', String(settings.durationS), '--interval', String(settings.pokeIntervalS)];
    const p = fork(fileURLToPath(import.meta.url), args, { execArgv: ['--expose-gc'], stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    p.on('message', (m) => resolve(m));
    p.on('error', reject);
    p.on('exit', (code) => code !== 0 && reject(new Error(`the ${kind} child exited with ${code}`)));
  });
}

async function child(kind) {
  const { register } = await import('tsx/esm/api');
  register();
  const sensors = await import(path.join(here, '..', 'src', 'sensors', 'index.ts'));
  const { SensorRunner, fileSensor, timeDeltaSensor, validateSensorOptions } = sensors;

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-bench-sensors-'));
  for (let d = 0; d < 100; d++) {
    fs.mkdirSync(path.join(dir, `d${d}`));
    for (let f = 0; f < 10; f++) fs.writeFileSync(path.join(dir, `d${d}`, `other-${f}.csv`), '');
  }
  const logicalDate = Date.now();
  const checkFor = (i) => {
    if (kind === 'file') return fileSensor({ path: `${dir}/d${i % 100}/part-${i}-*.parquet` });
    const t = timeDeltaSensor({ delta: '1d' });
    if (kind === 'time') return t;
    return async (ctx) => {
      const r = await t(ctx);
      return r.done ? r : { done: false, detail: r.detail };
    };
  };
  const opts = validateSensorOptions({ pokeInterval: settings.pokeIntervalS * 1000, timeout: '1h' });
  let pokes = 0;
  let ended = 0;
  const runner = new SensorRunner({
    onPoke: () => pokes++,
    onDone: () => ended++,
    onError: (id, e) => {
      ended++;
      process.stderr.write(`sensor ${id} failed: ${e?.message}\n`);
    },
    onTimeout: () => ended++,
  });
  // Warm up the code paths with one sensor, then measure from a collected heap.
  runner.add('warmup', checkFor(0), { ...opts, logicalDate });
  await new Promise((r) => setTimeout(r, 200));
  runner.remove('warmup');
  const checks = Array.from({ length: settings.sensors }, (_, i) => checkFor(i));
  globalThis.gc();
  await new Promise((r) => setTimeout(r, 100));
  globalThis.gc();
  const before = process.memoryUsage();

  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const start = Date.now();
  for (let i = 0; i < settings.sensors; i++) {
    runner.add(`s${i}`, checks[i], { ...opts, logicalDate, startAt: start + Math.floor((i / settings.sensors) * opts.pokeIntervalMs) });
  }
  let peakRss = 0;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 250);
  await new Promise((r) => setTimeout(r, settings.durationS * 1000));
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - t0;
  clearInterval(sampler);
  loop.disable();
  const size = runner.size;
  globalThis.gc();
  const after = process.memoryUsage();
  runner.close();
  fs.rmSync(dir, { recursive: true, force: true });
  const excess = (ns) => Math.max(0, Math.round((ns / 1e6 - 10) * 100) / 100);
  const mb = (b) => Math.round((b / 2 ** 20) * 10) / 10;
  process.send({
    sensors: settings.sensors,
    waitingAtEnd: size,
    ended,
    pokes,
    pokesPerSecond: Math.round((pokes / (wallMs / 1000)) * 10) / 10,
    cpuPercentOfOneCore: Math.round(((cpu.user + cpu.system) / 1000 / wallMs) * 100 * 100) / 100,
    cpuUserMs: Math.round(cpu.user / 1000),
    cpuSystemMs: Math.round(cpu.system / 1000),
    cpuMsPerPoke: pokes ? Math.round(((cpu.user + cpu.system) / 1000 / pokes) * 1000) / 1000 : null,
    rssDeltaMB: mb(after.rss - before.rss),
    peakRssDeltaMB: mb(peakRss - before.rss),
    heapUsedDeltaMB: mb(after.heapUsed - before.heapUsed),
    rssBeforeMB: mb(before.rss),
    // The histogram's samples include its own 10 ms resolution; this is the delay beyond it.
    eventLoopDelayMs: { p50: excess(loop.percentile(50)), p99: excess(loop.percentile(99)), max: excess(loop.max) },
    wallS: Math.round(wallMs / 100) / 10,
  });
  process.exit(0);
}
