import { describe, expect, it } from 'vitest';
import { buildMessage, encodeWord, quotedPrintable } from './email.js';
import { formatNotification, uiLink } from './format.js';
import { redactText, redactUrl } from './redact.js';
import { slackPayload } from './slack.js';
import { dotStuff } from './smtp.js';
import type { Notification } from './types.js';

const AT = Date.UTC(2026, 10, 21, 2, 15);
const failed: Notification = {
  kind: 'task_failed',
  dagId: 'train',
  runId: 'scheduled__2026-11-20',
  taskId: 'evaluate',
  mapIndex: 3,
  tryNumber: 2,
  state: 'failed',
  reason: 'The container ran out of memory (limit 4Gi).',
  failureClass: 'oom_killed',
  at: AT,
  url: 'https://trainyard.example.com/dags/train/runs/scheduled__2026-11-20/tasks/evaluate/3',
};

describe('formatNotification', () => {
  it('gives a one-line subject and one fact per line', () => {
    const f = formatNotification(failed);
    expect(f.subject).toBe('[Trainyard] train: task evaluate[3] failed on try 2 (run scheduled__2026-11-20)');
    expect(f.text.split('\n')).toEqual([
      'Task evaluate[3] failed on try 2 in DAG train.',
      '',
      'Reason: The container ran out of memory (limit 4Gi).',
      expect.stringMatching(/^Failure: .+ \(oom_killed\)$/),
      'DAG: train',
      'Run: scheduled__2026-11-20',
      'Task: evaluate',
      'Map index: 3',
      'Try: 2',
      'State: failed',
      'At: 2026-11-21T02:15:00.000Z',
      `Link: ${failed.url}`,
      '',
    ]);
  });

  it('covers every kind, runs without tasks, and keeps the subject on one line', () => {
    const run = { dagId: 'd', runId: 'r', state: 'success', at: AT } as const;
    expect(formatNotification({ ...run, kind: 'run_success' }).subject).toBe('[Trainyard] d: run r succeeded');
    expect(formatNotification({ ...run, kind: 'run_failed', state: 'failed' }).subject).toBe('[Trainyard] d: run r failed');
    expect(formatNotification({ ...run, kind: 'deadline_missed', state: 'running', reason: 'must finish within 2h of its logical date' }).text).toContain(
      'Reason: must finish within 2h of its logical date',
    );
    expect(formatNotification({ ...run, kind: 'task_retry', taskId: 't', tryNumber: 1, state: 'up_for_retry' }).subject).toBe(
      '[Trainyard] d: task t will be retried after try 1 failed (run r)',
    );
    expect(formatNotification({ ...run, kind: 'task_skipped', taskId: 't', state: 'skipped' }).subject).toBe('[Trainyard] d: task t was skipped (run r)');
    expect(formatNotification({ ...run, kind: 'task_success', taskId: 'a\r\nBcc: x@y', state: 'success' }).subject).not.toMatch(/[\r\n]/);
  });

  it('links to the UI', () => {
    expect(uiLink('http://ui:8080/', { dagId: 'a b', runId: 'r/1' })).toBe('http://ui:8080/dags/a%20b/runs/r%2F1');
    expect(uiLink('http://ui:8080', { dagId: 'd', runId: 'r', taskId: 't', mapIndex: 2, tryNumber: 3 })).toBe('http://ui:8080/dags/d/runs/r/tasks/t/2?try=3');
  });
});

describe('redaction', () => {
  it('masks passwords, lone users, secret query values and webhook paths', () => {
    expect(redactUrl('https://user:pa55@example.com/x?token=abc&page=2')).toBe('https://user:***@example.com/x?token=***&page=2');
    expect(redactUrl('https://ghp_secret@example.com/')).toBe('https://***@example.com/');
    expect(redactUrl('https://hooks.slack.com/services/T000/B000/XXXXSECRET')).toBe('https://hooks.slack.com/services/***');
    expect(redactUrl('not a url')).toBe('***');
    expect(redactText('POST to http://h/x?api_key=k1 failed; password hunter2', ['hunter2'])).toBe('POST to http://h/x?api_key=*** failed; password ***');
  });
});

describe('slackPayload', () => {
  it('has a fallback text and blocks with the facts and a link built from the base URL', () => {
    const p = slackPayload({ ...failed, url: undefined, reason: 'a < b & c' }, 'https://ui.example.com');
    const link = 'https://ui.example.com/dags/train/runs/scheduled__2026-11-20/tasks/evaluate/3?try=2';
    expect(p.text).toBe(`[Trainyard] train: task evaluate[3] failed on try 2 (run scheduled__2026-11-20)\n<${link}|Open in Trainyard>`);
    const json = JSON.stringify(p.blocks);
    expect(json).toContain('a &lt; b &amp; c');
    expect(json).toContain('*Task*\\nevaluate[3]');
    expect(json).toContain(`<${link}|Open in Trainyard>`);
  });
});

describe('email encoding', () => {
  it('dot-stuffs and uses CRLF', () => {
    expect(dotStuff('a\n.b\n..c\r\nd')).toBe('a\r\n..b\r\n...c\r\nd\r\n');
  });

  it('encodes non-ASCII subjects and bodies', () => {
    expect(encodeWord('plain')).toBe('plain');
    expect(encodeWord('Modèle échoué')).toBe(`=?UTF-8?B?${Buffer.from('Modèle échoué').toString('base64')}?=`);
    expect(quotedPrintable('café = 1')).toBe('caf=C3=A9 =3D 1');
    const long = quotedPrintable('é'.repeat(40));
    expect(long.split('\n').every((l) => l.length <= 76)).toBe(true);
    const m = buildMessage({ from: 'a@x', to: ['b@y'], subject: 's', text: 'café\n', date: new Date(AT), messageId: '<1@t>' });
    expect(m).toBe(
      'From: a@x\r\nTo: b@y\r\nSubject: s\r\nDate: Sat, 21 Nov 2026 02:15:00 +0000\r\nMessage-ID: <1@t>\r\nMIME-Version: 1.0\r\n' +
        'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9\r\n',
    );
  });
});
