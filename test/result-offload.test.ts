/**
 * Results over the inline limit go to the artifact store and travel as references: with a
 * local-directory store and with the real S3-compatible server, through a live scheduler with
 * real worker processes and commands.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isArtifactRef, resultKey, type ArtifactRef } from '../src/artifacts/offload.js';
import { tryPrefix } from '../src/artifacts/keys.js';
import { openArtifactStore } from '../src/artifacts/open.js';
import type { S3Options } from '../src/artifacts/s3-store.js';
import { S3_SERVER_START_TIMEOUT_MS, s3TestServer } from '../src/artifacts/test-server.js';
import type { ArtifactStore } from '../src/artifacts/types.js';
import { loadConfig } from '../src/config.js';
import { LocalExecutor } from '../src/executors/local/local-executor.js';
import type { ResultStoreSpec } from '../src/executors/result-store.js';
import type { CommandLaunch, ExecutorEvent, InlineLaunch, TaskContextData, TryKey } from '../src/executors/types.js';
import { WorkerPool } from '../src/executors/worker/pool.js';
import { bigValue, chain, elsewhere, expandOver, mapped, tooBig } from './fixtures/dags-offload/offload.js';
import { type LiveScheduler, liveScheduler } from './support/live-scheduler.js';
import { closedPort } from './support/ports.js';

const FILE = path.resolve('test/fixtures/dags-offload/offload.ts');
const MAX_BYTES = 1_000_000;
const tmpDirs: string[] = [];
let live: LiveScheduler | undefined;

afterEach(async () => {
  await live?.close();
  live = undefined;
});

afterAll(() => {
  for (const d of tmpDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

interface StoreUnderTest {
  readonly spec: ResultStoreSpec;
  /** The same store, opened here to check what the tries wrote. */
  readonly store: ArtifactStore;
}

async function fileStore(): Promise<StoreUnderTest> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-offload-'));
  tmpDirs.push(dir);
  const uri = pathToFileURL(dir).href;
  return { spec: { uri, maxBytes: MAX_BYTES }, store: openArtifactStore(uri) };
}

async function s3Store(): Promise<StoreUnderTest> {
  const server = await s3TestServer();
  const s3: S3Options = { endpoint: server.endpoint, region: server.region, accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey };
  const uri = `s3://${server.bucket}/offload-${process.pid}-${randomBytes(4).toString('hex')}`;
  return { spec: { uri, maxBytes: MAX_BYTES, s3 }, store: openArtifactStore(uri, { s3, env: {} }) };
}

async function start(s: StoreUnderTest): Promise<LiveScheduler> {
  live = await liveScheduler({}, { resultStore: s.spec });
  await live.register(chain, FILE);
  await live.register(mapped, FILE);
  await live.register(tooBig, FILE);
  await live.register(expandOver, FILE);
  return live;
}

async function ti(dagId: string, runId: string, taskId: string, mapIndex = -1) {
  const row = await live!.store.getTaskInstance({ dagId, runId, taskId, mapIndex });
  if (!row) throw new Error(`no task instance ${dagId}/${runId}/${taskId}[${mapIndex}]`);
  return row;
}

async function resultOf(dagId: string, runId: string, taskId: string, mapIndex = -1): Promise<unknown> {
  const row = await ti(dagId, runId, taskId, mapIndex);
  expect(row.state, `${taskId}[${mapIndex}]: ${row.reason}`).toBe('success');
  return JSON.parse(row.result!);
}

/** Checks that a try's stored result is a reference to its JSON under that try's own prefix. */
async function expectStoredRef(s: StoreUnderTest, dagId: string, runId: string, taskId: string, expected: unknown, mapIndex = -1): Promise<void> {
  const row = await ti(dagId, runId, taskId, mapIndex);
  // The scheduler's store holds the small reference only.
  expect(row.result!.length).toBeLessThan(1000);
  const ref = JSON.parse(row.result!) as ArtifactRef;
  expect(isArtifactRef(ref)).toBe(true);
  const tryKey = { dagId, runId, taskId, mapIndex, tryNumber: 1 };
  const key = s.store.keyOf(ref.$artifact);
  expect(key).toBe(resultKey(tryKey));
  expect(key!.startsWith(tryPrefix(tryKey))).toBe(true);
  const body = await s.store.get(key!);
  expect(ref.bytes).toBe(body.length);
  expect(JSON.parse(body.toString('utf8'))).toEqual(expected);
}

