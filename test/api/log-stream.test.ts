import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type SseEvent, SseReader } from './sse-reader.js';
import { type ApiHarness, RUN1, seededApiHarness } from './support.js';

let h: ApiHarness;
let base: string;
const KEY = { dagId: 'train', runId: 'run1', taskId: 'report.publish', mapIndex: -1, tryNumber: 1 };
const STREAM = `${RUN1}/taskInstances/report.publish/-1/tries/1/logs/stream`;
let logFile: string;

beforeEach(async () => {
  h = await seededApiHarness();
  logFile = h.layout.logPath(KEY);
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  base = (await h.server.listen(0, '127.0.0.1')).url;
});
afterEach(async () => {
  await h.server.close();
  await h.close();
});

const open = (url: string, headers: Record<string, string> = {}) => fetch(`${base}${url}`, { headers: { authorization: `Bearer ${h.tokens.viewer}`, ...headers } });

describe('GET …/logs/stream (server-sent events)', () => {
  it('sends log data as it is appended, and ends when the try finishes', async () => {
    const res = await open(STREAM);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const sse = new SseReader(res);

    fs.appendFileSync(logFile, 'epoch 1 loss 0.9\n');
    const first = await sse.next();
    expect(first).toMatchObject({ event: 'log', id: String(Buffer.byteLength('epoch 1 loss 0.9\n')) });
    expect(JSON.parse(first!.data)).toEqual({ text: 'epoch 1 loss 0.9\n', offset: 0, next_offset: 17 });

    fs.appendFileSync(logFile, 'epoch 2 loss 0.5 ✓\n');
    const second = JSON.parse((await sse.next())!.data);
    expect(second.text).toBe('epoch 2 loss 0.5 ✓\n');
    expect(second.offset).toBe(17);

    // The last line and the end of the try land together: the line still comes first.
    fs.appendFileSync(logFile, 'done\n');
    await h.store.updateTry(KEY, ['running'], { state: 'success', end_date: Date.now() });
    const events: SseEvent[] = [];
    for (let ev = await sse.next(); ev; ev = await sse.next()) events.push(ev);
    const text = events.filter((e) => e.event === 'log').map((e) => JSON.parse(e.data).text).join('');
    expect(text).toBe('done\n');
    const end = events[events.length - 1];
    expect(end.event).toBe('end');
    expect(JSON.parse(end.data)).toEqual({ state: 'success', next_offset: fs.statSync(logFile).size });
  });

  it('resumes from Last-Event-ID, and ends at once for a finished try', async () => {
    fs.writeFileSync(logFile, 'aaaa\nbbbb\n');
    await h.store.updateTry(KEY, ['running'], { state: 'failed', end_date: Date.now() });
    const sse = new SseReader(await open(STREAM, { 'last-event-id': '5' }));
    const ev = await sse.next();
    expect(JSON.parse(ev!.data)).toEqual({ text: 'bbbb\n', offset: 5, next_offset: 10 });
    const end = await sse.next();
    expect(end?.event).toBe('end');
    expect(JSON.parse(end!.data).state).toBe('failed');
    expect(await sse.next()).toBeUndefined();
    // ?offset= does the same without the header.
    const again = new SseReader(await open(`${STREAM}?offset=5`));
    expect(JSON.parse((await again.next())!.data).text).toBe('bbbb\n');
    await again.cancel();
  });

  it('needs credentials, and answers 404 (not a stream) for an unknown try', async () => {
    const anon = await fetch(`${base}${STREAM}`);
    expect(anon.status).toBe(401);
    expect((await anon.json()).error.code).toBe('UNAUTHENTICATED');
    const missing = await open(`${RUN1}/taskInstances/report.publish/-1/tries/7/logs/stream`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toContain('application/json');
  });

  it('ends open streams when the server closes', async () => {
    const sse = new SseReader(await open(STREAM));
    fs.appendFileSync(logFile, 'x\n');
    expect((await sse.next())?.event).toBe('log');
    const closed = h.server.close();
    expect(await sse.next(3000)).toBeUndefined();
    await closed;
  });
});
