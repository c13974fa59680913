import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openPostgres } from './postgres.js';
import { PREPARED_TEXT_LIMIT, PreparedStatements } from './prepared.js';
import { Store } from './store.js';

interface TestDatabase {
  readonly url: string;
  drop(): Promise<void>;
}
// The helper lives in test/support, outside the build's rootDir (src): loaded by a path the compiler does not follow.
const supportPath = '../../test/support/postgres.js';
const { freshPostgresDatabase } = (await import(supportPath)) as { freshPostgresDatabase(): Promise<TestDatabase> };

describe('prepared statement names', () => {
  it('names data statements by their text, the same name for the same text', () => {
    const p = new PreparedStatements();
    const a = p.nameOf('select "dag_id" from "dag" where "dag_id" = $1');
    expect(a).toMatch(/^ty_[0-9a-f]{20}$/);
    expect(p.nameOf('select "dag_id" from "dag" where "dag_id" = $1')).toBe(a);
    expect(p.nameOf('update "dag" set "is_paused" = $1')).not.toBe(a);
    expect(p.nameOf('  WITH x AS (select 1) select "a" from x')).toBeDefined();
    expect(p.nameOf('select count(*) as "n" from "dag"')).toBeDefined();
  });

  it('leaves statements that return every column unnamed: a migration that adds one must not break them', () => {
    const p = new PreparedStatements();
    for (const text of ['select * from "dag_run"', 'select distinct * from "t"', 'select "t".* from "t"', 'update "t" set "a" = $1 returning *']) {
      expect(p.nameOf(text), text).toBeUndefined();
    }
  });

  it('leaves schema changes and transaction control unnamed', () => {
    const p = new PreparedStatements();
    for (const text of ['create table "t" ("a" integer)', 'alter table "t" add column "b" text', 'begin', 'commit', 'drop index "i"']) {
      expect(p.nameOf(text), text).toBeUndefined();
    }
    expect(p.size).toBe(0);
  });

  it(`names at most ${PREPARED_TEXT_LIMIT} texts; later ones run unnamed, the named ones stay named`, () => {
    const p = new PreparedStatements();
    const first = p.nameOf('select $1');
    for (let i = 0; i < PREPARED_TEXT_LIMIT + 10; i++) p.nameOf(`select "a" from "t" where "a" in (${Array.from({ length: i + 1 }, (_, j) => `$${j + 1}`).join(', ')})`);
    expect(p.size).toBe(PREPARED_TEXT_LIMIT);
    expect(p.nameOf('select 42')).toBeUndefined();
    expect(p.nameOf('select $1')).toBe(first);
  });

  it('a refused text is never named again', () => {
    const p = new PreparedStatements();
    expect(p.nameOf('select "spec" from "dag_version"')).toBeDefined();
    p.refuse('select "spec" from "dag_version"');
    expect(p.nameOf('select "spec" from "dag_version"')).toBeUndefined();
  });
});

describe('prepared statements on Postgres', () => {
  let database: TestDatabase;
  let opened: Awaited<ReturnType<typeof openPostgres>>;
  let store: Store;
  beforeEach(async () => {
    database = await freshPostgresDatabase();
    // One connection, so the session that prepared is the one asked.
    opened = await openPostgres(database.url, 1);
    store = new Store(opened.db, 'postgres');
  });
  afterEach(async () => {
    await opened.close();
    await database.drop();
  });

  /** A schema change made by another process. */
  const alterFromElsewhere = async (statement: string) => {
    const other = await openPostgres(database.url, 1, { prepare: false });
    try {
      await sql.raw(statement).execute(other.db);
    } finally {
      await other.close();
    }
  };

  const prepared = async () => {
    const r = await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(opened.db);
    return r.rows.map((row) => row.statement);
  };

  it("the store's repeated statements are prepared once per connection and give the same answers", async () => {
    for (let i = 0; i < 3; i++) expect(await store.setPaused('nope', true, 1)).toBe(false);
    for (let i = 0; i < 3; i++) expect(await store.getSpec('nope', 'v1')).toBeUndefined();
    for (let i = 0; i < 3; i++) expect((await store.listPools()).map((p) => p.name)).toEqual(['default_pool']);
    const statements = await prepared();
    expect(statements.filter((s) => s.startsWith('update "dag" set'))).toHaveLength(1);
    expect(statements.filter((s) => s.startsWith('select "spec" from "dag_version"'))).toHaveLength(1);
    // `select *` follows the table's columns, so it is never prepared.
    expect(statements.filter((s) => s.startsWith('select * from "pool"'))).toEqual([]);
  });

  it('a migration that adds a column leaves every statement working', async () => {
    expect((await store.listPools()).map((p) => p.name)).toEqual(['default_pool']);
    expect(await store.setPaused('nope', true, 1)).toBe(false);
    await alterFromElsewhere('alter table pool add column extra_note text');
    const pools = await store.listPools();
    expect(pools[0]).toHaveProperty('extra_note', null);
    expect(await store.setPaused('nope', true, 1)).toBe(false);
  });

  it("a statement whose result's type changed under it fails once, then runs planned afresh", async () => {
    await store.upsertDag({ specVersion: 1, dagId: 'd', tags: [], schedule: null, catchup: false, maxActiveTasks: 1, maxActiveRuns: 1, paramsDefaults: {}, tasks: [], groups: [] } as never, 'f.ts', 'v1', 1);
    expect(await store.getSpec('d', 'v1')).toMatchObject({ dagId: 'd' });
    await alterFromElsewhere('alter table dag_version alter column spec type varchar');
    await expect(store.getSpec('d', 'v1')).rejects.toThrow(/cached plan must not change result type/);
    expect(await store.getSpec('d', 'v1')).toMatchObject({ dagId: 'd' });
  });

  it('prepare: false sends every statement unnamed', async () => {
    const plain = await openPostgres(database.url, 1, { prepare: false });
    try {
      const s = new Store(plain.db, 'postgres');
      for (let i = 0; i < 3; i++) await s.listPools();
      const r = await sql<{ n: number }>`select count(*)::int as n from pg_prepared_statements`.execute(plain.db);
      expect(r.rows[0].n).toBe(0);
    } finally {
      await plain.close();
    }
  });
});
