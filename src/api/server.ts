import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import type { Hono, MiddlewareHandler } from 'hono';
import type { TrainyardConfig } from '../config.js';
import { TrainyardError } from '../core/errors.js';
import { createLogger, lineLogger } from '../observability/logger.js';
import type { HomeLayout } from '../scheduler/paths.js';
import { AuthStore } from '../store/auth-store.js';
import { ConfigStore } from '../store/config-store.js';
import type { Store } from '../store/store.js';
import { buildApp } from './app.js';
import { isLoopback } from './auth/authenticate.js';
import { buildOpenApi } from './openapi.js';
import { type AnyRoute, type ApiDeps, type AuthOptions, type SchedulerHandle } from './route.js';
import { authRoutes } from './routes/auth.js';
import { connectionRoutes } from './routes/connections.js';
import { dagRoutes } from './routes/dags.js';
import { gridRoutes } from './routes/grid.js';
import { ChangeFeed, type FeedOptions } from './events/feed.js';
import { eventRoutes } from './events/route.js';
import { poolRoutes } from './routes/pools.js';
import { assetRoutes } from './routes/assets.js';
import { backfillRoutes } from './routes/backfills.js';
import { runRoutes } from './routes/runs.js';
import { serviceRoutes } from './routes/service.js';
import { taskInstanceRoutes } from './routes/task-instances.js';
import { costRoutes } from './routes/cost.js';
import { metricRoutes } from './routes/metrics.js';
import { modelRoutes } from './routes/models.js';
import { userRoutes } from './routes/users.js';
import { variableRoutes } from './routes/variables.js';

export const DEFAULT_PORT = 8080;
export const DEFAULT_HOST = '127.0.0.1';
const DEFAULT_SESSION_TTL_MS = 12 * 3600_000;

export interface ApiServerOptions {
  readonly store: Store;
  readonly layout: HomeLayout;
  readonly config: TrainyardConfig;
  /** An in-process scheduler, woken after triggers, clears and marks. */
  readonly scheduler?: SchedulerHandle;
  readonly auth: AuthOptions;
  readonly log?: (line: string) => void;
  /** The clock; tests pass a fake one. */
  readonly now?: () => number;
  /** Serves the web UI's files for every path the API does not answer. */
  readonly web?: MiddlewareHandler;
  /** The `/events` feed: poll interval and batch (see FeedOptions), and the heartbeat. */
  readonly events?: FeedOptions & { readonly heartbeatMs?: number };
}

export interface ApiServer {
  /** The Hono app: `app.request('/api/v1/dags')` works without a socket, and a UI can add routes to it. */
  readonly app: Hono;
  readonly routes: readonly AnyRoute[];
  /** The process's one feed of state changes behind `/events`. */
  readonly events: ChangeFeed;
  /** Starts listening; resolves with the bound address. Refuses no-auth mode off loopback. */
  listen(port?: number, host?: string): Promise<{ host: string; port: number; url: string }>;
  /** Ends open streams and stops listening. */
  close(): Promise<void>;
}

/** Every route, in matching order. */
export function allRoutes(openApi: () => object): AnyRoute[] {
  return [...serviceRoutes(openApi), ...authRoutes(), ...dagRoutes, ...gridRoutes, ...runRoutes, ...backfillRoutes, ...taskInstanceRoutes, ...metricRoutes, ...modelRoutes, ...costRoutes, ...poolRoutes, ...assetRoutes, ...variableRoutes, ...connectionRoutes, ...userRoutes, ...eventRoutes];
}

/** Throws when no-auth mode would be reachable from other machines. */
export function assertAuthBinding(mode: AuthOptions['mode'], host: string): void {
  if (mode === 'none' && !isLoopback(host)) {
    throw new TrainyardError(
      'AUTH_REQUIRED',
      `refusing to serve the API without authentication on ${host}: anyone who can reach it would be an admin. Bind to 127.0.0.1 (--host 127.0.0.1), or drop --no-auth / TRAINYARD_AUTH=none`,
    );
  }
}

export function createApiServer(o: ApiServerOptions): ApiServer {
  const shutdown = new AbortController();
  const log = o.log ?? lineLogger(createLogger({ component: 'api-server', level: o.config.logLevel }), 'error');
  const events = new ChangeFeed(o.store, { ...o.events, log });
  const offTick = o.scheduler?.onTick?.(() => events.nudge());
  const deps: ApiDeps = {
    store: o.store,
    layout: o.layout,
    config: o.config,
    scheduler: o.scheduler,
    auth: { mode: o.auth.mode, secureCookies: o.auth.secureCookies ?? false, sessionTtlMs: o.auth.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS },
    authStore: new AuthStore(o.store),
    configStore: new ConfigStore(o.store),
    now: o.now ?? Date.now,
    shutdown: shutdown.signal,
    events,
    eventsHeartbeatMs: o.events?.heartbeatMs,
  };
  let doc: object | undefined;
  const routes = allRoutes(() => (doc ??= buildOpenApi(routes)));
  const app = buildApp(deps, routes, log, o.web);
  let server: Server | undefined;

  return {
    app,
    routes,
    events,
    async listen(port = DEFAULT_PORT, host = DEFAULT_HOST) {
      assertAuthBinding(deps.auth.mode, host);
      if (server) throw new Error('the API server is already listening');
      const s = createAdaptorServer({ fetch: app.fetch, overrideGlobalObjects: true }) as Server;
      await new Promise<void>((resolve, reject) => {
        const fail = (e: NodeJS.ErrnoException) => reject(e.code === 'EADDRINUSE' ? new TrainyardError('PORT_IN_USE', `${host}:${port} is already in use: stop what listens there, or pass --port (or set TRAINYARD_PORT) to use another port`) : e);
        s.once('error', fail);
        s.listen(port, host, () => {
          s.off('error', fail);
          resolve();
        });
      });
      server = s;
      const addr = s.address() as AddressInfo;
      const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      return { host: addr.address, port: addr.port, url: `http://${shown}:${addr.port}` };
    },
    async close() {
      shutdown.abort();
      offTick?.();
      events.close();
      const s = server;
      server = undefined;
      if (!s) return;
      await new Promise<void>((resolve) => {
        let done = false;
        s.close(() => {
          done = true;
          resolve();
        });
        // Streams end on the abort above; their connections close once idle. Whatever is
        // still open after a second is cut.
        const started = Date.now();
        const sweep = () => {
          if (done) return;
          if (Date.now() - started >= 1000) s.closeAllConnections();
          else {
            s.closeIdleConnections();
            setTimeout(sweep, 25).unref();
          }
        };
        sweep();
      });
    },
  };
}
