import { afterEach, describe, expect, it } from 'vitest';
import { dag } from '../src/index.js';
import { ScriptedExecutor } from './support/scripted-executor.js';
import { registerDag, type SchedulerHarness, schedulerHarness } from './support/harness.js';
import { backfill } from '../src/scheduler/backfill.js';

let h: SchedulerHarness;
let ex: ScriptedExecutor;
const HOUR = 3_600_000;
const T0 = Date.parse('2026-03-01T00:00:00Z');

afterEach(async () => {
  await h?.close();
});

async function setup(now: number) {
  ex = new ScriptedExecutor();
  h = await schedulerHarness({ scripted: ex });
  h.now = now;
}

async function runs(dagId: string) {
  return (await h.store.listRuns({ dagId, limit: 10_000 })).map((r) => ({
    runId: r.run_id,
    type: r.run_type,
    start: new Date(r.data_interval_start).toISOString(),
    end: new Date(r.data_interval_end).toISOString(),
  }));
}

describe('scheduled runs on a fake clock', () => {
  it('catches up every missed interval, logical date = interval start', async () => {
    await setup(T0 + 3 * HOUR + 5 * 60_000);
    const d = dag('hourly', { schedule: '@hourly', startDate: '2026-03-01T00:00:00Z', catchup: true, maxActiveRuns: 1 });
    d.command('t', { command: 'true' });
    await registerDag(h.store, d);
    await h.tick();
    const created = (await runs('hourly')).reverse();
    expect(created.map((r) => [r.start, r.end])).toEqual([
      ['2026-03-01T00:00:00.000Z', '2026-03-01T01:00:00.000Z'],
      ['2026-03-01T01:00:00.000Z', '2026-03-01T02:00:00.000Z'],
      ['2026-03-01T02:00:00.000Z', '2026-03-01T03:00:00.000Z'],
    ]);
    expect(created[0].runId).toBe('scheduled__2026-03-01T00:00:00.000Z');
    expect((await h.store.getDag('hourly'))!.next_run_at).toBe(T0 + 4 * HOUR);
    // maxActiveRuns 1: one runs, the others wait
    expect((await h.store.listRuns({ dagId: 'hourly', states: ['running'] })).length).toBe(1);
    // an hour later, one more
    await h.tick(HOUR);
    expect(await runs('hourly')).toHaveLength(4);
  });

  it('without catch-up creates only the latest complete interval', async () => {
    await setup(T0 + 10 * HOUR + 60_000);
    const d = dag('nocatch', { schedule: '0 * * * *', startDate: '2026-03-01T00:00:00Z', catchup: false });
    d.command('t', { command: 'true' });
    await registerDag(h.store, d);
    await h.tick();
    expect((await runs('nocatch')).map((r) => r.start)).toEqual(['2026-03-01T09:00:00.000Z']);
  });

  it('a paused DAG gets no runs until unpaused', async () => {
    await setup(T0 + 2 * HOUR + 1);
    const d = dag('paused', { schedule: '@hourly', startDate: '2026-03-01T00:00:00Z', catchup: true });
    d.command('t', { command: 'true' });
    await registerDag(h.store, d);
    await h.store.setPaused('paused', true, h.now);
    await h.tick();
    expect(await runs('paused')).toHaveLength(0);
    await h.store.setPaused('paused', false, h.now);
    h.scheduler.notify();
    await h.tick();
    expect(await runs('paused')).toHaveLength(2);
  });

  it('stops at endDate, and interval schedules align to startDate', async () => {
    await setup(T0 + 48 * HOUR);
    const d = dag('every6h', { schedule: '6h', startDate: '2026-03-01T01:00:00Z', endDate: '2026-03-01T13:00:00Z', catchup: true });
    d.command('t', { command: 'true' });
    await registerDag(h.store, d);
    await h.tick();
    expect((await runs('every6h')).map((r) => r.start).reverse()).toEqual(['2026-03-01T01:00:00.000Z', '2026-03-01T07:00:00.000Z', '2026-03-01T13:00:00.000Z']);
  });

  it('a manual run of a scheduled DAG gets the latest complete interval', async () => {
    await setup(T0 + 5 * HOUR + 30 * 60_000);
    const d = dag('manual', { schedule: '@hourly', startDate: '2026-03-01T00:00:00Z' });
    d.command('t', { command: 'true' });
    await registerDag(h.store, d);
    await h.store.setPaused('manual', true, h.now);
    const runId = await h.trigger('manual');
    const run = await h.store.getRun('manual', runId);
    expect([run!.data_interval_start, run!.data_interval_end]).toEqual([T0 + 4 * HOUR, T0 + 5 * HOUR]);
  });

  it('rejects a bad cron expression, an unknown time zone, and endDate before startDate', () => {
    expect(() => dag('c', { schedule: '61 * * * *' }).toSpec()).toThrow(/minute field '61' is out of range 0-59/);
    expect(() => dag('z', { schedule: '@daily', timezone: 'Europe/Amsterdm' }).toSpec()).toThrow(/did you mean "Europe\/Amsterdam"/);
    expect(() => dag('e', { schedule: '@daily', startDate: '2026-02-01', endDate: '2026-01-01' }).toSpec()).toThrow(/endDate 2026-01-01 is before startDate 2026-02-01/);
  });

  it('backfills a range with its own active-run limit, reprocesses failed runs, and plans a dry run', async () => {
    await setup(Date.parse('2026-06-01T00:00:00Z'));
    const d = dag('daily', { schedule: '@daily', startDate: '2026-01-01', catchup: false });
    d.command('t', { command: 'true' });
    await registerDag(h.store, d);
    await h.store.setPaused('daily', true, h.now); // no scheduled runs in the way
    const req = { dagId: 'daily', from: Date.parse('2026-01-01T00:00:00Z'), to: Date.parse('2026-01-05T00:00:00Z'), reprocess: 'none' as const, maxActiveRuns: 2, reverse: true, dryRun: true, confirmed: false };
    const dry = await backfill(h.store, req, h.now);
    expect(dry.plan.map((p) => [new Date(p.logicalDate).toISOString().slice(0, 10), p.action])).toEqual([
      ['2026-01-05', 'create'], ['2026-01-04', 'create'], ['2026-01-03', 'create'], ['2026-01-02', 'create'], ['2026-01-01', 'create'],
    ]);
    expect(await h.store.listRuns({ dagId: 'daily' })).toHaveLength(0);
    await h.store.setPaused('daily', false, h.now);
    await backfill(h.store, { ...req, dryRun: false }, h.now);
    h.scheduler.notify();
    await h.tick();
    const running = (await h.store.listRuns({ dagId: 'daily', states: ['running'] })).filter((r) => r.run_type === 'backfill');
    // two at a time, newest first (the DAG's own scheduled run has a separate limit)
    expect(running.map((r) => r.run_id).sort()).toEqual(['backfill__2026-01-04T00:00:00.000Z', 'backfill__2026-01-05T00:00:00.000Z']);
    // fail one; reprocess=failed runs it again, skips the rest
    const [l] = ex.live().filter((x) => x.key.runId.startsWith('backfill__'));
    ex.finish(l, h.now, { outcome: 'failed' });
    await h.tick();
    const again = await backfill(h.store, { ...req, dryRun: false, reprocess: 'failed' }, h.now);
    expect(again.plan.filter((p) => p.action === 'rerun').map((p) => p.runId)).toEqual([l.key.runId]);
  });

  it('refuses more than 1,000 runs without confirmation', async () => {
    await setup(Date.parse('2026-06-01T00:00:00Z'));
    const d = dag('minutely', { schedule: '* * * * *', startDate: '2026-01-01' });
    d.command('t', { command: 'true' });
    await registerDag(h.store, d);
    const req = { dagId: 'minutely', from: Date.parse('2026-01-01T00:00:00Z'), to: Date.parse('2026-01-02T00:00:00Z'), reprocess: 'none' as const, maxActiveRuns: 2, reverse: false, dryRun: false, confirmed: false };
    await expect(backfill(h.store, req, h.now)).rejects.toThrow(/1441 runs \(more than 1000\).*--yes/);
    expect(await h.store.listRuns({ dagId: 'minutely' })).toHaveLength(0);
  });
});
