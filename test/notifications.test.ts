import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dag } from '../src/index.js';
import { Scheduler } from '../src/scheduler/scheduler.js';
import { HomeLayout } from '../src/scheduler/paths.js';
import { ScriptedExecutor } from './support/scripted-executor.js';
import { registerDag, type SchedulerHarness, schedulerHarness } from './support/harness.js';

let h: SchedulerHarness;
let ex: ScriptedExecutor;
let server: http.Server;
let received: { kind: string; taskId?: string; reason?: string; state: string }[];
let url: string;

beforeEach(async () => {
  received = [];
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      received.push(JSON.parse(body).notification ?? JSON.parse(body));
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
});

afterEach(async () => {
  await h?.close();
  await new Promise((r) => server.close(r));
});

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
}

describe('notifications and deadlines', () => {
  it('posts task and run failures to a webhook, and a failing webhook never stalls the scheduler', async () => {
    ex = new ScriptedExecutor();
    h = await schedulerHarness({ scripted: ex });
    const d = dag('notified', { notify: { task_failed: [{ kind: 'webhook', url }, { kind: 'webhook', url: 'http://127.0.0.1:9/closed' }], run_failed: [{ kind: 'webhook', url }] } });
    d.command('train', { command: 'false' });
    await registerDag(h.store, d);
    const runId = await h.trigger('notified');
    await h.tick();
    ex.finish(ex.live('train')[0], h.now, { outcome: 'failed' });
    await h.tick();
    expect(await h.runState('notified', runId)).toBe('failed');
    await until(() => received.length >= 2);
    expect(received.map((n) => n.kind).sort()).toEqual(['run_failed', 'task_failed']);
    expect(received.find((n) => n.kind === 'task_failed')).toMatchObject({ taskId: 'train', state: 'failed' });
  });

  it('a missed run deadline fires exactly once, even across a scheduler restart', async () => {
    ex = new ScriptedExecutor();
    h = await schedulerHarness({ scripted: ex });
    const d = dag('late', { deadline: { finishWithin: '1h', from: 'queued_at' }, notify: { deadline_missed: [{ kind: 'webhook', url }] } });
    d.command('slow', { command: 'sleep', startWithin: '10m', pool: 'tiny' });
    await h.store.upsertPool('tiny', 0, null); // the task can never start: its start deadline is missed too
    await registerDag(h.store, d);
    await h.trigger('late');
    await h.tick();
    await h.tick(10 * 60_000 - 1);
    expect(received).toHaveLength(0);
    await h.tick(1);
    await until(() => received.length >= 1);
    expect(received[0]).toMatchObject({ kind: 'deadline_missed', taskId: 'slow' });
    await h.tick(50 * 60_000);
    await h.tick(60_000);
    await h.tick(60_000);
    await until(() => received.length >= 2);
    await new Promise((r) => setTimeout(r, 200));
    expect(received.map((n) => n.reason)).toEqual([
      "task 'slow' did not start within 10m of the run's start",
      'the run did not finish within 1h of its queue time',
    ]);
    // A second scheduler on the same store does not fire them again.
    const again = new Scheduler({ store: h.store, executors: { scripted: new ScriptedExecutor() }, defaultExecutor: 'scripted', layout: new HomeLayout(h.home), parallelism: 4, killGraceMs: 10, resultLimitBytes: 1000, freeRetryCap: 1, schedulerId: 'second', syncIntervalMs: 0 });
    await h.store.releaseRuns('test');
    await again.tick(h.now + 60_000);
    await again.tick(h.now + 120_000);
    await new Promise((r) => setTimeout(r, 200));
    expect(received).toHaveLength(2);
  });
});
