/**
 * Remote logging against the real S3-compatible server (scripts/s3/up.sh): a scheduler with the
 * local executor runs a small DAG with TRAINYARD_REMOTE_LOGS set; each try's log is shipped to
 * its logKey with the same bytes, the API serves it once the local files are gone, a store that
 * cannot be reached leaves the tries alone and says so, and a restart ships what was left.
 * Then the start-up sweep and reading back on Postgres with a file:// store, and the setting's
 * checks.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiServer, type ApiServer } from '../src/api/index.js';
import { LogShipper } from '../src/app/log-shipper.js';
import { openRuntime, startSchedulerServices, type Runtime, type SchedulerServices } from '../src/app/runtime.js';
import { FileArtifactStore } from '../src/artifacts/file-store.js';
import { logKey, SHIP_WHOLE_MAX_BYTES, shipLog } from '../src/artifacts/remote-log.js';
import { S3ArtifactStore } from '../src/artifacts/s3-store.js';
import { S3_SERVER_START_TIMEOUT_MS, s3TestServer, useS3Env, type S3TestServer } from '../src/artifacts/test-server.js';
import { loadConfig } from '../src/config.js';
import { assertValidConfigEnv } from '../src/config-validate.js';
import { triggerRun } from '../src/scheduler/trigger.js';
import { RemoteLogStore } from '../src/store/remote-log-store.js';
import type { TaskTryRow } from '../src/store/store.js';
import { type ApiHarness, RUN1, seededApiHarness, seedTrainRun } from './api/support.js';
import { cli } from './support/cli.js';
import { closedPort } from './support/ports.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DAGS = path.join(REPO, 'test/fixtures/dags-remote-logs');

let server: S3TestServer;
let restoreEnv: () => void = () => {};
const homes: string[] = [];

beforeAll(async () => {
  server = await s3TestServer();
  restoreEnv = useS3Env(server);
}, S3_SERVER_START_TIMEOUT_MS);

afterAll(() => {
  restoreEnv();
  for (const h of homes) fs.rmSync(h, { recursive: true, force: true });
});


interface Node {
  readonly rt: Runtime;
  readonly services: SchedulerServices;
  readonly api: ApiServer;
  readonly lines: string[];
  stop(): Promise<void>;
}

/** A scheduler process (DAG processor, scheduler, local executor) and the API over one home. */
async function startNode(home: string, remoteLogs: string | undefined): Promise<Node> {
  const env = remoteLogs ? { TRAINYARD_REMOTE_LOGS: remoteLogs } : {};
  const config = loadConfig({ home, dagsFolder: DAGS, dagScanIntervalMs: 200, killGraceMs: 1000 }, env);
  const rt = await openRuntime(config);
  const lines: string[] = [];
  const services = await startSchedulerServices(rt, { processDags: true, log: (line) => lines.push(line) });
  const api = createApiServer({ store: rt.store, layout: rt.layout, config, auth: { mode: 'none' }, scheduler: services.scheduler, log: (l) => lines.push(l) });
  return {
    rt,
    services,
    api,
    lines,
    async stop() {
      await api.close();
      await services.stop(2000);
      await rt.close();
    },
  };
}

async function until<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 90_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Triggers the DAG and waits for its run to end; returns every try of the run. */
async function runDag(node: Node): Promise<{ runId: string; tries: TaskTryRow[] }> {
  await until('the DAG to load', async () => (await node.rt.store.getDag('shipped')) !== undefined);
  const { runId } = await triggerRun(node.rt.store, 'shipped', {}, Date.now());
  node.services.scheduler.notify();
  const run = await until('the run to end', async () => {
    const r = await node.rt.store.getRun('shipped', runId);
    return r && (r.state === 'success' || r.state === 'failed') ? r : undefined;
  });
  expect(run.state).toBe('failed');
  return { runId, tries: await triesOf(node, runId) };
}

async function triesOf(node: Node, runId: string): Promise<TaskTryRow[]> {
  const out: TaskTryRow[] = [];
  for (const ti of await node.rt.store.listTaskInstances('shipped', runId)) {
    if (ti.state === 'removed') continue;
    out.push(...(await node.rt.store.listTries({ dagId: 'shipped', runId, taskId: ti.task_id, mapIndex: Number(ti.map_index) })));
  }
  return out.sort((a, b) => `${a.task_id}/${a.map_index}`.localeCompare(`${b.task_id}/${b.map_index}`));
}