const stores: [string, () => Promise<StoreUnderTest>][] = [
  ['a local directory', fileStore],
  ['the S3 server', s3Store],
];

describe.each(stores)('results over the inline limit, kept in %s', (_name, open) => {
  let s: StoreUnderTest;

  beforeAll(async () => {
    s = await open();
  }, S3_SERVER_START_TIMEOUT_MS);

  afterAll(async () => {
    // Every object these tests wrote is under a DAG's prefix.
    await s?.store.deletePrefix('dag_id=');
    await s?.store.close();
  });

  it('a 300 KB result is stored as a reference under its try; downstream inline tasks and commands get the whole value', async () => {
    await start(s);
    const runId = await live!.trigger('offload_chain');
    expect(await live!.finished('offload_chain', runId, 120_000)).toBe('success');

    await expectStoredRef(s, 'offload_chain', runId, 'big', bigValue());
    expect(await resultOf('offload_chain', runId, 'use_inline')).toEqual({ id: 'dataset-7', lengths: [100_000, 100_000, 100_000], same: true });
    expect(await resultOf('offload_chain', runId, 'use_command')).toEqual({
      args: [
        [100_000, 'a'],
        [100_000, 'b'],
        [100_000, 'c'],
      ],
      env: '{"parts":3}',
      id: 'dataset-7',
    });

    // A command's result file over the limit goes the same way.
    await expectStoredRef(s, 'offload_chain', runId, 'cmd_big', { blob: 'z'.repeat(300_000) });
    expect(await resultOf('offload_chain', runId, 'after_cmd')).toEqual({ length: 300_000, onlyZ: true });
    await expectStoredRef(s, 'offload_chain', runId, 'py_big', { blob: 'p'.repeat(200_000) });
  }, 180_000);

  it('a reducer over mapped results, some of them offloaded, gets every result in map-index order', async () => {
    await start(s);
    const runId = await live!.trigger('offload_map');
    expect(await live!.finished('offload_map', runId, 120_000)).toBe('success');
    for (const n of [0, 2, 4]) await expectStoredRef(s, 'offload_map', runId, 'shard', { n, pad: String(n).repeat(120_000) }, n);
    for (const n of [1, 3, 5]) expect(await resultOf('offload_map', runId, 'shard', n)).toEqual({ n, pad: '' });
    expect(await resultOf('offload_map', runId, 'reduce')).toEqual([0, 1, 2, 3, 4, 5].map((n) => ({ n, padLength: n % 2 === 0 ? 120_000 : 0 })));
  }, 180_000);

  it('a result over the hard maximum fails its try with a message naming the limit, and nothing is stored', async () => {
    await start(s);
    const runId = await live!.trigger('offload_too_big');
    expect(await live!.finished('offload_too_big', runId, 120_000)).toBe('failed');
    for (const taskId of ['huge', 'huge_cmd']) {
      const row = await ti('offload_too_big', runId, taskId);
      expect(row.state).toBe('failed');
      expect(row.failure_class).toBe('result_invalid');
      expect(row.reason).toMatch(/result is 1,500,0\d\d bytes, over the 1,000,000-byte maximum for results \(TRAINYARD_RESULT_MAX_BYTES\)/);
      expect(await s.store.list(tryPrefix({ dagId: 'offload_too_big', runId, taskId, mapIndex: -1, tryNumber: 1 }))).toEqual([]);
    }
  }, 180_000);

  it('a list over the inline limit cannot be expanded over: the producing try fails, saying why', async () => {
    await start(s);
    const runId = await live!.trigger('offload_expand');
    expect(await live!.finished('offload_expand', runId, 120_000)).toBe('failed');
    const row = await ti('offload_expand', runId, 'long_list');
    expect(row.state).toBe('failed');
    expect(row.failure_class).toBe('result_invalid');
    expect(row.reason).toMatch(/the result cannot be mapped over by 'each': .*kept in the artifact store.*TRAINYARD_RESULT_LIMIT_BYTES/);
  }, 180_000);
});


