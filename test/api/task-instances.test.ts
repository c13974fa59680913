import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LogChunk, Metrics, TaskInstance, TaskInstancePage, TaskSummary, TryList } from '../../src/api/schemas.js';
import { type ApiHarness, RUN1, seededApiHarness } from './support.js';

let h: ApiHarness;
beforeEach(async () => {
  h = await seededApiHarness();
});
afterEach(async () => h.close());

const TIS = `${RUN1}/taskInstances`;
const keys = (body: { items: { task_id: string; map_index: number }[] }) => body.items.map((t) => `${t.task_id}[${t.map_index}]`);

describe('GET …/taskInstances', () => {
  it('pages through instances by task and map index, leaving out removed placeholders', async () => {
    const r = await h.request('GET', `${TIS}?limit=2`, { as: 'viewer' });
    expect(r.status).toBe(200);
    TaskInstancePage.parse(r.body);
    expect(keys(r.body)).toEqual(['fit[0]', 'fit[1]']);
    expect(r.body.total).toBe(32);
    const last = await h.request('GET', `${TIS}?limit=2&offset=30`, { as: 'viewer' });
    expect(keys(last.body)).toEqual(['prep[-1]', 'report.publish[-1]']);
  });

  it('filters by state, task id and map index', async () => {
    const failed = await h.request('GET', `${TIS}?state=failed&limit=3`, { as: 'viewer' });
    expect(keys(failed.body)).toEqual(['fit[0]', 'fit[3]', 'fit[6]']);
    expect(failed.body.total).toBe(10);
    expect(failed.body.items[0]).toMatchObject({ failure_class: 'oom_killed', failure: expect.stringContaining('Out of memory'), item: { seed: 0 } });
    const removed = await h.request('GET', `${TIS}?state=removed`, { as: 'viewer' });
    expect(keys(removed.body)).toEqual(['fit[-1]']);
    const one = await h.request('GET', `${TIS}?task_id=fit&map_index=7`, { as: 'viewer' });
    expect(keys(one.body)).toEqual(['fit[7]']);
    expect(one.body.items[0].duration_ms).toBe(700);
    const two = await h.request('GET', `${TIS}?state=running&state=success&task_id=report.publish`, { as: 'viewer' });
    expect(keys(two.body)).toEqual(['report.publish[-1]']);
  });

  it('rejects a bad filter and answers 404 for an unknown run', async () => {
    const r = await h.request('GET', `${TIS}?state=sleeping&map_index=-2&limit=5000`, { as: 'viewer' });
    expect(r.status).toBe(400);
    expect(r.body.error.details.map((d: { field: string }) => d.field).sort()).toEqual(['query.limit', 'query.map_index', 'query.state']);
    expect((await h.request('GET', '/api/v1/dags/train/runs/nope/taskInstances', { as: 'viewer' })).status).toBe(404);
    expect((await h.request('GET', TIS, { as: 'anonymous' })).status).toBe(401);
  });
});

