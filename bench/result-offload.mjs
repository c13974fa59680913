#!/usr/bin/env node
/**
 * Result offloading benchmark (not a test).
 *
 *   node bench/result-offload.mjs [--reps 7] [--sizes 0.1,1,16]
 *
 * For each result size (MiB) and each store (a local directory, and the S3 test server started
 * by scripts/s3/up.sh): the time to accept an oversized result (JSON check and write, as a
 * worker does), the time to read it back resolved (as a worker does for
 * a downstream task), and the time of the JSON check alone (part of the first, done in a
 * worker process). Prints JSON with medians in milliseconds.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { register } from 'tsx/esm/api';
import { optionNumber, optionText } from './lib/args.js';
import { removeAtExit } from './lib/state.js';

register();
const here = path.dirname(fileURLToPath(import.meta.url));
const src = (p) => import(path.join(here, '..', 'src', p));

const REPS = optionNumber('reps', 7);
const SIZES = optionText('sizes', '0.1,1,16').split(',').map(Number);

const { s3TestServer } = await src('artifacts/test-server.ts');
const { openArtifactStore } = await src('artifacts/open.ts');
const { resolveResult } = await src('artifacts/offload.ts');
const { acceptResultText } = await src('executors/local/result-file.ts');

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

/** A JSON document of about `mib` MiB: rows of numbers and short strings. */
function result(mib) {
  const row = { id: 0, name: 'sample-000000', score: 0.123456, tags: ['a', 'b'] };
  const per = Buffer.byteLength(JSON.stringify(row)) + 1;
  const n = Math.max(1, Math.floor((mib * 1024 * 1024) / per));
  return JSON.stringify({ rows: Array.from({ length: n }, (_, i) => ({ ...row, id: i, name: `sample-${String(i).padStart(6, '0')}` })) });
}

const server = await s3TestServer();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-bench-offload-'));
removeAtExit(dir);
const s3 = { endpoint: server.endpoint, region: server.region, accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey };
const prefix = `bench-offload-${process.pid}`;
const stores = {
  file: openArtifactStore(pathToFileURL(dir).href),
  s3: openArtifactStore(`s3://${server.bucket}/${prefix}`, { s3, env: {} }),
};

const out = { reps: REPS, machine: { cpus: os.availableParallelism(), node: process.version }, results: [] };
for (const mib of SIZES) {
  const text = result(mib);
  const bytes = Buffer.byteLength(text);
  const parse = [];
  for (let i = 0; i < REPS; i++) {
    const t0 = process.hrtime.bigint();
    JSON.parse(text);
    parse.push(ms(t0));
  }
  for (const [name, store] of Object.entries(stores)) {
    const write = [];
    const read = [];
    for (let i = 0; i < REPS; i++) {
      const key = `dag_id=bench/run_id=r/task_id=t/map_index=${i}/attempt=1/trainyard.result.json`;
      let t0 = process.hrtime.bigint();
      const r = await acceptResultText(text, 64 * 1024, { store: () => store, key, maxBytes: 1 << 30 });
      write.push(ms(t0));
      if (!r.ok) throw new Error(r.message);
      t0 = process.hrtime.bigint();
      await resolveResult([r.value], store);
      read.push(ms(t0));
    }
    out.results.push({ store: name, bytes, offload_ms: +median(write).toFixed(2), resolve_ms: +median(read).toFixed(2), json_check_ms: +median(parse).toFixed(2) });
  }
}
await stores.s3.deletePrefix('dag_id=bench/');
await Promise.all(Object.values(stores).map((s) => s.close()));
fs.rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify(out, null, 2));
