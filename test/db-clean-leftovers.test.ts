/**
 * `db clean` removes what deleted runs left outside the database: their folders under
 * $TRAINYARD_HOME, logs shipped to the real S3-compatible server (scripts/s3) and results
 * offloaded to S3 or to a local directory. Runs whose result a newer run's cached task
 * instance reuses are kept whole; a store that cannot be reached keeps the run's rows and
 * objects for a later clean, which then finishes the job.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RunLeftoverFiles, storeRootOf } from '../src/app/run-leftovers.js';
import { FileArtifactStore } from '../src/artifacts/file-store.js';
import { resultKey } from '../src/artifacts/offload.js';
import { logKey } from '../src/artifacts/remote-log.js';
import { S3ArtifactStore } from '../src/artifacts/s3-store.js';
import { S3_SERVER_START_TIMEOUT_MS, s3TestServer, useS3Env, type S3TestServer } from '../src/artifacts/test-server.js';
import type { ArtifactStore } from '../src/artifacts/types.js';
import { dag } from '../src/index.js';
import { cachedFrom } from '../src/scheduler/cache.js';
import { HomeLayout } from '../src/scheduler/paths.js';
import { cleanOldRuns } from '../src/store/retention.js';
import { cachedFromPrefix } from '../src/store/reused-runs.js';
import { openPostgres } from '../src/store/postgres.js';
import { Store, type TaskTryRow } from '../src/store/store.js';
import { cli } from './support/cli.js';
import { registerDag, tempStore } from './support/harness.js';
import { freshPostgresDatabase } from './support/postgres.js';
import { closedPort } from './support/ports.js';

const DAY = 86_400_000;

let server: S3TestServer;
let restoreEnv: () => void = () => {};
let t: Awaited<ReturnType<typeof tempStore>> | undefined;
let stores: ArtifactStore[] = [];
let cleanup: (() => Promise<void>)[] = [];

beforeAll(async () => {
  server = await s3TestServer();
  restoreEnv = useS3Env(server, { endpoint: true });
}, S3_SERVER_START_TIMEOUT_MS);

afterAll(() => {
  restoreEnv();
});

afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
  for (const s of stores) await s.close();
  stores = [];
  await t?.close();
  t = undefined;
});


/** A home with a SQLite store, one DAG, an S3 log store, an S3 artifact store and a local one. */
async function world(dialect: 'sqlite' | 'postgres' = 'sqlite') {
  t = await tempStore();
  let store = t.store;
  const home = t.home;
  if (dialect === 'postgres') {
    const db = await freshPostgresDatabase();
    const opened = await openPostgres(db.url, 2);
    cleanup.push(db.drop, opened.close);
    store = new Store(opened.db, 'postgres');
  }
  const layout = new HomeLayout(home);
  const d = dag('train');
  d.command('fit', { command: 'true' });
  const hash = await registerDag(store, d);
  const base = `clean-${randomBytes(4).toString('hex')}`;
  const logs = new S3ArtifactStore(server.bucket, `${base}/logs`);
  const s3Artifacts = new S3ArtifactStore(server.bucket, `${base}/artifacts`);
  const localArtifacts = new FileArtifactStore(fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-artifacts-')));
  stores.push(logs, s3Artifacts, localArtifacts);
  cleanup.push(async () => {
    for (const s of [logs, s3Artifacts]) await s.deletePrefix('dag_id=train/');
    fs.rmSync(fileURLToPath(localArtifacts.rootUri), { recursive: true, force: true });
  });

  /** A finished run of `fit` with one try that shipped its log and offloaded its result to `artifacts`. */
  async function run(runId: string, endedAt: number, o: { artifacts?: ArtifactStore; cacheKey?: string; reuses?: TaskTryRow } = {}) {
    const key = { dagId: 'train', runId, taskId: 'fit', mapIndex: -1, tryNumber: 1 };
    await store.createRun({ dag_id: 'train', run_id: runId, state: 'success', run_type: 'manual', version_hash: hash, conf: '{}', params: '{}', logical_date: 0, data_interval_start: 0, data_interval_end: 0, queued_at: 0, start_date: 0, end_date: endedAt, change_seq: 0, note: null });
    let result = '{"small":1}';
    let remoteLog: string | null = null;
    if (o.reuses) {
      result = o.reuses.result ?? 'null';
    } else {
      remoteLog = (await logs.put(logKey(key), Buffer.from(`log of ${runId}\n`))).uri;
      if (o.artifacts) result = JSON.stringify({ $artifact: (await o.artifacts.put(resultKey(key), Buffer.from(`{"big":"${runId}"}`))).uri, bytes: 20 });
    }
    const cached = o.reuses ? JSON.stringify(cachedFrom(o.reuses, layout, o.reuses.cache_key ?? '')) : null;
    await store.insertTaskInstances([{ dag_id: 'train', run_id: runId, task_id: 'fit', map_index: -1, state: 'success', pool: 'default_pool', updated_at: 0, try_number: o.reuses ? 0 : 1, budget_tries: 0, free_retries: 0, priority_weight: 1, pool_slots: 1, result, cached_from: cached }]);
    if (!o.reuses) {
      await store.db
        .insertInto('task_try')
        .values({ dag_id: 'train', run_id: runId, task_id: 'fit', map_index: -1, try_number: 1, state: 'success', executor: 'local', queued_at: 0, start_date: 0, end_date: endedAt, host: null, pid: null, external: null, exit_code: 0, signal: null, failure_class: null, reason: null, result, log_path: layout.logPath(key), counts_against_budget: 1, scheduler_id: null, cache_key: o.cacheKey ?? null, remote_log_uri: remoteLog })
        .execute();
    }
    for (const dir of [path.dirname(layout.logPath(key)), path.dirname(layout.tryResultPath(key)), layout.artifactsDir(key), layout.checkpointDir(key)]) {
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'f'), runId);
    }
    const tries = await store.listTries({ dagId: 'train', runId, taskId: 'fit', mapIndex: -1 });
    return { try: tries[0], logUri: remoteLog, result };
  }

  const objectsOf = async (runId: string) => {
    const prefix = `dag_id=train/run_id=${runId}/`;
    return [...(await logs.list(prefix)), ...(await s3Artifacts.list(prefix)), ...(await localArtifacts.list(prefix))].map((e) => e.key);
  };
  const runIds = async () => (await store.db.selectFrom('dag_run').select('run_id').orderBy('run_id').execute()).map((r) => r.run_id);
  const foldersOf = (runId: string) => ['logs', 'work', 'artifacts', 'checkpoints'].filter((top) => fs.existsSync(path.join(home, top, 'dag_id=train', `run_id=${runId}`)));
  return { store, home, layout, logs, s3Artifacts, localArtifacts, run, objectsOf, runIds, foldersOf };
}

