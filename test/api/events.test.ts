/**
 * GET /api/v1/events on a real socket, over a real store (SQLite, and Postgres) driven by real
 * scheduler ticks on a fake clock: the change log written by the store's triggers, the one
 * shared feed, filters, resume, heartbeats and auth.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { createApiServer, type ApiServer } from '../../src/api/index.js';
import { newToken } from '../../src/api/auth/secrets.js';
import { loadConfig } from '../../src/config.js';
import { dag } from '../../src/index.js';
import { HomeLayout } from '../../src/scheduler/paths.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { triggerRun } from '../../src/scheduler/trigger.js';
import { AuthStore } from '../../src/store/auth-store.js';
import { type ChangeRow, ChangeLog } from '../../src/store/change-log.js';
import { matchesFilter, toEvents } from '../../src/api/events/changes.js';
import { CHANGE_FEED_KEEP_ROWS } from '../../src/store/migrations/0010_change_feed.js';
import { openPostgres } from '../../src/store/postgres.js';
import { Store } from '../../src/store/store.js';
import { registerDag, tempStore } from '../support/harness.js';
import { freshPostgresDatabase } from '../support/postgres.js';
import { ScriptedExecutor } from '../support/scripted-executor.js';
import { NoEvent, type SseEvent, SseReader } from './sse-reader.js';

interface Setup {
  readonly store: Store;
  readonly scheduler: Scheduler;
  readonly exec: ScriptedExecutor;
  readonly server: ApiServer;
  readonly base: string;
  readonly viewer: string;
  ticks: number;
  now: number;
  tick(): Promise<void>;
  /** Ticks, starting and finishing every launched try, until the run has ended. */
  runToEnd(dagId: string, runId: string): Promise<void>;
  open(query?: string, headers?: Record<string, string>): Promise<Response>;
  close(): Promise<void>;
}

