import type { Context } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import { deleteCookie, setCookie } from 'hono/cookie';
import { SESSION_COOKIE } from '../auth/authenticate.js';
import { LoginLimiter } from '../auth/login-limiter.js';
import { hashPassword, verifyPassword } from '../auth/passwords.js';
import { isRole } from '../auth/roles.js';
import { newCsrfToken, newSessionId } from '../auth/secrets.js';
import { ApiError } from '../errors.js';
import { type ApiDeps, route } from '../route.js';
import { LoginBody, Ok, Session } from '../schemas.js';
import { iso } from '../views.js';

/** Checked when the user does not exist, so a wrong username takes as long as a wrong password. */
let dummyHash: Promise<string> | undefined;

/** The caller's address; 'local' for requests that came in without a socket (tests). */
function address(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? 'local';
  } catch {
    return 'local';
  }
}

function secure(c: Context, deps: ApiDeps): boolean {
  return deps.auth.secureCookies || new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https';
}

/** The login routes, with their guess limiter. */
export function authRoutes(limiter = new LoginLimiter()) {
  return [
    route({
      method: 'post',
      path: '/auth/login',
      tag: 'Auth',
      summary: 'Sign in; sets the session cookie and returns the CSRF token',
      description: 'The cookie is httpOnly and SameSite=Strict. Every state-changing request made with it must send the returned csrf_token as the X-CSRF-Token header.',
      body: LoginBody,
      response: Session,
      errors: { 429: 'Too many failed sign-ins for this username from this address; see Retry-After' },
      handler: async ({ c, deps, body, now }) => {
        const from = address(c);
        const wait = limiter.blockedFor(from, body.username, now);
        if (wait > 0) {
          c.header('retry-after', String(Math.ceil(wait / 1000)));
          throw new ApiError(429, 'TOO_MANY_ATTEMPTS', `too many failed sign-ins for '${body.username}' from this address; try again in ${Math.ceil(wait / 60_000)} min`);
        }
        const user = await deps.authStore.getUser(body.username);
        dummyHash ??= hashPassword('not a password of anyone');
        const ok = await verifyPassword(body.password, user?.password_hash ?? (await dummyHash));
        if (!user || !ok || !isRole(user.role)) {
          limiter.fail(from, body.username, now);
          throw new ApiError(401, 'INVALID_CREDENTIALS', 'wrong username or password');
        }
        limiter.succeed(from, body.username);
        const { id, hash } = newSessionId();
        const csrf = newCsrfToken();
        const expiresAt = now + deps.auth.sessionTtlMs;
        await deps.authStore.insertSession({ session_hash: hash, username: user.username, csrf_token: csrf, expires_at: expiresAt });
        void deps.authStore.deleteExpiredSessions(now).catch(() => {});
        setCookie(c, SESSION_COOKIE, id, { httpOnly: true, sameSite: 'Strict', path: '/', maxAge: Math.floor(deps.auth.sessionTtlMs / 1000), secure: secure(c, deps) });
        return { username: user.username, role: user.role, via: 'session' as const, csrf_token: csrf, expires_at: iso(expiresAt) };
      },
    }),
    route({
      method: 'post',
      path: '/auth/logout',
      tag: 'Auth',
      summary: 'End the session',
      response: Ok,
      handler: async ({ c, deps, principal }) => {
        if (principal?.sessionHash) await deps.authStore.deleteSession(principal.sessionHash);
        deleteCookie(c, SESSION_COOKIE, { path: '/', secure: secure(c, deps) });
        return { ok: true as const };
      },
    }),
    route({
      method: 'get',
      path: '/auth/me',
      tag: 'Auth',
      summary: 'Who is signed in, and the session’s CSRF token',
      response: Session,
      handler: async ({ deps, principal, now }) => {
        const p = principal!;
        let expiresAt: string | null = null;
        if (p.sessionHash) {
          const s = await deps.authStore.sessionByHash(p.sessionHash, now);
          expiresAt = iso(s?.expires_at);
        }
        return { username: p.username, role: p.role, via: p.via, csrf_token: p.csrfToken ?? null, expires_at: expiresAt };
      },
    }),
  ];
}
