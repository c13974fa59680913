import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TrainyardError } from '../core/errors.js';
import { MlStore } from '../store/ml-store.js';
import { openPostgres } from '../store/postgres.js';
import { Store } from '../store/store.js';
import { describeModel, promote, register, resolveVersion } from './registry.js';

// The helpers live in test/support, outside the build's rootDir (src): loaded by a path the
// compiler does not follow. This is the part of their API used here.
interface Harness {
  tempStore(): Promise<{ home: string; store: Store; close(): Promise<void> }>;
}
interface PostgresSupport {
  freshPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }>;
}
const harnessPath = '../../test/support/harness.js';
const postgresPath = '../../test/support/postgres.js';

type Open = () => Promise<{ store: Store; close(): Promise<void> }>;

const openSqliteStore: Open = async () => ((await import(harnessPath)) as Harness).tempStore();
const openPostgresStore: Open = async () => {
  const { freshPostgresDatabase } = (await import(postgresPath)) as PostgresSupport;
  const database = await freshPostgresDatabase();
  const opened = await openPostgres(database.url, 4);
  return {
    store: new Store(opened.db, 'postgres'),
    close: async () => {
      await opened.close();
      await database.drop();
    },
  };
};

function code(fn: () => Promise<unknown>): Promise<{ code: string; message: string }> {
  return fn().then(
    () => ({ code: 'NO_ERROR', message: '' }),
    (e: unknown) => (e instanceof TrainyardError ? { code: e.code, message: e.message } : { code: 'OTHER', message: String(e) }),
  );
}