describe('db clean: what deleted runs left behind', () => {
  it('finds a store root from an object URI only when the URI is that key of the store', () => {
    expect(storeRootOf('s3://b/p/logs/dag_id=a/run_id=r/x.log', 'dag_id=a/run_id=r/x.log')).toBe('s3://b/p/logs/');
    expect(storeRootOf('s3://b/p/dag_id=a/run_id=OTHER/x.log', 'dag_id=a/run_id=r/x.log')).toBeUndefined();
    expect(storeRootOf(pathToFileURL('/data/a b/dag_id=a/run_id=r/x.json').href, 'dag_id=a/run_id=r/x.json')).toBe('file:///data/a%20b/');
    expect(storeRootOf('http://h/dag_id=a/run_id=r/x.json', 'dag_id=a/run_id=r/x.json')).toBeUndefined();
  });

  it('reads the reusing run from cached_from as the scheduler writes it', async () => {
    const w = await world();
    const source = await w.run('src', 1, { cacheKey: 'k' });
    expect(JSON.stringify(cachedFrom(source.try, w.layout, 'k')).startsWith(cachedFromPrefix({ dag_id: 'train', run_id: 'src' }))).toBe(true);
  });

  it('removes local folders, shipped logs and offloaded results (S3 and file) of deleted runs; --dry-run only counts', async () => {
    const w = await world();
    const now = 400 * DAY;
    await w.run('old-s3', now - 100 * DAY, { artifacts: w.s3Artifacts });
    await w.run('old-file', now - 95 * DAY, { artifacts: w.localArtifacts });
    await w.run('recent', now - DAY, { artifacts: w.s3Artifacts });
    expect(await w.objectsOf('old-s3')).toEqual(['dag_id=train/run_id=old-s3/task_id=fit/map_index=-1/attempt=1.log', 'dag_id=train/run_id=old-s3/task_id=fit/map_index=-1/attempt=1/trainyard.result.json']);
    const files = new RunLeftoverFiles(w.store, w.layout);
    try {
      const opts = { before: now - 90 * DAY, batchSize: 1, files };
      const dry = await cleanOldRuns(w.store, { ...opts, dryRun: true });
      expect(dry).toMatchObject({ runs: 2, kept: 0, leftovers: { logDirs: 2, folders: 6, remoteLogs: 2, results: 2 } });
      expect(await w.objectsOf('old-s3')).toHaveLength(2);
      expect(w.foldersOf('old-file')).toEqual(['logs', 'work', 'artifacts', 'checkpoints']);

      const done = await cleanOldRuns(w.store, { ...opts, dryRun: false });
      expect(done).toEqual({ runs: 2, batches: 2, kept: 0, leftovers: { logDirs: 2, folders: 6, remoteLogs: 2, results: 2 }, failed: { runs: 0, firstError: undefined } });
    } finally {
      await files.close();
    }
    expect(await w.runIds()).toEqual(['recent']);
    for (const gone of ['old-s3', 'old-file']) {
      expect(await w.objectsOf(gone)).toEqual([]);
      expect(w.foldersOf(gone)).toEqual([]);
    }
    expect(await w.objectsOf('recent')).toHaveLength(2);
    expect(w.foldersOf('recent')).toEqual(['logs', 'work', 'artifacts', 'checkpoints']);
  }, 60_000);

  it.each(['sqlite', 'postgres'] as const)('on %s, keeps a run whose result a cached instance of a newer run reuses, until that run goes too', async (dialect) => {
    const w = await world(dialect);
    const now = 400 * DAY;
    const source = await w.run('source', now - 200 * DAY, { artifacts: w.s3Artifacts, cacheKey: 'same-work' });
    await w.run('reuser', now - 10 * DAY, { reuses: source.try });
    await w.run('plain', now - 150 * DAY);
    const files = new RunLeftoverFiles(w.store, w.layout);
    try {
      const opts = { before: now - 90 * DAY, batchSize: 10, files };
      expect(await cleanOldRuns(w.store, { ...opts, dryRun: true })).toMatchObject({ runs: 1, kept: 1 });
      expect(await cleanOldRuns(w.store, { ...opts, dryRun: false })).toMatchObject({ runs: 1, kept: 1, failed: { runs: 0 } });
      expect(await w.runIds()).toEqual(['reuser', 'source']);
      // The reusing run still reads the result and the artifacts folder it points to.
      const ref = JSON.parse(source.result) as { $artifact: string };
      expect((await w.s3Artifacts.get(w.s3Artifacts.keyOf(ref.$artifact)!)).toString()).toBe('{"big":"source"}');
      expect(w.foldersOf('source')).toEqual(['logs', 'work', 'artifacts', 'checkpoints']);

      // Once the reusing run is old too, one clean deletes both.
      await w.store.db.updateTable('dag_run').set({ end_date: now - 100 * DAY }).where('run_id', '=', 'reuser').execute();
      expect(await cleanOldRuns(w.store, { ...opts, dryRun: true })).toMatchObject({ runs: 2, kept: 0 });
      expect(await cleanOldRuns(w.store, { ...opts, dryRun: false })).toMatchObject({ runs: 2, kept: 0, leftovers: { remoteLogs: 1, results: 1 } });
    } finally {
      await files.close();
    }
    expect(await w.runIds()).toEqual([]);
    expect(await w.objectsOf('source')).toEqual([]);
    expect(w.foldersOf('source')).toEqual([]);
  }, 60_000);

  it('deletes a reusing run alone, leaving the objects it points to; a source kept for an older reuser goes in a later pass', async () => {
    const w = await world();
    const now = 400 * DAY;
    // A long run whose try was reused before the run itself ended.
    const source = await w.run('long', now - 100 * DAY, { artifacts: w.s3Artifacts, cacheKey: 'k' });
    await w.run('early-reuser', now - 150 * DAY, { reuses: source.try });
    const files = new RunLeftoverFiles(w.store, w.layout);
    try {
      const before = now - 90 * DAY;
      expect(await cleanOldRuns(w.store, { before: now - 120 * DAY, batchSize: 1, dryRun: false, files })).toMatchObject({ runs: 1, kept: 0, leftovers: { remoteLogs: 0, results: 0 } });
      expect(await w.runIds()).toEqual(['long']);
      expect(await w.objectsOf('long')).toHaveLength(2);
      expect(w.foldersOf('long')).toEqual(['logs', 'work', 'artifacts', 'checkpoints']);

      await w.run('early-reuser', now - 150 * DAY, { reuses: source.try });
      expect(await cleanOldRuns(w.store, { before, batchSize: 1, dryRun: true, files })).toMatchObject({ runs: 2, kept: 0 });
      expect(await cleanOldRuns(w.store, { before, batchSize: 1, dryRun: false, files })).toMatchObject({ runs: 2, batches: 3, kept: 0, leftovers: { remoteLogs: 1, results: 1 } });
    } finally {
      await files.close();
    }
    expect(await w.runIds()).toEqual([]);
    expect(await w.objectsOf('long')).toEqual([]);
  }, 60_000);

  it('trainyard db clean: a store that cannot be reached keeps those runs, says so and exits 1; the next clean finishes', async () => {
    const w = await world();
    const now = Date.now();
    await w.run('on-s3', now - 100 * DAY, { artifacts: w.s3Artifacts });
    await w.run('local-only', now - 100 * DAY);
    await w.store.db.updateTable('task_try').set({ remote_log_uri: null }).where('run_id', '=', 'local-only').execute();
    const clean = (env: NodeJS.ProcessEnv = {}) => cli(['--home', w.home, 'db', 'clean', '--older-than', '90d'], env);

    const dry = await cli(['--home', w.home, 'db', 'clean', '--older-than', '90d', '--dry-run']);
    expect(dry.stdout).toBe(
      '2 run(s) would be deleted with 2 log folder(s), 6 work, artifact and checkpoint folder(s), 1 remote log(s), 1 offloaded result(s); 0 run(s) kept because other runs reuse their results; 0 notification outbox row(s) would be deleted\n',
    );

    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const down = await clean({ TRAINYARD_S3_ENDPOINT: endpoint });
    expect(down.code).toBe(1);
    expect(down.stdout).toContain('deleted 1 run(s) in 1 batch(es) with 1 log folder(s), 3 work, artifact and checkpoint folder(s), 0 remote log(s), 0 offloaded result(s)');
    expect(down.stderr).toContain('1 run(s) were not deleted');
    expect(down.stderr).toContain('could not remove the objects of run train/on-s3 from the store s3://');
    expect(down.stderr).toContain(endpoint);
    expect(await w.runIds()).toEqual(['on-s3']);
    expect(await w.objectsOf('on-s3')).toHaveLength(2);
    expect(w.foldersOf('on-s3')).toEqual(['logs', 'work', 'artifacts', 'checkpoints']);

    const again = await clean();
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('deleted 1 run(s) in 1 batch(es) with 1 log folder(s), 3 work, artifact and checkpoint folder(s), 1 remote log(s), 1 offloaded result(s)');
    expect(await w.runIds()).toEqual([]);
    expect(await w.objectsOf('on-s3')).toEqual([]);
    expect(w.foldersOf('on-s3')).toEqual([]);
  }, 120_000);
});
