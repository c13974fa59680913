import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendSafely } from './safe.js';
import { slackNotifier } from './slack.js';
import type { Notification, Notifier } from './types.js';
import { webhookNotifier } from './webhook.js';

interface Received {
  method?: string;
  url?: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

let server: http.Server;
let base: string;
const received: Received[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ method: req.method, url: req.url, headers: req.headers, body });
      if (req.url?.startsWith('/hang')) return;
      if (req.url?.startsWith('/fail')) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('internal error at http://db:5432/?password=dbpass');
        return;
      }
      res.writeHead(req.url?.startsWith('/services') ? 200 : 204);
      res.end(req.url?.startsWith('/services') ? 'ok' : undefined);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const n: Notification = {
  kind: 'task_failed',
  dagId: 'train',
  runId: 'manual__1',
  taskId: 'fit',
  tryNumber: 1,
  state: 'failed',
  reason: 'exit code 2',
  failureClass: 'user_error',
  at: Date.UTC(2026, 10, 21, 12),
};

const signal = () => new AbortController().signal;

describe('webhookNotifier (a real local HTTP server)', () => {
  it('POSTs the notification as JSON with its headers', async () => {
    const notifier = webhookNotifier({ url: `${base}/hook?x=1`, headers: { authorization: 'Bearer tok-123456789' } });
    await notifier.send(n, { signal: signal() });
    const r = received.at(-1)!;
    expect(r.method).toBe('POST');
    expect(r.url).toBe('/hook?x=1');
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(r.headers.authorization).toBe('Bearer tok-123456789');
    const body = JSON.parse(r.body);
    expect(body).toMatchObject({
      version: 1,
      kind: 'task_failed',
      dagId: 'train',
      runId: 'manual__1',
      taskId: 'fit',
      tryNumber: 1,
      state: 'failed',
      reason: 'exit code 2',
      failureClass: 'user_error',
      at: n.at,
      time: '2026-11-21T12:00:00.000Z',
      subject: '[Trainyard] train: task fit failed on try 1 (run manual__1)',
    });
    expect(body.text).toContain('Reason: exit code 2');
  });
});

describe('slackNotifier (a real local HTTP server)', () => {
  it('posts an incoming-webhook payload with text, blocks and a link', async () => {
    const notifier = slackNotifier({ webhookUrl: `${base}/services/T000/B000/SECRETSECRETSECRET`, baseUrl: 'https://ui.example.com' });
    await notifier.send({ ...n, kind: 'run_failed', taskId: undefined, tryNumber: undefined, reason: 'task fit failed' }, { signal: signal() });
    const r = received.at(-1)!;
    expect(r.url).toBe('/services/T000/B000/SECRETSECRETSECRET');
    const body = JSON.parse(r.body);
    expect(body.text).toBe('[Trainyard] train: run manual__1 failed\n<https://ui.example.com/dags/train/runs/manual__1|Open in Trainyard>');
    expect(body.blocks[0]).toEqual({ type: 'section', text: { type: 'mrkdwn', text: ':x: *train*: run manual__1 failed' } });
    expect(body.blocks[1].fields.map((f: { text: string }) => f.text)).toEqual(['*DAG*\ntrain', '*Run*\nmanual__1', '*State*\nfailed', '*Failure class*\nuser_error']);
    expect(body.blocks[2]).toEqual({ type: 'section', text: { type: 'mrkdwn', text: '*Reason*\ntask fit failed' } });
    expect(notifier.target).toBe(`${base}/services/***`);
  });
});

describe('sendSafely', () => {
  it('reports a failing endpoint with the error and no secrets', async () => {
    const lines: string[] = [];
    const notifier = webhookNotifier({ url: `${base}/fail?token=topsecret1`, headers: { 'x-api-key': 'key-abcdef' } });
    const out = await sendSafely(notifier, n, (l) => lines.push(l));
    expect(out.ok).toBe(false);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe(
      `notification task_failed for train/manual__1/fit via webhook (${base}/fail?token=***) failed: ` +
        `webhook POST to ${base}/fail?token=*** answered 500: internal error at http://db:5432/?password=***`,
    );
    expect(lines[0]).not.toMatch(/topsecret1|dbpass|key-abcdef/);
  });

  it('gives up on a hung endpoint at its timeout and aborts the request', async () => {
    const fields: Record<string, unknown>[] = [];
    const log = { warn: (f: Record<string, unknown>) => fields.push(f) };
    const before = received.length;
    const started = Date.now();
    const out = await sendSafely(webhookNotifier({ url: `${base}/hang` }), n, log, { timeoutMs: 300 });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(out).toMatchObject({ ok: false });
    expect(out.error).toMatch(/failed: the request was aborted \(timeout\)|no answer within 300 ms/);
    expect(received.length).toBe(before + 1);
    expect(fields[0]).toMatchObject({ notifier: 'webhook', kind: 'task_failed', dag_id: 'train', run_id: 'manual__1', task_id: 'fit' });
  });

  it('survives a notifier that throws synchronously or never settles, and a logger that throws', async () => {
    const throwing: Notifier = {
      name: 'custom',
      target: 'nowhere',
      secrets: ['s3cr3t'],
      send: () => {
        throw new Error('bad config: s3cr3t');
      },
    };
    const out = await sendSafely(throwing, n, () => {
      throw new Error('logger down');
    });
    expect(out).toMatchObject({ ok: false, error: 'bad config: ***' });
    const never: Notifier = { name: 'never', target: 'x', send: () => new Promise(() => undefined) };
    const started = Date.now();
    expect(await sendSafely(never, n, undefined, { timeoutMs: 100 })).toMatchObject({ ok: false, error: 'no answer within 100 ms; gave up' });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('reports success', async () => {
    expect(await sendSafely(webhookNotifier({ url: `${base}/ok` }), n)).toMatchObject({ ok: true });
  });

  it('refuses bad URLs when built', () => {
    expect(() => webhookNotifier({ url: 'ftp://x' })).toThrow(/must be http/);
    expect(() => slackNotifier({ webhookUrl: 'nope' })).toThrow(/not an absolute URL/);
  });
});