async function openStore(dialect: 'sqlite' | 'postgres'): Promise<{ store: Store; home: string; close(): Promise<void> }> {
  if (dialect === 'sqlite') return tempStore();
  const database = await freshPostgresDatabase();
  const opened = await openPostgres(database.url, 4);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'trainyard-events-pg-'));
  return {
    home,
    store: new Store(opened.db, 'postgres'),
    close: async () => {
      await opened.close();
      await database.drop();
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
}

/**
 * A store with DAGs `pipe` (a → b, mapped over 3 → c) and `other` (x), a scheduler on a fake
 * clock, and the API on a loopback port whose feed reads only when a tick nudges it (so poll
 * counts do not depend on time). `pollOnly`: the API does not know the scheduler, as
 * `trainyard api-server` beside separate schedulers, and finds changes by polling alone.
 */
async function setup(o: { dialect?: 'sqlite' | 'postgres'; heartbeatMs?: number; pollOnly?: boolean } = {}): Promise<Setup> {
  const t = await openStore(o.dialect ?? 'sqlite');
  const pipe = dag('pipe', { tags: ['test'] });
  const a = pipe.command('a', { command: 'true' });
  const b = pipe.command('b', { command: 'true', expand: { seed: [1, 2, 3] } }).after(a);
  pipe.command('c', { command: 'true' }).after(b);
  await registerDag(t.store, pipe, '/dags/pipe.ts');
  const other = dag('other', { tags: ['test'] });
  other.command('x', { command: 'true' });
  await registerDag(t.store, other, '/dags/other.ts');

  const layout = new HomeLayout(t.home);
  const exec = new ScriptedExecutor();
  const scheduler = new Scheduler({
    store: t.store,
    executors: { scripted: exec },
    defaultExecutor: 'scripted',
    layout,
    parallelism: 32,
    killGraceMs: 100,
    resultLimitBytes: 65536,
    freeRetryCap: 3,
    schedulerId: 'events-test',
    random: () => 0.5,
    syncIntervalMs: 0,
  });
  const auth = new AuthStore(t.store);
  await auth.createUser({ username: 'viewer', password_hash: 'unused', role: 'viewer', created_at: 0 });
  const { token, hash } = newToken();
  await auth.insertToken({ token_hash: hash, username: 'viewer', name: 'test', created_at: 0, last_used_at: null });
  const server = createApiServer({
    store: t.store,
    layout,
    config: loadConfig({ home: t.home }, {}),
    auth: { mode: 'password' },
    scheduler: o.pollOnly ? undefined : scheduler,
    log: () => {},
    events: { pollMs: o.pollOnly ? 100 : 3_600_000, nudgeGapMs: 0, heartbeatMs: o.heartbeatMs },
  });
  const { url } = await server.listen(0, '127.0.0.1');
  const s: Setup = {
    store: t.store,
    scheduler,
    exec,
    server,
    base: url,
    viewer: token,
    ticks: 0,
    now: 1_000_000,
    async tick() {
      s.now += 1000;
      s.ticks++;
      await scheduler.tick(s.now);
    },
    async runToEnd(dagId, runId) {
      for (let i = 0; i < 40; i++) {
        await s.tick();
        const run = await t.store.getRun(dagId, runId);
        if (run && (run.state === 'success' || run.state === 'failed')) return;
        const live = exec.live().filter((l) => l.key.dagId === dagId && l.key.runId === runId);
        for (const l of live) exec.start(l, s.now);
        await s.tick();
        for (const l of live) exec.finish(l, s.now + 500);
      }
      throw new Error(`run ${dagId}/${runId} did not end`);
    },
    open: (query = '', headers = {}) => fetch(`${url}/api/v1/events${query}`, { headers: { authorization: `Bearer ${token}`, ...headers } }),
    async close() {
      await server.close();
      await t.close();
    },
  };
  return s;
}

let s: Setup | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

const data = (e: SseEvent) => JSON.parse(e.data) as Record<string, any>;
const isRunEnd = (runId: string) => (e: SseEvent) => e.event === 'run' && data(e).run_id === runId && ['success', 'failed'].includes(data(e).state);

/** A connected client past its `ready` event. */
async function connect(query = '', headers: Record<string, string> = {}): Promise<SseReader> {
  const res = await s!.open(query, headers);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/event-stream');
  const sse = new SseReader(res);
  const ready = await sse.next();
  expect(ready?.event).toBe('ready');
  return sse;
}

const LIFECYCLE = ['none', 'scheduled', 'queued', 'running', 'success', 'failed'];

/**
 * Each entity's states in the order received: `run …`, `ti task[map_index]`, and `task …` for a
 * mapped task's aggregated events (the states its instances moved to, in lifecycle order within
 * one event). A state repeated at once (a change sent twice around a resume) counts once.
 */
function timeline(events: readonly SseEvent[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const add = (k: string, v: string) => {
    const list = (out[k] ??= []);
    if (list[list.length - 1] !== v) list.push(v);
  };
  for (const e of events) {
    const d = data(e);
    if (e.event === 'run') add(`run ${d.run_id}`, d.state);
    else if (e.event === 'ti') add(`ti ${d.task_id}[${d.map_index}]`, d.state);
    else if (e.event === 'task') for (const st of Object.keys(d.states).sort((x, y) => LIFECYCLE.indexOf(x) - LIFECYCLE.indexOf(y))) add(`task ${d.task_id}`, st);
  }
  return out;
}

async function pipeRunTimeline(sse: SseReader): Promise<{ events: SseEvent[]; runId: string }> {
  const { runId } = await triggerRun(s!.store, 'pipe', { runId: 'r1' }, s!.now);
  await s!.runToEnd('pipe', runId);
  return { events: await sse.until(isRunEnd(runId)), runId };
}

function expectPipeTimeline(events: readonly SseEvent[], runId: string, cursor: RegExp): void {
  expect(timeline(events)).toEqual({
    [`run ${runId}`]: ['queued', 'running', 'success'],
    'ti a[-1]': ['scheduled', 'queued', 'running', 'success'],
    // Expansion: the placeholder is removed; the instances start out scheduled.
    'ti b[-1]': ['removed'],
    'task b': ['queued', 'running', 'success'],
    'ti c[-1]': ['scheduled', 'queued', 'running', 'success'],
  });
  // The run's start comes before its tasks, its end after them.
  expect(events[0].event).toBe('run');
  expect(data(events[events.length - 1]).state).toBe('success');
  // The mapped task's three instances come aggregated: at most one event per read of the
  // feed, never one per instance.
  const mapped = events.filter((e) => e.event === 'task').map(data);
  expect(mapped.length).toBeLessThanOrEqual(3);
  expect(mapped.at(-1)!.states.success).toBe(3);
  const running = events.map(data).find((d) => d.task_id === 'a' && d.state === 'running');
  expect(running).toMatchObject({ dag_id: 'pipe', run_id: runId, map_index: -1, try_number: 1 });
  for (const e of events) expect(e.id).toMatch(cursor);
}

describe('GET /api/v1/events', () => {
  it('streams the run and task state changes of a triggered run, in order', async () => {
    s = await setup();
    const sse = await connect();
    const { events, runId } = await pipeRunTimeline(sse);
    expectPipeTimeline(events, runId, /^\d+$/);
    const ids = events.map((e) => Number(e.id));
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
    await sse.cancel();
  });

  it('sends pause changes and import errors, made outside the scheduler', async () => {
    s = await setup();
    const sse = await connect();
    await s.store.setPaused('other', true, 1);
    await s.store.setImportError('/dags/broken.ts', 'SyntaxError', 1);
    await s.store.setImportError('/dags/broken.ts', 'SyntaxError', 2); // same message: no event
    await s.store.clearImportError('/dags/broken.ts');
    s.server.events.nudge();
    const events = await sse.until((e) => e.event === 'import_errors');
    expect(events.map((e) => [e.event, data(e)])).toEqual([
      ['dag', { dag_id: 'other', is_paused: true, is_active: true }],
      ['import_errors', { files: ['/dags/broken.ts'] }],
    ]);
    await sse.cancel();
  });

  it('filters by dag_id and run_id', async () => {
    s = await setup();
    const byDag = await connect('?dag_id=other');
    const byRun = await connect('?dag_id=pipe&run_id=r2');
    const all = await connect();
    await triggerRun(s.store, 'pipe', { runId: 'r1' }, s.now);
    await triggerRun(s.store, 'pipe', { runId: 'r2' }, s.now);
    await triggerRun(s.store, 'other', { runId: 'o1' }, s.now);
    await s.runToEnd('pipe', 'r1');
    await s.runToEnd('pipe', 'r2');
    await s.runToEnd('other', 'o1');

    const otherEvents = await byDag.until(isRunEnd('o1'));
    expect(new Set(otherEvents.map((e) => data(e).dag_id))).toEqual(new Set(['other']));
    expect(timeline(otherEvents)).toEqual({ 'run o1': ['queued', 'running', 'success'], 'ti x[-1]': ['scheduled', 'queued', 'running', 'success'] });

    const r2Events = await byRun.until(isRunEnd('r2'));
    expect(new Set(r2Events.map((e) => `${data(e).dag_id}/${data(e).run_id}`))).toEqual(new Set(['pipe/r2']));
    expectPipeTimeline(r2Events, 'r2', /^\d+$/);

    const everything = await all.until(isRunEnd('o1'));
    expect(new Set(everything.map((e) => data(e).run_id))).toEqual(new Set(['r1', 'r2', 'o1']));
    for (const c of [byDag, byRun, all]) await c.cancel();
  });

  it('answers 401 without credentials, and 400 naming an unknown filter', async () => {
    s = await setup();
    const anon = await fetch(`${s.base}/api/v1/events`);
    expect(anon.status).toBe(401);
    expect((await anon.json()).error.code).toBe('UNAUTHENTICATED');
    const bad = await s.open('?dag=pipe');
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.details).toEqual([{ field: 'query.dag', reason: 'unknown field' }]);
    // A client that does not accept an event stream gets an answer, not a stream that never ends.
    const json = await s.open('', { accept: 'application/json' });
    expect(json.status).toBe(406);
    expect((await json.json()).error.message).toContain('Accept: text/event-stream');
  });

  it('shares one feed: two clients get every change, and the store is not read once per client', async () => {
    s = await setup();
    const one = await connect();
    const two = await connect();
    expect(s.server.events.stats().listeners).toBe(2);
    const before = s.server.events.stats();
    const ticksBefore = s.ticks;
    const { runId } = await triggerRun(s.store, 'pipe', { runId: 'r1' }, s.now);
    await s.runToEnd('pipe', runId);
    const [a, b] = [await one.until(isRunEnd(runId)), await two.until(isRunEnd(runId))];
    expect(b.map((e) => [e.event, e.id, e.data])).toEqual(a.map((e) => [e.event, e.id, e.data]));
    expectPipeTimeline(a, runId, /^\d+$/);
    const after = s.server.events.stats();
    const polls = after.polls - before.polls;
    // At most one read per tick that nudged the feed, however many clients listen.
    expect(polls).toBeGreaterThan(0);
    expect(polls).toBeLessThanOrEqual(s.ticks - ticksBefore);
    await one.cancel();
    await two.cancel();
  });

  it('resumes from Last-Event-ID, and sends reset when it cannot', async () => {
    s = await setup();
    const first = await connect();
    const { runId } = await triggerRun(s.store, 'pipe', { runId: 'r1' }, s.now);
    await s.tick();
    const seen = await first.until((e) => e.event === 'ti' && data(e).task_id === 'a' && data(e).state === 'queued');
    const last = first.lastEventId!;
    await first.cancel();

    await s.runToEnd('pipe', runId);
    // The same stream as one that never dropped: what came before `last`, then what was missed.
    const resumed = new SseReader(await s.open('', { 'last-event-id': last }));
    const rest = await resumed.until(isRunEnd(runId));
    expect(rest[0].event).not.toBe('ready');
    expectPipeTimeline([...seen, ...rest], runId, /^\d+$/);
    await resumed.cancel();

    // ?last_event_id= does the same, for a client that builds its own EventSource.
    const byQuery = new SseReader(await s.open(`?last_event_id=${last}`));
    expect(timeline(await byQuery.until(isRunEnd(runId)))).toEqual(timeline(rest));
    await byQuery.cancel();

    for (const id of ['999999999', 'not-a-cursor']) {
      const reset = new SseReader(await s.open('', { 'last-event-id': id }));
      const e = await reset.next();
      expect(e?.event).toBe('reset');
      expect(e?.id).toMatch(/^\d+$/);
      await reset.cancel();
    }
  });

  it('prunes the change log, and a client too far behind gets reset rather than a flood', async () => {
    s = await setup();
    const before = Number(await new ChangeLog(s.store).head());
    // 101,000 changes of a task that is not mapped, as the triggers would write them.
    await sql`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 101000)
      INSERT INTO change_event (kind, dag_id, run_id, task_id, map_index, state, try_number)
      SELECT 'ti', 'pipe', 'old', 't' || i, -1, 'success', 1 FROM n`.execute(s.store.db);
    const { n, lo, hi } = (await s.store.db
      .selectFrom('change_event')
      .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.min('id').as('lo'), eb.fn.max('id').as('hi')])
      .executeTakeFirstOrThrow()) as { n: number; lo: number; hi: number };
    expect(hi).toBe(before + 101_000);
    expect(n).toBeLessThanOrEqual(CHANGE_FEED_KEEP_ROWS + 1000);
    expect(lo).toBeGreaterThan(before + 1);

    const firstOf = async (lastEventId: string) => {
      const sse = new SseReader(await s!.open('', { 'last-event-id': lastEventId }));
      const e = await sse.next();
      await sse.cancel();
      return e!;
    };
    // Pruned: the changes after it are gone.
    expect((await firstOf(String(before))).event).toBe('reset');
    // Kept, but more than 5,000 behind: refetching is cheaper than replaying.
    expect((await firstOf(String(hi - 6000))).event).toBe('reset');
    // A few behind: replayed.
    const recent = await firstOf(String(hi - 3));
    expect(recent).toMatchObject({ event: 'ti', id: String(hi - 2) });
    expect(data(recent).task_id).toBe('t100998');
  });

  it('sends a comment heartbeat while nothing changes', async () => {
    s = await setup({ heartbeatMs: 50 });
    const sse = await connect();
    await expect(sse.next(400)).rejects.toBeInstanceOf(NoEvent);
    expect(sse.comments).toBeGreaterThan(0);
    await sse.cancel();
  });

  it('ends open streams when the server closes', async () => {
    s = await setup();
    const sse = await connect();
    const closed = s.server.close();
    expect(await sse.next(3000)).toBeUndefined();
    await closed;
  });
});