function registryCases(dialect: string, open: Open): void {
  describe(`model registry on ${dialect}`, () => {
    let store: Store;
    let close: () => Promise<void>;
    beforeAll(async () => {
      ({ store, close } = await open());
      // A run for lineage: the registry reads its data interval and DAG version from it.
      await store.db
        .insertInto('dag_run')
        .values({
          dag_id: 'digits_training',
          run_id: 'manual__1',
          state: 'running',
          run_type: 'manual',
          version_hash: 'abc123',
          conf: '{}',
          params: '{}',
          logical_date: Date.UTC(2026, 10, 20),
          data_interval_start: Date.UTC(2026, 10, 19),
          data_interval_end: Date.UTC(2026, 10, 20),
          queued_at: 1,
          change_seq: 0,
        })
        .execute();
    });
    afterAll(() => close());

    it('registers numbered versions with metrics, params and lineage from the run', async () => {
      const v1 = await register(
        store,
        {
          name: 'digits',
          uri: 'file:///models/a/model.json',
          metrics: { accuracy: 0.9, loss: 0.3 },
          params: { lr: 0.2, l2: 0 },
          lineage: { dagId: 'digits_training', runId: 'manual__1', taskId: 'train', mapIndex: 3, tryNumber: 2, imageDigest: 'sha256:feed' },
          actor: 'task:digits_training/manual__1/register_model#1',
        },
        1000,
      );
      expect(v1.version).toBe(1);
      expect(v1.metrics).toEqual({ accuracy: 0.9, loss: 0.3 });
      expect(v1.params).toEqual({ lr: 0.2, l2: 0 });
      expect(v1.lineage).toEqual({
        dagId: 'digits_training',
        runId: 'manual__1',
        taskId: 'train',
        mapIndex: 3,
        tryNumber: 2,
        logicalDate: Date.UTC(2026, 10, 20),
        dataIntervalStart: Date.UTC(2026, 10, 19),
        dataIntervalEnd: Date.UTC(2026, 10, 20),
        ds: '2026-11-20',
        dagVersionHash: 'abc123',
        imageDigest: 'sha256:feed',
      });
      const v2 = await register(store, { name: 'digits', uri: 'file:///models/b', metrics: { accuracy: 0.95 } }, 2000);
      expect(v2.version).toBe(2);
      expect(v2.lineage).toEqual({});
      // Concurrent registrations get distinct numbers.
      const many = await Promise.all([0, 1, 2, 3].map((i) => register(store, { name: 'other', uri: `file:///o/${i}`, metrics: { accuracy: 0.5 + i / 10 } }, 3000 + i)));
      expect(many.map((v) => v.version).sort()).toEqual([1, 2, 3, 4]);
    });

    it('moves aliases and keeps their history', async () => {
      let r = await promote(store, { name: 'digits', version: 1, alias: 'staging', actor: 'alice' }, 4000);
      expect(r).toMatchObject({ promoted: true, previous: null });
      r = await promote(store, { name: 'digits', version: 1, alias: 'production', actor: 'alice' }, 5000);
      expect(r.promoted).toBe(true);
      r = await promote(store, { name: 'digits', version: 2, alias: 'staging', actor: 'bob' }, 6000);
      expect(r).toMatchObject({ promoted: true, previous: 1 });
      const d = await describeModel(store, 'digits');
      expect(d.aliases).toEqual({ production: 1, staging: 2 });
      expect(d.history.map((h) => [h.alias, h.from_version, h.to_version, h.actor, Number(h.at)])).toEqual([
        ['staging', null, 1, 'alice', 4000],
        ['production', null, 1, 'alice', 5000],
        ['staging', 1, 2, 'bob', 6000],
      ]);
      expect(d.versions.map((v) => v.aliases)).toEqual([['production'], ['staging']]);
      expect((await resolveVersion(store, 'digits@production')).version).toBe(1);
      expect((await resolveVersion(store, 'digits')).version).toBe(2);
      expect((await resolveVersion(store, 'digits/1')).uri).toBe('file:///models/a/model.json');
    });

    it('gates a promotion on a metric and records the decision with both figures', async () => {
      // v3 is better than production (v1: 0.9) by 0.005, short of the 0.01 margin: rejected.
      await register(store, { name: 'digits', uri: 'file:///models/c', metrics: { accuracy: 0.905 } }, 7000);
      const rejected = await promote(store, { name: 'digits', version: 3, alias: 'production', gate: { metric: 'accuracy', direction: 'max', margin: 0.01 }, actor: 'ci' }, 8000);
      expect(rejected.promoted).toBe(false);
      expect(rejected.reason).toMatch(/accuracy 0\.905 vs 0\.9 of version 1 \('production'\): higher by only 0\.005, short of the margin 0\.01/);
      // v2 (0.95) beats it by 0.05: promoted.
      const accepted = await promote(store, { name: 'digits', version: 2, alias: 'production', gate: { metric: 'accuracy', margin: 0.01 }, actor: 'ci' }, 9000);
      expect(accepted).toMatchObject({ promoted: true, previous: 1 });
      const d = await describeModel(store, 'digits');
      expect(d.aliases.production).toBe(2);
      expect(
        d.decisions.map((x) => ({ v: x.version, dec: x.decision, c: x.candidate_value, b: x.baseline_value, bv: x.baseline_version, m: x.margin, dir: x.direction })),
      ).toEqual([
        { v: 3, dec: 'rejected', c: 0.905, b: 0.9, bv: 1, m: 0.01, dir: 'max' },
        { v: 2, dec: 'promoted', c: 0.95, b: 0.9, bv: 1, m: 0.01, dir: 'max' },
      ]);
      // Minimising: a lower loss must beat the baseline by the margin.
      await register(store, { name: 'loss-model', uri: 'file:///l/1', metrics: { loss: 0.5 } }, 1);
      await register(store, { name: 'loss-model', uri: 'file:///l/2', metrics: { loss: 0.45 } }, 2);
      expect((await promote(store, { name: 'loss-model', version: 1, alias: 'production', gate: { metric: 'loss', direction: 'min' } }, 3)).reason).toMatch(/no version holds 'production' yet/);
      expect((await promote(store, { name: 'loss-model', version: 2, alias: 'production', gate: { metric: 'loss', direction: 'min', margin: 0.05 } }, 4)).promoted).toBe(true);
    });

    it('archives a version: its aliases go, the mark stays, and promoting it again unarchives it', async () => {
      await promote(store, { name: 'digits', version: 1, alias: 'staging' }, 10_000);
      const r = await promote(store, { name: 'digits', version: 1, alias: 'archived', actor: 'alice' }, 11_000);
      expect(r.promoted).toBe(true);
      let d = await describeModel(store, 'digits');
      expect(d.versions[0].archived).toBe(true);
      expect(d.aliases).toEqual({ production: 2 });
      expect(d.history.slice(-2).map((h) => [h.alias, h.from_version, h.to_version])).toEqual([
        ['staging', 1, null],
        ['archived', null, 1],
      ]);
      await promote(store, { name: 'digits', version: 1, alias: 'staging' }, 12_000);
      d = await describeModel(store, 'digits');
      expect(d.versions[0].archived).toBe(false);
    });

    it('gives clear errors: unknown model, unknown version, unknown metric, bad alias', async () => {
      let e = await code(() => promote(store, { name: 'digits', version: 9, alias: 'production' }, 1));
      expect(e.code).toBe('MODEL_VERSION_NOT_FOUND');
      expect(e.message).toBe("model 'digits' has no version 9; its versions are 1-3");
      e = await code(() => promote(store, { name: 'nope', version: 1, alias: 'production' }, 1));
      expect(e).toEqual({ code: 'MODEL_NOT_FOUND', message: "model 'nope' does not exist; registered models: digits, loss-model, other" });
      e = await code(() => promote(store, { name: 'digits', version: 3, alias: 'production', gate: { metric: 'f1' } }, 1));
      expect(e.code).toBe('UNKNOWN_METRIC');
      expect(e.message).toBe("the gate's metric 'f1' is not recorded on model 'digits' version 3 (the candidate); its metrics are accuracy");
      e = await code(() => promote(store, { name: 'digits', version: 3, alias: 'Prod!' }, 1));
      expect(e.code).toBe('MODEL_ALIAS_INVALID');
      e = await code(() => register(store, { name: 'digits', uri: 'x', metrics: { accuracy: Number.NaN } }, 1));
      expect(e.code).toBe('MODEL_METRICS_INVALID');
      // Nothing was recorded by the failed calls.
      expect((await new MlStore(store).listDecisions('digits')).length).toBe(2);
      expect(await new MlStore(store).versionNumbers('digits')).toEqual([1, 2, 3]);
    });

    it('lists models with their latest version and aliases', async () => {
      const models = await new MlStore(store).listModels();
      expect(models.map((m) => [m.name, m.latest_version, m.versions, m.aliases])).toEqual([
        ['digits', 3, 3, { production: 2, staging: 1 }],
        ['loss-model', 2, 2, { production: 2 }],
        ['other', 4, 4, {}],
      ]);
    });
  });
}

registryCases('sqlite', openSqliteStore);
if (process.env.TRAINYARD_SKIP_POSTGRES !== '1') registryCases('postgres', openPostgresStore);
