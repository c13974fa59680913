import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';
import { ApiError } from '../errors.js';
import type { ApiDeps } from '../route.js';
import { isRole, type Principal } from './roles.js';
import { safeEqual, sha256 } from './secrets.js';

export const SESSION_COOKIE = 'trainyard_session';
export const CSRF_HEADER = 'X-CSRF-Token';
/** A token's last use is recorded at most this often, so reads stay reads. */
const TOUCH_EVERY_MS = 60_000;

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The principal in no-auth mode: everyone is an admin, on loopback only. */
export const ANONYMOUS: Principal = { username: 'anonymous', role: 'admin', via: 'none' };

/**
 * Who is calling: a bearer token (scripts, the CLI), else a session cookie (the UI).
 * Undefined when the request carries neither; a 401 when it carries a bad one.
 */
export async function authenticate(c: Context, deps: ApiDeps, now: number): Promise<Principal | undefined> {
  if (deps.auth.mode === 'none') return ANONYMOUS;
  const header = c.req.header('authorization');
  if (header !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw new ApiError(401, 'UNAUTHENTICATED', 'the Authorization header must be "Bearer <token>"; create a token with POST /api/v1/tokens');
    const hash = sha256(m[1]);
    const row = await deps.authStore.tokenByHash(hash);
    if (!row || !isRole(row.role)) throw new ApiError(401, 'INVALID_TOKEN', 'the bearer token is unknown or was revoked; ask an admin for a new one');
    if (row.last_used_at === null || now - row.last_used_at >= TOUCH_EVERY_MS) {
      void deps.authStore.touchToken(hash, now).catch(() => {});
    }
    return { username: row.username, role: row.role, via: 'token' };
  }
  const cookie = getCookie(c, SESSION_COOKIE);
  if (cookie) {
    const hash = sha256(cookie);
    const s = await deps.authStore.sessionByHash(hash, now);
    if (!s || !isRole(s.role)) throw new ApiError(401, 'SESSION_EXPIRED', 'the session has expired or was ended; sign in again');
    return { username: s.username, role: s.role, via: 'session', csrfToken: s.csrf_token, sessionHash: hash };
  }
  return undefined;
}

/** A state-changing request made with a session cookie must echo the session's CSRF token. */
export function checkCsrf(c: Context, principal: Principal): void {
  if (principal.via !== 'session' || SAFE_METHODS.has(c.req.method)) return;
  const sent = c.req.header(CSRF_HEADER);
  if (!sent || !principal.csrfToken || !safeEqual(sent, principal.csrfToken)) {
    throw new ApiError(403, 'CSRF_FAILED', `a request made with a session cookie must send the session's CSRF token in the ${CSRF_HEADER} header (from POST /api/v1/auth/login or GET /api/v1/auth/me)`);
  }
}

/** True for a loopback host name or address: localhost, 127.0.0.0/8, ::1. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || h === '::ffff:127.0.0.1';
}

/**
 * In no-auth mode, the Host header must name a loopback host too: a web page cannot then
 * reach the API by pointing its own domain at 127.0.0.1 (DNS rebinding).
 */
export function checkNoAuthHost(c: Context, deps: ApiDeps): void {
  if (deps.auth.mode !== 'none') return;
  // The URL's host comes from the Host header on a real socket.
  const host = new URL(c.req.url).hostname;
  if (!isLoopback(host)) {
    throw new ApiError(403, 'HOST_NOT_ALLOWED', `without authentication the API answers only requests addressed to a loopback host, not '${host}'`);
  }
}
