import { apiMetricsMiddleware, metricsHandler } from '../observability/metrics.js';
import { maskResponses } from '../observability/redact-output.js';
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { z } from 'zod';
import { ACCESS } from './auth/access.js';
import { authenticate, checkCsrf, checkNoAuthHost } from './auth/authenticate.js';
import { roleAtLeast } from './auth/roles.js';
import { ApiError, type ErrorDetail, invalid, toApiError, zodDetails } from './errors.js';
import { type AnyRoute, type ApiDeps, honoPath, routeKey } from './route.js';

export const API_PREFIX = '/api/v1';
/** Largest request body. */
export const MAX_BODY_BYTES = 1024 * 1024;

const parseOptions = { reportInput: true } as const;

function errorResponse(c: Context, e: ApiError): Response {
  const headers: Record<string, string> = { 'cache-control': 'no-store' };
  if (e.status === 401) headers['www-authenticate'] = 'Bearer realm="trainyard"';
  return c.json(e.body(), e.status, headers);
}

/** Query parameters, a repeated one as an array. */
function queryObject(c: Context): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(c.req.queries())) out[k] = v.length === 1 ? v[0] : v;
  return out;
}

async function readJsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === '') return {};
  const type = (c.req.header('content-type') ?? '').split(';')[0].trim().toLowerCase();
  // Only JSON: a cross-site form or a no-cors fetch cannot send it without a preflight.
  if (type !== 'application/json') throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', `send the body as JSON with Content-Type: application/json (got '${type || 'none'}')`);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw invalid('the request body is not valid JSON', [{ field: 'body', reason: `is not valid JSON: ${(e as Error).message}` }]);
  }
}

function validate(schema: z.ZodType | undefined, value: unknown, where: string, details: ErrorDetail[]): unknown {
  if (!schema) return undefined;
  const r = schema.safeParse(value, parseOptions);
  if (r.success) return r.data;
  details.push(...zodDetails(r.error, where));
  return undefined;
}

/**
 * The Hono app serving `routes` under /api/v1, with authentication, authorization and
 * validation around each. `web` (the UI's static files) answers whatever the routes do not.
 */
export function buildApp(deps: ApiDeps, routes: readonly AnyRoute[], log: (line: string) => void, web?: MiddlewareHandler): Hono {
  const missing = routes.filter((r) => ACCESS[routeKey(r)] === undefined).map(routeKey);
  if (missing.length) throw new Error(`routes without an access rule in auth/access.ts: ${missing.join(', ')}`);

  const app = new Hono();
  app.use('*', apiMetricsMiddleware());
  app.use(`${API_PREFIX}/*`, maskResponses());
  app.use(
    `${API_PREFIX}/*`,
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => errorResponse(c, new ApiError(413, 'BODY_TOO_LARGE', `the request body is larger than ${MAX_BODY_BYTES} bytes`)),
    }),
  );

  app.use(`${API_PREFIX}/*`, async (c, next) => {
    await next();
    // API answers are data, never to be sniffed as HTML, and may hold what a shared cache must not keep.
    c.res.headers.set('x-content-type-options', 'nosniff');
    if (!c.res.headers.has('cache-control')) c.res.headers.set('cache-control', 'no-store');
  });

  for (const r of routes) {
    const access = ACCESS[routeKey(r)];
    app.on(r.method.toUpperCase(), `${API_PREFIX}${honoPath(r.path)}`, async (c) => {
      const now = deps.now();
      checkNoAuthHost(c, deps);
      const principal = access === 'public' ? undefined : await authenticate(c, deps, now);
      if (access !== 'public') {
        if (!principal) throw new ApiError(401, 'UNAUTHENTICATED', 'sign in (POST /api/v1/auth/login) or send Authorization: Bearer <token>');
        if (!roleAtLeast(principal.role, access)) {
          throw new ApiError(403, 'FORBIDDEN', `${r.method.toUpperCase()} ${API_PREFIX}${r.path} needs the ${access} role; '${principal.username}' is ${principal.role}`);
        }
        checkCsrf(c, principal);
      }
      const details: ErrorDetail[] = [];
      const params = validate(r.params, c.req.param(), 'path', details);
      const query = validate(r.query, queryObject(c), 'query', details);
      const rawBody = r.body ? await readJsonBody(c) : undefined;
      const body = validate(r.body, rawBody, 'body', details);
      if (!r.query && Object.keys(c.req.queries()).length) {
        for (const k of Object.keys(c.req.queries())) details.push({ field: `query.${k}`, reason: 'unknown field' });
      }
      if (details.length) throw invalid(`the request has ${details.length} invalid field${details.length > 1 ? 's' : ''}`, details);
      const out = await r.handler({ c, params, query, body, deps, principal, now } as never);
      // A change made here reaches /events clients without waiting for the next poll.
      if (r.method !== 'get') deps.events.nudge();
      if (out instanceof Response) return out;
      if (r.status === 204) return c.body(null, 204);
      return c.json(out as object, r.status ?? 200);
    });
  }

  app.get('/metrics', metricsHandler());
  if (web) app.use('*', web);

  app.notFound((c) =>
    errorResponse(c, new ApiError(404, 'ROUTE_NOT_FOUND', `no endpoint ${c.req.method} ${new URL(c.req.url).pathname}; see ${API_PREFIX}/openapi.json`)),
  );
  app.onError((err, c) => {
    const e = toApiError(err);
    if (e.status >= 500) log(`${c.req.method} ${new URL(c.req.url).pathname} failed: ${(err as Error).stack ?? err}`);
    return errorResponse(c, e);
  });
  return app;
}
