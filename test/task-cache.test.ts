import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ctx, dag, param, resultType, secret, z } from '../src/index.js';
import { cacheKey, stableJson } from '../src/scheduler/cache.js';
import { RunModel } from '../src/scheduler/run-model.js';
import type { DagRunRow } from '../src/store/store.js';
import { createApiServer } from '../src/api/index.js';
import { loadConfig } from '../src/config.js';
import { LocalExecutor } from '../src/executors/local/local-executor.js';
import { HomeLayout } from '../src/scheduler/paths.js';
import { registerDag, type SchedulerHarness, schedulerHarness } from './support/harness.js';
import { ScriptedExecutor } from './support/scripted-executor.js';

let h: SchedulerHarness | undefined;
afterEach(async () => {
  await h?.scheduler.stop(0);
  await h?.close();
  h = undefined;
});

/** `prep` counts its real runs in a file, writes an artifact and returns what it computed. */
function cachedDag(home: string, version = 'v1') {
  const counter = path.join(home, 'prep-runs.txt');
  const d = dag('cached', { params: z.object({ rows: z.number().default(10) }) });
  const prep = d.command('prep', {
    command: 'sh',
    args: [
      '-c',
      'echo run >> "$1"; echo "data for $2 rows" > "$TRAINYARD_ARTIFACTS_DIR/data.txt"; echo "{\\"rows\\": $2, \\"uri\\": \\"$TRAINYARD_ARTIFACTS_URI/data.txt\\"}" > "$TRAINYARD_RESULT_PATH"',
      'sh',
      counter,
      param('rows'),
    ],
    result: resultType<{ rows: number; uri: string }>(),
    cache: { version },
  });
  d.command('use', { command: 'sh', args: ['-c', 'echo "{\\"got\\": $1}" > "$TRAINYARD_RESULT_PATH"', 'sh', prep.out('rows')] });
  return { d, counter };
}

