import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emailNotifier } from './email.js';
import { sendSafely } from './safe.js';
import { sendSmtp } from './smtp.js';
import { receivedMessages, startSmtpTestServer, type SmtpTestServer } from './smtp-test-server.js';
import type { Notification } from './types.js';

let server: SmtpTestServer;
beforeAll(async () => {
  server = await startSmtpTestServer();
}, 600_000);
afterAll(async () => {
  await server?.stop();
});

const n: Notification = {
  kind: 'task_failed',
  dagId: 'train',
  runId: 'scheduled__2026-11-20',
  taskId: 'evaluate',
  tryNumber: 3,
  state: 'failed',
  // A line that starts with a dot: dot-stuffing must bring it through intact.
  reason: 'exit code 1; last log line:\n.hidden file missing\n.',
  failureClass: 'user_error',
  at: Date.UTC(2026, 10, 21, 2),
  url: 'http://ui.example.com/dags/train/runs/scheduled__2026-11-20',
};

function decodeQp(s: string): string {
  const bytes: number[] = [];
  const text = s.replace(/=\r\n/g, '');
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '=' && /^[0-9A-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(...Buffer.from(text[i], 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

describe('emailNotifier (a real aiosmtpd server)', () => {
  it('delivers over plain SMTP with the headers, body and envelope intact', async () => {
    const notifier = emailNotifier({ host: server.host, port: server.port, from: 'Trainyard <trainyard@example.com>', to: ['ml-team@example.com', 'oncall@example.com'] });
    await notifier.send(n, { signal: new AbortController().signal });
    const m = receivedMessages(server).at(-1)!;
    expect(m.envelope).toMatchObject({ mailFrom: 'trainyard@example.com', rcptTos: ['ml-team@example.com', 'oncall@example.com'], tls: false, authenticated: false });
    expect(m.headers).toMatchObject({
      from: 'Trainyard <trainyard@example.com>',
      to: 'ml-team@example.com, oncall@example.com',
      subject: '[Trainyard] train: task evaluate failed on try 3 (run scheduled__2026-11-20)',
      'mime-version': '1.0',
      'content-type': 'text/plain; charset=utf-8',
      'content-transfer-encoding': '7bit',
      'x-trainyard-kind': 'task_failed',
      'x-trainyard-dag-id': 'train',
      'x-trainyard-run-id': 'scheduled__2026-11-20',
      'x-trainyard-task-id': 'evaluate',
    });
    expect(m.headers.date).toMatch(/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000$/);
    expect(m.headers['message-id']).toMatch(/^<[0-9a-f-]{36}@trainyard>$/);
    expect(m.body).toBe(
      [
        'Task evaluate failed on try 3 in DAG train.',
        '',
        'Reason: exit code 1; last log line:',
        '.hidden file missing',
        '.',
        'Failure: The task exited with an error (user_error)',
        'DAG: train',
        'Run: scheduled__2026-11-20',
        'Task: evaluate',
        'Try: 3',
        'State: failed',
        'At: 2026-11-21T02:00:00.000Z',
        'Link: http://ui.example.com/dags/train/runs/scheduled__2026-11-20',
        '',
      ].join('\r\n'),
    );
  });

  it('uses STARTTLS and AUTH (PLAIN and LOGIN) when secure, with non-ASCII text encoded', async () => {
    expect(server.ca).toContain('BEGIN CERTIFICATE');
    for (const authMethod of ['PLAIN', 'LOGIN'] as const) {
      const notifier = emailNotifier({
        host: server.host,
        port: server.port,
        secure: true,
        user: server.user,
        password: server.password,
        authMethod,
        tls: { ca: server.ca, servername: 'localhost' },
        from: 'trainyard@example.com',
        to: 'ops@example.com',
      });
      await notifier.send({ ...n, dagId: 'modèle', reason: 'échec: mémoire insuffisante' }, { signal: new AbortController().signal });
      const m = receivedMessages(server).at(-1)!;
      expect(m.envelope).toMatchObject({ tls: true, authenticated: true, login: server.user, rcptTos: ['ops@example.com'] });
      expect(m.headers.subject).toMatch(/^=\?UTF-8\?B\?/);
      const subject = m.headers.subject
        .split(/\s+/)
        .map((w) => Buffer.from(/^=\?UTF-8\?B\?(.*)\?=$/.exec(w)![1], 'base64').toString('utf8'))
        .join('');
      expect(subject).toBe('[Trainyard] modèle: task evaluate failed on try 3 (run scheduled__2026-11-20)');
      expect(m.headers['content-transfer-encoding']).toBe('quoted-printable');
      expect(decodeQp(m.body)).toContain('Reason: échec: mémoire insuffisante\r\n');
    }
  });

  it('reports a wrong password without showing it', async () => {
    const lines: string[] = [];
    const wrong = 'not-the-password-42';
    const notifier = emailNotifier({
      host: server.host,
      port: server.port,
      secure: true,
      user: server.user,
      password: wrong,
      tls: { ca: server.ca, servername: 'localhost' },
      from: 'trainyard@example.com',
      to: 'ops@example.com',
    });
    const before = receivedMessages(server).length;
    const out = await sendSafely(notifier, n, (l) => lines.push(l));
    expect(out.ok).toBe(false);
    expect(lines[0]).toMatch(new RegExp(`via email \\(smtp://127\\.0\\.0\\.1:${server.port} to ops@example.com\\) failed: SMTP authentication as 'trainyard' at 127\\.0\\.0\\.1:${server.port} failed: 535 `));
    expect(lines[0]).not.toContain(wrong);
    expect(lines[0]).not.toContain(Buffer.from(`\0trainyard\0${wrong}`).toString('base64'));
    expect(receivedMessages(server).length).toBe(before);
  });

  it('refuses an untrusted certificate, and a password over an unencrypted connection', async () => {
    const base = { host: server.host, port: server.port, from: 'a@example.com', to: ['b@example.com'] };
    await expect(sendSmtp({ ...base, secure: true }, { from: 'a@example.com', to: ['b@example.com'] }, 'Subject: x\r\n\r\nx\r\n')).rejects.toThrow(
      /SMTP connection to 127\.0\.0\.1:\d+ failed: .*(SELF_SIGNED|self-signed)/i,
    );
    await expect(
      sendSmtp({ ...base, user: 'trainyard', password: 'pw-never-sent' }, { from: 'a@example.com', to: ['b@example.com'] }, 'Subject: x\r\n\r\nx\r\n'),
    ).rejects.toThrow("SMTP: refusing to send the password for 'trainyard' to 127.0.0.1:" + server.port + ' unencrypted: set secure true (STARTTLS or TLS).');
  });

  it('fails fast on a closed port and validates addresses when built', async () => {
    const lines: string[] = [];
    const out = await sendSafely(emailNotifier({ host: '127.0.0.1', port: 1, from: 'a@example.com', to: 'b@example.com' }), n, (l) => lines.push(l), { timeoutMs: 5000 });
    expect(out).toMatchObject({ ok: false, error: 'SMTP connection to 127.0.0.1:1 failed: ECONNREFUSED' });
    expect(() => emailNotifier({ host: 'h', port: 25, from: 'not an address', to: 'b@example.com' })).toThrow(/from "not an address" is not an email address/);
    expect(() => emailNotifier({ host: 'h', port: 25, from: 'a@example.com', to: 'b@example.com\r\nBcc: c@example.com' })).toThrow(/is not an email address/);
  });
});