describe('a store that cannot be reached', () => {
  it('fails the try whose result is over the limit, naming the store and its endpoint', async () => {
    const port = await closedPort();
    const s3: S3Options = { endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', accessKeyId: 'k', secretAccessKey: 'unreachable-secret', maxAttempts: 1 };
    const uri = 's3://nowhere/offload';
    await start({ spec: { uri, maxBytes: MAX_BYTES, s3 }, store: openArtifactStore(uri, { s3, env: {} }) });
    const runId = await live!.trigger('offload_chain');
    expect(await live!.finished('offload_chain', runId, 120_000)).toBe('failed');
    for (const taskId of ['big', 'cmd_big']) {
      const row = await ti('offload_chain', runId, taskId);
      expect(row.state).toBe('failed');
      expect(row.failure_class).toBe('result_invalid');
      expect(row.reason).toContain('over the 65,536-byte inline limit, and could not be written to the artifact store s3://nowhere/offload/');
      expect(row.reason).toContain(`127.0.0.1:${port}`);
      expect(row.reason).not.toContain('unreachable-secret');
    }
    expect((await ti('offload_chain', runId, 'use_inline')).state).toBe('upstream_failed');
  }, 180_000);
});

describe('the artifact store setting', () => {
  it('defaults to $TRAINYARD_HOME/artifacts and a 256 MiB maximum', () => {
    const c = loadConfig({}, { TRAINYARD_HOME: '/srv/trainyard' });
    expect(c.artifactStore).toBe('file:///srv/trainyard/artifacts/');
    expect(c.resultMaxBytes).toBe(256 * 1024 * 1024);
  });

  it('takes file:// and s3:// URIs from TRAINYARD_ARTIFACT_STORE, and the maximum from TRAINYARD_RESULT_MAX_BYTES', () => {
    expect(loadConfig({}, { TRAINYARD_ARTIFACT_STORE: 's3://ml-results/trainyard' }).artifactStore).toBe('s3://ml-results/trainyard');
    expect(loadConfig({}, { TRAINYARD_ARTIFACT_STORE: 'file:///data/results' }).artifactStore).toBe('file:///data/results');
    expect(loadConfig({}, { TRAINYARD_RESULT_MAX_BYTES: '1048576' }).resultMaxBytes).toBe(1_048_576);
  });

  it('refuses a bad URI at start, naming the variable and saying what to write', () => {
    expect(() => loadConfig({}, { TRAINYARD_ARTIFACT_STORE: 'gs://bucket/x' })).toThrow(
      /invalid TRAINYARD_ARTIFACT_STORE='gs:\/\/bucket\/x': artifact store URI "gs:\/\/bucket\/x" has scheme gs; supported are file:\/\/ and s3:\/\//,
    );
    expect(() => loadConfig({}, { TRAINYARD_ARTIFACT_STORE: 's3:///prefix' })).toThrow(/TRAINYARD_ARTIFACT_STORE.*has no bucket; write s3:\/\/bucket\/prefix/);
  });
});

describe('an upstream result that cannot be read', () => {
  let dir: string;
  let pool: WorkerPool;
  let executor: LocalExecutor;
  let s: StoreUnderTest;
  const finished = new Map<string, Extract<ExecutorEvent, { type: 'finished' }>>();

  beforeAll(async () => {
    s = await fileStore();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-offload-read-'));
    tmpDirs.push(dir);
    pool = new WorkerPool({ size: 1 });
    executor = new LocalExecutor({ capacity: { cpu: 4, memoryMb: 4096, gpus: 0 }, workerPool: pool, killGraceMs: 300, resultStore: s.spec });
    executor.onEvent((e) => {
      if (e.type === 'finished') finished.set(e.key.taskId, e);
    });
  });

  afterAll(async () => {
    await executor.close(300);
    await pool.close(300);
    await s.store.close();
  });

  const context = (key: TryKey): TaskContextData => ({
    ...key,
    ds: '2026-11-21',
    logicalDate: '2026-11-21T00:00:00.000Z',
    dataIntervalStart: '2026-11-20T00:00:00.000Z',
    dataIntervalEnd: '2026-11-21T00:00:00.000Z',
    params: {},
    conf: {},
    inputs: {},
    artifactsDir: path.join(dir, 'artifacts'),
    runArtifactsDir: path.join(dir, 'run'),
    checkpointDir: path.join(dir, 'ckpt'),
  });

  /** A reference to an object the store does not hold, as a finished upstream try would leave it. */
  const missing = (): ArtifactRef => ({ $artifact: s.store.uriOf('dag_id=offload_chain/run_id=gone/task_id=big/map_index=-1/attempt=1/result.json'), bytes: 300_000 });

  const base = (taskId: string) => {
    const key: TryKey = { dagId: 'offload_chain', runId: 'r1', taskId, mapIndex: -1, tryNumber: 1 };
    return {
      key,
      env: { PATH: process.env.PATH ?? '', TRAINYARD_RESULT_PATH: path.join(dir, `${taskId}.json`) },
      resources: { cpu: 0.1, memoryMb: 64, gpu: 0 },
      killGraceMs: 300,
      logPath: path.join(dir, `${taskId}.log`),
      resultPath: path.join(dir, `${taskId}.json`),
      resultLimitBytes: 64 * 1024,
      code: { file: FILE, dagId: 'offload_chain', taskId },
      context: context(key),
    };
  };

  const until = async (taskId: string) => {
    for (let i = 0; i < 1200 && !finished.has(taskId); i++) await new Promise((r) => setTimeout(r, 50));
    return finished.get(taskId)!;
  };

  it('fails an inline try as upstream_unavailable before its function runs, naming the object', async () => {
    const req: InlineLaunch = {
      ...base('use_inline'),
      kind: 'inline',
      deferred: { results: { big: missing() }, inputs: { v: { $expr: 'result', taskId: 'big', path: [] } } },
    };
    await executor.launch(req);
    const fin = await until('use_inline');
    expect(fin.outcome).toBe('failed');
    expect(fin.failureClass).toBe('upstream_unavailable');
    expect(fin.reason).toContain(`could not read an upstream result from the artifact store ${s.spec.uri}`);
    expect(fin.reason).toContain(`${missing().$artifact} does not exist`);
  });

  it('fails a command try as upstream_unavailable without starting the command', async () => {
    const b = base('use_command');
    const marker = path.join(dir, 'command-ran');
    const req: CommandLaunch = {
      ...b,
      kind: 'command',
      command: '',
      args: [],
      shell: false,
      render: { code: b.code, context: b.context, args: false, env: false },
      deferred: {
        results: { big: missing() },
        inputs: {},
        command: { command: 'touch', args: [marker, { $expr: 'result', taskId: 'big', path: ['id'] }] },
      },
    };
    await executor.launch(req);
    const fin = await until('use_command');
    expect(fin.outcome).toBe('failed');
    expect(fin.failureClass).toBe('upstream_unavailable');
    expect(fin.reason).toContain(`${missing().$artifact} does not exist`);
    expect(fs.existsSync(marker)).toBe(false);
  });
});

describe('an executor that cannot read stored results', () => {
  /** A real local executor that declares it cannot read stored results, as the Kubernetes executor does. */
  class CannotReadStored extends LocalExecutor {
    override readonly readsStoredResults = false;
  }

  it('fails the reading try before launch, naming the upstream task and what to do', async () => {
    const s = await fileStore();
    const pool = new WorkerPool({ size: 1 });
    const executors = {
      local: new LocalExecutor({ killGraceMs: 200, workerPool: pool, resultStore: s.spec }),
      no_stored_results: new CannotReadStored({ killGraceMs: 200, workerPool: pool }),
    };
    const launched: string[] = [];
    executors.no_stored_results.onEvent((e) => e.type === 'started' && launched.push(e.key.taskId));
    try {
      live = await liveScheduler({ executors });
      await live.register(elsewhere, FILE);
      const runId = await live.trigger('offload_elsewhere');
      expect(await live.finished('offload_elsewhere', runId, 60_000)).toBe('failed');
      await expectStoredRef(s, 'offload_elsewhere', runId, 'wide', bigValue());
      const row = await ti('offload_elsewhere', runId, 'use_elsewhere');
      expect(row.state).toBe('failed');
      expect(row.reason).toContain("reads a result kept in the artifact store (from wide), which executor 'no_stored_results' cannot read");
      expect(row.reason).toContain('TRAINYARD_RESULT_LIMIT_BYTES');
      expect(launched).toEqual([]);
    } finally {
      await live?.close();
      live = undefined;
      await Promise.all(Object.values(executors).map((e) => e.close(200)));
      await pool.close(200);
      await s.store.close();
    }
  }, 120_000);
});
