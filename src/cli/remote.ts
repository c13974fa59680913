import { TrainyardError } from '../core/errors.js';
import type { GlobalOptions } from './context.js';

/** A Trainyard API server the CLI talks to instead of the local store. */
export interface Remote {
  readonly url: string;
  readonly token?: string;
}

/** `--server`/`--token`, or TRAINYARD_SERVER/TRAINYARD_TOKEN; undefined means work on the local store. */
export function remoteOf(g: GlobalOptions, env: NodeJS.ProcessEnv = process.env): Remote | undefined {
  const url = g.server ?? env.TRAINYARD_SERVER;
  if (!url) return undefined;
  return { url: url.replace(/\/+$/, ''), token: g.token ?? env.TRAINYARD_TOKEN };
}

/** Calls the REST API; an error answer becomes a TrainyardError with the server's code, message and fields. */
export async function callApi<T = unknown>(remote: Remote, method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${remote.url}/api/v1${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(remote.token ? { authorization: `Bearer ${remote.token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new TrainyardError('SERVER_UNREACHABLE', `cannot reach the Trainyard server at ${remote.url} (${(e as Error).message}); check --server or TRAINYARD_SERVER`);
  }
  const text = await res.text();
  const data = text ? (JSON.parse(text) as T & { error?: { code: string; message: string; details?: { field: string; reason: string }[] } }) : (undefined as T);
  if (!res.ok) {
    const err = (data as { error?: { code: string; message: string; details?: { field: string; reason: string }[] } } | undefined)?.error;
    const details = err?.details?.map((d) => `${d.field}: ${d.reason}`).join('; ');
    const hint = res.status === 401 ? ' (pass an API token with --token or TRAINYARD_TOKEN)' : '';
    throw new TrainyardError(err?.code ?? `HTTP_${res.status}`, `${err?.message ?? `the server answered ${res.status}`}${details ? `: ${details}` : ''}${hint}`);
  }
  return data;
}
