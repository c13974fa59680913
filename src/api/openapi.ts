import { z } from 'zod';
import { VERSION } from '../version.js';
import { API_PREFIX, MAX_BODY_BYTES } from './app.js';
import { ACCESS } from './auth/access.js';
import { CSRF_HEADER, SESSION_COOKIE } from './auth/authenticate.js';
import { type AnyRoute, routeKey } from './route.js';
import { ErrorSchema, requestComponents, responseComponents } from './schemas.js';

type JsonSchema = Record<string, unknown>;

function toJson(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const out = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  delete out.$schema;
  return out;
}

function isObject(schema: z.ZodType): schema is z.ZodObject {
  return schema instanceof z.ZodObject;
}

/**
 * The OpenAPI 3.1 document of `routes`, generated from the zod schemas that validate their
 * input (and describe their output): there is no second description to drift.
 */
export function buildOpenApi(routes: readonly AnyRoute[]): JsonSchema {
  const components: Record<string, JsonSchema> = {};
  const refTo = (schema: z.ZodType, io: 'input' | 'output'): JsonSchema => {
    const id = (io === 'input' ? requestComponents : responseComponents).get(schema)?.id;
    if (!id) return toJson(schema, io);
    components[id] ??= toJson(schema, io);
    return { $ref: `#/components/schemas/${id}` };
  };
  const errorRef = refTo(ErrorSchema, 'output');
  const error = (description: string) => ({ description, content: { 'application/json': { schema: errorRef } } });

  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const access = ACCESS[routeKey(r)];
    const parameters: JsonSchema[] = [];
    for (const [where, schema] of [
      ['path', r.params],
      ['query', r.query],
    ] as const) {
      if (!schema) continue;
      if (!isObject(schema)) throw new Error(`${routeKey(r)}: ${where} parameters must be a zod object`);
      for (const [name, field] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
        const json = toJson(field, 'input');
        const description = json.description;
        delete json.description;
        parameters.push({
          name,
          in: where,
          required: where === 'path' || !field.safeParse(undefined).success,
          ...(description ? { description } : {}),
          ...(json.type === 'array' || Array.isArray(json.anyOf) ? { explode: true, style: 'form' } : {}),
          schema: json,
        });
      }
    }
    const responses: Record<string, unknown> = {};
    const status = String(r.status ?? 200);
    if (r.status === 204) responses[status] = { description: 'Done; no content' };
    else if (r.produces === 'text/event-stream') responses[status] = { description: 'A stream of server-sent events', content: { 'text/event-stream': { schema: { type: 'string' } } } };
    else responses[status] = { description: 'OK', content: { 'application/json': { schema: r.response ? refTo(r.response, 'output') : { type: 'object' } } } };
    if (r.params || r.query || r.body) responses['400'] = error('Invalid input: each wrong field is listed in error.details');
    if (access !== 'public') {
      responses['401'] = error('No credentials, or credentials that are not valid');
      responses['403'] = error(`The caller's role is below ${access}, or a cookie-session request lacks ${CSRF_HEADER}`);
    }
    if (r.params) responses['404'] = error('Not found');
    if (r.body) {
      responses['413'] = error(`The body is larger than ${MAX_BODY_BYTES} bytes`);
      responses['415'] = error('The body is not sent as application/json');
    }
    if (r.method !== 'get') responses['409'] = error('Conflicts with the current state');
    for (const [status, what] of Object.entries(r.errors ?? {})) responses[status] = error(what);
    const operation: Record<string, unknown> = {
      operationId: operationId(r),
      summary: r.summary,
      ...(r.description ? { description: r.description } : {}),
      tags: [r.tag],
      'x-min-role': access,
      ...(access === 'public' ? { security: [] } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(r.body ? { requestBody: { required: false, content: { 'application/json': { schema: refTo(r.body, 'input') } } } } : {}),
      responses,
    };
    const path = `${API_PREFIX}${r.path}`;
    paths[path] ??= {};
    paths[path][r.method] = operation;
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'Trainyard API',
      version: VERSION,
      description:
        'Every error has the body {"error": {"code", "message", "details"?: [{"field", "reason"}]}}. ' +
        `Authenticate with a bearer token (scripts, the CLI) or the session cookie from POST ${API_PREFIX}/auth/login (the UI), ` +
        `which needs the ${CSRF_HEADER} header on every state-changing request. The minimum role of each operation is in x-min-role.`,
    },
    servers: [{ url: '/' }],
    security: [{ bearerToken: [] }, { sessionCookie: [] }],
    paths,
    components: {
      schemas: components,
      securitySchemes: {
        bearerToken: { type: 'http', scheme: 'bearer', description: `An API token (POST ${API_PREFIX}/tokens)` },
        sessionCookie: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE, description: `From POST ${API_PREFIX}/auth/login; send ${CSRF_HEADER} too on changes` },
      },
    },
  };
}

/** `GET /dags/{dag_id}/runs` → `getDagsRuns`; stable and unique per route. */
function operationId(r: AnyRoute): string {
  const words = r.path
    .split('/')
    .filter(Boolean)
    .map((seg) => (seg.startsWith('{') ? `by_${seg.slice(1, -1)}` : seg))
    .join('_')
    .replaceAll(/[^A-Za-z0-9]+(.)?/g, (_m, ch: string | undefined) => (ch ? ch.toUpperCase() : ''));
  return r.method + words.charAt(0).toUpperCase() + words.slice(1);
}
