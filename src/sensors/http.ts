import { DagValidationError } from '../core/errors.js';
import { redactUrl } from '../notify/redact.js';
import { formatDurationMs } from './options.js';
import { SensorFailed } from './errors.js';
import type { SensorCheck } from './types.js';

export interface HttpResponseInfo {
  readonly status: number;
  readonly headers: Headers;
}

export interface HttpSensorOptions {
  url: string;
  /** Default GET. */
  method?: string;
  headers?: Record<string, string>;
  /** A request body; an object is sent as JSON. */
  body?: string | Record<string, unknown>;
  /** Statuses that mean done (if responseCheck agrees); default any 2xx. */
  expectStatus?: number | readonly number[];
  /** Statuses that mean it never will be: the sensor fails at once. Default none. */
  failStatus?: readonly number[];
  /**
   * Decides from the body (parsed JSON when the response says it is JSON, else text) whether the
   * sensor is done. Return true when done.
   */
  responseCheck?: (body: unknown, response: HttpResponseInfo) => boolean | Promise<boolean>;
  /** One request's deadline. */
  timeoutMs: number;
  /** Bodies longer than this are cut before responseCheck sees them; default 1 MiB. */
  maxBodyBytes?: number;
}

/**
 * An HTTP check: done when the endpoint answers an expected status and responseCheck (if any)
 * says so. Network errors, timeouts and other statuses are "not yet", with the reason as detail.
 * The URL in details is redacted (no passwords or tokens).
 */
export function httpSensor(opts: HttpSensorOptions): SensorCheck {
  let url: URL;
  try {
    url = new URL(opts?.url);
  } catch {
    throw new DagValidationError('SENSOR_OPTION_INVALID', `httpSensor: url ${JSON.stringify(opts?.url)} is not an absolute URL such as "https://example.com/ready".`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new DagValidationError('SENSOR_OPTION_INVALID', `httpSensor: url must be http:// or https://, not ${url.protocol}//.`);
  }
  if (!Number.isFinite(opts.timeoutMs) || opts.timeoutMs <= 0) {
    throw new DagValidationError('SENSOR_OPTION_INVALID', `httpSensor: timeoutMs must be a positive number of milliseconds, not ${JSON.stringify(opts.timeoutMs)}.`);
  }
  const method = (opts.method ?? 'GET').toUpperCase();
  const expect = opts.expectStatus === undefined ? undefined : ([] as number[]).concat(opts.expectStatus as number | number[]);
  const shown = `${method} ${redactUrl(url)}`;
  const maxBody = opts.maxBodyBytes ?? 1 << 20;
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  let body: string | undefined;
  if (typeof opts.body === 'string') body = opts.body;
  else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
  }

  return async (ctx) => {
    const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(opts.timeoutMs)]);
    let res: Response;
    try {
      res = await fetch(url, { method, headers, body, signal, redirect: 'follow' });
    } catch (e) {
      if (ctx.signal.aborted) throw e;
      const why = (e as Error).name === 'TimeoutError' ? `no answer within ${formatDurationMs(opts.timeoutMs)}` : describeFetchError(e);
      return { done: false, detail: `${shown} failed: ${why}; checking again` };
    }
    const info: HttpResponseInfo = { status: res.status, headers: res.headers };
    if (opts.failStatus?.includes(res.status)) {
      await res.body?.cancel().catch(() => undefined);
      throw new SensorFailed(`${shown} answered ${res.status}, which is listed in failStatus: the sensor will not wait for it any longer.`, { status: res.status });
    }
    const statusOk = expect ? expect.includes(res.status) : res.status >= 200 && res.status < 300;
    if (!statusOk) {
      await res.body?.cancel().catch(() => undefined);
      return { done: false, detail: `${shown} answered ${res.status}, waiting for ${expect ? expect.join(' or ') : '2xx'}` };
    }
    if (!opts.responseCheck) {
      await res.body?.cancel().catch(() => undefined);
      return { done: true, value: { status: res.status } };
    }
    let text: string;
    try {
      text = await readText(res, maxBody);
    } catch (e) {
      if (ctx.signal.aborted) throw e;
      return { done: false, detail: `${shown} answered ${res.status} but its body could not be read: ${describeFetchError(e)}` };
    }
    const isJson = /\bjson\b/i.test(res.headers.get('content-type') ?? '');
    let parsed: unknown = text;
    if (isJson) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    if (await opts.responseCheck(parsed, info)) return { done: true, value: { status: res.status } };
    return { done: false, detail: `${shown} answered ${res.status}, but responseCheck says not yet` };
  };
}

async function readText(res: Response, limit: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size >= limit) {
      await reader.cancel().catch(() => undefined);
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

function describeFetchError(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return `${cause.code}${cause.message ? ` (${redactInline(cause.message)})` : ''}`;
  return redactInline((e as Error).message ?? String(e));
}

function redactInline(s: string): string {
  return s.replace(/\bhttps?:\/\/[^\s"']+/g, (m) => redactUrl(m));
}