describe('change rows → events', () => {
  const row = (id: number, kind: ChangeRow['kind'], more: Partial<ChangeRow> = {}): ChangeRow => ({
    cursor: String(id),
    id,
    kind,
    dag_id: 'd',
    run_id: 'r',
    task_id: null,
    map_index: null,
    state: null,
    try_number: null,
    detail: null,
    ...more,
  });
  const fanned = (id: number, i: number, state: string) => row(id, 'ti', { task_id: 'fan', map_index: i, state, try_number: 1 });

  it('aggregates a mapped task, and gives each event an id no later than any change not yet sent', () => {
    const events = toEvents([fanned(11, 0, 'queued'), row(12, 'ti', { task_id: 'a', map_index: -1, state: 'running', try_number: 2 }), fanned(13, 1, 'queued'), fanned(14, 0, 'running'), row(15, 'run', { state: 'success' })], '10');
    expect(events.map((e) => [e.type, e.id, e.data])).toEqual([
      // Sent before the fan event, whose first change (11) is older: resuming from here replays 11.
      ['ti', '10', { dag_id: 'd', run_id: 'r', task_id: 'a', map_index: -1, state: 'running', try_number: 2 }],
      ['task', '14', { dag_id: 'd', run_id: 'r', task_id: 'fan', changed: 3, states: { queued: 2, running: 1 } }],
      ['run', '15', { dag_id: 'd', run_id: 'r', state: 'success' }],
    ]);
  });

  it('applies filters to DAG and run', () => {
    const [e] = toEvents([row(1, 'run', { state: 'queued' })], '0');
    expect(matchesFilter(e, {})).toBe(true);
    expect(matchesFilter(e, { dagId: 'd', runId: 'r' })).toBe(true);
    expect(matchesFilter(e, { runId: 'other' })).toBe(false);
    const [imp] = toEvents([row(2, 'import_error', { dag_id: null, run_id: null, state: 'set', detail: '/dags/x.ts' })], '1');
    expect(imp.data).toEqual({ files: ['/dags/x.ts'] });
    expect(matchesFilter(imp, { dagId: 'd' })).toBe(false);
  });
});

describe('GET /api/v1/events on Postgres', () => {
  it('streams a run in commit order to an API server that only polls, with (transaction, id) cursors that resume', async () => {
    s = await setup({ dialect: 'postgres', pollOnly: true });
    const sse = await connect();
    const { events, runId } = await pipeRunTimeline(sse);
    expectPipeTimeline(events, runId, /^\d+-\d+$/);
    const cut = events.findIndex((e) => e.event === 'task');
    await sse.cancel();
    const resumed = new SseReader(await s.open('', { 'last-event-id': events[cut].id! }));
    const rest = await resumed.until(isRunEnd(runId));
    expectPipeTimeline([...events.slice(0, cut + 1), ...rest], runId, /^\d+-\d+$/);
    await resumed.cancel();
  });
});
