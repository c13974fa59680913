import type { Context } from 'hono';
import type { z } from 'zod';
import type { TrainyardConfig } from '../config.js';
import type { HomeLayout } from '../scheduler/paths.js';
import type { AuthStore } from '../store/auth-store.js';
import type { ConfigStore } from '../store/config-store.js';
import type { Store } from '../store/store.js';
import type { Principal } from './auth/roles.js';
import type { ChangeFeed } from './events/feed.js';

export type Method = 'get' | 'post' | 'patch' | 'put' | 'delete';

/** How the API authenticates: users with passwords and tokens, or nobody (loopback only). */
export type AuthMode = 'password' | 'none';

export interface AuthOptions {
  readonly mode: AuthMode;
  /** Add `Secure` to the session cookie (behind TLS). Default: when the request says https. */
  readonly secureCookies?: boolean;
  /** How long a login session lasts. Default 12 h. */
  readonly sessionTtlMs?: number;
}

/** Something to wake when the store changed under it (an in-process scheduler). */
export interface SchedulerHandle {
  notify(): void;
  /** Called after each tick has committed (an in-process scheduler): the event feed reads at once. */
  onTick?(listener: () => void): () => void;
}

/** What handlers work with. */
export interface ApiDeps {
  readonly store: Store;
  readonly layout: HomeLayout;
  readonly config: TrainyardConfig;
  readonly scheduler?: SchedulerHandle;
  readonly auth: Required<AuthOptions>;
  readonly authStore: AuthStore;
  readonly configStore: ConfigStore;
  readonly now: () => number;
  /** Aborted when the server closes: ends open streams. */
  readonly shutdown: AbortSignal;
  /** The process's one feed of state changes, shared by every `/events` client. */
  readonly events: ChangeFeed;
  /** Comment heartbeats of `/events`; default 15 s. */
  readonly eventsHeartbeatMs?: number;
}

export interface RouteContext<P, Q, B> {
  readonly c: Context;
  readonly params: P;
  readonly query: Q;
  readonly body: B;
  readonly deps: ApiDeps;
  /** Undefined only on public routes. */
  readonly principal: Principal | undefined;
  /** The request's time, epoch ms. */
  readonly now: number;
}

type Out<T> = T extends z.ZodType ? z.output<T> : undefined;

/**
 * One endpoint: its path (OpenAPI form, under /api/v1), the zod schemas that validate its
 * input and describe its output, and its handler. The handler returns the JSON body, or a
 * Response for anything else (a stream).
 */
export interface RouteDef<P extends z.ZodType | undefined = z.ZodType | undefined, Q extends z.ZodType | undefined = z.ZodType | undefined, B extends z.ZodType | undefined = z.ZodType | undefined> {
  readonly method: Method;
  readonly path: string;
  readonly summary: string;
  readonly description?: string;
  readonly tag: string;
  readonly params?: P;
  readonly query?: Q;
  readonly body?: B;
  readonly response?: z.ZodType;
  /** Success status; default 200. */
  readonly status?: 200 | 201 | 204;
  /** Error statuses this route answers beyond the usual ones, with what they mean (for the OpenAPI document). */
  readonly errors?: Readonly<Record<number, string>>;
  /** Content type of the success response; default application/json. */
  readonly produces?: 'application/json' | 'text/event-stream';
  readonly handler: (ctx: RouteContext<Out<P>, Out<Q>, Out<B>>) => Promise<unknown>;
}

export type AnyRoute = RouteDef<z.ZodType | undefined, z.ZodType | undefined, z.ZodType | undefined>;

/** Declares a route with its handler's input types inferred from the schemas. */
export function route<P extends z.ZodType | undefined = undefined, Q extends z.ZodType | undefined = undefined, B extends z.ZodType | undefined = undefined>(
  def: RouteDef<P, Q, B>,
): AnyRoute {
  return def as unknown as AnyRoute;
}

/** `GET /dags/{dag_id}`: the key of a route in the access table. */
export function routeKey(r: Pick<AnyRoute, 'method' | 'path'>): string {
  return `${r.method.toUpperCase()} ${r.path}`;
}

/** `/dags/{dag_id}` → `/dags/:dag_id`. */
export function honoPath(path: string): string {
  return path.replaceAll(/\{([a-z_]+)\}/g, ':$1');
}
