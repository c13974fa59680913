/**
 * A small HTTP client for the few API calls the executor makes (pods, their logs, events),
 * over one keep-alive agent. Credentials come from `@kubernetes/client-node`'s KubeConfig
 * (client certificates, tokens, exec and auth-provider plugins, in-cluster service
 * accounts). It adds what the generated client lacks: a client-side QPS/burst limit,
 * retries with backoff on 429, 5xx, conflicts and dropped connections (honouring
 * Retry-After), and raw streams for watches and follow-logs.
 */
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import type { KubeConfig } from '@kubernetes/client-node';
import type { StatusJson } from './pod-json.js';
import { parseRetryAfter, RateLimiter, retryDelayMs } from './rate-limit.js';

/** An error answer of the API server. `reason` is the Status reason (AlreadyExists, NotFound, Expired...). */
export class KubeApiError extends Error {
  readonly code = 'KUBE_API';
  constructor(
    readonly status: number,
    readonly reason: string | undefined,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

export type Query = Readonly<Record<string, string | number | boolean | undefined>>;

export interface RequestOptions {
  readonly query?: Query;
  readonly body?: unknown;
  /** Content type of a PATCH (default merge patch). */
  readonly contentType?: string;
  /** Retry on 429/5xx/conflict/connection errors (default true). */
  readonly retry?: boolean;
  /** Give up retrying after this many ms (default 60 s). */
  readonly retryBudgetMs?: number;
  readonly signal?: AbortSignal;
}

export interface StreamHandle {
  /** Resolves when the stream ends (the server closed it, or abort()); rejects on a connection error. */
  readonly done: Promise<void>;
  abort(): void;
}

export interface ApiClientOptions {
  readonly qps: number;
  readonly burst: number;
  readonly now?: () => number;
  /** Per-request timeout for non-streaming calls (default 30 s). */
  readonly timeoutMs?: number;
}

const RETRY_NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'UND_ERR_SOCKET', 'ECONNABORTED', 'EHOSTUNREACH']);
const HEADER_REFRESH_MS = 60_000;

