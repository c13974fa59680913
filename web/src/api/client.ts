/**
 * The one way the UI talks to the API: JSON over fetch, with the session cookie, the CSRF
 * token on every state-changing request, and errors in the API's one format.
 */
import type { ErrorDetail } from './types.js';

export const API = '/api/v1';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: readonly ErrorDetail[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

let csrfToken: string | null = null;
const unauthorizedListeners = new Set<() => void>();

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** Called when a request answers 401: the session has ended. */
export function onUnauthorized(fn: () => void): () => void {
  unauthorizedListeners.add(fn);
  return () => unauthorizedListeners.delete(fn);
}

/** Path segments are encoded: run ids may contain `:` and `+`. */
export function path(strings: TemplateStringsArray, ...values: (string | number)[]): string {
  let out = strings[0];
  values.forEach((v, i) => (out += encodeURIComponent(String(v)) + strings[i + 1]));
  return out;
}

export function query(params: Record<string, string | number | boolean | undefined | (string | number)[]>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === '') continue;
    if (Array.isArray(v)) v.forEach((x) => q.append(k, String(x)));
    else q.append(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

export async function request<T>(method: string, url: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  try {
    return await send<T>(method, url, body, signal);
  } catch (e) {
    // The session's CSRF token changed (signed in again in another tab): fetch it and retry once.
    if (e instanceof ApiError && e.code === 'CSRF_FAILED' && method !== 'GET') {
      const me = await send<{ csrf_token: string | null }>('GET', '/auth/me');
      setCsrfToken(me.csrf_token);
      return send<T>(method, url, body, signal);
    }
    throw e;
  }
}

async function send<T>(method: string, url: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(`${API}${url}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin', signal });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError(0, 'NETWORK', 'the server cannot be reached; is trainyard still running?');
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const err = (json as { error?: { code: string; message: string; details?: ErrorDetail[] } } | undefined)?.error;
    const e = new ApiError(res.status, err?.code ?? `HTTP_${res.status}`, err?.message ?? `${method} ${url} answered ${res.status}`, err?.details ?? []);
    if (res.status === 401 && !url.startsWith('/auth/login')) unauthorizedListeners.forEach((fn) => fn());
    throw e;
  }
  return json as T;
}

const inFlight = new Map<string, Promise<unknown>>();
const prefetched = new Map<string, { at: number; promise: Promise<unknown> }>();
const PREFETCH_TTL_MS = 3000;

/**
 * A GET. Identical GETs in flight share one request; one started by `prefetch` moments ago is
 * taken over. A GET is never cancelled (another caller may share it): callers that no longer
 * want the answer ignore it.
 */
export function get<T>(url: string): Promise<T> {
  const early = prefetched.get(url);
  if (early) {
    prefetched.delete(url);
    if (Date.now() - early.at < PREFETCH_TTL_MS) return early.promise as Promise<T>;
  }
  const shared = inFlight.get(url);
  if (shared) return shared as Promise<T>;
  const p = request<T>('GET', url).finally(() => inFlight.delete(url));
  inFlight.set(url, p);
  return p;
}

/** Starts a GET that a component is about to make (while the session is checked, say). */
export function prefetch(url: string): void {
  if (prefetched.has(url) || inFlight.has(url)) return;
  const promise = request('GET', url);
  // A failed early request is not handed over (a 401 before signing in would stick).
  promise.catch(() => {
    if (prefetched.get(url)?.promise === promise) prefetched.delete(url);
  });
  prefetched.set(url, { at: Date.now(), promise });
}