async function runToEnd(dagId: string, conf: Record<string, unknown> = {}): Promise<string> {
  h!.now += 60_000; // a new logical date, so a new run id
  const runId = await h!.trigger(dagId, { conf });
  for (;;) {
    const state = await h!.runState(dagId, runId);
    if (state === 'success' || state === 'failed') {
      expect(state).toBe('success');
      return runId;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('task caching, end to end', () => {
  it('reuses the result and artifact prefix of an earlier try with the same key, and runs again when the key changes', async () => {
    h = await schedulerHarness({ local: new LocalExecutor({ killGraceMs: 1000 }) });
    const { d, counter } = cachedDag(h.home);
    await registerDag(h.store, d);
    h.scheduler.start();
    const runs = () => fs.readFileSync(counter, 'utf8').trim().split('\n').length;
    const ti = (runId: string, taskId: string) => h!.store.getTaskInstance({ dagId: 'cached', runId, taskId, mapIndex: -1 });

    const first = await runToEnd('cached');
    expect(runs()).toBe(1);
    const ran = (await ti(first, 'prep'))!;
    expect(ran.cached_from).toBeNull();
    const [firstTry] = await h.store.listTries({ dagId: 'cached', runId: first, taskId: 'prep', mapIndex: -1 });
    expect(firstTry.cache_key).toMatch(/^[0-9a-f]{64}$/);

    // Same inputs, same DAG version: the result is reused and nothing runs.
    const second = await runToEnd('cached');
    expect(runs()).toBe(1);
    const hit = (await ti(second, 'prep'))!;
    expect(hit.state).toBe('success');
    expect(JSON.parse(hit.result!)).toEqual(JSON.parse(ran.result!));
    const from = JSON.parse(hit.cached_from!);
    expect(from).toMatchObject({ run_id: first, task_id: 'prep', try_number: 1, cache_key: firstTry.cache_key });
    expect(fs.readFileSync(new URL(`${from.artifacts_uri}/data.txt`), 'utf8')).toBe('data for 10 rows\n');
    expect(await h.store.listTries({ dagId: 'cached', runId: second, taskId: 'prep', mapIndex: -1 })).toEqual([]);
    expect(JSON.parse((await ti(second, 'use'))!.result!)).toEqual({ got: 10 });

    // The API shows the flag and where the result came from.
    const api = createApiServer({ store: h.store, layout: new HomeLayout(h.home), config: loadConfig({ home: h.home }, {}), auth: { mode: 'none' }, log: () => {} });
    try {
      const get = async (runId: string) => (await api.app.request(`http://127.0.0.1/api/v1/dags/cached/runs/${encodeURIComponent(runId)}/taskInstances/prep/-1`)).json();
      expect(await get(second)).toMatchObject({ cached: true, cached_from: { run_id: first, try_number: 1 } });
      expect(await get(first)).toMatchObject({ cached: false, cached_from: null });
    } finally {
      await api.close();
    }

    // A different input (the param in its args) is a different key: it runs.
    const third = await runToEnd('cached', { rows: 20 });
    expect(runs()).toBe(2);
    expect((await ti(third, 'prep'))!.cached_from).toBeNull();
    expect(JSON.parse((await ti(third, 'use'))!.result!)).toEqual({ got: 20 });

    // A new cache version (code the spec does not show changed) runs again too.
    await registerDag(h.store, cachedDag(h.home, 'v2').d, '/dags/test.ts', 1);
    await runToEnd('cached');
    expect(runs()).toBe(3);
  }, 120_000);

  it('caches each instance of a mapped task by its item, and hands downstream the same list (fake clock)', async () => {
    const ex = new ScriptedExecutor();
    h = await schedulerHarness({ scripted: ex });
    const d = dag('mapped_cache');
    const sq = d.command('square', { command: 'sq', expand: { x: [1, 2, 3] }, cache: true, result: resultType<number>() });
    d.command('sum', { command: 'sum', args: [sq.output] });
    await registerDag(h.store, d);
    const runOnce = async (ranSquares: number) => {
      h!.now += 60_000;
      const runId = await h!.trigger('mapped_cache');
      await h!.tick();
      const squares = ex.live('square');
      expect(squares).toHaveLength(ranSquares);
      for (const l of squares) ex.finish(l, h!.now, { result: (l.key.mapIndex + 1) ** 2 });
      await h!.tick();
      const [sum] = ex.live('sum');
      ex.finish(sum, h!.now);
      await h!.tick();
      expect(await h!.runState('mapped_cache', runId)).toBe('success');
      return { runId, args: sum.kind === 'command' ? sum.args : [] };
    };
    const first = await runOnce(3);
    const second = await runOnce(0);
    expect(second.args).toEqual(first.args);
    expect(second.args).toEqual(['[1,4,9]']);
    const tis = await h.store.listTaskInstances('mapped_cache', second.runId, { taskId: 'square' });
    expect(tis.filter((t) => t.map_index >= 0).map((t) => JSON.parse(t.cached_from!).map_index)).toEqual([0, 1, 2]);
  });

  it('keys on the work, not on which run or try does it', () => {
    const d = dag('keys');
    d.command('t', { command: 'train', args: [ctx.runId, ctx.tryNumber, ctx.artifactsDir, ctx.ds], env: { TOKEN: secret('HF_TOKEN') }, cache: { key: param('snapshot') } });
    const spec = d.toSpec();
    const layout = new HomeLayout('/home');
    const keyOf = (row: Partial<DagRunRow>) => {
      const run = new RunModel({ dag_id: 'keys', run_id: 'r1', version_hash: 'v1', logical_date: Date.UTC(2026, 0, 1), data_interval_start: 0, data_interval_end: 0, params: '{"snapshot":"a"}', conf: '{}', ...row } as DagRunRow, spec);
      const task = run.task('t');
      return cacheKey(run, { task, mapIndex: -1, state: 'scheduled', tryNumber: 3, budgetTries: 0, freeRetries: 0, nextRetryAt: null, seq: 0, item: undefined, resourceOverrides: null }, layout);
    };
    const base = keyOf({});
    expect(keyOf({ run_id: 'r2' })).toBe(base); // run id and the try's directories are placeholders
    expect(keyOf({ logical_date: Date.UTC(2026, 0, 2) })).not.toBe(base); // ctx.ds counts by value
    expect(keyOf({ params: '{"snapshot":"b"}' })).not.toBe(base); // the cache key's param
    expect(keyOf({ version_hash: 'v2' })).not.toBe(base); // the DAG version
    expect(stableJson({ b: 1, a: { d: 2, c: 3 } })).toBe('{"a":{"c":3,"d":2},"b":1}');
  });

  it('refuses a cache option that cannot work, naming the field', () => {
    const build = (f: (d: ReturnType<typeof dag>) => void) => () => {
      const d = dag('bad');
      f(d);
      d.toSpec();
    };
    expect(build((d) => d.command('a', { command: 'x', cache: { versoin: 'v1' } as never }))).toThrow(/cache\.versoin is not an option of cache; its options are version, key/);
    expect(build((d) => d.command('a', { command: 'x', cache: { version: '' } }))).toThrow(/cache\.version must be a non-empty string/);
    expect(build((d) => d.sensor('s', { check: { kind: 'time_delta', delta: '1m' }, cache: true }))).toThrow(/cache is not for sensors/);
    expect(
      build((d) => {
        const a = d.command('a', { command: 'x' });
        d.command('b', { command: 'x', cache: { key: a.output } });
      }),
    ).toThrow(/cache\.key reads the result of 'a'/);
  });
});
