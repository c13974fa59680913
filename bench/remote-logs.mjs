#!/usr/bin/env node
/**
 * Remote logging benchmark (not a test).
 *
 *   node bench/remote-logs.mjs [--tries 200] [--kib 64] [--reads 50] [--concurrency 4]
 *
 * Seeds a SQLite store in a temporary home with N ended tries, each with a log of the given
 * size, starts the S3 test server (scripts/s3/up.sh), and lets the log shipper's start-up
 * sweep ship them all (--concurrency at a time, the shipper's default 4). Then reads one shipped log through the API's reader
 * (readTryLog: 64 KiB ranges) with the local file present and removed. Prints JSON: logs and
 * bytes shipped per second, and read latency percentiles from the local file and from S3.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';
import { optionNumber } from './lib/args.js';
import { removeAtExit } from './lib/state.js';

register();
const here = path.dirname(fileURLToPath(import.meta.url));
const src = (p) => import(path.join(here, '..', 'src', p));


const TRIES = optionNumber('tries', 200);
const KIB = optionNumber('kib', 64);
const READS = optionNumber('reads', 50);
const CONCURRENCY = optionNumber('concurrency', 4);

const { s3TestServer } = await src('artifacts/test-server.ts');
const { openArtifactStore } = await src('artifacts/open.ts');
const { LogShipper } = await src('app/log-shipper.ts');
const { migrateToLatest, openSqlite } = await src('store/db.ts');
const { Store } = await src('store/store.ts');
const { HomeLayout } = await src('scheduler/paths.ts');
const { readTryLog } = await src('api/try-log.ts');

const server = await s3TestServer();
Object.assign(process.env, { TRAINYARD_S3_ENDPOINT: server.endpoint, AWS_ACCESS_KEY_ID: server.accessKeyId, AWS_SECRET_ACCESS_KEY: server.secretAccessKey, AWS_REGION: server.region });
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-bench-remote-logs-'));
removeAtExit(home);
const opened = openSqlite(path.join(home, 'trainyard.db'));
await migrateToLatest(opened.db);
const store = new Store(opened.db, 'sqlite');
const layout = new HomeLayout(home);

const line = 'epoch 1 step 100 loss 0.4213 lr 0.0003 é\n';
const body = Buffer.from(line.repeat(Math.ceil((KIB * 1024) / Buffer.byteLength(line)))).subarray(0, KIB * 1024);
const rows = [];
for (let i = 0; i < TRIES; i++) {
  const key = { dagId: 'bench', runId: 'run1', taskId: 'shard', mapIndex: i, tryNumber: 1 };
  const logPath = layout.logPath(key);
  fs.mkdirSync(path.dirname(logPath), { recursive: true });
  fs.writeFileSync(logPath, body);
  rows.push({
    dag_id: 'bench', run_id: 'run1', task_id: 'shard', map_index: i, try_number: 1, state: 'success', executor: 'local',
    queued_at: 0, start_date: 1, end_date: 2 + i, host: 'bench', pid: null, external: null, exit_code: 0, signal: null,
    failure_class: null, reason: null, result: null, log_path: logPath, counts_against_budget: 1, scheduler_id: 'bench',
  });
}
await store.insertTries(rows);

const prefix = `bench-remote-logs-${process.pid}`;
const uri = `s3://${server.bucket}/${prefix}`;
const shipper = new LogShipper({ logStore: openArtifactStore(uri), store, logPathOf: (k) => layout.logPath(k), concurrency: CONCURRENCY });
const t0 = performance.now();
shipper.start();
for (;;) {
  const left = await opened.db.selectFrom('task_try').select((eb) => eb.fn.countAll().as('n')).where('remote_log_uri', 'is', null).executeTakeFirstOrThrow();
  if (Number(left.n) === 0) break;
  await new Promise((r) => setTimeout(r, 20));
}
const shipMs = performance.now() - t0;
await shipper.close();

const [tryRow] = await store.listTries({ dagId: 'bench', runId: 'run1', taskId: 'shard', mapIndex: 0 });
async function readLatencies() {
  const ms = [];
  for (let i = 0; i < READS; i++) {
    const s = performance.now();
    let offset = 0;
    for (;;) {
      const c = await readTryLog(tryRow, uri, offset, 64 * 1024);
      if (c.next_offset <= offset) break;
      offset = c.next_offset;
    }
    ms.push(performance.now() - s);
  }
  ms.sort((a, b) => a - b);
  const q = (p) => Number(ms[Math.min(ms.length - 1, Math.floor(p * ms.length))].toFixed(2));
  return { p50_ms: q(0.5), p95_ms: q(0.95), max_ms: q(1) };
}
const local = await readLatencies();
fs.rmSync(tryRow.log_path);
const remote = await readLatencies();

const admin = openArtifactStore(uri);
await admin.deletePrefix('dag_id=bench/');
await admin.close();
await opened.close();
fs.rmSync(home, { recursive: true, force: true });

console.log(
  JSON.stringify(
    {
      tries: TRIES,
      concurrency: CONCURRENCY,
      log_kib: KIB,
      ship: { wall_ms: Math.round(shipMs), logs_per_s: Number(((TRIES * 1000) / shipMs).toFixed(1)), mib_per_s: Number(((TRIES * KIB) / 1024 / (shipMs / 1000)).toFixed(2)), shipped: shipper.stats.shipped, failed: shipper.stats.failed },
      read_whole_log: { local, s3: remote },
    },
    null,
    2,
  ),
);
process.exit(0);
