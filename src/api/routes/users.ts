import type { ApiTokenRow, ApiUserRow } from '../../store/auth-store.js';
import { hashPassword } from '../auth/passwords.js';
import { isRole, type Role } from '../auth/roles.js';
import { newToken } from '../auth/secrets.js';
import { ApiError, notFound } from '../errors.js';
import { type ApiDeps, route } from '../route.js';
import { CreateTokenBody, CreateUserBody, NewToken, PatchUserBody, TokenList, User, UserList, tokenPath, userPath } from '../schemas.js';
import { iso } from '../views.js';
import { z } from 'zod';

const userView = (u: ApiUserRow) => ({ username: u.username, role: (isRole(u.role) ? u.role : 'viewer') as Role, created_at: iso(u.created_at)! });
const tokenView = (t: ApiTokenRow) => ({ id: t.token_hash, username: t.username, name: t.name, created_at: iso(t.created_at)!, last_used_at: iso(t.last_used_at) });

async function requireUser(deps: ApiDeps, username: string): Promise<ApiUserRow> {
  const u = await deps.authStore.getUser(username);
  if (!u) throw notFound('USER_NOT_FOUND', `no user '${username}'; list users with GET /api/v1/users`);
  return u;
}

/** Refuses a change that would leave nobody able to administer the API. */
async function keepAnAdmin(deps: ApiDeps, user: ApiUserRow, what: string): Promise<void> {
  if (user.role === 'admin' && (await deps.authStore.countUsers('admin')) <= 1) {
    throw new ApiError(409, 'LAST_ADMIN', `'${user.username}' is the only admin; make another user admin before you ${what}`);
  }
}

export const userRoutes = [
  route({
    method: 'get',
    path: '/users',
    tag: 'Users and tokens',
    summary: 'List API users',
    response: UserList,
    handler: async ({ deps }) => {
      const users = await deps.authStore.listUsers();
      return { items: users.map(userView), total: users.length };
    },
  }),
  route({
    method: 'post',
    path: '/users',
    tag: 'Users and tokens',
    summary: 'Create an API user',
    body: CreateUserBody,
    response: User,
    status: 201,
    handler: async ({ deps, body, now }) => {
      const row = { username: body.username, password_hash: await hashPassword(body.password), role: body.role, created_at: now };
      if (!(await deps.authStore.createUser(row))) throw new ApiError(409, 'USER_EXISTS', `user '${body.username}' exists; change it with PATCH /api/v1/users/${body.username}`);
      return userView(row);
    },
  }),
  route({
    method: 'patch',
    path: '/users/{username}',
    tag: 'Users and tokens',
    summary: "Change a user's password or role",
    description: 'A new password ends the user\'s sessions.',
    params: userPath,
    body: PatchUserBody,
    response: User,
    handler: async ({ deps, params, body }) => {
      const user = await requireUser(deps, params.username);
      if (body.role && body.role !== 'admin') await keepAnAdmin(deps, user, 'take its admin role');
      const password_hash = body.password ? await hashPassword(body.password) : undefined;
      await deps.authStore.updateUser(user.username, { password_hash, role: body.role });
      if (password_hash) await deps.authStore.deleteSessionsOf(user.username);
      return userView(await requireUser(deps, user.username));
    },
  }),
  route({
    method: 'delete',
    path: '/users/{username}',
    tag: 'Users and tokens',
    summary: 'Delete a user with their tokens and sessions',
    params: userPath,
    status: 204,
    handler: async ({ deps, params }) => {
      const user = await requireUser(deps, params.username);
      await keepAnAdmin(deps, user, 'delete it');
      await deps.authStore.deleteUser(user.username);
      return undefined;
    },
  }),
  route({
    method: 'get',
    path: '/tokens',
    tag: 'Users and tokens',
    summary: 'List API tokens (never the tokens themselves)',
    query: z.strictObject({ username: z.string().optional() }),
    response: TokenList,
    handler: async ({ deps, query }) => {
      const tokens = await deps.authStore.listTokens(query.username);
      return { items: tokens.map(tokenView), total: tokens.length };
    },
  }),
  route({
    method: 'post',
    path: '/tokens',
    tag: 'Users and tokens',
    summary: 'Create an API token for scripts and the CLI',
    description: 'The token is in the response once; only its sha256 is stored. Send it as `Authorization: Bearer <token>`.',
    body: CreateTokenBody,
    response: NewToken,
    status: 201,
    handler: async ({ deps, body, principal, now }) => {
      const user = await requireUser(deps, body.username ?? principal!.username);
      const { token, hash } = newToken();
      const row = { token_hash: hash, username: user.username, name: body.name, created_at: now, last_used_at: null };
      await deps.authStore.insertToken(row);
      return { ...tokenView(row), token };
    },
  }),
  route({
    method: 'delete',
    path: '/tokens/{token_id}',
    tag: 'Users and tokens',
    summary: 'Revoke an API token',
    params: tokenPath,
    status: 204,
    handler: async ({ deps, params }) => {
      if (!(await deps.authStore.deleteToken(params.token_id))) throw notFound('TOKEN_NOT_FOUND', `no token with id ${params.token_id}; list tokens with GET /api/v1/tokens`);
      return undefined;
    },
  }),
];
