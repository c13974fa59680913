import { afterEach, describe, expect, it } from 'vitest';
import { assets, dag } from '../src/index.js';
import { ScriptedExecutor } from './support/scripted-executor.js';
import { registerDag, type SchedulerHarness, schedulerHarness } from './support/harness.js';

let h: SchedulerHarness;
let ex: ScriptedExecutor;
afterEach(async () => h?.close());

describe('data-aware scheduling', () => {
  it('a DAG on all(features, labels) runs once both were updated, and its context lists the events', async () => {
    ex = new ScriptedExecutor();
    h = await schedulerHarness({ scripted: ex });
    const producer = dag('producer');
    const f = producer.command('features', { command: 'true', outlets: ['s3://lake/features'] });
    producer.command('broken', { command: 'false', outlets: ['s3://lake/labels'] }).after(f);
    const consumer = dag('retrain', { schedule: assets.all('s3://lake/features', 's3://lake/labels') });
    consumer.command('train', { command: 'true' });
    await registerDag(h.store, producer);
    await registerDag(h.store, consumer);
    const producerRun = await h.trigger('producer');
    await h.tick();
    ex.finish(ex.live('features')[0], h.now);
    await h.tick();
    // the failed task's outlet is not updated
    ex.finish(ex.live('broken')[0], h.now, { outcome: 'failed' });
    await h.tick(1);
    await h.tick(1);
    expect(await h.store.listRuns({ dagId: 'retrain' })).toHaveLength(0);
    // an external system reports the labels
    await h.store.insertAssetEvents([{ uri: 's3://lake/labels', source: 'api', extra: { rows: 12 }, at: h.now + 5 }]);
    h.scheduler.notify();
    await h.tick(10);
    const runs = await h.store.listRuns({ dagId: 'retrain' });
    expect(runs.map((r) => r.run_type)).toEqual(['asset_triggered']);
    await h.tick();
    const [train] = ex.live('train');
    const events = JSON.parse(train.env.TRAINYARD_TRIGGERING_ASSET_EVENTS) as { uri: string; source: string }[];
    expect(events.map((e) => [e.uri, e.source])).toEqual([
      ['s3://lake/features', `producer/${producerRun}/features`],
      ['s3://lake/labels', 'api'],
    ]);
    // consumed: no second run without new events
    await h.tick(10);
    expect(await h.store.listRuns({ dagId: 'retrain' })).toHaveLength(1);
  });

  it('rejects a malformed outlet URI naming the task and the fix', () => {
    const d = dag('bad_outlet');
    d.command('t', { command: 'true', outlets: ['features daily'] });
    expect(() => d.toSpec()).toThrow(/task 't': outlets\[0\]: "features daily" is not an asset URI; use scheme:\/\/location/);
  });
});
