/**
 * The MLflow bridge against a real MLflow tracking server, installed from PyPI and started on
 * 127.0.0.1 by scripts/mlflow/up.sh (the first run installs it: minutes; later runs reuse it).
 * No server, no silent skip: the test fails with the script's message.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../store/store.js';
import { mirrorTryFromStore } from './mirror-store.js';
import { mirrorAlias, mirrorModelVersion, mirrorTry, MlflowClient, MlflowError, mlflowFromEnv, type TryToMirror } from './mlflow.js';
import { closedPort } from '../../test/support/ports.js';

const UP = fileURLToPath(new URL('../../scripts/mlflow/up.sh', import.meta.url));
const unique = `${process.pid}-${Date.now().toString(36)}`;

function startServer(): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('bash', [UP], { timeout: 1_200_000, maxBuffer: 8 << 20 }, (err, stdout, stderr) => {
      const url = stdout.trim().split('\n').pop() ?? '';
      if (err || !url.startsWith('http://')) {
        reject(new Error(`scripts/mlflow/up.sh could not start MLflow (${err?.message.split('\n')[0] ?? 'no URL printed'}):\n${stderr.split('\n').slice(-15).join('\n')}\nThe bridge's tests need Python 3.9+ with venv and pip, and PyPI reachable the first time.`));
        return;
      }
      resolve(url);
    });
  });
}


interface Harness {
  tempStore(): Promise<{ home: string; store: Store; close(): Promise<void> }>;
}
const harnessPath = '../../test/support/harness.js';

describe('MLflow bridge against a real MLflow server', () => {
  let client: MlflowClient;
  beforeAll(async () => {
    client = new MlflowClient({ trackingUri: await startServer() });
  }, 1_200_000);

  const base: TryToMirror = {
    dagId: `digits_training_${unique}`,
    runId: 'manual__2026-11-21T10:00:00+00:00',
    taskId: 'train',
    mapIndex: 2,
    tryNumber: 1,
    startTime: 1_763_700_000_000,
    state: 'running',
    params: { lr: 0.2, l2: 0.001, layers: [64, 32], note: "it's" },
    metrics: [0, 1, 2].flatMap((s) => [
      { name: 'loss', value: 1 / (s + 1), step: s, at: 1_763_700_000_000 + s * 1000 },
      { name: 'accuracy', value: 0.5 + s / 10, step: s, at: 1_763_700_000_000 + s * 1000 },
    ]),
  };

  it("mirrors a try's params and metrics with their steps to an MLflow run, once", async () => {
    const first = await mirrorTry(client, base);
    expect(first).toMatchObject({ created: true, metricsLogged: 6, paramsLogged: 4 });
    const run = await client.getRun(first.mlflowRunId);
    expect(run.info.status).toBe('RUNNING');
    expect(Object.fromEntries((run.data.params ?? []).map((p) => [p.key, p.value]))).toEqual({ lr: '0.2', l2: '0.001', layers: '[64,32]', note: "it's" });
    const tags = Object.fromEntries((run.data.tags ?? []).map((t) => [t.key, t.value]));
    expect(tags).toMatchObject({ 'trainyard.dag_id': base.dagId, 'trainyard.task_id': 'train', 'trainyard.map_index': '2', 'trainyard.try_number': '1' });
    expect((await client.metricHistory(first.mlflowRunId, 'loss')).map((m) => [m.step, m.value])).toEqual([
      [0, 1],
      [1, 0.5],
      [2, 1 / 3],
    ]);

    // The try goes on and ends: mirroring again finds the run and sends only the new point.
    const again = await mirrorTry(client, {
      ...base,
      state: 'success',
      endTime: base.startTime + 10_000,
      metrics: [...base.metrics!, { name: 'loss', value: 0.2, step: 3, at: base.startTime + 3000 }],
    });
    expect(again).toMatchObject({ created: false, mlflowRunId: first.mlflowRunId, metricsLogged: 1, paramsLogged: 0 });
    expect((await client.metricHistory(first.mlflowRunId, 'loss')).map((m) => m.step)).toEqual([0, 1, 2, 3]);
    const done = await client.getRun(first.mlflowRunId);
    expect(done.info.status).toBe('FINISHED');
    expect(Number(done.info.end_time)).toBe(base.startTime + 10_000);

    // Another try of the same task instance is another MLflow run; an early-stopped one is KILLED.
    const second = await mirrorTry(client, { ...base, tryNumber: 2, state: 'early_stopped', endTime: base.startTime + 1 });
    expect(second.mlflowRunId).not.toBe(first.mlflowRunId);
    expect((await client.getRun(second.mlflowRunId)).info.status).toBe('KILLED');
  });

  it("splits large series into batches within MLflow's limits", async () => {
    const metrics = Array.from({ length: 2500 }, (_, s) => ({ name: 'loss', value: 1 / (s + 1), step: s, at: base.startTime + s }));
    const params = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`p${i}`, i]));
    const r = await mirrorTry(client, { ...base, taskId: 'big', metrics, params, state: 'success', endTime: base.startTime + 5000 });
    expect(r.metricsLogged).toBe(2500);
    expect(r.paramsLogged).toBe(150);
    const history = await client.metricHistory(r.mlflowRunId, 'loss');
    expect(history).toHaveLength(2500);
    expect(history.at(-1)).toMatchObject({ step: 2499 });
  });

  it('mirrors registry versions and their aliases to the MLflow model registry', async () => {
    const name = `digits-${unique}`;
    const runOf = await mirrorTry(client, { ...base, taskId: 'train_for_registry' });
    const v1 = await mirrorModelVersion(
      client,
      { name, version: 1, uri: 'file:///tmp/trainyard-models/digits/v1/model.json', metrics: { test_accuracy: 0.95 }, aliases: ['production'], lineage: { dagId: base.dagId, runId: base.runId, taskId: 'train', mapIndex: 2, tryNumber: 1 } },
      { mlflowRunId: runOf.mlflowRunId },
    );
    expect(v1).toMatchObject({ created: true, mlflowVersion: '1' });
    const byAlias = await client.getByAlias(name, 'production');
    expect(byAlias?.version).toBe('1');
    expect(byAlias?.run_id).toBe(runOf.mlflowRunId);
    // MLflow refuses local paths as sources: the source names the registry version, the tag has the URI.
    expect(byAlias?.source).toBe(`trainyard://models/${name}/1`);
    const tags = Object.fromEntries((byAlias?.tags ?? []).map((t) => [t.key, t.value]));
    expect(tags).toMatchObject({ 'trainyard.version': '1', 'trainyard.uri': 'file:///tmp/trainyard-models/digits/v1/model.json', 'trainyard.metric.test_accuracy': '0.95', 'trainyard.lineage.mapIndex': '2' });

    // Mirroring again changes nothing; a second version takes over production.
    expect((await mirrorModelVersion(client, { name, version: 1, uri: 'file:///tmp/trainyard-models/digits/v1/model.json' })).created).toBe(false);
    const v2 = await mirrorModelVersion(client, { name, version: 2, uri: 's3://models/digits/v2/model.json' });
    expect(v2.mlflowVersion).toBe('2');
    expect((await client.getModelVersion(name, '2')).source).toBe('s3://models/digits/v2/model.json');
    await mirrorAlias(client, name, 'production', 2);
    expect((await client.getByAlias(name, 'production'))?.version).toBe('2');
    await mirrorAlias(client, name, 'production', null);
    expect(await client.getByAlias(name, 'production')).toBeUndefined();
    await expect(mirrorAlias(client, name, 'staging', 7)).rejects.toThrow(/version 7 of model '.*' has not been mirrored to MLflow yet/);
  });

  it('mirrors a try straight from the store', async () => {
    const { store, close } = await ((await import(harnessPath)) as Harness).tempStore();
    try {
      const dagId = `from_store_${unique}`;
      await store.db
        .insertInto('dag_run')
        .values({ dag_id: dagId, run_id: 'r1', state: 'running', run_type: 'manual', version_hash: 'h', conf: '{}', params: '{}', logical_date: 0, data_interval_start: 0, data_interval_end: 0, queued_at: 0, change_seq: 0 })
        .execute();
      await store.insertTaskInstances([{ dag_id: dagId, run_id: 'r1', task_id: 'train', map_index: 0, state: 'success', try_number: 1, budget_tries: 1, free_retries: 0, priority_weight: 1, pool_slots: 1, pool: 'default_pool', item: '{"lr":0.1}', params: '{"epochs":3}', updated_at: 0 }]);
      await store.insertTries([
        { dag_id: dagId, run_id: 'r1', task_id: 'train', map_index: 0, try_number: 1, state: 'success', executor: 'local', queued_at: 1000, start_date: 2000, end_date: 9000, log_path: 'x.log', counts_against_budget: 1 },
      ]);
      await store.insertMetrics([0, 1, 2].map((s) => ({ dag_id: dagId, run_id: 'r1', task_id: 'train', map_index: 0, try_number: 1, name: 'val_accuracy', step: s, value: 0.8 + s / 100, at: 3000 + s })));
      const r = await mirrorTryFromStore(store, client, { dagId, runId: 'r1', taskId: 'train', mapIndex: 0, tryNumber: 1 });
      expect(r).toMatchObject({ created: true, metricsLogged: 3, paramsLogged: 2 });
      const run = await client.getRun(r!.mlflowRunId);
      expect(run.info.status).toBe('FINISHED');
      expect(Object.fromEntries((run.data.params ?? []).map((p) => [p.key, p.value]))).toEqual({ lr: '0.1', epochs: '3' });
      expect((await client.metricHistory(r!.mlflowRunId, 'val_accuracy')).map((m) => m.step)).toEqual([0, 1, 2]);
      expect(await mirrorTryFromStore(store, client, { dagId, runId: 'r1', taskId: 'nope', mapIndex: 0, tryNumber: 1 })).toBeUndefined();
    } finally {
      await close();
    }
  });

  it('errors name the server and MLflow error code; a server that is down is said plainly', async () => {
    const e = await client.getRun('0123456789abcdef0123456789abcdef').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(MlflowError);
    expect((e as MlflowError).errorCode).toBe('RESOURCE_DOES_NOT_EXIST');
    const down = new MlflowClient({ trackingUri: `http://127.0.0.1:${await closedPort()}`, token: 'secret-token-value' });
    const err = (await down.experimentId('x').catch((x: unknown) => x)) as Error;
    expect(err.message).toMatch(/^MLflow at http:\/\/127\.0\.0\.1:\d+ did not answer GET experiments\/get-by-name: .*Check that the tracking server is running/);
    expect(err.message).not.toContain('secret-token-value');
  });

  it('reads its settings from the environment', () => {
    expect(mlflowFromEnv({})).toBeUndefined();
    expect(mlflowFromEnv({ MLFLOW_TRACKING_URI: 'http://mlflow:5000', MLFLOW_TRACKING_TOKEN: 't' })).toEqual({ trackingUri: 'http://mlflow:5000', token: 't', username: undefined, password: undefined });
    expect(() => mlflowFromEnv({ MLFLOW_TRACKING_URI: 'file:///tmp/mlruns' })).toThrow(/must be an http:\/\/ or https:\/\/ URL/);
  });
});
