import { Writable } from 'node:stream';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { SecretMasker } from './mask.js';
import { maskProcessOutput, maskResponses } from './redact-output.js';

describe('masking outside the log writer', () => {
  it('masks JSON and text API responses, and leaves event streams alone', async () => {
    const masker = new SecretMasker(['conn-password-9']);
    const app = new Hono();
    app.use('*', maskResponses(masker));
    app.get('/json', (c) => c.json({ extra: { note: 'uses conn-password-9' } }));
    app.get('/err', (c) => c.json({ error: { message: 'login failed for conn-password-9' } }, 500));
    app.get('/sse', (c) => c.body('data: conn-password-9\n\n', 200, { 'content-type': 'text/event-stream' }));
    const json = await app.request('/json');
    expect(await json.json()).toEqual({ extra: { note: 'uses ***' } });
    const err = await app.request('/err');
    expect(err.status).toBe(500);
    expect(await err.text()).toBe('{"error":{"message":"login failed for ***"}}');
    expect(await (await app.request('/sse')).text()).toContain('conn-password-9');
  });

  it('masks what the CLI writes, and can be undone', () => {
    const masker = new SecretMasker(['cli-secret-7']);
    const seen: string[] = [];
    const out = new Writable({
      write(chunk: Buffer, _e, cb) {
        seen.push(chunk.toString());
        cb();
      },
    }) as unknown as NodeJS.WriteStream;
    const undo = maskProcessOutput(masker, [out]);
    out.write('token cli-secret-7\n');
    out.write(Buffer.from('buffer cli-secret-7\n'));
    undo();
    out.write('after cli-secret-7\n');
    expect(seen).toEqual(['token ***\n', 'buffer ***\n', 'after cli-secret-7\n']);
  });
});