const keyOf = (t: TaskTryRow) => ({ dagId: t.dag_id, runId: t.run_id, taskId: t.task_id, mapIndex: Number(t.map_index), tryNumber: Number(t.try_number) });
const logUrl = (t: TaskTryRow) => `http://127.0.0.1/api/v1/dags/${t.dag_id}/runs/${encodeURIComponent(t.run_id)}/taskInstances/${t.task_id}/${t.map_index}/tries/${t.try_number}/logs`;

async function getJson(api: ApiServer, url: string): Promise<{ status: number; body: any }> {
  const res = await api.app.request(url);
  return { status: res.status, body: await res.json() };
}

function newHome(): string {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-remote-logs-'));
  homes.push(home);
  return home;
}

describe('remote logging to S3', () => {
  it('ships every log to its logKey, and the API reads it back once the local files are gone', async () => {
    process.env.TRAINYARD_S3_ENDPOINT = server.endpoint;
    const prefix = `remote-logs-${process.pid}-${randomBytes(3).toString('hex')}`;
    const bucketView = new S3ArtifactStore(server.bucket, prefix, { endpoint: server.endpoint, region: server.region, accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey });
    const node = await startNode(newHome(), `s3://${server.bucket}/${prefix}`);
    try {
      const { runId, tries } = await runDag(node);
      expect(tries.map((t) => [t.task_id, Number(t.map_index), t.state])).toEqual([
        ['fail', -1, 'failed'],
        ['shard', 0, 'success'],
        ['shard', 1, 'success'],
      ]);
      await node.services.logShipper!.idle();
      const shipped = await until('every try to be recorded as shipped', async () => {
        const now = await triesOf(node, runId);
        return now.every((t) => t.remote_log_uri) ? now : undefined;
      });
      const local = new Map<string, Buffer>();
      for (const t of shipped) {
        const key = logKey(keyOf(t));
        expect(key).toBe(`dag_id=shipped/run_id=${runId}/task_id=${t.task_id}/map_index=${t.map_index}/attempt=1.log`);
        expect(t.remote_log_uri).toBe(bucketView.uriOf(key));
        const bytes = fs.readFileSync(t.log_path);
        expect(bytes.length).toBeGreaterThan(0);
        expect((await bucketView.get(key)).equals(bytes)).toBe(true);
        local.set(t.task_id + t.map_index, bytes);
      }
      expect(node.lines.some((l) => l.includes(`remote logging: finished tries' logs are shipped to s3://${server.bucket}/${prefix}/`))).toBe(true);

      for (const t of shipped) fs.rmSync(t.log_path);
      for (const t of shipped) {
        const bytes = local.get(t.task_id + t.map_index)!;
        const full = await getJson(node.api, `${logUrl(t)}?length=${1024 * 1024}`);
        expect(full.status).toBe(200);
        expect(full.body).toEqual({ text: bytes.toString('utf8'), offset: 0, next_offset: bytes.length, size: bytes.length, finished: true });
      }

      // An API server without the setting reads the recorded copy too.
      const plain = createApiServer({ store: node.rt.store, layout: node.rt.layout, config: loadConfig({ home: node.rt.config.home }, {}), auth: { mode: 'none' } });
      try {
        for (const t of shipped) {
          const bytes = local.get(t.task_id + t.map_index)!;
          expect((await getJson(plain, `${logUrl(t)}?length=${1024 * 1024}`)).body.text).toBe(bytes.toString('utf8'));
        }
      } finally {
        await plain.close();
      }

      // A ranged read that ends inside the 4-byte locomotive stops before it, as a local read does.
      const shard = shipped.find((t) => t.task_id === 'shard')!;
      const bytes = local.get('shard0')!;
      const loco = bytes.indexOf(Buffer.from('🚂'));
      expect(loco).toBeGreaterThan(0);
      const part = await getJson(node.api, `${logUrl(shard)}?offset=3&length=${loco - 3 + 2}`);
      expect(part.body).toEqual({ text: bytes.subarray(3, loco).toString('utf8'), offset: 3, next_offset: loco, size: bytes.length, finished: true });
      const rest = await getJson(node.api, `${logUrl(shard)}?offset=${part.body.next_offset}&length=10000`);
      expect(rest.body.text).toBe(bytes.subarray(loco, loco + 10000).toString('utf8'));
      expect(rest.body.text.startsWith('🚂\n')).toBe(true);
      expect(rest.body.next_offset).toBe(loco + 10000);
      const past = await getJson(node.api, `${logUrl(shard)}?offset=${bytes.length + 50}`);
      expect(past.body).toEqual({ text: '', offset: bytes.length + 50, next_offset: bytes.length + 50, size: bytes.length, finished: true });

      // The live stream of an ended try sends the shipped log, then its end.
      const stream = await (await node.api.app.request(`${logUrl(shard)}/stream`)).text();
      const sent = [...stream.matchAll(/^event: log\ndata: (.*)$/gm)].map((m) => (JSON.parse(m[1]) as { text: string }).text).join('');
      expect(sent).toBe(bytes.toString('utf8'));
      expect(stream).toMatch(/event: end\ndata: \{"state":"success"/);

      // `trainyard tasks logs` reads the shipped copy the same way.
      const cliEnv = { TRAINYARD_HOME: node.rt.config.home, TRAINYARD_REMOTE_LOGS: `s3://${server.bucket}/${prefix}`, TRAINYARD_S3_ENDPOINT: server.endpoint };
      const printed = await cli(['tasks', 'logs', 'shipped', runId, 'shard', '--map-index', '0'], cliEnv);
      expect(printed.stderr).not.toContain('error:');
      expect(printed.code).toBe(0);
      expect(printed.stdout).toBe(bytes.toString('utf8'));

      // Gone from both places: a 404 that says so.
      await bucketView.delete(logKey(keyOf(shard)));
      const gone = await getJson(node.api, logUrl(shard));
      expect(gone.status).toBe(404);
      expect(gone.body.error.code).toBe('LOG_NOT_FOUND');
      expect(gone.body.error.message).toContain('is in neither place');
      expect(gone.body.error.message).toContain(shard.log_path);
      expect(gone.body.error.message).toContain(`its shipped copy ${shard.remote_log_uri} does not exist either`);
      const missing = await cli(['tasks', 'logs', 'shipped', runId, 'shard', '--map-index', '0'], cliEnv);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain(`error: ${gone.body.error.message}\n`);
    } finally {
      await node.stop();
      await bucketView.deletePrefix(`${prefix}/`);
      await bucketView.close();
    }
  }, 180_000);

  it('a store that cannot be reached leaves the tries as they ended and says so; a restart ships the logs', async () => {
    const prefix = `remote-logs-down-${process.pid}-${randomBytes(3).toString('hex')}`;
    const uri = `s3://${server.bucket}/${prefix}`;
    const home = newHome();
    const badEndpoint = `http://127.0.0.1:${await closedPort()}`;
    process.env.TRAINYARD_S3_ENDPOINT = badEndpoint;
    const down = await startNode(home, uri);
    let runId: string;
    let ended: TaskTryRow[];
    try {
      ({ runId, tries: ended } = await runDag(down));
      await down.services.logShipper!.idle();
      const after = await triesOf(down, runId);
      // Each try is exactly as the scheduler recorded its end; only the ship failed.
      expect(after).toEqual(ended);
      expect(after.map((t) => [t.task_id, t.state, t.exit_code, t.failure_class, t.remote_log_uri])).toEqual([
        ['fail', 'failed', 3, 'user_error', null],
        ['shard', 'success', 0, null, null],
        ['shard', 'success', 0, null, null],
      ]);
      expect(down.services.logShipper!.stats).toEqual({ shipped: 0, failed: 3 });
      for (const t of after) {
        const line = down.lines.find((l) => l.includes(`could not ship the log of shipped/${runId}/${t.task_id}/${t.map_index}/1`));
        expect(line, `a message about ${t.task_id}[${t.map_index}]`).toBeDefined();
        expect(line).toContain(`${uri}/${logKey(keyOf(t))} (4 attempts)`);
        expect(line).toContain(badEndpoint);
        expect(line).toContain('The try is not affected');
        expect(line).toContain(`its log stays at ${t.log_path}`);
      }
    } finally {
      await down.stop();
    }

    // The store is back: a restart ships the logs of the tries that ended unshipped.
    process.env.TRAINYARD_S3_ENDPOINT = server.endpoint;
    const bucketView = new S3ArtifactStore(server.bucket, prefix, { endpoint: server.endpoint, region: server.region, accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey });
    const up = await startNode(home, uri);
    try {
      const shipped = await until('the restart to ship every log', async () => {
        const now = await triesOf(up, runId);
        return now.every((t) => t.remote_log_uri) ? now : undefined;
      });
      for (const t of shipped) {
        expect(t.state).toBe(ended.find((e) => e.task_id === t.task_id && e.map_index === t.map_index)!.state);
        expect((await bucketView.get(logKey(keyOf(t)))).equals(fs.readFileSync(t.log_path))).toBe(true);
      }
      await until('the restart to report what it shipped', async () => up.lines.some((l) => l.includes('remote logging: shipped the logs of 3 tries that ended before this start')));
    } finally {
      await up.stop();
      await bucketView.deletePrefix(`${prefix}/`);
      await bucketView.close();
    }
  }, 240_000);
});

describe('shipLog', () => {
  it('streams a log larger than one request takes, and sends a small one whole, with the same bytes', async () => {
    const prefix = `ship-${process.pid}-${randomBytes(3).toString('hex')}`;
    const store = new S3ArtifactStore(server.bucket, prefix, { endpoint: server.endpoint, region: server.region, accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey });
    const dir = newHome();
    try {
      const big = Buffer.from('step 1 loss 0.5 é 🚂\n'.repeat(Math.ceil((SHIP_WHOLE_MAX_BYTES + 100_000) / 24)));
      expect(big.length).toBeGreaterThan(SHIP_WHOLE_MAX_BYTES);
      fs.writeFileSync(path.join(dir, 'big.log'), big);
      fs.writeFileSync(path.join(dir, 'small.log'), 'one line\n');
      expect((await shipLog(path.join(dir, 'big.log'), store, 'logs/big.log')).bytes).toBe(big.length);
      expect((await store.get('logs/big.log')).equals(big)).toBe(true);
      expect((await shipLog(path.join(dir, 'small.log'), store, 'logs/small.log')).bytes).toBe(9);
      expect((await store.get('logs/small.log')).toString()).toBe('one line\n');
      // A try that never wrote a log ships an empty object.
      expect((await shipLog(path.join(dir, 'none.log'), store, 'logs/none.log')).bytes).toBe(0);
      expect(await store.stat('logs/none.log')).toMatchObject({ size: 0 });
    } finally {
      await store.deletePrefix('logs/');
      await store.close();
    }
  }, 120_000);
});

describe('remote logging on Postgres, to a file:// store', () => {
  let h: ApiHarness;
  beforeAll(async () => {
    h = await seededApiHarness({ dialect: 'postgres' });
  });
  afterAll(async () => h?.close());

  it('a start ships the ended tries left unshipped; the API reads the recorded copy with remote logging off', async () => {
    const dir = path.join(newHome(), 'shipped-logs');
    const shipper = new LogShipper({ logStore: new FileArtifactStore(dir), store: h.store, logPathOf: (k) => h.layout.logPath(k) });
    const tries = new RemoteLogStore(h.store);
    const before = await tries.listUnshipped(100);
    // The running try is not listed; the ended one is.
    expect(before.map((t) => [t.key.taskId, t.key.tryNumber])).toEqual([['prep', 1]]);
    shipper.start();
    await until('the ended try to be shipped', async () => (await tries.listUnshipped(100)).length === 0);
    await shipper.close();
    expect(shipper.stats).toEqual({ shipped: 1, failed: 0 });
    const prep = (await h.store.listTries({ dagId: 'train', runId: 'run1', taskId: 'prep', mapIndex: -1 }))[0];
    const key = logKey({ dagId: 'train', runId: 'run1', taskId: 'prep', mapIndex: -1, tryNumber: 1 });
    expect(prep.remote_log_uri).toBe(pathToFileURL(path.join(dir, key)).href);
    const text = 'line one\nline two: é ü 🚂\n';
    expect(fs.readFileSync(path.join(dir, key), 'utf8')).toBe(text);

    fs.rmSync(prep.log_path);
    const LOG = `${RUN1}/taskInstances/prep/-1/tries/1/logs`;
    const all = await h.request('GET', LOG, { as: 'viewer' });
    expect(all.body).toEqual({ text, offset: 0, next_offset: Buffer.byteLength(text), size: Buffer.byteLength(text), finished: true });
    const tail = await h.request('GET', `${LOG}?offset=9&length=8`, { as: 'viewer' });
    expect(tail.body).toEqual({ text: 'line two', offset: 9, next_offset: 17, size: Buffer.byteLength(text), finished: true });
    // The running try still reads its (not yet written) local log as empty.
    const running = await h.request('GET', `${RUN1}/taskInstances/report.publish/-1/tries/1/logs`, { as: 'viewer' });
    expect(running.body).toEqual({ text: '', offset: 0, next_offset: 0, size: 0, finished: false });

    fs.rmSync(path.join(dir, key));
    const gone = await h.request('GET', LOG, { as: 'viewer' });
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe('LOG_NOT_FOUND');
  });

  it('a try whose log was never shipped, with remote logging off, is a 404 that says how to turn it on', async () => {
    await seedTrainRun(h.store, h.layout, 'run2', 2);
    fs.rmSync(h.layout.logPath({ dagId: 'train', runId: 'run2', taskId: 'prep', mapIndex: -1, tryNumber: 1 }));
    const r = await h.request('GET', '/api/v1/dags/train/runs/run2/taskInstances/prep/-1/tries/1/logs', { as: 'viewer' });
    expect(r.status).toBe(404);
    expect(r.body.error.message).toMatch(/is in neither place: it is not at .*attempt=1\.log on this machine, and remote logging is off on this server \(set TRAINYARD_REMOTE_LOGS/);
  });
});

describe('the remote log setting', () => {
  it.each([
    ['ftp://host/logs', /scheme ftp; supported are file:\/\/ and s3:\/\//],
    ['s3:///logs', /has no bucket/],
    ['logs/relative', /is not a URI/],
    ['file://host/abs', /names a host/],
  ])('refuses %s at start, naming TRAINYARD_REMOTE_LOGS', (raw, reason) => {
    expect(() => loadConfig({}, { TRAINYARD_REMOTE_LOGS: raw })).toThrow(/TRAINYARD_REMOTE_LOGS/);
    expect(() => loadConfig({}, { TRAINYARD_REMOTE_LOGS: raw })).toThrow(reason);
  });

  it('is reported at process start with the values allowed', () => {
    expect(() => assertValidConfigEnv({ TRAINYARD_REMOTE_LOGS: 'gs://logs' }, () => {})).toThrow(
      `invalid value for remoteLogs: TRAINYARD_REMOTE_LOGS='gs://logs' (artifact store URI "gs://logs" has scheme gs; supported are file:// and s3://); allowed: an s3://bucket/prefix or file:///absolute/dir URI`,
    );
  });

  it('accepts s3:// and file:// URIs, and is off when unset', () => {
    expect(loadConfig({}, { TRAINYARD_REMOTE_LOGS: 's3://bucket/logs' }).remoteLogs).toBe('s3://bucket/logs');
    expect(loadConfig({}, { TRAINYARD_REMOTE_LOGS: 'file:///var/log/trainyard' }).remoteLogs).toBe('file:///var/log/trainyard');
    expect(loadConfig({}, {}).remoteLogs).toBeUndefined();
  });

  it('a bad value given in code is refused when the scheduler starts, naming the setting', async () => {
    const home = newHome();
    const bad = await openRuntime(loadConfig({ home, dagsFolder: DAGS, remoteLogs: 'gs://bucket/logs' }, {}));
    try {
      await expect(startSchedulerServices(bad, { processDags: false })).rejects.toThrow(/TRAINYARD_REMOTE_LOGS='gs:\/\/bucket\/logs' \(config key remoteLogs\).*scheme gs/);
    } finally {
      await bad.close();
    }
    // Nothing was started: the database's lock is free for the next start, which has remote logging off.
    const rt = await openRuntime(loadConfig({ home, dagsFolder: DAGS }, {}));
    try {
      const services = await startSchedulerServices(rt, { processDags: false });
      expect(services.logShipper).toBeUndefined();
      await services.stop(100);
    } finally {
      await rt.close();
    }
  });
});