/** Whether an error is worth another try of the same request. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof KubeApiError) {
    if (err.status === 429 || err.status === 500 || err.status === 502 || err.status === 503 || err.status === 504) return true;
    return err.status === 409 && err.reason !== 'AlreadyExists';
  }
  const code = (err as NodeJS.ErrnoException)?.code;
  return (code !== undefined && RETRY_NETWORK_CODES.has(code)) || /socket hang up|timed out/i.test(String((err as Error)?.message));
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });

export class KubeApiClient {
  readonly server: URL;
  private readonly kc: KubeConfig;
  private readonly limiter: RateLimiter;
  private readonly now: () => number;
  private readonly timeoutMs: number;
  private agent?: http.Agent;
  /** Long-lived streams (watches, follow-logs) get their own sockets, so they never queue requests. */
  private streamAgent?: http.Agent;
  private headers: Record<string, string> = {};
  private headersAt = -Infinity;
  /** Requests sent, for figures. */
  requests = 0;

  /** Requests the client-side rate limit delayed, for figures. */
  get limiterWaits(): number {
    return this.limiter.waits;
  }

  constructor(kc: KubeConfig, opts: ApiClientOptions) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster; set its current-context or pass the context option');
    this.kc = kc;
    this.server = new URL(cluster.server);
    this.now = opts.now ?? Date.now;
    this.limiter = new RateLimiter(opts.qps, opts.burst, this.now);
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  /** TLS material and auth headers, refreshed every minute (tokens from exec plugins and files expire). */
  private async prepare(): Promise<void> {
    if (this.now() - this.headersAt < HEADER_REFRESH_MS && this.agent) return;
    const opts: https.RequestOptions = {};
    await this.kc.applyToHTTPSOptions(opts);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.headers ?? {})) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : String(v);
    if (opts.auth) headers.Authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
    this.headers = headers;
    this.headersAt = this.now();
    if (!this.agent) {
      // One secure context for every connection: building it (parsing keys and certificates)
      // per connection costs more CPU than the handshake itself.
      const secureContext = tls.createSecureContext({ ca: opts.ca, cert: opts.cert, key: opts.key, pfx: opts.pfx, passphrase: opts.passphrase });
      const agentOpts = { keepAlive: true, maxSockets: 64, secureContext, servername: opts.servername, ...(opts.rejectUnauthorized !== undefined ? { rejectUnauthorized: opts.rejectUnauthorized } : {}) };
      this.agent = this.server.protocol === 'http:' ? new http.Agent({ keepAlive: true, maxSockets: 64 }) : new https.Agent(agentOpts as https.AgentOptions);
      const streamOpts = { ...agentOpts, maxSockets: Infinity };
      this.streamAgent = this.server.protocol === 'http:' ? new http.Agent({ keepAlive: true }) : new https.Agent(streamOpts as https.AgentOptions);
    }
  }

  private url(path: string, query?: Query): URL {
    const u = new URL(path, this.server);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) u.searchParams.set(k, String(v));
    return u;
  }

  /** One HTTP exchange, no retries. Resolves with the parsed JSON body (or text). */
  private async once<T>(method: string, path: string, o: RequestOptions): Promise<T> {
    await this.prepare();
    await this.limiter.acquire();
    this.requests++;
    const u = this.url(path, o.query);
    const body = o.body === undefined ? undefined : typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
    const mod = u.protocol === 'http:' ? http : https;
    return new Promise<T>((resolve, reject) => {
      const req = mod.request(
        u,
        {
          method,
          agent: this.agent,
          headers: {
            ...this.headers,
            Accept: 'application/json',
            ...(body !== undefined ? { 'Content-Type': o.contentType ?? 'application/json', 'Content-Length': Buffer.byteLength(body) } : {}),
          },
          timeout: this.timeoutMs,
          signal: o.signal,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) {
              const ct = String(res.headers['content-type'] ?? '');
              if (ct.includes('json')) {
                try {
                  resolve(JSON.parse(text) as T);
                } catch (err) {
                  reject(err);
                }
              } else resolve(text as T);
              return;
            }
            let s: StatusJson = {};
            try {
              s = JSON.parse(text) as StatusJson;
            } catch {
              /* not a Status */
            }
            const retryAfter = parseRetryAfter(res.headers['retry-after'] as string | undefined, this.now()) ?? (s.details?.retryAfterSeconds ? s.details.retryAfterSeconds * 1000 : undefined);
            reject(new KubeApiError(status, s.reason, `${method} ${u.pathname}: HTTP ${status}${s.reason ? ` ${s.reason}` : ''}: ${s.message ?? text.slice(0, 300)}`, retryAfter));
          });
        },
      );
      req.on('timeout', () => req.destroy(Object.assign(new Error(`${method} ${u.pathname} timed out after ${this.timeoutMs} ms`), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  /** A request with retries (429, 5xx, conflicts other than AlreadyExists, dropped connections). */
  async request<T>(method: string, path: string, o: RequestOptions = {}): Promise<T> {
    const start = this.now();
    const budget = o.retryBudgetMs ?? 60_000;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once<T>(method, path, o);
      } catch (err) {
        if (o.retry === false || !isRetryable(err) || o.signal?.aborted) throw err;
        const delay = retryDelayMs(attempt, { retryAfterMs: err instanceof KubeApiError ? err.retryAfterMs : undefined });
        if (this.now() - start + delay > budget) throw err;
        await sleep(delay, o.signal);
      }
    }
  }

  /**
   * A streaming GET (a watch, or follow-logs). `onData` gets the body as text chunks. An
   * error status rejects `done` with a KubeApiError.
   */
  async stream(path: string, query: Query, onData: (chunk: string) => void): Promise<StreamHandle> {
    await this.prepare();
    await this.limiter.acquire();
    this.requests++;
    const u = this.url(path, query);
    const mod = u.protocol === 'http:' ? http : https;
    const controller = new AbortController();
    const done = new Promise<void>((resolve, reject) => {
      const req = mod.request(u, { method: 'GET', agent: this.streamAgent, headers: { ...this.headers, Accept: 'application/json' }, signal: controller.signal }, (res) => {
        const status = res.statusCode ?? 0;
        res.setEncoding('utf8');
        if (status < 200 || status >= 300) {
          let text = '';
          res.on('data', (c: string) => (text += c));
          res.on('end', () => {
            let s: StatusJson = {};
            try {
              s = JSON.parse(text) as StatusJson;
            } catch {
              /* not a Status */
            }
            reject(new KubeApiError(status, s.reason, `GET ${u.pathname}: HTTP ${status}${s.reason ? ` ${s.reason}` : ''}: ${s.message ?? text.slice(0, 300)}`));
          });
          res.on('error', reject);
          return;
        }
        res.on('data', (c: string) => {
          try {
            onData(c);
          } catch (err) {
            // A malformed chunk ends this stream; the caller reconnects.
            reject(err);
            controller.abort();
          }
        });
        res.on('end', () => resolve());
        res.on('close', () => resolve());
        res.on('error', (err) => (controller.signal.aborted ? resolve() : reject(err)));
      });
      req.on('error', (err) => (controller.signal.aborted ? resolve() : reject(err)));
      req.end();
    });
    return { done, abort: () => controller.abort() };
  }

  /** Frees the keep-alive sockets. */
  close(): void {
    this.agent?.destroy();
    this.streamAgent?.destroy();
  }
}
