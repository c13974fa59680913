import type { Role } from './roles.js';

/** Who may call an endpoint: anyone, or a signed-in user with at least this role. */
export type Access = 'public' | Role;

/**
 * The authorization rule of every endpoint, in one place: `METHOD /path` (under /api/v1, in
 * OpenAPI form) → the least role that may call it. Viewers read; ops trigger, clear, mark
 * and pause; admins manage users, tokens, pools, variables and connections. The server
 * refuses to start if a route has no rule here, and a test checks the reverse.
 */
export const ACCESS: Readonly<Record<string, Access>> = {
  // service
  'GET /health': 'public',
  'GET /version': 'public',
  'GET /openapi.json': 'public',
  // sessions
  'POST /auth/login': 'public',
  'POST /auth/logout': 'viewer',
  'GET /auth/me': 'viewer',
  // DAGs
  'GET /dags': 'viewer',
  'GET /dags/{dag_id}': 'viewer',
  'PATCH /dags/{dag_id}': 'op',
  'GET /importErrors': 'viewer',
  'GET /dags/{dag_id}/grid': 'viewer',
  // live state changes (server-sent events)
  'GET /events': 'viewer',
  // runs
  'GET /runs': 'viewer',
  'GET /dags/{dag_id}/runs': 'viewer',
  'POST /dags/{dag_id}/runs': 'op',
  'GET /dags/{dag_id}/runs/{run_id}': 'viewer',
  'PATCH /dags/{dag_id}/runs/{run_id}': 'op',
  'DELETE /dags/{dag_id}/runs/{run_id}': 'op',
  'POST /dags/{dag_id}/runs/{run_id}/clear': 'op',
  // task instances, tries, logs, results, metrics
  'GET /dags/{dag_id}/runs/{run_id}/taskInstances': 'viewer',
  'GET /dags/{dag_id}/runs/{run_id}/taskInstances/{task_id}/summary': 'viewer',
  'GET /dags/{dag_id}/runs/{run_id}/taskInstances/{task_id}/{map_index}': 'viewer',
  'PATCH /dags/{dag_id}/runs/{run_id}/taskInstances/{task_id}/{map_index}': 'op',
  'GET /dags/{dag_id}/runs/{run_id}/taskInstances/{task_id}/{map_index}/result': 'viewer',
  'GET /dags/{dag_id}/runs/{run_id}/taskInstances/{task_id}/{map_index}/tries': 'viewer',
  'GET /dags/{dag_id}/runs/{run_id}/taskInstances/{task_id}/{map_index}/tries/{try_number}/logs': 'viewer',
  'GET /dags/{dag_id}/runs/{run_id}/taskInstances/{task_id}/{map_index}/tries/{try_number}/logs/stream': 'viewer',
  'GET /dags/{dag_id}/runs/{run_id}/taskInstances/{task_id}/{map_index}/tries/{try_number}/metrics': 'viewer',
  // metric series and sweeps
  'GET /dags/{dag_id}/runs/{run_id}/taskInstances/{task_id}/{map_index}/tries/{try_number}/series': 'viewer',
  'GET /dags/{dag_id}/runs/{run_id}/sweeps/{task_id}/series': 'viewer',
  'GET /dags/{dag_id}/runs/{run_id}/sweeps/{task_id}/trials': 'viewer',
  // model registry: viewers read, ops promote
  'GET /models': 'viewer',
  'GET /models/{name}': 'viewer',
  'GET /models/{name}/versions': 'viewer',
  'GET /models/{name}/versions/{version}': 'viewer',
  'GET /models/{name}/aliases': 'viewer',
  'POST /models/{name}/versions/{version}/promote': 'op',
  // cost
  'GET /cost': 'viewer',
  'GET /dags/{dag_id}/runs/{run_id}/cost': 'viewer',
  // backfills
  'POST /dags/{dag_id}/backfills': 'op',
  // assets
  'POST /assets/events': 'op',
  // pools
  'GET /pools': 'viewer',
  'GET /pools/{name}': 'viewer',
  'POST /pools': 'admin',
  'PATCH /pools/{name}': 'admin',
  'DELETE /pools/{name}': 'admin',
  // variables (sensitive values are masked on read)
  'GET /variables': 'op',
  'GET /variables/{key}': 'op',
  'POST /variables': 'admin',
  'PATCH /variables/{key}': 'admin',
  'DELETE /variables/{key}': 'admin',
  // connections (passwords are masked on read)
  'GET /connections': 'op',
  'GET /connections/{conn_id}': 'op',
  'POST /connections': 'admin',
  'PATCH /connections/{conn_id}': 'admin',
  'DELETE /connections/{conn_id}': 'admin',
  // users and tokens
  'GET /users': 'admin',
  'POST /users': 'admin',
  'PATCH /users/{username}': 'admin',
  'DELETE /users/{username}': 'admin',
  'GET /tokens': 'admin',
  'POST /tokens': 'admin',
  'DELETE /tokens/{token_id}': 'admin',
};
