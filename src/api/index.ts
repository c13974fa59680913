/** The REST API: `createApiServer` for tests and embedding, `startApi` for processes. */
import type { MiddlewareHandler } from 'hono';
import type { Runtime } from '../app/runtime.js';
import { TrainyardError } from '../core/errors.js';
import { createApiServer, DEFAULT_HOST, DEFAULT_PORT, type ApiServer } from './server.js';
import type { AuthMode, SchedulerHandle } from './route.js';

export { createApiServer, assertAuthBinding, DEFAULT_HOST, DEFAULT_PORT, type ApiServer, type ApiServerOptions } from './server.js';
export { ensureAdmin, INITIAL_ADMIN } from './auth/admin.js';
export { ACCESS, type Access } from './auth/access.js';
export { ROLES, type Role } from './auth/roles.js';
export { buildOpenApi } from './openapi.js';
export { API_PREFIX } from './app.js';
export type { AuthMode, AuthOptions, SchedulerHandle } from './route.js';

export interface StartApiOptions {
  readonly port?: number;
  readonly host?: string;
  readonly scheduler?: SchedulerHandle;
  /** Default: TRAINYARD_AUTH (`none` turns authentication off), else password. */
  readonly auth?: AuthMode;
  readonly log?: (line: string) => void;
  /** The web UI's static files, served for every path the API does not answer. */
  readonly web?: MiddlewareHandler;
}

/** `none` when TRAINYARD_AUTH says so, else `password`; anything else is an error. */
export function authModeFromEnv(env: NodeJS.ProcessEnv = process.env): AuthMode {
  const raw = (env.TRAINYARD_AUTH ?? '').trim().toLowerCase();
  if (raw === '' || raw === 'password') return 'password';
  if (raw === 'none') return 'none';
  throw new TrainyardError('INVALID_CONFIG', `TRAINYARD_AUTH must be 'password' or 'none', not '${env.TRAINYARD_AUTH}'`);
}

/** The port: the option, else TRAINYARD_PORT, else 8080. */
export function portFromEnv(port: number | undefined, env: NodeJS.ProcessEnv = process.env): number {
  if (port !== undefined) return port;
  const raw = env.TRAINYARD_PORT;
  if (raw === undefined || raw === '') return DEFAULT_PORT;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new TrainyardError('INVALID_CONFIG', `TRAINYARD_PORT must be a port number (0–65535), not '${raw}'`);
  return n;
}

/** Starts the API over an open runtime (standalone, api-server). Resolves once it listens. */
export async function startApi(rt: Runtime, o: StartApiOptions = {}): Promise<{ server: ApiServer; url: string }> {
  const server = createApiServer({
    store: rt.store,
    layout: rt.layout,
    config: rt.config,
    scheduler: o.scheduler,
    auth: { mode: o.auth ?? authModeFromEnv() },
    log: o.log,
    web: o.web,
  });
  const { url } = await server.listen(portFromEnv(o.port), o.host ?? process.env.TRAINYARD_HOST ?? DEFAULT_HOST);
  return { server, url };
}