describe('GET …/taskInstances/{task_id}/summary', () => {
  it('aggregates a mapped task: counts, duration histogram, top errors', async () => {
    const r = await h.request('GET', `${TIS}/fit/summary?buckets=3`, { as: 'viewer' });
    expect(r.status).toBe(200);
    TaskSummary.parse(r.body);
    expect(r.body).toMatchObject({ task_id: 'fit', mapped: true, total: 30, counts: { success: 20, failed: 10 } });
    // Durations 0, 100, …, 2900 ms in three equal buckets.
    expect(r.body.duration).toMatchObject({ finished: 30, min_ms: 0, max_ms: 2900, mean_ms: 1450 });
    expect(r.body.duration.buckets).toEqual([
      { from_ms: 0, to_ms: 967, count: 10 },
      { from_ms: 967, to_ms: 1934, count: 10 },
      { from_ms: 1934, to_ms: 2901, count: 10 },
    ]);
    expect(r.body.top_errors).toEqual([
      { failure_class: 'oom_killed', failure: expect.stringContaining('Out of memory'), reason: 'exit code 137', count: 5 },
      { failure_class: 'oom_killed', failure: expect.stringContaining('Out of memory'), reason: 'used 2GiB of 1GiB', count: 5 },
    ]);
    const top1 = await h.request('GET', `${TIS}/fit/summary?top=1`, { as: 'viewer' });
    expect(top1.body.top_errors).toHaveLength(1);
    expect(top1.body.duration.buckets).toHaveLength(10);
  });

  it('summarises a task that is not mapped, and one with no durations yet', async () => {
    const r = await h.request('GET', `${TIS}/report.publish/summary`, { as: 'viewer' });
    expect(r.body).toMatchObject({ mapped: false, total: 1, counts: { running: 1 }, duration: { finished: 0, min_ms: null, buckets: [] }, top_errors: [] });
  });

  it('answers 404 for an unknown task and 400 for a bad bucket count', async () => {
    expect((await h.request('GET', `${TIS}/nope/summary`, { as: 'viewer' })).body.error.code).toBe('TASK_NOT_FOUND');
    expect((await h.request('GET', `${TIS}/fit/summary?buckets=0`, { as: 'viewer' })).status).toBe(400);
  });
});

describe('one task instance', () => {
  it('gets an instance; 404 for an unknown one; 400 for a bad map index', async () => {
    const r = await h.request('GET', `${TIS}/fit/4`, { as: 'viewer' });
    expect(r.status).toBe(200);
    TaskInstance.parse(r.body);
    expect(r.body).toMatchObject({ task_id: 'fit', map_index: 4, state: 'success', item: { seed: 4 } });
    const missing = await h.request('GET', `${TIS}/fit/99`, { as: 'viewer' });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('TASK_INSTANCE_NOT_FOUND');
    const bad = await h.request('GET', `${TIS}/fit/abc`, { as: 'viewer' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0].field).toBe('path.map_index');
  });

  it('lists the try history', async () => {
    const r = await h.request('GET', `${TIS}/prep/-1/tries`, { as: 'viewer' });
    TryList.parse(r.body);
    expect(r.body.items).toHaveLength(1);
    expect(r.body.items[0]).toMatchObject({ try_number: 1, state: 'success', duration_ms: 990, exit_code: 0, counts_against_budget: true });
    expect((await h.request('GET', `${TIS}/fit/0/tries`, { as: 'viewer' })).body.items).toEqual([]);
  });

  it('returns the result of a successful instance, 404 otherwise', async () => {
    const r = await h.request('GET', `${TIS}/prep/-1/result`, { as: 'viewer' });
    expect(r.body).toEqual({ state: 'success', result: { rows: 10 } });
    const none = await h.request('GET', `${TIS}/fit/0/result`, { as: 'viewer' });
    expect(none.status).toBe(404);
    expect(none.body.error.code).toBe('RESULT_NOT_FOUND');
  });

  it('marks an instance (op only) and wakes the scheduler', async () => {
    expect((await h.request('PATCH', `${TIS}/fit/0`, { as: 'viewer', body: { state: 'success' } })).status).toBe(403);
    const r = await h.request('PATCH', `${TIS}/fit/0`, { as: 'op', body: { state: 'success' } });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ updated: 1 });
    expect((await h.store.getTaskInstance({ dagId: 'train', runId: 'run1', taskId: 'fit', mapIndex: 0 }))?.state).toBe('success');
    expect(h.notified).toBe(1);
    expect((await h.request('PATCH', `${TIS}/fit/0`, { as: 'op', body: { state: 'queued' } })).status).toBe(400);
    expect((await h.request('PATCH', `${TIS}/fit/99`, { as: 'op', body: { state: 'failed' } })).status).toBe(404);
  });
});

