import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ctx, dag, tpl } from '../src/index.js';
import { SensorExecutor } from '../src/executors/sensor/sensor-executor.js';
import { ScriptedExecutor } from './support/scripted-executor.js';
import { registerDag, type SchedulerHarness, schedulerHarness } from './support/harness.js';

let h: SchedulerHarness;
let ex: ScriptedExecutor;
let sensors: SensorExecutor;

afterEach(async () => {
  await sensors?.close();
  await h?.close();
});

/** Ticks until `done()` or the deadline; sensor events arrive in real time. */
async function tickUntil(done: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
    await h.tick(50);
  }
}

describe('sensors in the scheduler', () => {
  it('a waiting sensor is deferred, holds no slot, and lets downstream run once its file appears', async () => {
    ex = new ScriptedExecutor();
    sensors = new SensorExecutor();
    h = await schedulerHarness({ scripted: ex, sensor: sensors }, { parallelism: 1 });
    const dir = path.join(h.home, 'incoming');
    const d = dag('wait_for_data');
    const wait = d.sensor('wait', { check: { kind: 'file', path: tpl`${dir}/${ctx.ds}/*.csv` }, pokeInterval: '100ms', timeout: '1m' });
    d.command('train', { command: 'true' }).after(wait);
    d.command('other', { command: 'true' });
    await registerDag(h.store, d);
    const runId = await h.trigger('wait_for_data');
    await h.tick();
    await tickUntil(async () => (await h.tiStates('wait_for_data', runId)).wait === 'deferred');
    // parallelism 1, and the unrelated task still got its slot: the sensor holds none
    await tickUntil(async () => ex.live('other').length === 1);
    await tickUntil(async () => /no file matches/.test((await h.store.getTaskInstance({ dagId: 'wait_for_data', runId, taskId: 'wait', mapIndex: -1 }))!.reason ?? ''));
    ex.finish(ex.live('other')[0], h.now);
    const ds = new Date((await h.store.getRun('wait_for_data', runId))!.logical_date).toISOString().slice(0, 10);
    fs.mkdirSync(path.join(dir, ds), { recursive: true });
    fs.writeFileSync(path.join(dir, ds, 'part-0.csv'), 'x');
    await tickUntil(async () => ex.live('train').length === 1);
    expect((await h.tiStates('wait_for_data', runId)).wait).toBe('success');
  });

  it('a soft-fail sensor that times out is skipped, and so is its downstream', async () => {
    ex = new ScriptedExecutor();
    sensors = new SensorExecutor();
    h = await schedulerHarness({ scripted: ex, sensor: sensors });
    const d = dag('soft');
    const wait = d.sensor('wait', { check: { kind: 'file', path: '/nonexistent/never/*.csv' }, pokeInterval: '100ms', timeout: '400ms', softFail: true });
    d.command('train', { command: 'true' }).after(wait);
    await registerDag(h.store, d);
    const runId = await h.trigger('soft');
    await h.tick();
    await tickUntil(async () => (await h.runState('soft', runId)) === 'success');
    expect(await h.tiStates('soft', runId)).toEqual({ wait: 'skipped', train: 'skipped' });
  });

  it('rejects a timeout shorter than the poke interval when the DAG is built', () => {
    const d = dag('bad_sensor');
    d.sensor('wait', { check: { kind: 'time_delta', delta: '1h' }, pokeInterval: '30s', timeout: '10s' });
    expect(() => d.toSpec()).toThrow(/timeout 10s is shorter than pokeInterval 30s/);
  });
});
