import type { ConnectionRow } from '../../store/config-store.js';
import { ApiError, notFound } from '../errors.js';
import { route } from '../route.js';
import { Connection, ConnectionPage, connectionPath, CreateConnectionBody, MASK, pageQuery, PatchConnectionBody } from '../schemas.js';
import { SECRET_KEY } from './variables.js';

/** A connection as the API shows it: the password, and extra values under secret-looking keys, are write-only. */
export function connectionView(c: ConnectionRow) {
  let extra: Record<string, unknown> | null = null;
  if (c.extra !== null) {
    const parsed = JSON.parse(c.extra) as Record<string, unknown>;
    extra = Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, SECRET_KEY.test(k) ? MASK : v]));
  }
  return {
    conn_id: c.conn_id,
    conn_type: c.conn_type,
    host: c.host,
    port: c.port === null ? null : Number(c.port),
    login: c.login,
    password: c.password === null ? null : MASK,
    schema: c.schema,
    extra,
  };
}

type Fields = { conn_type?: string; host?: string | null; port?: number | null; login?: string | null; password?: string | null; schema?: string | null; extra?: Record<string, unknown> | null };

/** Body fields → columns; fields left out are left out. */
function columns(b: Fields): Partial<Omit<ConnectionRow, 'conn_id'>> {
  const out: Partial<Omit<ConnectionRow, 'conn_id'>> = {};
  if (b.conn_type !== undefined) out.conn_type = b.conn_type;
  for (const k of ['host', 'port', 'login', 'password', 'schema'] as const) if (b[k] !== undefined) (out as Record<string, unknown>)[k] = b[k];
  if (b.extra !== undefined) out.extra = b.extra === null ? null : JSON.stringify(b.extra);
  return out;
}

export const connectionRoutes = [
  route({
    method: 'get',
    path: '/connections',
    tag: 'Connections',
    summary: 'List connections (passwords masked)',
    query: pageQuery,
    response: ConnectionPage,
    handler: async ({ deps, query }) => {
      const { rows, total } = await deps.configStore.listConnections(query.limit, query.offset);
      return { items: rows.map(connectionView), total, limit: query.limit, offset: query.offset };
    },
  }),
  route({
    method: 'get',
    path: '/connections/{conn_id}',
    tag: 'Connections',
    summary: 'Get a connection (password masked)',
    params: connectionPath,
    response: Connection,
    handler: async ({ deps, params }) => {
      const c = await deps.configStore.getConnection(params.conn_id);
      if (!c) throw notFound('CONNECTION_NOT_FOUND', `no connection '${params.conn_id}'`);
      return connectionView(c);
    },
  }),
  route({
    method: 'post',
    path: '/connections',
    tag: 'Connections',
    summary: 'Create a connection',
    body: CreateConnectionBody,
    response: Connection,
    status: 201,
    handler: async ({ deps, body }) => {
      const row: ConnectionRow = { conn_id: body.conn_id, conn_type: body.conn_type, host: null, port: null, login: null, password: null, schema: null, extra: null, ...columns(body) };
      if (!(await deps.configStore.createConnection(row))) {
        throw new ApiError(409, 'CONNECTION_EXISTS', `connection '${body.conn_id}' exists; change it with PATCH /api/v1/connections/${body.conn_id}`);
      }
      return connectionView(row);
    },
  }),
  route({
    method: 'patch',
    path: '/connections/{conn_id}',
    tag: 'Connections',
    summary: 'Change a connection',
    params: connectionPath,
    body: PatchConnectionBody,
    response: Connection,
    handler: async ({ deps, params, body }) => {
      if (!(await deps.configStore.updateConnection(params.conn_id, columns(body)))) throw notFound('CONNECTION_NOT_FOUND', `no connection '${params.conn_id}'`);
      return connectionView((await deps.configStore.getConnection(params.conn_id))!);
    },
  }),
  route({
    method: 'delete',
    path: '/connections/{conn_id}',
    tag: 'Connections',
    summary: 'Delete a connection',
    params: connectionPath,
    status: 204,
    handler: async ({ deps, params }) => {
      if (!(await deps.configStore.deleteConnection(params.conn_id))) throw notFound('CONNECTION_NOT_FOUND', `no connection '${params.conn_id}'`);
      return undefined;
    },
  }),
];