describe('POST …/clear', () => {
  it('clears only failed tasks, with everything downstream', async () => {
    const r = await h.request('POST', `${RUN1}/clear`, { as: 'op', body: { task_ids: ['fit'], downstream: true, only_failed: true } });
    expect(r.status).toBe(200);
    expect(r.body.cleared.sort()).toEqual(['fit']);
    // fit's instances are gone but its placeholder, back to none; the run queues again only if it had finished.
    const fit = await h.store.listTaskInstances('train', 'run1', { taskId: 'fit' });
    expect(fit.map((t) => [t.map_index, t.state])).toEqual([[-1, 'none']]);
    expect(h.notified).toBe(1);
  });

  it('clears every task by default; refuses a viewer; 404 for an unknown task', async () => {
    expect((await h.request('POST', `${RUN1}/clear`, { as: 'viewer', body: {} })).status).toBe(403);
    const r = await h.request('POST', `${RUN1}/clear`, { as: 'op', body: {} });
    expect(r.body.cleared.sort()).toEqual(['fit', 'prep', 'report.publish']);
    const unknown = await h.request('POST', `${RUN1}/clear`, { as: 'op', body: { task_ids: ['nope'] } });
    expect(unknown.status).toBe(404);
    const bad = await h.request('POST', `${RUN1}/clear`, { as: 'op', body: { downstream: 'yes' } });
    expect(bad.body.error.details).toEqual([{ field: 'body.downstream', reason: 'must be boolean, not string' }]);
  });
});

describe('logs and metrics', () => {
  const LOG = `${TIS}/prep/-1/tries/1/logs`;

  it('reads byte ranges, never splitting a UTF-8 character', async () => {
    const all = await h.request('GET', LOG, { as: 'viewer' });
    LogChunk.parse(all.body);
    const text = 'line one\nline two: é ü 🚂\n';
    expect(all.body).toEqual({ text, offset: 0, next_offset: Buffer.byteLength(text), size: Buffer.byteLength(text), finished: true });
    // Read 1 byte past the start of the 4-byte locomotive: the range stops before it.
    const at = Buffer.from(text).indexOf(Buffer.from('🚂'));
    const part = await h.request('GET', `${LOG}?offset=0&length=${at + 1}`, { as: 'viewer' });
    expect(part.body.text).toBe('line one\nline two: é ü ');
    expect(part.body.next_offset).toBe(at);
    const rest = await h.request('GET', `${LOG}?offset=${part.body.next_offset}`, { as: 'viewer' });
    expect(rest.body.text).toBe('🚂\n');
    const past = await h.request('GET', `${LOG}?offset=10000`, { as: 'viewer' });
    expect(past.body).toMatchObject({ text: '', next_offset: 10000 });
  });

  it('reads a running try whose log does not exist yet as empty and unfinished', async () => {
    const r = await h.request('GET', `${TIS}/report.publish/-1/tries/1/logs`, { as: 'viewer' });
    expect(r.body).toEqual({ text: '', offset: 0, next_offset: 0, size: 0, finished: false });
  });

  it('answers 404 for a try that does not exist, 400 for a bad range', async () => {
    const r = await h.request('GET', `${TIS}/prep/-1/tries/2/logs`, { as: 'viewer' });
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe('TRY_NOT_FOUND');
    expect((await h.request('GET', `${LOG}?length=0`, { as: 'viewer' })).status).toBe(400);
    expect((await h.request('GET', `${LOG}?length=${2 * 1024 * 1024}`, { as: 'viewer' })).status).toBe(400);
  });

  it('returns metric series by name', async () => {
    const r = await h.request('GET', `${TIS}/prep/-1/tries/1/metrics`, { as: 'viewer' });
    Metrics.parse(r.body);
    expect(r.body.series.map((s: { name: string }) => s.name)).toEqual(['acc', 'loss']);
    expect(r.body.series[1].points.map((p: { step: number; value: number }) => [p.step, p.value])).toEqual([
      [1, 0.9],
      [2, 0.5],
    ]);
    const loss = await h.request('GET', `${TIS}/prep/-1/tries/1/metrics?name=loss`, { as: 'viewer' });
    expect(loss.body.series.map((s: { name: string }) => s.name)).toEqual(['loss']);
    expect((await h.request('GET', `${TIS}/prep/-1/tries/9/metrics`, { as: 'viewer' })).status).toBe(404);
  });
});
