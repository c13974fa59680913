/**
 * Where masking is applied outside the log writer: API responses, CLI output, errors.
 */
import type { MiddlewareHandler } from 'hono';
import { defaultMasker, type SecretMasker } from './mask.js';

/**
 * Hono middleware masking every JSON and plain-text response body (API answers, log chunks,
 * error bodies). Streams (`text/event-stream`) are left alone: they carry log text, which
 * is masked when it is written. Install it after the metrics middleware:
 * `app.use('/api/v1/*', maskResponses())`.
 */
export function maskResponses(masker: SecretMasker = defaultMasker): MiddlewareHandler {
  return async (c, next) => {
    await next();
    if (masker.size === 0) return;
    const type = c.res.headers.get('content-type') ?? '';
    if (!/^(application\/json|text\/plain)/i.test(type) || !c.res.body) return;
    const text = await c.res.text();
    const masked = masker.mask(text);
    const headers = new Headers(c.res.headers);
    headers.delete('content-length');
    c.res = new Response(masked, { status: c.res.status, statusText: c.res.statusText, headers });
  };
}

type Write = typeof process.stdout.write;

/**
 * Masks everything the process writes to stdout and stderr (the CLI: tables, `tasks logs`,
 * error messages). Each write is masked on its own. Returns a function that undoes it.
 */
export function maskProcessOutput(masker: SecretMasker = defaultMasker, streams: NodeJS.WriteStream[] = [process.stdout, process.stderr]): () => void {
  const originals = streams.map((s) => s.write);
  streams.forEach((s, i) => {
    const original = originals[i];
    s.write = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
      const text = typeof chunk === 'string' ? masker.mask(chunk) : chunk instanceof Uint8Array && masker.size ? masker.mask(Buffer.from(chunk).toString('utf8')) : chunk;
      return (original as (...a: unknown[]) => boolean).call(this, text, ...rest);
    } as Write;
  });
  return () => streams.forEach((s, i) => (s.write = originals[i]));
}
